"""run-due at its edges: the SMTP server down while meetings pass, a member who comes back, a
welcome whose numbers must add up, and the scheduler when the machine's clock steps back.

Every command runs at a `--now` of its own, with dates counted from today, against a real SMTP
server (or a port nobody listens on) and the real state.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from bounce_helpers import MEMBERS
from conftest import MEMBERS_HEADER, WELCOME, base_env, free_port, mailer, small_project, state_rows
from test_any_day import LIBFAKETIME, suite_shift

TODAY = dt.date.today()
MEETING = TODAY + dt.timedelta(days=10)
LATER = MEETING + dt.timedelta(days=2)


def at(day: dt.date, time_of_day: str) -> str:
    return f"{day.isoformat()}T{time_of_day}"


def down_env() -> tuple[dict[str, str], int]:
    """Settings that point at a port of 127.0.0.1 nobody listens on: the SMTP server is down."""
    port = free_port()
    return base_env(
        MAILER_SMTP_HOST="127.0.0.1", MAILER_SMTP_PORT=str(port), MAILER_SMTP_SECURITY="none"
    ), port


def series(name: str, day: dt.date, days_before: int, audience: str = "alle") -> str:
    return f"""\
  {name}:
    kind: invitation
    template: invitation
    audience: {audience}
    subject: "Møte: {name}"
    meeting: {{title: Møte, location: Ås, time: "08:00", duration: 1h, dates: [{day.isoformat()}]}}
    invite: {{days_before: {days_before}, at: "09:00"}}
"""


# -- the SMTP server down -------------------------------------------------------------------------

THREE = "".join(MEMBERS.splitlines(True)[:3])
"""Three members: Åse, Bjørn and Kari."""


def meetings_passing_while_the_server_is_down(tmp_path: Path) -> tuple[Path, dict[str, str], int]:
    """`forste` is invited the day before its meeting with the server down; on the meeting day
    at 09:05 it has started, and `andre` (two days later) falls due."""
    root = small_project(tmp_path / "fylke", THREE, series("forste", MEETING, 1) + series("andre", LATER, 2))
    env, port = down_env()
    first = mailer(root, "run-due", "--now", at(MEETING - dt.timedelta(days=1), "09:05"), env=env)
    assert first.code == 1
    assert first.err.endswith(
        f"nothing was lost: forste@{MEETING} has 3 deliveries waiting for the next run\n"
    )
    return root, env, port


def test_with_the_server_down_run_due_still_reports_what_expired_and_exits_1(tmp_path):
    root, env, port = meetings_passing_while_the_server_is_down(tmp_path)

    result = mailer(root, "run-due", "--now", at(MEETING, "09:05"), env=env)

    assert result.code == 1
    assert result.out.splitlines() == [
        f"forste@{MEETING}: 0 sent, 3 expired (the meeting started {MEETING} 08:00)",
    ]
    [line] = result.err.splitlines()
    assert line.startswith(f"error: SMTP server 127.0.0.1:{port}: cannot connect: ")
    assert line.endswith(f"; nothing was lost: andre@{LATER} has 3 deliveries waiting for the next run")


def test_with_the_server_down_run_due_json_carries_the_expired_and_the_error(tmp_path, smtp):
    root, env, port = meetings_passing_while_the_server_is_down(tmp_path)

    result = mailer(root, "run-due", "--now", at(MEETING, "09:05"), "--json", env=env)

    assert result.code == 1
    data = json.loads(result.out)
    assert data["mailings"] == [
        {
            "mailing": f"forste@{MEETING}",
            "sent": 0,
            "deferred": 0,
            "failed_in_run": 0,
            "dropped_in_run": 0,
            "expired_in_run": 3,
            "still_to_send": 0,
            "note": f"the meeting started {MEETING} 08:00",
        }
    ]
    [error] = data["errors"]
    assert error.startswith(f"SMTP server 127.0.0.1:{port}: cannot connect: ")
    assert error.endswith(f"; nothing was lost: andre@{LATER} has 3 deliveries waiting for the next run")
    assert result.err.splitlines() == [f"error: {error}"]

    up = mailer(root, "run-due", "--now", at(MEETING, "09:10"), env=base_env(**smtp.env()))
    assert (up.code, up.out.splitlines()) == (0, [f"andre@{LATER}: 3 sent"]), up.err
    assert sorted((r.rcpt_tos[0], r.message["Subject"]) for r in smtp.received) == [
        ("ase@example.org", "Møte: andre"),
        ("bjorn@example.net", "Møte: andre"),
        ("kari@example.com", "Møte: andre"),
    ]


# -- a member who comes back ----------------------------------------------------------------------


def without(root: Path, *emails: str) -> str:
    """Take members out of the export; returns the export as it was."""
    members = root / "recipients" / "members.csv"
    before = members.read_text("utf-8")
    members.write_text(
        "".join(x for x in before.splitlines(True) if not any(e in x for e in emails)), "utf-8"
    )
    return before


def test_a_member_back_in_the_export_while_the_invitation_is_open_is_planned_again(tmp_path, smtp, engine):
    """Three a day (MAILER_RATE_PER_DAY): Kjell's invitation still waits when he drops out of
    the export; he is back the next day, before the meeting, and gets it. Åse, who got hers
    before she dropped out, gets no second one."""
    day = MEETING - dt.timedelta(days=5)
    root = small_project(tmp_path / "fylke", MEMBERS, series("styremote", MEETING, 5))
    env = base_env(MAILER_RATE_PER_DAY="3", **smtp.env())
    meeting = f"styremote@{MEETING}"

    limit = " (today's sending limit is reached; the rest goes out tomorrow)"
    first = mailer(root, "run-due", "--now", at(day, "09:05"), env=env)
    assert first.out.splitlines()[0] == f"{meeting}: 3 sent, 6 still to send{limit}"
    export = without(root, "kjell@", "ase@")
    gone = mailer(root, "run-due", "--now", at(day, "09:10"), env=env)
    assert gone.out.splitlines()[0] == f"{meeting}: 0 sent, 1 dropped, 5 still to send{limit}"
    assert state_rows(root, "SELECT status, last_reply FROM deliveries WHERE member_id = '9'") == [
        ("dropped", "no longer in the member list")
    ]
    (root / "recipients" / "members.csv").write_text(export, "utf-8")

    back = mailer(root, "run-due", "--now", at(day + dt.timedelta(days=1), "09:05"), env=env)

    assert back.code == 0, back.err
    assert back.out.splitlines() == [
        f"{meeting}: 3 sent, 3 still to send{limit}",
        "  1 planned again: back in the audience",
        "  9 in the audience",
        "  3 already sent earlier",
        "  3 still to send (pending or deferred; a later run goes on)",
    ]
    last = mailer(root, "run-due", "--now", at(day + dt.timedelta(days=2), "09:05"), env=env)
    assert last.out.splitlines()[0] == f"{meeting}: 3 sent"
    assert Counter(r.rcpt_tos[0] for r in smtp.received) == {m.split(",")[3]: 1 for m in MEMBERS.splitlines()}
    assert smtp.received[-1].rcpt_tos == ["kjell@example.org"]


def test_a_member_back_in_the_audience_while_the_invitation_is_open_is_planned_again(tmp_path, smtp, engine):
    """Kjell's invitation to the officers' meeting is deferred by his mailbox when the export no
    longer names him an officer; he is one again before the meeting and gets it, the attempts
    made before still counted."""
    officers = MEMBERS.replace(",medlem", ",medlem;tillitsvalgt")
    not_kjell = officers.replace(
        "kjell@example.org,Asker,,medlem;tillitsvalgt", "kjell@example.org,Asker,,medlem"
    )
    root = small_project(tmp_path / "fylke", officers, series("tillitsmote", MEETING, 5, "tillitsvalgte"))
    members, env = root / "recipients" / "members.csv", base_env(**smtp.env())
    meeting, day = f"tillitsmote@{MEETING}", MEETING - dt.timedelta(days=5)
    busy = "450 4.2.1 Mailbox busy"
    smtp.handler.data_reply = lambda n, envelope: busy if envelope.rcpt_tos == ["kjell@example.org"] else None
    assert mailer(root, "run-due", "--now", at(day, "09:05"), env=env).out.startswith(
        f"{meeting}: 8 sent, 1 deferred"
    )
    smtp.handler.data_reply = None
    members.write_text(MEMBERS_HEADER + not_kjell, "utf-8")
    assert mailer(root, "run-due", "--now", at(day, "09:10"), env=env).out.startswith(
        f"{meeting}: 0 sent, 1 dropped"
    )
    [(status, reason, tried)] = state_rows(
        root, "SELECT status, last_reply, attempts FROM deliveries WHERE member_id = '9'"
    )
    assert (status, reason) == ("dropped", "no longer in the audience or unsubscribed") and tried > 0
    members.write_text(MEMBERS_HEADER + officers, "utf-8")

    back = mailer(root, "run-due", "--now", at(day, "09:15"), env=env)

    assert back.code == 0, back.err
    assert back.out.splitlines() == [
        f"{meeting}: 1 sent",
        "  1 planned again: back in the audience",
        "  9 in the audience",
        "  8 already sent earlier",
    ]
    assert Counter(r.rcpt_tos[0] for r in smtp.received) == {m.split(",")[3]: 1 for m in MEMBERS.splitlines()}
    assert state_rows(root, "SELECT status, attempts FROM deliveries WHERE member_id = '9'") == [
        ("sent", tried + 1)
    ]


# -- the welcome's numbers ------------------------------------------------------------------------


def member(n: int, name: str, joined: dt.date) -> str:
    return f"{n},{name},Ny,{name.lower()}@example.org,Ås,,medlem,{joined.isoformat()},nb\n"


def test_the_welcome_summary_counts_only_todays_audience(tmp_path, smtp):
    """Two members welcomed six weeks ago are outside the 30-day window now: their welcomes are
    not counted among today's reasons, which add up to the two in the audience."""
    old = "1,Åse,Ødegård,ase@example.org,Ås,,medlem,2020-01-01,nb\n"
    early = member(2, "Anne", TODAY - dt.timedelta(days=45)) + member(
        3, "Brede", TODAY - dt.timedelta(days=44)
    )
    root = small_project(tmp_path / "fylke", old + early, WELCOME)
    env = base_env(**smtp.env())
    members = root / "recipients" / "members.csv"
    assert mailer(root, "run-due", "--now", at(TODAY - dt.timedelta(days=43), "10:05"), env=env).code == 0
    with members.open("a", encoding="utf-8") as f:
        f.write(member(4, "Cecilie", TODAY - dt.timedelta(days=20)))
    assert mailer(root, "run-due", "--now", at(TODAY - dt.timedelta(days=19), "10:05"), env=env).code == 0
    with members.open("a", encoding="utf-8") as f:
        f.write(member(5, "Dag", TODAY - dt.timedelta(days=1)))

    result = mailer(root, "run-due", "--now", at(TODAY, "10:05"), env=env)

    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "velkommen: 1 sent",
        "  2 in the audience",
        "  1 already sent earlier",
    ]
    assert [r.rcpt_tos[0] for r in smtp.received] == [
        "anne@example.org",
        "brede@example.org",
        "cecilie@example.org",
        "dag@example.org",
    ]


# -- the scheduler when the clock steps back ------------------------------------------------------

LIBFAKETIME_MT = LIBFAKETIME.with_name("libfaketimeMT.so.1") if LIBFAKETIME else None
SHORT_TICKS = (
    "import mailer.delivery.scheduler as s; s.TICK_SECONDS = 1; from mailer.cli.app import main; main()"
)
"""`mailer` itself, its minute cut to a second (there is no setting for it; the real one waits 60 s)."""


def last_run(root: Path) -> str | None:
    """When run-due last ran, as the state says (read-only: the scheduler owns the file)."""
    try:
        with closing(sqlite3.connect(f"file:{root / '.mailer' / 'state.db'}?mode=ro", uri=True)) as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'last_run_due'").fetchone()
    except sqlite3.OperationalError:  # not made yet
        return None
    return row[0] if row else None


def wait_for(what: Callable[[], object], timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if what():
            return True
        time.sleep(0.2)
    return False


def set_clock(file: Path, seconds: int) -> None:
    """libfaketime reads the offset from `file` at every clock reading: replace it at once."""
    (file.parent / "offset.new").write_text(f"{seconds:+d}\n")
    os.replace(file.parent / "offset.new", file)


@pytest.mark.skipif(LIBFAKETIME_MT is None or not LIBFAKETIME_MT.exists(), reason="Debian package faketime")
def test_the_scheduler_goes_on_running_run_due_after_the_clock_steps_back_an_hour(tmp_path):
    root = small_project(tmp_path / "fylke", MEMBERS)
    shift, offset = suite_shift() * 86400, tmp_path / "faketime"
    set_clock(offset, shift)
    env = {k: v for k, v in base_env().items() if k != "FAKETIME"}
    env.update(
        LD_PRELOAD=str(LIBFAKETIME_MT),
        FAKETIME_TIMESTAMP_FILE=str(offset),
        FAKETIME_NO_CACHE="1",
        FAKETIME_DONT_FAKE_MONOTONIC="1",
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", SHORT_TICKS, "--project", str(root), "scheduler"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for(lambda: last_run(root)), "the scheduler never ran run-due"
        before = last_run(root)
        set_clock(offset, shift - 3600)  # NTP steps the clock back an hour
        assert wait_for(lambda: (last_run(root) or before) < before), (
            "no run-due after the clock stepped back"
        )
        set_clock(offset, shift)  # and puts it right again
        assert wait_for(lambda: (last_run(root) or before) > before), (
            "no run-due after the clock was put right"
        )
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.splitlines()[-2:] == ["stopping after the message in flight…", "scheduler stopped"]
    assert "Traceback" not in err
