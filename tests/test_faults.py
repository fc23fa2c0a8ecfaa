"""Delivery under faults: a real `mailer` process against a real SMTP server that misbehaves.

Each test breaks one thing (throttling, a refused address, a dropped connection, a server
that is down or goes away, a rejected login, a mailing refused as a whole, a kill -9 or a
SIGTERM, a daily quota, a recipient that stays unavailable, an address outside ASCII) and
checks the promise: every member gets exactly one copy in the end, apart from at most the
messages on the wire at a kill; nothing is lost; the ledger says why.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, Session
from conftest import (
    DRAFT,
    Handler,
    SMTPServer,
    approve_and_preview,
    base_env,
    copy_example,
    free_port,
    mailer,
    running_smtp,
    small_project,
)

MAILING = "nyhetsbrev-2026-12"
SEND_AT = dt.datetime(2026, 12, 3, 18, 0)
OSLO = ZoneInfo("Europe/Oslo")
MUNICIPALITIES = ("Ås", "Nordre Follo", "Bærum", "Asker")


@dataclass
class FaultHandler(Handler):
    """The conftest handler, plus: every RCPT logged, a slow DATA, a connection dropped at DATA."""

    rcpts: list[str] = field(default_factory=list)
    data_delay: float = 0.0
    drop: Callable[[int], bool] | None = None
    data_calls: int = 0
    busy: int = 0

    async def handle_RCPT(self, server, session: Session, envelope: Envelope, address: str, options):
        self.rcpts.append(address.lower())
        return await super().handle_RCPT(server, session, envelope, address, options)

    async def handle_DATA(self, server, session: Session, envelope: Envelope):
        self.busy += 1
        try:
            self.data_calls += 1
            if self.drop is not None and self.drop(self.data_calls):
                server.transport.abort()
                return "250 never heard"
            if self.data_delay:
                await asyncio.sleep(self.data_delay)
            return await super().handle_DATA(server, session, envelope)
        finally:
            self.busy -= 1

    def tried(self, address: str) -> int:
        return self.rcpts.count(address.lower())

    def copies(self) -> Counter[str]:
        return Counter(r.rcpt_tos[0].lower() for r in self.received)


@pytest.fixture
def server() -> Iterator[SMTPServer]:
    """A real SMTP server whose handler each test can make misbehave."""
    with running_smtp(FaultHandler()) as smtp_server:
        yield smtp_server


def members(count: int) -> str:
    rows = []
    for i in range(1, count + 1):
        place = MUNICIPALITIES[i % len(MUNICIPALITIES)]
        rows.append(f"{i},Medlem{i},Ødegård,medlem{i}@example.org,{place},,medlem,2020-01-01,nb\n")
    return "".join(rows)


def newsletter_project(root: Path, count: int, env: dict[str, str]) -> Path:
    """A project with `count` members and an approved newsletter draft."""
    project = small_project(root, members(count))
    (project / "drafts" / f"{MAILING}.md").write_text(DRAFT, encoding="utf-8")
    assert mailer(project, "preview", MAILING, env=env).code == 0
    approved = mailer(project, "approve", MAILING, "--by", "Kari Styre", env=env)
    assert approved.code == 0, approved.err
    return project


def addresses(count: int) -> set[str]:
    return {f"medlem{i}@example.org" for i in range(1, count + 1)}


def ledger_rows(project: Path) -> list[sqlite3.Row]:
    db = sqlite3.connect(project / ".mailer" / "state.db")
    db.row_factory = sqlite3.Row
    try:
        return db.execute("SELECT * FROM deliveries ORDER BY id").fetchall()
    finally:
        db.close()


def statuses(project: Path) -> Counter[str]:
    return Counter(r["status"] for r in ledger_rows(project))


def status_json(project: Path, env: dict[str, str]) -> dict:
    result = mailer(project, "status", "--json", env=env)
    assert result.code == 0, result.err
    return json.loads(result.out)


def at(when: dt.datetime) -> str:
    return when.isoformat(timespec="minutes")


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def start_mailer(project: Path, *args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mailer", "--project", str(project), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# -- temporary failures and throttling -------------------------------------------------------


def test_throttling_replies_pause_the_send_and_every_member_still_gets_one_copy(tmp_path, server):
    env = base_env(**server.env(), MAILER_POOL_SIZE="2")
    project = newsletter_project(tmp_path / "fylke", 8, env)
    server.handler.data_reply = lambda n, envelope: "451 4.7.0 Slow down, please" if n <= 4 else None

    result = mailer(project, "send", MAILING, env=env)

    assert result.code == 0, result.err
    assert server.handler.attempts == 8 + 4
    assert server.handler.copies() == Counter(addresses(8))
    assert "8 sent" in result.out and "slowed down" in result.out
    rows = ledger_rows(project)
    assert {r["status"] for r in rows} == {"sent"}
    assert all(r["attempts"] == 1 for r in rows), "a throttling reply does not use up an attempt"


def test_a_dropped_connection_during_data_is_retried_in_the_same_run_and_delivered_once(tmp_path, server):
    env = base_env(**server.env(), MAILER_POOL_SIZE="1")
    project = newsletter_project(tmp_path / "fylke", 6, env)
    server.handler.drop = lambda n: n == 3

    result = mailer(project, "send", MAILING, env=env)

    assert result.code == 0, result.err
    assert "6 sent" in result.out
    assert server.handler.copies() == Counter(addresses(6))
    assert statuses(project) == {"sent": 6}
    assert sorted(r["attempts"] for r in ledger_rows(project)) == [1, 1, 1, 1, 1, 2]


# -- permanent failures -------------------------------------------------------------------------


def test_a_refused_address_is_failed_with_the_reply_never_retried_and_the_rest_goes_out(tmp_path, server):
    env = base_env(**server.env())
    project = newsletter_project(tmp_path / "fylke", 6, env)
    server.handler.reject["medlem3@example.org"] = "550 5.1.1 <medlem3@example.org>: no such user"

    first = mailer(project, "send", MAILING, env=env)
    again = mailer(project, "send", MAILING, env=env)
    later = mailer(project, "run-due", "--now", at(SEND_AT + dt.timedelta(hours=3)), env=env)

    assert first.code == 0, first.err
    assert "5 sent, 1 failed" in first.out
    assert again.code == 0 and later.code == 0, later.err
    assert server.handler.tried("medlem3@example.org") == 1
    assert server.handler.copies() == Counter(addresses(6) - {"medlem3@example.org"})
    [problem] = status_json(project, env)["problems"]
    assert problem["email"] == "medlem3@example.org" and problem["status"] == "failed"
    assert problem["reply"] == "550 5.1.1 <medlem3@example.org>: no such user"


def test_after_a_refused_address_the_same_connection_sends_the_next_member(tmp_path, server):
    """One connection: the envelope of a refused recipient is reset, so the next goes out on it."""
    env = base_env(**server.env(), MAILER_POOL_SIZE="1")
    project = newsletter_project(tmp_path / "fylke", 4, env)
    server.handler.reject["medlem2@example.org"] = "550 5.1.1 <medlem2@example.org>: no such user"

    first = mailer(project, "send", MAILING, env=env)

    assert first.code == 0, first.err
    assert "3 sent, 1 failed" in first.out
    assert server.handler.copies() == Counter(addresses(4) - {"medlem2@example.org"})


def test_a_mailing_refused_again_and_again_is_stopped_and_nothing_is_lost(tmp_path, server):
    env = base_env(**server.env(), MAILER_POOL_SIZE="3")
    project = newsletter_project(tmp_path / "fylke", 30, env)
    server.handler.data_reply = lambda n, envelope: "554 5.7.1 Sender address rejected"

    stopped = mailer(project, "send", MAILING, env=env)

    assert stopped.code == 1
    assert "in a row were refused" in stopped.err and "554 5.7.1 Sender address rejected" in stopped.err
    assert "nothing is lost" in stopped.err and "Traceback" not in stopped.err
    assert server.handler.received == []
    assert statuses(project) == {"pending": 30}, "the refused ones are pending again, none failed"

    server.handler.data_reply = None
    fixed = mailer(project, "send", MAILING, env=env)

    assert fixed.code == 0, fixed.err
    assert server.handler.copies() == Counter(addresses(30))
    assert statuses(project) == {"sent": 30}


def project_with_norwegian_addresses(root: Path, env: dict[str, str]) -> Path:
    """Four plain addresses, one on a domain with æ, one with ø before the @."""
    project = newsletter_project(root, 4, env)
    with open(project / "recipients" / "members.csv", "a", encoding="utf-8") as f:
        f.write("5,Ola,Bærum,ola@bærum.no,Bærum,,medlem,2020-01-01,nb\n")
        f.write("6,Øyvind,Ås,øyvind@example.org,Ås,,medlem,2020-01-01,nb\n")
    assert mailer(project, "preview", MAILING, env=env).code == 0
    assert mailer(project, "approve", MAILING, "--by", "Kari Styre", env=env).code == 0
    return project


def test_norwegian_letters_in_an_address_go_out_as_idna_and_over_smtputf8(tmp_path, server):
    env = base_env(**server.env())
    project = project_with_norwegian_addresses(tmp_path / "fylke", env)

    result = mailer(project, "send", MAILING, env=env)

    assert result.code == 0, result.err
    assert "6 sent" in result.out
    assert server.handler.copies() == Counter(addresses(4) | {"ola@xn--brum-voa.no", "øyvind@example.org"})
    [bærum] = server.handler.to("ola@xn--brum-voa.no")
    assert bærum.message["To"].addresses[0].addr_spec == "ola@xn--brum-voa.no"
    [øyvind] = server.handler.to("øyvind@example.org")
    assert øyvind.message["To"].addresses[0].display_name == "Øyvind Ås"


def test_a_server_without_smtputf8_fails_such_an_address_with_a_reason_and_sends_the_rest(tmp_path):
    handler = FaultHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, enable_SMTPUTF8=False)
    controller.start()
    env = base_env(MAILER_SMTP_HOST="127.0.0.1", MAILER_SMTP_PORT=str(port), MAILER_SMTP_SECURITY="none")
    try:
        project = project_with_norwegian_addresses(tmp_path / "fylke", env)
        result = mailer(project, "send", MAILING, env=env)
    finally:
        controller.stop()

    assert result.code == 0, result.err
    assert "5 sent, 1 failed" in result.out
    assert handler.copies() == Counter(addresses(4) | {"ola@xn--brum-voa.no"})
    [problem] = status_json(project, env)["problems"]
    assert problem["email"] == "øyvind@example.org" and "SMTPUTF8" in problem["reply"]


# -- the server down at the start ----------------------------------------------------------------


def test_a_server_that_is_not_listening_leaves_everything_pending_for_the_next_run(tmp_path):
    port = free_port()
    env = base_env(MAILER_SMTP_HOST="127.0.0.1", MAILER_SMTP_PORT=str(port), MAILER_SMTP_SECURITY="none")
    project = newsletter_project(tmp_path / "fylke", 5, env)

    down = mailer(project, "send", MAILING, env=env)

    assert down.code == 1
    [line] = down.err.strip().splitlines()
    assert f"127.0.0.1:{port}" in line and "nothing was lost" in line and "5 deliveries waiting" in line
    assert statuses(project) == {"pending": 5}
    assert all(r["attempts"] == 0 and r["next_attempt_at"] is None for r in ledger_rows(project))

    handler = FaultHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port, decode_data=False)
    controller.start()
    try:
        up = mailer(project, "run-due", "--now", at(SEND_AT + dt.timedelta(minutes=1)), env=env)
    finally:
        controller.stop()

    assert up.code == 0, up.err
    assert handler.copies() == Counter(addresses(5))
    assert statuses(project) == {"sent": 5}


def test_a_rejected_login_is_one_line_and_leaves_everything_pending(tmp_path):
    handler = FaultHandler()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        auth_require_tls=False,
        authenticator=lambda *args: AuthResult(success=False, handled=False),
    )
    controller.start()
    env = base_env(
        MAILER_SMTP_HOST="127.0.0.1",
        MAILER_SMTP_PORT=str(port),
        MAILER_SMTP_SECURITY="none",
        MAILER_SMTP_USERNAME="fylkeslaget",
        MAILER_SMTP_PASSWORD="feil passord",
    )
    try:
        project = newsletter_project(tmp_path / "fylke", 4, env)
        result = mailer(project, "send", MAILING, env=env)
    finally:
        controller.stop()

    assert result.code == 1
    [line] = result.err.strip().splitlines()
    assert "login rejected for fylkeslaget" in line and "nothing was lost" in line
    assert handler.received == []
    assert statuses(project) == {"pending": 4}


# -- crashes and stops ------------------------------------------------------------------------------


def ledger_opened(project: Path) -> bool:
    """The run has opened the ledger (its write-ahead log exists): it is starting up or planning."""
    return (project / ".mailer" / "state.db-wal").exists()


@pytest.mark.parametrize("kill_after", [0, 1, 20], ids=["as-it-opens-the-ledger", "after-1", "after-20"])
def test_a_send_killed_with_sigkill_is_finished_by_the_next_run_without_loss(tmp_path, server, kill_after):
    pool = 3
    env = base_env(**server.env(), MAILER_POOL_SIZE=str(pool))
    project = newsletter_project(tmp_path / "fylke", 60, env)
    server.handler.data_delay = 0.05

    proc = start_mailer(project, "send", MAILING, env=env)
    try:
        if kill_after:
            wait_for(lambda: len(server.handler.received) >= kill_after, f"{kill_after} messages")
        else:
            wait_for(lambda: ledger_opened(project), "the run to open the ledger")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    wait_for(lambda: server.handler.busy == 0, "the server to finish what was on the wire")
    db = sqlite3.connect(project / ".mailer" / "state.db")
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()
    assert len(server.handler.received) < 60, "the kill came before the end"

    resumed = mailer(project, "send", MAILING, env=env)

    assert resumed.code == 0, resumed.err
    copies = server.handler.copies()
    assert set(copies) == addresses(60), "nobody is lost"
    assert sum(copies.values()) - 60 <= pool, "at most the messages on the wire are sent twice"
    assert statuses(project) == {"sent": 60}


def test_sigterm_finishes_the_messages_in_flight_and_the_next_run_sends_the_rest_once(tmp_path, server):
    env = base_env(**server.env(), MAILER_POOL_SIZE="3")
    project = newsletter_project(tmp_path / "fylke", 60, env)
    server.handler.data_delay = 0.05

    proc = start_mailer(project, "send", MAILING, env=env)
    wait_for(lambda: len(server.handler.received) >= 10, "10 messages")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)

    assert proc.returncode == 0, err
    assert "stopped on request" in out
    left = statuses(project)
    assert "sending" not in left and left["pending"] > 0
    assert left["sent"] == len(server.handler.received)

    resumed = mailer(project, "send", MAILING, env=env)

    assert resumed.code == 0, resumed.err
    assert server.handler.copies() == Counter(addresses(60)), "exactly one copy each"


def test_sigterm_during_one_mailing_of_run_due_begins_no_other(tmp_path, server):
    env = base_env(**server.env(), MAILER_POOL_SIZE="3")
    project = newsletter_project(tmp_path / "fylke", 60, env)
    second = "nyhetsbrev-2026-12-b"
    (project / "drafts" / f"{second}.md").write_text(DRAFT.replace("Nyhetsbrev:", "Ekstra:"), "utf-8")
    assert mailer(project, "preview", second, env=env).code == 0
    assert mailer(project, "approve", second, "--by", "Kari Styre", env=env).code == 0
    server.handler.data_delay = 0.05

    proc = start_mailer(project, "run-due", "--now", at(SEND_AT + dt.timedelta(minutes=5)), env=env)
    wait_for(lambda: len(server.handler.received) >= 10, "10 messages")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert "stopped on request" in out, out

    assert proc.returncode == 0, err
    assert "stopped on request: the mailings not begun are sent by the next run" in err
    assert len(server.handler.received) < 60, "the first mailing stopped after the messages in flight"
    begun = {r["mailing_id"] for r in ledger_rows(project)}
    assert second not in begun, "the second mailing was not begun after the stop"


@pytest.mark.parametrize(
    ("first_run", "next_run"),
    [(("send", MAILING), ("send", MAILING)),
     (("run-due", "--now", "2026-12-03T18:00"), ("run-due", "--now", "2026-12-03T18:05"))],
    ids=["send", "run-due"],
)  # fmt: skip
def test_a_server_that_goes_away_mid_send_loses_nothing_and_the_next_run_finishes(
    tmp_path, first_run, next_run
):
    pool = 3
    port = free_port()
    env = base_env(MAILER_SMTP_HOST="127.0.0.1", MAILER_SMTP_PORT=str(port), MAILER_SMTP_SECURITY="none")
    env["MAILER_POOL_SIZE"] = str(pool)
    project = newsletter_project(tmp_path / "fylke", 60, env)
    first = FaultHandler(data_delay=0.05)
    controller = Controller(first, hostname="127.0.0.1", port=port, decode_data=False)
    controller.start()

    proc = start_mailer(project, *first_run, env=env)
    try:
        wait_for(lambda: len(first.received) >= 10, "10 messages")
    finally:
        controller.stop()
    out, err = proc.communicate(timeout=120)

    assert proc.returncode == 1, err
    assert "the SMTP server went away" in out and "Traceback" not in err
    left = statuses(project)
    assert "sending" not in left and left["sent"] < 60

    second = FaultHandler()
    controller = Controller(second, hostname="127.0.0.1", port=port, decode_data=False)
    controller.start()
    try:
        resumed = mailer(project, *next_run, env=env)
    finally:
        controller.stop()

    assert resumed.code == 0, resumed.err
    copies = first.copies() + second.copies()
    assert set(copies) == addresses(60), "nobody is lost"
    assert sum(copies.values()) - 60 <= pool, "at most the messages on the wire are sent twice"
    assert statuses(project) == {"sent": 60}


# -- quotas and the retry schedule ---------------------------------------------------------------------


def test_a_daily_cap_carries_the_mailing_over_to_the_next_day_by_itself(tmp_path, server):
    env = base_env(**server.env(), MAILER_RATE_PER_DAY="4")
    project = newsletter_project(tmp_path / "fylke", 7, env)

    today = mailer(project, "send", MAILING, "--now", at(SEND_AT), env=env)
    evening = mailer(project, "run-due", "--now", at(SEND_AT + dt.timedelta(hours=2)), env=env)

    assert today.code == 0, today.err
    assert "4 sent" in today.out and "limit" in today.out and "tomorrow" in today.out
    assert evening.code == 0, evening.err
    assert len(server.handler.received) == 4
    assert statuses(project) == {"sent": 4, "pending": 3}

    tomorrow = mailer(project, "run-due", "--now", at(SEND_AT + dt.timedelta(hours=14)), env=env)

    assert tomorrow.code == 0, tomorrow.err
    assert "3 sent" in tomorrow.out
    assert server.handler.copies() == Counter(addresses(7))
    assert statuses(project) == {"sent": 7}


BUSY = "medlem2@example.org"


@pytest.fixture(scope="module")
def deferred_once(tmp_path_factory) -> Path:
    """A sent newsletter with one delivery deferred: its recipient was busy through the first run.

    Built once (the first run's in-run retries take seconds); each test works on a copy.
    """
    root = tmp_path_factory.mktemp("deferred")
    handler = FaultHandler(reject={BUSY: "450 4.2.1 Mailbox busy, try again later"})
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, decode_data=False)
    controller.start()
    try:
        env = base_env(**SMTPServer(handler, port, controller).env())
        project = newsletter_project(root / "fylke", 5, env)
        first = mailer(project, "send", MAILING, "--now", at(SEND_AT), env=env)
    finally:
        controller.stop()
    assert first.code == 0, first.err
    assert "4 sent, 1 deferred" in first.out
    assert handler.tried(BUSY) == 4, "the first run tries again after a few seconds, three times"
    return project


def copy_of(project: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(project, tmp_path / "fylke"))


def deferred_row(project: Path) -> sqlite3.Row:
    [row] = [r for r in ledger_rows(project) if r["address"] == BUSY]
    return row


def next_attempt_after(project: Path, now: dt.datetime) -> dt.timedelta:
    """How long after `now` (local time) the deferred delivery is due again."""
    when = dt.datetime.fromisoformat(deferred_row(project)["next_attempt_at"])
    return when - now.replace(tzinfo=OSLO)


def test_a_deferred_delivery_is_retried_by_later_runs_at_growing_intervals_then_given_up(
    deferred_once, tmp_path, server
):
    project = copy_of(deferred_once, tmp_path)
    env = base_env(**server.env())
    server.handler.reject[BUSY] = "450 4.2.1 Mailbox busy, try again later"
    gaps = [next_attempt_after(project, SEND_AT)]

    early = mailer(project, "run-due", "--now", at(SEND_AT + dt.timedelta(minutes=3)), env=env)
    assert early.code == 0, early.err
    assert server.handler.tried(BUSY) == 0, "not due yet"

    for minutes in (6, 17, 38):
        now = SEND_AT + dt.timedelta(minutes=minutes)
        run = mailer(project, "run-due", "--now", at(now), env=env)
        assert run.code == 0, run.err
        gaps.append(next_attempt_after(project, now))
    assert server.handler.tried(BUSY) == 3, "one attempt per later run"
    assert [round(g.total_seconds() / 60) for g in gaps] == [5, 10, 20, 40]

    last = SEND_AT + dt.timedelta(hours=47, minutes=30)
    final = mailer(project, "run-due", "--now", at(last), env=env)
    after = mailer(project, "run-due", "--now", at(last + dt.timedelta(days=1)), env=env)

    assert final.code == 0 and after.code == 0, final.err
    assert server.handler.tried(BUSY) == 4
    row = deferred_row(project)
    assert row["status"] == "expired"
    assert row["last_reply"] == "gave up: 450 4.2.1 Mailbox busy, try again later"
    assert server.handler.received == [], "the others were sent by the first run, once"


def test_send_retries_deferred_deliveries_at_once(deferred_once, tmp_path, server):
    project = copy_of(deferred_once, tmp_path)
    env = base_env(**server.env())

    result = mailer(project, "send", MAILING, "--now", at(SEND_AT + dt.timedelta(minutes=1)), env=env)

    assert result.code == 0, result.err
    assert "1 sent" in result.out
    assert server.handler.copies() == Counter({BUSY: 1})
    assert statuses(project) == {"sent": 5}


def test_status_shows_a_deferred_delivery_with_its_next_attempt_and_last_reply(deferred_once):
    human = mailer(deferred_once, "status", MAILING)
    data = status_json(deferred_once, base_env())

    [problem] = data["problems"]
    assert problem["status"] == "deferred" and problem["email"] == BUSY
    assert problem["reply"] == "450 4.2.1 Mailbox busy, try again later"
    next_attempt = dt.datetime.fromisoformat(problem["next_attempt_at"])
    first = dt.datetime.fromisoformat(deferred_row(deferred_once)["first_attempt_at"])
    assert dt.timedelta(minutes=5) <= next_attempt - first < dt.timedelta(minutes=6)
    [line] = [line for line in human.out.splitlines() if BUSY in line]
    local = next_attempt.astimezone(OSLO)
    assert "deferred" in line and f"next attempt {local:%Y-%m-%d %H:%M}" in line, "in the organisation's time"
    assert "450 4.2.1 Mailbox busy" in line


# -- progress -------------------------------------------------------------------------------------------


def test_progress_is_a_plain_line_per_ten_percent_when_not_on_a_terminal(tmp_path, server):
    env = base_env(**server.env())
    project = copy_example(tmp_path / "akershus")
    approve_and_preview(project, MAILING, env)

    result = mailer(project, "send", MAILING, env=env)

    assert result.code == 0, result.err
    lines = [line for line in result.err.splitlines() if line.startswith(f"{MAILING}: ")]
    pattern = re.compile(rf"{MAILING}: (\d+)% \((\d+)/(\d+)\), \d+/s, about \d+ s left$")
    marks = [pattern.match(line) for line in lines]
    assert all(marks), lines
    assert [int(m[1]) for m in marks] == list(range(10, 101, 10))
    assert {int(m[3]) for m in marks} == {340}
    assert "\x1b[" not in result.err, "no terminal control codes in a log"
    assert f"{MAILING}: 340 sent" in result.out.splitlines()  # after a line saying it is late, if it is


def test_a_message_reaches_the_server_with_its_dots_and_line_endings_intact(server):
    """What DATA carries: a line that starts with a dot keeps it (doubled on the wire, undone
    by the server), and a bare LF or CR becomes CRLF, so nothing can smuggle a second message."""
    from mailer.delivery.transport import SMTPTransport
    from mailer.project.settings import Settings

    settings = Settings(smtp_host="127.0.0.1", smtp_port=server.port, smtp_security="none")
    message = b"Subject: prikker\r\n\r\n.en\r\n..to\r\nbar LF\nbar CR\rslutt\r\n.\r\nMAIL FROM:<x@y>"

    async def send_twice() -> list[str]:
        conn = await SMTPTransport(settings).connect("prikker")
        try:
            return [await conn.send("post@fylke.example", f"m{i}@example.org", message) for i in (1, 2)]
        finally:
            await conn.close()

    replies = asyncio.run(send_twice())

    assert all(reply.startswith("Message accepted") for reply in replies), replies
    expected = b"Subject: prikker\r\n\r\n.en\r\n..to\r\nbar LF\r\nbar CR\r\nslutt\r\n.\r\nMAIL FROM:<x@y>\r\n"
    assert [r.rcpt_tos for r in server.handler.received] == [["m1@example.org"], ["m2@example.org"]]
    assert [r.data for r in server.handler.received] == [expected, expected]
