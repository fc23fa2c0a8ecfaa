"""A small project with one morning-meeting series, and the run that sends every kind of its mail."""

from __future__ import annotations

from pathlib import Path

from conftest import SMTPServer, base_env, mailer, small_project

MEMBERS = (
    '1,Åse,Ødegård,ase@example.org,Ås,Ås,"medlem, tillitsvalgt",2020-01-01,nb\n'
    "2,Bjørn,Bråten,bjorn@example.org,Bærum,Bærum,medlem|lokallagsleder,2021-05-05,nn\n"
)
SERIES = """\
  morgenmote:
    kind: invitation
    template: invitation
    audience: tillitsvalgte
    subject: "Morgenmøte {{ meeting.start|datetime }}"
    meeting:
      title: Morgenmøte
      location: Digitalt
      video_url: https://video.example/morgen
      time: "08:00"
      duration: 45m
      attendance_goal: 2
      recurrence: {frequency: weekly, weekday: tirsdag, start: 2026-11-03, until: 2027-06-29}
    invite: {days_before: 3, at: "09:00"}
    reminder: {days_before: 0, at: "07:00"}
"""
INVITE_TIME = "2026-11-21T09:00"  # for the meeting on Tuesday 2026-11-24 08:00
REMINDER_TIME = "2026-11-24T07:00"


def meeting_project(root: Path, members: str = MEMBERS, series: str = SERIES) -> Path:
    return small_project(root, members, series)


def run_due(root: Path, now: str, smtp: SMTPServer, env: dict[str, str] | None = None) -> str:
    result = mailer(root, "run-due", "--now", now, env=base_env(**smtp.env(), **(env or {})))
    assert result.code == 0, result.err
    return result.out


def send_every_kind(root: Path, smtp: SMTPServer) -> dict[str, object]:
    """Invitation, update (the meeting moves an hour), reminder and cancellation, keyed 'id address'."""
    run_due(root, INVITE_TIME, smtp)
    schedules = root / "schedules.yaml"
    text = schedules.read_text("utf-8")
    moved = text.replace(
        "    invite: {days_before: 3",
        '      changes:\n        2026-11-24: {start: "2026-11-24T09:00"}\n    invite: {days_before: 3',
    )
    schedules.write_text(moved, "utf-8")
    run_due(root, "2026-11-22T10:00", smtp)
    run_due(root, REMINDER_TIME, smtp)
    schedules.write_text(moved.replace('{start: "2026-11-24T09:00"}', "cancelled"), "utf-8")
    run_due(root, "2026-11-24T07:30", smtp)
    return {r.message["X-Mailer-Mailing"] + " " + r.rcpt_tos[0]: r for r in smtp.received}
