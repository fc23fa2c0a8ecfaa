"""A project folder restored from a year-old backup: nothing goes out for meetings already held,
and run-due says so in numbers (what expired and why, and what fell due while nothing ran)."""

from __future__ import annotations

import datetime as dt
import json

from conftest import base_env, free_port, mailer
from meeting_project import INVITE_TIME, meeting_project

A_YEAR_ON = "2027-11-25T10:00"


def backed_up_with_invitations_waiting(tmp_path):
    """The state as a backup caught it: the next meeting's invitations planned, not yet sent."""
    root = meeting_project(tmp_path / "fylke")
    down = base_env(
        MAILER_SMTP_HOST="127.0.0.1", MAILER_SMTP_PORT=str(free_port()), MAILER_SMTP_SECURITY="none"
    )
    result = mailer(root, "run-due", "--now", INVITE_TIME, env=down)
    assert result.code == 1 and "2 deliveries waiting for the next run" in result.err
    return root


def tuesdays(first: dt.date, last: dt.date) -> int:
    return (last - first).days // 7 + 1


def test_run_due_a_year_later_sends_nothing_for_meetings_already_held(tmp_path, smtp):
    root = backed_up_with_invitations_waiting(tmp_path)
    result = mailer(root, "run-due", "--now", A_YEAR_ON, env=base_env(**smtp.env()))
    assert result.code == 0, result.err
    assert smtp.received == []
    assert "morgenmote@2026-11-24: 0 sent, 2 expired (the meeting started 2026-11-24 08:00)" in result.out


def test_run_due_a_year_later_counts_the_meetings_held_while_nothing_ran(tmp_path, smtp):
    root = backed_up_with_invitations_waiting(tmp_path)
    result = mailer(root, "run-due", "--now", A_YEAR_ON, env=base_env(**smtp.env()))
    meetings = tuesdays(dt.date(2026, 11, 24), dt.date(2027, 6, 29))  # the series ends 2027-06-29
    mailings = 2 * meetings - 1  # each meeting's reminder, and every invitation but the one planned
    assert (
        f"since the last run (2026-11-21 09:00, 369 days ago) {meetings} meetings were held whose "
        f"{mailings} invitations and reminders were due meanwhile; they are not sent now"
    ) in result.out


def test_the_expired_deliveries_keep_the_reason(tmp_path, smtp):
    root = backed_up_with_invitations_waiting(tmp_path)
    mailer(root, "run-due", "--now", A_YEAR_ON, env=base_env(**smtp.env()))
    status = json.loads(mailer(root, "status", "--json").out)
    assert [(m["id"], m["expired"], m["pending"]) for m in status["mailings"]] == [
        ("morgenmote@2026-11-24", 2, 0)
    ]
    assert {p["reply"].split(" (last")[0] for p in status["problems"]} == {
        "expired: the meeting started before it could be sent"
    }


def test_deliveries_of_a_series_no_longer_in_the_schedule_expire_too(tmp_path, smtp):
    root = backed_up_with_invitations_waiting(tmp_path)
    schedules = root / "schedules.yaml"
    schedules.write_text(schedules.read_text("utf-8").split("  morgenmote:")[0], "utf-8")
    result = mailer(root, "run-due", "--now", A_YEAR_ON, env=base_env(**smtp.env()))
    assert result.code == 0, result.err
    assert "morgenmote@2026-11-24: 0 sent, 2 expired (the meeting started 2026-11-24 08:00)" in result.out
    assert "cannot be rebuilt" not in result.err


def test_run_due_json_carries_the_year_in_numbers(tmp_path, smtp):
    root = backed_up_with_invitations_waiting(tmp_path)
    data = json.loads(mailer(root, "run-due", "--json", "--now", A_YEAR_ON, env=base_env(**smtp.env())).out)
    assert data["gap"]["since"].startswith("2026-11-21T09:00") and data["gap"]["meetings"] > 0
    [expired] = data["mailings"]
    assert (expired["mailing"], expired["sent"], expired["expired_in_run"]) == ("morgenmote@2026-11-24", 0, 2)
