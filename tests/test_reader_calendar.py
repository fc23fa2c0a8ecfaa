"""The reader's own calendar: each newsletter reader sees the meetings they are invited to."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import httpx
import pytest
from conftest import base_env, free_port, mailer, small_project
from webapp import SECRET, start_web

from mailer.delivery.runner import Runner
from mailer.project.folder import Project

MEMBERS = """\
1,Åse,Ødegård,ase@example.org,Ås,,"medlem, tillitsvalgt",2020-01-01,nb
2,Bjørn,Bråten,bjorn@example.org,Bærum,,"medlem, tillitsvalgt",2021-05-05,nn
3,Cato,Utenverv,cato@example.org,Asker,,medlem,2019-01-01,nb
4,Kari,Styre,kari@example.org,Asker,,"medlem, fylkesstyremedlem",2019-01-01,nb
"""
SERIES = """\
  tirsdagsmote:
    kind: invitation
    template: invitation
    audience: tillitsvalgte
    subject: "Tirsdagsmøte {{ meeting.start|datetime }}"
    meeting:
      title: Tirsdagsmøte
      location: Digitalt
      time: "08:00"
      duration: 45m
      recurrence: {frequency: weekly, weekday: tuesday, start: 2026-11-03}
      changes:
        2026-12-15: cancelled
  styremote:
    kind: invitation
    template: invitation
    audience: styret
    subject: "Styremøte {{ meeting.start|datetime }}"
    meeting:
      title: Fylkesstyremøte
      location: Fylkeshuset
      time: "18:00"
      duration: 2h
      dates: [2026-12-10, 2027-02-10]
"""
DRAFT = """\
---
subject: Nyhetsbrev desember
send_at: 2026-12-03T18:00
calendar: true
---
Hei {{ member.first_name }}! Her er det viktigste denne måneden.
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = small_project(tmp_path / "fylke", MEMBERS, SERIES)
    (root / "drafts/nyhetsbrev-2026-12.md").write_text(DRAFT, encoding="utf-8")
    return root


def send(root: Path, smtp) -> dict[str, str]:
    """Each reader's plain text, by address."""
    env = base_env(**smtp.env(), MAILER_SECRET=SECRET)
    assert mailer(root, "preview", "nyhetsbrev-2026-12", "--now", "2026-12-03T12:00", env=env).code == 0
    approve = mailer(
        root, "approve", "nyhetsbrev-2026-12", "--by", "Kari Styre", "--now", "2026-12-03T12:00", env=env
    )
    assert approve.code == 0, approve.err
    result = mailer(root, "send", "nyhetsbrev-2026-12", "--now", "2026-12-03T18:00", env=env)
    assert result.code == 0, result.err
    return {r.rcpt_tos[0]: r.message.get_body(("plain",)).get_content() for r in smtp.received}


def test_a_member_invited_to_the_morning_meetings_finds_next_tuesdays_meeting(root, smtp):
    text = send(root, smtp)["ase@example.org"]
    assert "Kalenderen" in text
    assert "tirsdag 8. desember kl. 08.00" in text
    assert "Tirsdagsmøte, Digitalt" in text
    assert "Jeg kommer (https://medlem.testfylket.example/r/" in text


def test_a_member_without_office_gets_no_calendar(root, smtp):
    text = send(root, smtp)["cato@example.org"]
    assert "Kalenderen" not in text and "Tirsdagsmøte" not in text


def test_the_calendar_covers_four_weeks_and_leaves_out_cancelled_meetings(root, smtp):
    text = send(root, smtp)["ase@example.org"]
    days = re.findall(r"tirsdag (\d+)\. (\w+) kl\. 08\.00", text)
    assert days == [("8", "desember"), ("22", "desember"), ("29", "desember")]


def test_each_reader_sees_only_the_series_that_invite_them(root, smtp):
    texts = send(root, smtp)
    assert "Fylkesstyremøte" in texts["kari@example.org"] and "Tirsdagsmøte" not in texts["kari@example.org"]
    assert "Fylkesstyremøte" not in texts["ase@example.org"]


def test_nynorsk_readers_get_nynorsk_dates_and_links(root, smtp):
    text = send(root, smtp)["bjorn@example.org"]
    assert "tysdag 8. desember kl. 08.00" in text and "Eg kjem (https://" in text


def test_the_jeg_kommer_link_records_the_answer_for_that_meeting(root, smtp):
    text = send(root, smtp)["ase@example.org"]
    link = re.search(r"Jeg kommer \((https://\S+/yes)\)", text)
    assert link
    server = start_web(root, base_env(MAILER_SECRET=SECRET), now="2026-12-03T18:30")  # the send's clock
    try:
        asked = httpx.get(server.local(link[1]), timeout=10)
        answered = httpx.post(server.local(link[1]), timeout=10)
    finally:
        server.stop()
    assert asked.status_code == 200 and "Tirsdagsmøte" in asked.text
    assert answered.status_code == 200 and "Takk" in answered.text


def test_the_calendar_can_be_turned_on_for_every_issue_in_schedules_yaml(root, smtp):
    (root / "drafts/nyhetsbrev-2026-12.md").write_text(DRAFT.replace("calendar: true\n", ""), "utf-8")
    text = (root / "schedules.yaml").read_text("utf-8")
    (root / "schedules.yaml").write_text(
        text.replace("    audience: alle\n", "    audience: alle\n    calendar: true\n", 1)
    )
    assert "tirsdag 8. desember kl. 08.00" in send(root, smtp)["ase@example.org"]


def test_mjml_is_compiled_once_per_calendar_group_and_language_not_per_member(root):
    project = Project(root)
    now = dt.datetime(2026, 12, 3, 18, 0, tzinfo=project.tz)
    runner = Runner(project, now)
    try:
        mailing = project.mailing("nyhetsbrev-2026-12", now)
        factory = runner.factory(runner.compiled(mailing))
        members = list(runner.members()) * 50
        for member in members:
            factory.build(member)
    finally:
        runner.close()
    groups = {("nb", ("tirsdagsmote",)), ("nn", ("tirsdagsmote",)), ("nb", ("styremote",))}
    assert runner.renderer.compilations == 2 + len(groups)


def send_late(root: Path, smtp, approve_at: str, send_at: str) -> dict[str, str]:
    """Preview and approve at one time, send at another (both past the draft's lifetime)."""
    env = base_env(**smtp.env(), MAILER_SECRET=SECRET)
    assert mailer(root, "preview", "nyhetsbrev-2026-12", "--now", approve_at, env=env).code == 0
    approve = mailer(
        root, "approve", "nyhetsbrev-2026-12", "--by", "Kari Styre", "--now", approve_at, env=env
    )
    assert approve.code == 0, approve.err
    result = mailer(root, "send", "nyhetsbrev-2026-12", "--now", send_at, env=env)
    assert result.code == 0, result.err
    return {r.rcpt_tos[0]: r.message.get_body(("plain",)).get_content() for r in smtp.received}


def test_a_late_issue_lists_the_meetings_from_the_day_it_is_sent_never_one_already_held(root, smtp):
    text = send_late(root, smtp, "2026-12-16T12:00", "2026-12-16T12:00")["ase@example.org"]
    days = re.findall(r"(?:tirsdag|tysdag) (\d+)\. (\w+) kl\. 08\.00", text)
    assert days == [("22", "desember"), ("29", "desember"), ("5", "januar"), ("12", "januar")]


def test_an_issue_approved_before_a_meeting_and_sent_after_it_the_same_day_keeps_its_approval(root, smtp):
    text = send_late(root, smtp, "2026-12-22T07:00", "2026-12-22T09:00")["ase@example.org"]
    assert "tirsdag 22. desember" not in text and "tirsdag 29. desember kl. 08.00" in text


def test_a_late_issue_retried_the_next_day_keeps_the_calendar_the_board_approved(root, smtp):
    down = base_env(
        MAILER_SMTP_HOST="127.0.0.1", MAILER_SMTP_PORT=str(free_port()), MAILER_SMTP_SECURITY="none"
    )
    tuesday = "2026-12-22T12:00"  # its window ends before 19 January; Wednesday's would not
    assert mailer(root, "preview", "nyhetsbrev-2026-12", "--now", tuesday, env=down).code == 0
    assert mailer(root, "approve", "nyhetsbrev-2026-12", "--by", "Kari", "--now", tuesday, env=down).code == 0
    assert mailer(root, "send", "nyhetsbrev-2026-12", "--now", "2026-12-22T12:00", env=down).code == 1
    result = mailer(
        root, "run-due", "--now", "2026-12-23T10:00", env=base_env(**smtp.env(), MAILER_SECRET=SECRET)
    )
    assert result.code == 0, result.err
    assert "nyhetsbrev-2026-12: 4 sent" in result.out and "changed since" not in result.err


def test_changing_the_templates_calendar_part_voids_the_approval_and_the_preview_shows_it(root, smtp):
    """The invented preview reader is invited to nothing; the calendar part of the template
    must still be what the board saw and approved."""
    env = base_env(**smtp.env(), MAILER_SECRET=SECRET)
    now = ("--now", "2026-12-03T12:00")
    assert mailer(root, "preview", "nyhetsbrev-2026-12", *now, env=env).code == 0
    assert mailer(root, "approve", "nyhetsbrev-2026-12", "--by", "Kari Styre", *now, env=env).code == 0
    shown = (root / ".mailer/previews/nyhetsbrev-2026-12/preview.txt").read_text("utf-8")
    assert "Kalenderen" in shown and "Tirsdagsmøte" in shown and "Fylkesstyremøte" in shown

    template = root / "templates/newsletter.mjml"
    text = template.read_text("utf-8")
    assert "<h2>Kalenderen</h2>" in text
    template.write_text(text.replace("<h2>Kalenderen</h2>", "<h2>Kalenderen</h2><p>Ikke godkjent</p>"))
    result = mailer(root, "send", "nyhetsbrev-2026-12", "--now", "2026-12-03T18:00", env=env)

    assert result.code == 1 and "changed since it was approved" in result.err
    assert smtp.received == []
