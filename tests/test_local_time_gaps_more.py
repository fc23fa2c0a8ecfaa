"""Local times the clocks skip or pass twice (summer time) beyond meetings and events: a draft's
`send_at`, a consultation's deadline and reminders, a welcome's time of day.

A fixed date and time that does not exist (02:30 on the night summer time begins) is refused
with one line naming its file and line, and nothing is sent; one that happens twice (02:30 on
the night it ends) is the earlier, and `mailer check` says so; a welcome's daily time that the
clocks skip goes out an hour later that day, and `check` says so once. Dates count from today.
"""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import conftest
import pytest
from conftest import base_env, mailer, small_project
from test_local_time_gaps import (
    SKIPPED_OSLO,
    TWICE_OSLO,
    autumn,
    edit,
    last_sunday,
    line_of,
    spring,
    warnings,
)

OSLO = ZoneInfo("Europe/Oslo")
DRAFT = "drafts/nyhetsbrev-natt.md"
CONSULTATION = "drafts/horingsrunde-lokalvalg-2027.md"
WELCOME_AT = 'at: "02:30"'


@pytest.fixture
def root(example):
    for path in (example / "recipients").iterdir():
        path.chmod(0o600)
    return example


def ahead(month: int, time: dt.time) -> dt.date:
    """The next last Sunday of `month` whose `time` is still ahead (`check` looks from now on)."""
    now = dt.datetime.now(OSLO)
    days = (last_sunday(now.year + n, month) for n in range(3))
    return next(d for d in days if dt.datetime.combine(d, time, OSLO) > now)


def write_draft(root, send_at: str) -> None:
    """A newsletter draft whose `send_at` is on its line 3."""
    (root / DRAFT).write_text(f"---\nsubject: Nattbrev\nsend_at: {send_at}\n---\nHei!\n", "utf-8")


def set_consultation(root, deadline: str, last_reminder_at: str = "09:00") -> None:
    """The example consultation's deadline, and the time of its last reminder (a day before)."""
    edit(root, "deadline: 2027-02-01", f'deadline: "{deadline}"')
    edit(root, '- {days_before: 1, at: "09:00"}', f'- {{days_before: 1, at: "{last_reminder_at}"}}')


def refused(result, expected: str) -> None:
    """The command failed with `expected` as its one problem (warnings aside), no traceback."""
    assert result.code == 1, (result.out, result.err)
    assert "Traceback" not in result.err
    problems = [line for line in result.err.splitlines() if not line.startswith("warning: ")]
    assert problems == [expected], result.err


def check_warnings(root, about: str) -> list[str]:
    """`mailer check`'s warnings that mention `about`; the check itself passes."""
    result = mailer(root, "check")
    assert result.code == 0, result.err
    return warnings(result, about)


def welcome_project(tmp_path, joined: dt.date):
    """A small project whose welcome goes out at 02:30, and one member who joined on `joined`."""
    member = f"1,Åse,Fersk,ase@example.org,Ås,Ås Sp,medlem,{joined},nb\n"
    return small_project(tmp_path / "p", member, conftest.WELCOME.replace('at: "10:00"', WELCOME_AT))


def test_a_draft_send_at_the_clocks_skip_is_refused_by_check_with_its_line(root):
    day = spring()
    write_draft(root, f"{day}T02:30")
    refused(mailer(root, "check"), f"{DRAFT}:3: send_at: 02:30 on {day} {SKIPPED_OSLO}")


def test_a_draft_send_at_the_clocks_skip_is_never_sent_by_run_due(tmp_path, smtp):
    day = spring()
    root = small_project(tmp_path / "p", "1,Ola,Nordmann,ola@example.org,Ås,Ås Sp,medlem,,nb\n")
    write_draft(root, f"{day}T01:30")
    conftest.approve_and_preview(root, "nyhetsbrev-natt", base_env(**smtp.env()))
    write_draft(root, f"{day}T02:30")
    result = mailer(root, "run-due", "--now", f"{day}T04:00", env=base_env(**smtp.env()))
    refused(result, f"error: {DRAFT}:3: send_at: 02:30 on {day} {SKIPPED_OSLO}")
    assert smtp.received == []


def test_a_consultation_draft_send_at_the_clocks_skip_is_refused_with_its_line(root):
    day = spring()
    set_consultation(root, f"{day + dt.timedelta(days=14)}T12:00")
    path = root / CONSULTATION
    text = path.read_text("utf-8")
    path.write_text(text.replace("send_at: 2027-01-11T09:00", f"send_at: {day}T02:30"), "utf-8")
    refused(mailer(root, "check"), f"{CONSULTATION}:4: send_at: 02:30 on {day} {SKIPPED_OSLO}")


def test_a_consultation_deadline_the_clocks_skip_is_refused_with_its_line(root):
    day = spring()
    set_consultation(root, f"{day}T02:30")
    refused(
        mailer(root, "check"),
        f"schedules.yaml:{line_of(root, 'deadline:')}: mailings.horingsrunde.deadline: 02:30 on {day} "
        + SKIPPED_OSLO,
    )


def test_a_consultation_reminder_time_the_clocks_skip_goes_out_an_hour_later(root):
    day = spring()
    set_consultation(root, f"{day + dt.timedelta(days=1)}T12:00", last_reminder_at="02:30")
    assert mailer(root, "check").code == 0
    times = send_times(root, day)
    assert times["horingsrunde-lokalvalg-2027/reminder-2"] == f"{day}T03:30:00+02:00"


def test_a_draft_send_at_that_happens_twice_is_the_earlier_and_check_warns_once(root):
    day = autumn()
    write_draft(root, f"{day}T02:30")
    assert check_warnings(root, "twice") == [f"warning: {DRAFT}:3: send_at: 02:30 on {day} {TWICE_OSLO}"]
    assert send_times(root, day)["nyhetsbrev-natt"] == f"{day}T02:30:00+02:00"


def test_a_consultation_deadline_that_happens_twice_is_the_earlier_and_check_warns_once(root):
    day = autumn()
    set_consultation(root, f"{day}T02:30")
    assert check_warnings(root, "twice") == [
        f"warning: schedules.yaml:{line_of(root, 'deadline:')}: mailings.horingsrunde.deadline: 02:30 on "
        f"{day} {TWICE_OSLO}"
    ]


def test_a_welcome_time_the_clocks_skip_goes_out_an_hour_later_that_day(tmp_path, smtp):
    day = spring()
    root = welcome_project(tmp_path, day - dt.timedelta(days=3))
    env = base_env(**smtp.env())
    early = mailer(root, "run-due", "--now", f"{day}T03:10", env=env)
    assert early.code == 0, early.err
    assert smtp.received == []
    late = mailer(root, "run-due", "--now", f"{day}T03:30", env=env)
    assert late.code == 0, late.err
    assert [r.rcpt_tos for r in smtp.received] == [["ase@example.org"]]


def test_check_says_once_that_a_welcome_time_the_clocks_skip_goes_out_an_hour_later(root):
    day = ahead(3, dt.time(3, 30))
    edit(root, 'at: "10:00"', WELCOME_AT)
    assert check_warnings(root, "welcomes") == [
        f"warning: schedules.yaml:{line_of(root, WELCOME_AT)}: mailings.velkommen.at: 02:30 on {day} does "
        "not exist in Europe/Oslo (clocks go from 02:00 to 03:00): that day's welcomes go out at 03:30"
    ]


def test_check_says_once_that_a_welcome_time_that_happens_twice_is_the_earlier(root):
    day = ahead(10, dt.time(2, 30))
    edit(root, 'at: "10:00"', WELCOME_AT)
    assert check_warnings(root, "twice") == [
        f"warning: schedules.yaml:{line_of(root, WELCOME_AT)}: mailings.velkommen.at: 02:30 on {day} "
        + TWICE_OSLO
    ]


def test_a_send_time_just_after_the_gap_is_taken_as_written_without_a_word(root):
    day = spring()
    write_draft(root, f"{day}T03:00")
    assert check_warnings(root, "Europe/Oslo") == []
    assert send_times(root, day)["nyhetsbrev-natt"] == f"{day}T03:00:00+02:00"


def send_times(root, day: dt.date) -> dict[str, str]:
    """`schedule --json` around `day`: each mailing's send time."""
    now = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(0)).isoformat(timespec="minutes")
    result = mailer(root, "schedule", "--now", now, "--days", "3", "--json")
    assert result.code == 0, result.err
    return {m["id"]: m["send_at"] for m in json.loads(result.out)}
