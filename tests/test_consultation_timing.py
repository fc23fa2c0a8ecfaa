"""When a consultation's reminders go: only to those the consultation reached on an earlier day.

A consultation the board approves after a reminder's time, or a leader who comes into the
register on a reminder's morning, gets the consultation, and the reminder only from a later
reminder: never the question and its "Påminnelse" in one run. Sent with `mailer run-due` to a
real SMTP server; dates are relative to today (see consultation_project).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest import base_env, mailer
from consultation_project import ID, LEADERS, MEMBERS, REMINDER_1, REMINDER_2, make_project, send_consultation
from webapp import SECRET, approve_by_cli

pytestmark = pytest.mark.usefixtures("engine")  # the ledger on SQLite and on PostgreSQL

R1_DAY = REMINDER_1[:10]
NEXT_DAY = (dt.date.fromisoformat(R1_DAY) + dt.timedelta(days=1)).isoformat()
LATE = f"{R1_DAY}T10:05"  # the board approved the consultation after reminder 1's time


@pytest.fixture
def env(smtp) -> dict[str, str]:
    return base_env(MAILER_SECRET=SECRET, **smtp.env())


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "fylke")


def run_due(project: Path, now: str, env: dict[str, str]):
    result = mailer(project, "run-due", "--now", now, env=env)
    assert result.code == 0, result.err
    return result


def got(smtp) -> list[tuple[str, str]]:
    """(recipient, mailing) of every message the server accepted, sorted."""
    return sorted((r.rcpt_tos[0], r.message["X-Mailer-Mailing"]) for r in smtp.received)


def test_a_consultation_approved_after_a_reminders_time_goes_out_without_that_reminder(project, env, smtp):
    approve_by_cli(project, ID, env)

    run_due(project, LATE, env)

    assert got(smtp) == sorted((a, ID) for a in LEADERS)


def test_a_late_consultation_gets_no_reminder_the_next_morning_either(project, env, smtp):
    run_due(project, f"{R1_DAY}T09:05", env)  # cron before the approval: nothing to remind of yet
    approve_by_cli(project, ID, env)
    run_due(project, LATE, env)

    run_due(project, f"{NEXT_DAY}T09:05", env)

    assert got(smtp) == sorted((a, ID) for a in LEADERS)


def test_those_a_late_consultation_reached_get_the_next_reminder(project, env, smtp):
    approve_by_cli(project, ID, env)
    run_due(project, LATE, env)

    run_due(project, REMINDER_2, env)

    assert got(smtp) == sorted([(a, ID) for a in LEADERS] + [(a, f"{ID}/reminder-2") for a in LEADERS])


def test_a_leader_who_got_the_consultation_on_a_reminders_morning_is_not_reminded_that_day(
    project, env, smtp
):
    send_consultation(project, env)
    smtp.handler.received.clear()
    new_leader = "6,Dag,Dalen,dag@example.org,Asker,Asker Senterparti,lokallagsleder,2020-01-01,nb\n"
    members = project / "recipients" / "members.csv"
    members.write_text(members.read_text("utf-8") + new_leader, "utf-8")
    assert MEMBERS in members.read_text("utf-8")

    run_due(project, REMINDER_1, env)

    reminded = [(a, f"{ID}/reminder-1") for a in LEADERS]
    assert got(smtp) == sorted([*reminded, ("dag@example.org", ID)])


def test_check_refuses_a_reminder_on_the_day_the_consultation_is_sent(tmp_path):
    project = make_project(tmp_path / "fylke", send_at=f"{R1_DAY}T08:00")

    result = mailer(project, "check")

    assert result.code == 1
    assert (
        f"drafts/{ID}.md: send_at: a reminder of mailings.horing.reminders ({REMINDER_1.replace('T', ' ')}) "
        f"is not on a day after the consultation is sent ({R1_DAY} 08:00); a reminder goes only to "
        "those who got the consultation on an earlier day"
    ) in result.out + result.err


def test_before_the_consultation_is_sent_run_due_says_nothing_of_its_reminders(project, env, smtp):
    result = run_due(project, REMINDER_1, env)

    assert "reminder" not in result.out + result.err
    assert f"warning: {ID} is not approved" in result.err
    assert smtp.received == []


def test_a_reminder_that_reached_nobody_in_time_is_skipped_in_one_line_said_once(project, env, smtp):
    approve_by_cli(project, ID, env)

    first = run_due(project, LATE, env)
    again = run_due(project, f"{NEXT_DAY}T09:05", env)

    said = [line for line in first.err.splitlines() if "reminder-1" in line]
    assert said == [
        f"warning: {ID}/reminder-1: skipped: the consultation first went out {R1_DAY} 10:05, and this "
        f"reminder ({R1_DAY} 09:00) goes only to those who got it on an earlier day; the next "
        f"reminder goes {REMINDER_2.replace('T', ' ')}"
    ]
    assert f"{ID}/reminder-1" not in first.out
    assert "reminder" not in again.out + again.err


def test_a_consultation_approved_after_its_last_reminder_says_no_reminder_is_left(project, env, smtp):
    approve_by_cli(project, ID, env)
    late = REMINDER_2.replace("09:00", "10:05")

    result = run_due(project, late, env)

    assert got(smtp) == sorted((a, ID) for a in LEADERS)
    said = [line for line in result.err.splitlines() if "reminder-" in line]
    assert said == [
        f"warning: {ID}/reminder-2: skipped: the consultation first went out {late.replace('T', ' ')}, and "
        f"this reminder ({REMINDER_2.replace('T', ' ')}) goes only to those who got it on an earlier day; "
        "no reminder is left before the deadline"
    ]
