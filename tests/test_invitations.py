"""Meeting invitations: run-due for cron, calendar parts, updates and cancellations, the scheduler."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from zoneinfo import ZoneInfo

import icalendar
import pytest
from conftest import REPO, base_env, mailer, small_project

OSLO = ZoneInfo("Europe/Oslo")
MEMBERS = (
    '1,Åse,Ødegård,ase@example.org,Ås,,"medlem, tillitsvalgt",2020-01-01,nb\n'
    '2,Bjørn,Bråten,bjorn@example.org,Bærum,,"medlem, lokallagsleder",2021-05-05,nn\n'
    "3,Kari,Styre,kari@example.org,Asker,,medlem|fylkesstyremedlem|tillitsvalgt,2019-01-01,nb\n"
    "4,Per,Uten,per@example.org,Nordre Follo,,medlem,2019-01-01,nb\n"
)
INVITED = {"ase@example.org", "bjorn@example.org", "kari@example.org"}
SERIES = """\
  morgenmote:
    kind: invitation
    template: invitation
    audience: tillitsvalgte
    subject: "{% if change == 'cancel' %}Avlyst: {% endif %}Morgenmøte {{ meeting.start|datetime }}"
    meeting:
      title: Morgenmøte
      description: Aktuelle saker.
      location: Digitalt
      video_url: https://video.example/morgen
      time: "08:00"
      duration: 45m
      attendance_goal: 30
      recurrence: {frequency: weekly, weekday: tirsdag, start: 2026-11-03, until: 2027-06-29}
    invite: {days_before: 3, at: "09:00"}
    reminder: {days_before: 0, at: "07:00"}
"""
INVITE_TIME = "2026-11-21T09:00"  # for the meeting on Tuesday 2026-11-24 08:00


@pytest.fixture
def root(tmp_path):
    return small_project(tmp_path / "fylke", MEMBERS, SERIES)


def run_due(root, now, smtp):
    result = mailer(root, "run-due", "--now", now, env=base_env(**smtp.env()))
    assert result.code == 0, result.err
    return result


def calendar_of(received):
    parts = [p for p in received.message.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1
    return icalendar.Calendar.from_ical(parts[0].get_content()), parts[0]


def edit(path, old, new):
    text = path.read_text("utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new), "utf-8")


def test_run_due_sends_at_the_send_time_not_before_and_only_once(root, smtp):
    assert run_due(root, "2026-11-21T08:59", smtp).out == ""
    assert smtp.received == []
    sent = run_due(root, INVITE_TIME, smtp)
    assert "morgenmote@2026-11-24: 3 sent" in sent.out
    assert {r.rcpt_tos[0] for r in smtp.received} == INVITED
    assert run_due(root, "2026-11-21T09:01", smtp).out == ""
    assert run_due(root, "2026-11-22T09:00", smtp).out == ""
    assert len(smtp.received) == 3


def test_the_reminder_goes_the_morning_of_the_meeting(root, smtp):
    run_due(root, INVITE_TIME, smtp)
    result = run_due(root, "2026-11-24T07:00", smtp)
    assert "morgenmote@2026-11-24/reminder: 3 sent" in result.out
    assert len(smtp.received) == 6


def test_an_invitation_missed_during_downtime_goes_out_late_but_never_after_the_start(root, smtp):
    result = run_due(root, "2026-11-23T20:00", smtp)
    assert "morgenmote@2026-11-24: 3 sent" in result.out
    smtp.received.clear()
    run_due(root, "2026-11-24T08:00", smtp)
    assert [r for r in smtp.received if "2026-11-24" in r.message["X-Mailer-Mailing"]] == []


def test_after_a_day_of_downtime_nothing_is_sent_for_a_meeting_that_has_started(root, smtp):
    run_due(root, "2026-11-24T09:00", smtp)
    assert all("2026-11-24" not in r.message["X-Mailer-Mailing"] for r in smtp.received)


def test_two_run_due_processes_started_at_the_same_moment_send_each_invitation_once(root, smtp):
    env = base_env(**smtp.env())
    cmd = [sys.executable, "-m", "mailer", "--project", str(root), "run-due", "--now", INVITE_TIME]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    assert Counter(r.rcpt_tos[0] for r in smtp.received) == dict.fromkeys(INVITED, 1)


def test_the_calendar_part_is_an_invitation_outlook_and_gmail_show(root, smtp):
    run_due(root, INVITE_TIME, smtp)
    uids = set()
    for got in smtp.received:
        msg = got.message
        assert msg.get_content_type() == "multipart/mixed"
        alternative = next(p for p in msg.walk() if p.get_content_type() == "multipart/alternative")
        kinds = [p.get_content_type() for p in alternative.iter_parts()]
        assert kinds == ["text/plain", "text/html", "text/calendar"]
        cal, part = calendar_of(got)
        assert part.get_param("method") == "REQUEST"
        assert any(p.get_filename() == "invitasjon.ics" for p in msg.walk())
        assert cal["METHOD"] == "REQUEST"
        [event] = cal.walk("VEVENT")
        assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Europe/Oslo"]
        start = event.decoded("DTSTART")
        assert start == dt.datetime(2026, 11, 24, 8, 0, tzinfo=OSLO)
        assert event["DTSTART"].params["TZID"] == "Europe/Oslo"
        assert event.decoded("DTEND") - start == dt.timedelta(minutes=45)
        assert event["SUMMARY"] == "Morgenmøte"
        assert "https://video.example/morgen" in event["LOCATION"]
        assert str(event["ORGANIZER"]) == "mailto:post@testfylket.example"
        assert event.get("DTSTAMP") is not None and int(event["SEQUENCE"]) == 0
        attendees = event.get("ATTENDEE")
        assert not isinstance(attendees, list), "only this recipient is an attendee"
        assert str(attendees).lower() == f"mailto:{got.rcpt_tos[0]}"
        assert attendees.params["RSVP"] == "TRUE"
        for other in INVITED - {got.rcpt_tos[0]}:
            assert other.encode() not in got.data
        uids.add(str(event["UID"]))
    assert len(uids) == 1


def test_dates_are_written_the_norwegian_way_and_in_nynorsk_for_those_who_prefer_it(root, smtp):
    run_due(root, INVITE_TIME, smtp)
    [ase] = smtp.handler.to("ase@example.org")
    [bjorn] = smtp.handler.to("bjorn@example.org")
    assert "tirsdag 24. november kl. 08.00" in ase.message.get_body(("plain",)).get_content()
    assert ase.message["Subject"] == "Morgenmøte tirsdag 24. november kl. 08.00"
    text = bjorn.message.get_body(("plain",)).get_content()
    assert "tysdag 24. november kl. 08.00" in text and "Eg kjem" in text


def test_a_moved_meeting_sends_an_update_with_a_higher_sequence_to_those_invited(root, smtp):
    run_due(root, INVITE_TIME, smtp)
    first_uid = str(calendar_of(smtp.received[0])[0].walk("VEVENT")[0]["UID"])
    smtp.received.clear()
    edit(
        root / "recipients" / "members.csv",
        "4,Per,Uten,per@example.org,Nordre Follo,,medlem,",
        "4,Per,Uten,per@example.org,Nordre Follo,,medlem|tillitsvalgt,",
    )
    edit(
        root / "schedules.yaml",
        "    invite: {days_before: 3",
        '      changes:\n        2026-11-24: {start: "2026-11-25T09:00"}\n    invite: {days_before: 3',
    )
    result = run_due(root, "2026-11-22T10:00", smtp)
    assert "morgenmote@2026-11-24/update-1: 3 sent" in result.out
    assert "morgenmote@2026-11-24: 1 sent" in result.out, "the new invitee gets the current invitation"
    updates = [r for r in smtp.received if r.message["X-Mailer-Mailing"].endswith("/update-1")]
    assert {r.rcpt_tos[0] for r in updates} == INVITED
    for got in smtp.received:
        [event] = calendar_of(got)[0].walk("VEVENT")
        assert str(event["UID"]) == first_uid
        assert int(event["SEQUENCE"]) == 1
        assert event.decoded("DTSTART") == dt.datetime(2026, 11, 25, 9, 0, tzinfo=OSLO)
    assert "Endret: Morgenmøte" in updates[0].message.get_body(("plain",)).get_content()
    assert run_due(root, "2026-11-22T10:05", smtp).out == ""


def test_a_cancelled_meeting_sends_a_cancellation_and_no_reminder(root, smtp):
    run_due(root, INVITE_TIME, smtp)
    smtp.received.clear()
    edit(
        root / "schedules.yaml",
        "    invite: {days_before: 3",
        "      changes:\n        2026-11-24: cancelled\n    invite: {days_before: 3",
    )
    result = run_due(root, "2026-11-22T10:00", smtp)
    assert "morgenmote@2026-11-24/cancel: 3 sent" in result.out
    for got in smtp.received:
        cal, part = calendar_of(got)
        assert cal["METHOD"] == "CANCEL" and part.get_param("method") == "CANCEL"
        [event] = cal.walk("VEVENT")
        assert event["STATUS"] == "CANCELLED" and int(event["SEQUENCE"]) == 1
        assert got.message["Subject"].startswith("Avlyst: ")
    smtp.received.clear()
    run_due(root, "2026-11-24T07:00", smtp)
    assert smtp.received == []


def test_a_series_removed_from_the_schedule_cancels_what_was_announced(root, smtp):
    run_due(root, INVITE_TIME, smtp)
    smtp.received.clear()
    edit(root / "schedules.yaml", SERIES, "")
    result = run_due(root, "2026-11-22T10:00", smtp)
    assert "morgenmote@2026-11-24/cancel: 3 sent" in result.out
    assert all(calendar_of(r)[0]["METHOD"] == "CANCEL" for r in smtp.received)


def test_an_agenda_and_an_attachment_go_with_the_invitation(tmp_path, smtp):
    series = """\
  forum:
    kind: invitation
    template: invitation
    audience: tillitsvalgte
    subject: "Forum {{ meeting.start|date }}"
    meeting:
      title: Forum
      location: Rådhuset, Ås
      time: "18:00"
      duration: 2h
      dates: [2026-12-10, "2027-01-14T17:30"]
      agenda: "1. Velkommen\\n2. Budsjett"
      attachments: [program.pdf]
      changes:
        2027-01-14: {agenda: agenda/januar.md}
    invite: {days_before: 7, at: "09:00"}
"""
    root = small_project(tmp_path / "p", MEMBERS, series)
    (root / "program.pdf").write_bytes(b"%PDF-1.4\n% test\n")
    (root / "agenda").mkdir()
    (root / "agenda" / "januar.md").write_text("- Årsmøteforberedelser\n", "utf-8")
    run_due(root, "2026-12-03T09:00", smtp)
    got = smtp.handler.to("ase@example.org")[0]
    text = got.message.get_body(("plain",)).get_content()
    assert "Saksliste" in text and "Budsjett" in text
    [pdf] = [p for p in got.message.walk() if p.get_filename() == "program.pdf"]
    assert pdf.get_content_type() == "application/pdf" and pdf.get_content() == b"%PDF-1.4\n% test\n"
    run_due(root, "2027-01-07T09:00", smtp)
    [january] = [
        r for r in smtp.handler.to("ase@example.org") if "2027-01-14" in r.message["X-Mailer-Mailing"]
    ]
    assert "Årsmøteforberedelser" in january.message.get_body(("plain",)).get_content()
    [event] = calendar_of(january)[0].walk("VEVENT")
    assert event.decoded("DTSTART") == dt.datetime(2027, 1, 14, 17, 30, tzinfo=OSLO)


def test_schedule_lists_upcoming_and_overdue_mailings_with_their_meeting(root):
    result = mailer(root, "schedule", "--days", "8", "--now", "2026-11-22T12:00", "--json")
    assert result.code == 0, result.err
    rows = {r["id"]: r for r in json.loads(result.out)}
    overdue = rows["morgenmote@2026-11-24"]
    assert overdue["overdue"] is True and overdue["kind"] == "invitation"
    assert overdue["recipients"] == 3 and overdue["audience"] == "tillitsvalgte"
    assert overdue["meeting_start"] == "2026-11-24T08:00:00+01:00"
    assert rows["morgenmote@2026-11-24/reminder"]["overdue"] is False
    assert rows["morgenmote@2026-12-01"]["send_at"] == "2026-11-28T09:00:00+01:00"
    human = mailer(root, "schedule", "--days", "8", "--now", "2026-11-22T12:00")
    assert "OVERDUE" in human.out


def test_region_meetings_go_to_their_region_only(example, smtp):
    result = run_due(example, "2027-01-28T09:00", smtp)
    assert "regionmote-follo@2027-02-18" in result.out
    follo = {"Nordre Follo", "Ås", "Frogn", "Nesodden", "Vestby", "Enebakk"}
    members = {m["email"]: m for m in json.loads(mailer(example, "recipients", "--json").out)}
    region = [r for r in smtp.received if r.message["X-Mailer-Mailing"] == "regionmote-follo@2027-02-18"]
    assert region
    assert {members[r.rcpt_tos[0]]["municipality"] for r in region} <= follo
    everyone_in_follo = [m for m in members.values() if m["region"] == "Follo"]
    assert len(region) == len(everyone_in_follo)


def test_the_example_calendar_carries_every_meeting_of_the_plans(example):
    result = mailer(example, "schedule", "--days", "365", "--now", "2026-08-01T00:00", "--json")
    series = {r["id"].split("@")[0] for r in json.loads(result.out) if r["kind"] == "invitation"}
    assert series >= {
        "tirsdagsmote",
        "mandagsmote",
        "lokalpolitisk-forum",
        "ordforerforum",
        "gruppelederforum",
        "lokallagsledersamling",
        "regionmote-ovre-romerike",
        "regionmote-nedre-romerike",
        "regionmote-follo",
        "regionmote-vestregionen",
        "webinar",
        "akershusrad",
        "medlemstreff",
        "fylkesstyremote",
        "manedlig-mote",
    }


def test_scheduler_sends_what_falls_due_and_stops_cleanly_on_sigterm(tmp_path, smtp):
    tomorrow = (dt.datetime.now(OSLO) + dt.timedelta(days=1)).date()
    series = f"""\
  nu:
    kind: invitation
    template: invitation
    audience: tillitsvalgte
    subject: "Møte {{{{ meeting.start|date }}}}"
    meeting:
      title: Møte
      location: Ås
      time: "23:00"
      duration: 1h
      dates: [{tomorrow.isoformat()}]
    invite: {{days_before: 2, at: "00:00"}}
"""
    root = small_project(tmp_path / "p", MEMBERS, series)
    env = base_env(**smtp.env())
    proc = subprocess.Popen(
        [sys.executable, "-m", "mailer", "--project", str(root), "scheduler"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(smtp.received) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert {r.rcpt_tos[0] for r in smtp.received} == INVITED
        time.sleep(0.5)
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "scheduler stopped" in out
    assert len(smtp.received) == 3


# -- bad input ------------------------------------------------------------------------------


def bad(root, old, new, needle):
    edit(root / "schedules.yaml", old, new)
    result = mailer(root, "run-due", "--now", INVITE_TIME)
    assert result.code == 1, result.out
    assert needle in result.err, result.err
    assert "Traceback" not in result.err
    assert not (root / ".mailer" / "outbox").exists()


def test_a_recurrence_that_never_fires(root):
    bad(
        root,
        "start: 2026-11-03, until: 2027-06-29}",
        "start: 2026-11-04, until: 2026-11-09}",
        "mailings.morgenmote.meeting.recurrence: the recurrence never fires",
    )


def test_an_end_before_the_start(root):
    bad(
        root,
        "until: 2027-06-29",
        "until: 2025-06-29",
        "mailings.morgenmote.meeting.recurrence: until (2025-06-29) is before start",
    )


def test_a_date_list_with_an_impossible_date(root):
    bad(
        root,
        "recurrence: {frequency: weekly, weekday: tirsdag, start: 2026-11-03, until: 2027-06-29}",
        "dates: [2026-12-01, 2027-02-30]",
        "mailings.morgenmote.meeting.dates: '2027-02-30' is not a valid date",
    )


def test_an_unknown_weekday(root):
    bad(
        root,
        "weekday: tirsdag",
        "weekday: tysdagen",
        "mailings.morgenmote.meeting.recurrence.weekday: 'tysdagen' is not a weekday",
    )


def test_a_send_time_after_the_meeting(root):
    bad(
        root,
        'reminder: {days_before: 0, at: "07:00"}',
        'reminder: {days_before: 0, at: "08:30"}',
        "mailings.morgenmote.reminder.at: 08:30 on the day is not before the meeting starts",
    )


def test_an_audience_that_does_not_exist(root):
    bad(
        root,
        'audience: tillitsvalgte\n    subject: "{% if',
        'audience: ukjente\n    subject: "{% if',
        "mailings.morgenmote.audience: unknown audience 'ukjente'",
    )


def test_a_template_that_does_not_exist(root):
    bad(root, "template: invitation", "template: invitasjon", "template 'invitasjon' not found")


def test_a_time_zone_that_does_not_exist(root):
    bad(
        root,
        "timezone: Europe/Oslo",
        "timezone: Europa/Oslo",
        "organisation.timezone: 'Europa/Oslo' is not a known time zone",
    )


def test_now_that_is_not_iso_8601(root):
    result = mailer(root, "run-due", "--now", "24.11.2026 kl 07")
    assert result.code == 1 and "is not ISO 8601" in result.err


def test_the_example_project_has_a_crontab_line_and_a_systemd_unit_in_the_readme():
    readme = (REPO / "README.md").read_text("utf-8")
    assert "* * * * *" in readme and "mailer run-due" in readme
    assert "ExecStart=" in readme and "mailer scheduler" in readme
