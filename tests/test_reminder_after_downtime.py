"""A meeting's reminder reaches only those invited on an earlier day than the reminder's.

After a downtime (the cron machine off for days) the invitation and the reminder of a meeting
fall due in one `mailer run-due`: the invitation goes, and those it reaches that day are not
reminded, neither then nor by a later run while the meeting is still ahead; the run says how
many, once. Sent to a real SMTP server and read back with the `email` package; every date is
relative to today.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest import base_env, mailer, small_project

DAY = dt.date.today() + dt.timedelta(days=10)  # the meeting, at 18:00
INVITE_DAY = DAY - dt.timedelta(days=5)
REMINDER_DAY = DAY - dt.timedelta(days=2)
OCCURRENCE = f"styremote@{DAY}"
REMINDER = f"{OCCURRENCE}/reminder"
MEMBERS = (
    "1,Åse,Ødegård,ase@example.org,Ås,Ås,tillitsvalgt,2020-01-01,nb\n"
    "2,Bjørn,Bråten,bjorn@example.org,Bærum,Bærum,lokallagsleder,2021-05-05,nn\n"
)
INVITED = ["ase@example.org", "bjorn@example.org"]
NEWCOMER = "3,Kari,Ny,kari@example.org,Asker,Asker,tillitsvalgt,2020-01-01,nb\n"
SERIES = f"""\
  styremote:
    kind: invitation
    template: invitation
    audience: tillitsvalgte
    subject: "Styremøte {{{{ meeting.start|datetime }}}}"
    meeting:
      title: Styremøte
      location: Digitalt
      time: "18:00"
      duration: 2h
      dates: [{DAY}]
    invite: {{days_before: 5, at: "09:00"}}
    reminder: {{days_before: 2, at: "09:00"}}
"""


@pytest.fixture
def env(smtp) -> dict[str, str]:
    return base_env(**smtp.env())


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return small_project(tmp_path / "fylke", MEMBERS, SERIES)


def run_due(project: Path, now: str, env: dict[str, str]) -> str:
    result = mailer(project, "run-due", "--now", now, env=env)
    assert result.code == 0, result.err
    return result.out


def got(smtp) -> list[tuple[str, str]]:
    """(recipient, mailing) of every message the server accepted, sorted."""
    return sorted((r.rcpt_tos[0], r.message["X-Mailer-Mailing"]) for r in smtp.received)


def join(project: Path, row: str) -> None:
    members = project / "recipients" / "members.csv"
    members.write_text(members.read_text("utf-8") + row, "utf-8")


def test_an_invitation_and_its_reminder_due_in_one_run_send_only_the_invitation(project, env, smtp):
    run_due(project, f"{REMINDER_DAY}T10:00", env)

    assert got(smtp) == [(a, OCCURRENCE) for a in INVITED]
    subjects = [r.message["Subject"] for r in smtp.received]
    assert all(s.startswith("Styremøte ") for s in subjects), subjects  # no "Påminnelse:"


def test_those_invited_late_are_not_reminded_by_a_later_run_before_the_meeting(project, env, smtp):
    run_due(project, f"{REMINDER_DAY}T10:00", env)

    run_due(project, f"{REMINDER_DAY + dt.timedelta(days=1)}T09:00", env)
    run_due(project, f"{DAY}T09:00", env)

    assert got(smtp) == [(a, OCCURRENCE) for a in INVITED]


def test_the_reminder_goes_to_those_invited_on_an_earlier_day_not_to_a_newcomer_invited_today(
    project, env, smtp
):
    run_due(project, f"{INVITE_DAY}T09:00", env)
    join(project, NEWCOMER)

    run_due(project, f"{REMINDER_DAY}T09:00", env)

    assert got(smtp) == sorted(
        [(a, OCCURRENCE) for a in INVITED]
        + [(a, REMINDER) for a in INVITED]
        + [("kari@example.org", OCCURRENCE)]
    )
    [reminder] = [r for r in smtp.handler.to("ase@example.org") if r.message["X-Mailer-Mailing"] == REMINDER]
    assert reminder.message["Subject"].startswith("Påminnelse: Styremøte ")


def test_the_summary_says_in_numbers_who_was_not_reminded_and_why(project, env, smtp):
    out = run_due(project, f"{REMINDER_DAY}T10:00", env)

    assert f"{REMINDER}: 0 sent (2 not reminded: invited today)" in out.splitlines()


def test_the_summary_counts_a_newcomer_invited_today_beside_those_reminded(project, env, smtp):
    run_due(project, f"{INVITE_DAY}T09:00", env)
    join(project, NEWCOMER)

    out = run_due(project, f"{REMINDER_DAY}T09:00", env)

    assert f"{REMINDER}: 2 sent (1 not reminded: invited today)" in out.splitlines()


def test_those_not_reminded_are_counted_once_not_at_every_run(project, env, smtp):
    said = f"{REMINDER}: 0 sent (2 not reminded: invited today)"

    runs = [f"{REMINDER_DAY}T10:00", f"{REMINDER_DAY}T10:05", f"{REMINDER_DAY + dt.timedelta(days=1)}T09:00"]
    outs = [run_due(project, now, env) for now in runs]

    assert [said in out.splitlines() for out in outs] == [True, False, False]
    assert outs[1:] == ["", ""]


def test_check_refuses_a_reminder_on_the_invitations_day(tmp_path):
    series = SERIES.replace("reminder: {days_before: 2,", "reminder: {days_before: 5,")
    project = small_project(tmp_path / "fylke", MEMBERS, series)

    result = mailer(project, "check")

    assert result.code == 1
    assert (
        "mailings.styremote.reminder.days_before: the reminder (5 days before) is not on a day after "
        "the invitation (5 days before); a reminder goes only to those invited on an earlier day"
    ) in result.out + result.err
