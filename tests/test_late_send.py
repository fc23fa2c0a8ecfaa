"""A send by hand is the board's decision; cron keeps to the lifetime; what nobody can use is refused.

Every command of a test runs at a `--now` of its own (the same clock throughout), so no test
depends on the day it runs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from bounce_helpers import MEMBERS
from conftest import DRAFT, base_env, free_port, mailer, small_project
from consultation_project import ID as CONSULTATION
from consultation_project import make_project
from meeting_project import meeting_project

ID = "nyhetsbrev-2026-12"  # DRAFT's send_at is 2026-12-03T18:00; the lifetime is 48 hours
ON_TIME = "2026-12-03T12:00"
WITHIN = "2026-12-04T09:00"  # 15 hours after send_at, inside the lifetime
LATE = "2026-12-10T12:00"  # six and a half days after send_at


def newsletter_project(tmp_path: Path, draft: str = DRAFT) -> Path:
    root = small_project(tmp_path / "fylke", MEMBERS)
    (root / "drafts" / f"{ID}.md").write_text(draft, encoding="utf-8")
    return root


def approved(root: Path, now: str, env: dict[str, str]) -> str:
    """Preview and approve at `now`; returns what the approval printed."""
    assert mailer(root, "preview", ID, "--now", now, env=env).code == 0
    result = mailer(root, "approve", ID, "--by", "Kari Styre", "--now", now, env=env)
    assert result.code == 0, result.err
    return result.out


def test_a_newsletter_past_its_lifetime_is_sent_by_hand_and_says_so_in_one_line(tmp_path, smtp):
    root, env = newsletter_project(tmp_path), base_env(**smtp.env())
    approved(root, LATE, env)
    result = mailer(root, "send", ID, "--now", LATE, env=env)
    assert result.code == 0, result.err
    assert result.out.splitlines()[0] == (
        "nyhetsbrev-2026-12 was planned for 2026-12-03 18:00 (6 days ago, past its 48-hour lifetime); "
        "sending now because you asked (run-due would not)"
    )
    assert "nyhetsbrev-2026-12: 9 sent" in result.out
    assert len(smtp.received) == 9


def test_run_due_never_sends_a_newsletter_past_its_lifetime_and_says_so_once_a_day(tmp_path, smtp):
    root, env = newsletter_project(tmp_path), base_env(**smtp.env())
    approved(root, LATE, env)
    first = mailer(root, "run-due", "--now", LATE, env=env)
    assert first.code == 0 and smtp.received == []
    [warning] = [line for line in first.err.splitlines() if ID in line]
    assert "past its 48-hour lifetime" in warning and "run-due will not send it" in warning
    assert f"`mailer send {ID}` sends it now, or give it a new send_at" in warning
    assert ID not in mailer(root, "run-due", "--now", "2026-12-10T12:01", env=env).err
    assert ID in mailer(root, "run-due", "--now", "2026-12-11T08:00", env=env).err
    assert smtp.received == []


def test_the_lifetime_of_a_late_send_by_hand_counts_from_that_send(tmp_path, smtp):
    root = newsletter_project(tmp_path)
    down = base_env(
        MAILER_SMTP_HOST="127.0.0.1", MAILER_SMTP_PORT=str(free_port()), MAILER_SMTP_SECURITY="none"
    )
    approved(root, LATE, down)
    failed = mailer(root, "send", ID, "--now", LATE, env=down)
    assert failed.code == 1 and "9 deliveries waiting for the next run" in failed.err
    result = mailer(root, "run-due", "--now", "2026-12-12T11:00", env=base_env(**smtp.env()))  # 47 hours on
    assert result.code == 0, result.err
    assert "nyhetsbrev-2026-12: 9 sent" in result.out and len(smtp.received) == 9


def test_deliveries_of_a_late_send_by_hand_expire_48_hours_after_it(tmp_path):
    root = newsletter_project(tmp_path)
    down = base_env(
        MAILER_SMTP_HOST="127.0.0.1", MAILER_SMTP_PORT=str(free_port()), MAILER_SMTP_SECURITY="none"
    )
    approved(root, LATE, down)
    assert mailer(root, "send", ID, "--now", LATE, env=down).code == 1
    result = mailer(root, "run-due", "--now", "2026-12-12T13:00", env=down)  # 49 hours on
    assert "nyhetsbrev-2026-12: 0 sent, 9 expired" in result.out
    assert "9 expired since 2026-12-12 13:00 (not sent within the 48-hour lifetime)" in result.out


def test_sending_again_says_how_many_were_already_sent(tmp_path, smtp):
    root, env = newsletter_project(tmp_path), base_env(**smtp.env())
    approved(root, ON_TIME, env)
    assert mailer(root, "send", ID, "--now", ON_TIME, env=env).code == 0
    again = mailer(root, "send", ID, "--now", "2026-12-03T12:05", env=env)
    assert again.code == 0, again.err
    assert again.out.splitlines() == [
        "nyhetsbrev-2026-12: 0 sent",
        "  9 in the audience, none got it in this run",
        "  9 already sent earlier",
    ]
    assert len(smtp.received) == 9


def test_approving_a_draft_whose_time_has_passed_says_the_next_run_sends_it(tmp_path, smtp):
    root, env = newsletter_project(tmp_path), base_env(**smtp.env())
    said = approved(root, WITHIN, env)
    assert (
        "nyhetsbrev-2026-12 was planned for 2026-12-03 18:00 (15 hours ago): the next run-due sends it "
        "(cron runs it every minute), or `mailer send nyhetsbrev-2026-12` now"
    ) in said
    assert "nyhetsbrev-2026-12: 9 sent" in mailer(root, "run-due", "--now", "2026-12-04T09:01", env=env).out


def test_approving_a_draft_past_its_lifetime_says_run_due_will_not_send_it_and_what_to_do(tmp_path, smtp):
    said = approved(newsletter_project(tmp_path), LATE, base_env(**smtp.env()))
    assert (
        "nyhetsbrev-2026-12 was planned for 2026-12-03 18:00 (6 days ago, past its 48-hour lifetime): "
        "run-due will not send it; `mailer send nyhetsbrev-2026-12` sends it now, or give it a new "
        "send_at (then preview and approve it again if the content changes)"
    ) in said


def test_approving_a_draft_whose_time_lies_ahead_says_nothing_about_time(tmp_path, smtp):
    said = approved(newsletter_project(tmp_path), ON_TIME, base_env(**smtp.env()))
    assert "planned for" not in said and "ready to send" in said


def test_an_invitation_whose_meeting_has_started_is_refused_in_one_line(tmp_path, smtp):
    root = meeting_project(tmp_path / "fylke")
    result = mailer(
        root, "send", "morgenmote@2026-11-24", "--now", "2026-11-24T08:30", env=base_env(**smtp.env())
    )
    assert result.code == 1 and smtp.received == []
    assert result.err.splitlines() == [
        "error: morgenmote@2026-11-24: the meeting started 2026-11-24 08:00 (30 minutes ago), so its "
        "invitation can no longer be sent; nothing was sent. For a new meeting, add its date to "
        "mailings.morgenmote.meeting in schedules.yaml"
    ]
    assert "Traceback" not in result.err
    status = mailer(root, "status", "--json", env=base_env(**smtp.env()))
    assert json.loads(status.out)["mailings"] == []


def test_a_reminder_sent_by_hand_after_the_meeting_began_says_how_many_had_the_invitation(tmp_path, smtp):
    root, env = meeting_project(tmp_path / "fylke"), base_env(**smtp.env())
    assert mailer(root, "send", "morgenmote@2026-11-24", "--now", "2026-11-21T09:00", env=env).code == 0
    result = mailer(root, "send", "morgenmote@2026-11-24", "--now", "2026-11-25T09:00", env=env)
    assert result.code == 1
    assert "the meeting started 2026-11-24 08:00 (1 day ago)" in result.err
    assert "nothing was sent; 2 got it before" in result.err


def test_a_dry_run_of_a_meeting_already_held_says_it_is_not_sendable(tmp_path, smtp):
    root = meeting_project(tmp_path / "fylke")
    result = mailer(
        root,
        "send",
        "morgenmote@2026-11-24",
        "--dry-run",
        "--now",
        "2026-11-25T09:00",
        env=base_env(**smtp.env()),
    )
    assert result.code == 0
    assert result.out.startswith("morgenmote@2026-11-24 (dry run, nothing sent): NOT SENDABLE: ")
    assert "the meeting started 2026-11-24 08:00" in result.out


def test_a_consultation_past_its_deadline_is_refused_in_one_line(tmp_path, smtp):
    root = make_project(tmp_path / "fylke", deadline="2027-02-01", send_at="2027-01-11T09:00")
    result = mailer(root, "send", CONSULTATION, "--now", "2027-02-05T10:00", env=base_env(**smtp.env()))
    assert result.code == 1 and smtp.received == []
    [line] = result.err.splitlines()
    assert line.startswith(
        "error: horing-lokalvalg: its deadline, 2027-02-01 (end of day), passed 3 days ago, so nobody "
        "could answer; nothing was sent."
    )
    assert "set a later mailings.horing.deadline in schedules.yaml and a new send_at" in line


def test_run_due_says_once_a_day_that_a_consultation_past_its_deadline_was_never_sent(tmp_path, smtp):
    root = make_project(tmp_path / "fylke", deadline="2027-02-01", send_at="2027-01-11T09:00")
    result = mailer(root, "run-due", "--now", "2027-02-05T10:00", env=base_env(**smtp.env()))
    assert result.code == 0 and smtp.received == []
    assert re.search(
        r"warning: horing-lokalvalg: its deadline, 2027-02-01 \(end of day\), passed before", result.err
    )


def test_schedule_names_a_newsletter_past_its_lifetime_that_it_no_longer_lists(tmp_path, smtp):
    root, env = newsletter_project(tmp_path), base_env(**smtp.env())
    result = mailer(root, "schedule", "--now", LATE, env=env)
    assert result.code == 0, result.err
    assert result.out.startswith("nothing to send in the next 30 days")
    assert "of 1 drafts, 1 past their lifetime, never sent (`mailer send ID` still sends one)" in result.out
    listed = mailer(root, "schedule", "--now", ON_TIME, env=env)
    assert listed.out.startswith("2026-12-03 18:00  nyhetsbrev-2026-12") and "not listed" not in listed.out
