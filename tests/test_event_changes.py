"""An event that changes or is called off after people registered: they are told, once.

End to end: registration on the real `mailer serve`, schedules.yaml edited as an organiser
would, `run-due` and `mailer event call-off` as subprocesses, mail through the real SMTP
server, calendars read with icalendar and the strict `ical`. Dates are relative to now.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import icalendar
import pytest
from conftest import Received, mailer, state_rows
from event_project import (
    END,
    EVENT,
    START,
    event_block,
    links,
    local,
    make_project,
    run_due,
    status,
    subject_of,
    wait_for,
)
from ical.calendar_stream import IcsCalendarStream
from test_events import calendar, sign_up, submit, text_of, to, web_env
from webapp import start_web

from mailer.project.dates import date_and_time

TITLE = "Medlemstreff på Stortinget"
PLACED = ("ase@example.org", "bjorn@example.org")  # Bjørn reads nynorsk
WAITING = "per@example.org"


@pytest.fixture
def env(smtp, engine) -> dict[str, str]:
    """Every test here runs with the state in SQLite and again in PostgreSQL (`engine`)."""
    return web_env(smtp)


@pytest.fixture
def registered(tmp_path, env, smtp):
    """Two places taken (Åse, Bjørn), Per on the waiting list; the web part still running."""
    project = make_project(tmp_path / "fylke")
    run_due(project, env)
    invitations = links(smtp.received, "/p/")
    server = start_web(project, env)
    try:
        for address in (*PLACED, WAITING):
            sign_up(server, invitations[address])
        run_due(project, env)  # whatever the web part had not sent yet (not what it is sending)
        assert len(wait_for(smtp, 13)) == 13
        yield project, server, invitations
    finally:
        server.stop()


def edit_event(project: Path, **fields: str) -> None:
    """Change fields of the event in schedules.yaml, as the organiser does in an editor."""
    path = project / "schedules.yaml"
    text = path.read_text("utf-8")
    for key, value in fields.items():
        text, n = re.subn(rf"(?m)^    {key}: .*$", f"    {key}: {value}", text)
        assert n == 1, key
    path.write_text(text, "utf-8")


def vevent(got: Received) -> icalendar.Event:
    return icalendar.Calendar.from_ical(calendar(got)).walk("VEVENT")[0]


def strict_start(got: Received) -> dt.datetime:
    return IcsCalendarStream.calendar_from_ics(calendar(got).decode()).events[0].dtstart


def calendars(got: Received) -> list[bytes]:
    return [p.get_payload(decode=True) for p in got.message.walk() if p.get_content_type() == "text/calendar"]


def test_a_moved_start_is_announced_once_to_each_with_a_place_with_a_newer_calendar_entry(
    registered, env, smtp
):
    project, _, _ = registered
    new_start, new_end = START + dt.timedelta(days=1, hours=1), END + dt.timedelta(days=1, hours=1)
    edit_event(project, start=local(new_start), end=local(new_end))

    run_due(project, env)

    news = smtp.received[13:]
    assert sorted(r.rcpt_tos[0] for r in news) == sorted(PLACED)
    [ase] = to(smtp, "ase@example.org", 13)
    [bjorn] = to(smtp, "bjorn@example.org", 13)
    assert subject_of(ase) == f"Endret: {TITLE}"
    assert subject_of(bjorn) == f"Endra: {TITLE}"
    for got in (ase, bjorn):
        [confirmation] = [r for r in to(smtp, got.rcpt_tos[0]) if "Du har plass" in subject_of(r)]
        before, after = vevent(confirmation), vevent(got)
        assert str(icalendar.Calendar.from_ical(calendar(got))["METHOD"]) == "REQUEST"
        assert str(after["UID"]) == str(before["UID"])
        assert int(after["SEQUENCE"]) > int(before["SEQUENCE"])
        assert after.decoded("DTSTART") == new_start
        assert strict_start(got) == new_start
    text = text_of(ase)
    assert date_and_time(new_start, "nb") in text and date_and_time(START, "nb") in text
    assert "/p/" in ase.message.get_body(("html",)).get_content()
    assert "Byrjar" in text_of(bjorn)


def test_the_waiting_list_hears_nothing_of_a_change(registered, env, smtp):
    project, _, _ = registered
    edit_event(project, location="Løvebakken, Oslo")

    run_due(project, env)

    assert not to(smtp, WAITING, 13)
    assert len(smtp.received) == 15


def test_a_second_run_announces_nothing_more(registered, env, smtp):
    project, _, _ = registered
    edit_event(project, location="Løvebakken, Oslo")
    run_due(project, env)
    assert len(smtp.received) == 15

    run_due(project, env)

    assert len(smtp.received) == 15


def test_a_change_decided_while_the_mail_server_is_down_is_sent_once_by_the_next_runs(registered, env, smtp):
    project, _, _ = registered
    edit_event(project, location="Løvebakken, Oslo")
    down = {**env, "MAILER_SMTP_PORT": "1"}  # nothing listens there
    mailer(project, "run-due", env=down)
    assert len(smtp.received) == 13

    run_due(project, env)
    run_due(project, env)

    news = smtp.received[13:]
    assert sorted(r.rcpt_tos[0] for r in news) == sorted(PLACED)
    assert "Løvebakken, Oslo" in text_of(to(smtp, "ase@example.org", 13)[0])


def test_a_change_after_the_event_started_announces_nothing(registered, env, smtp):
    project, _, _ = registered
    edit_event(project, location="Løvebakken, Oslo")

    run_due(project, env, local(START + dt.timedelta(minutes=30)))

    assert not [r for r in smtp.received[13:] if subject_of(r).startswith("Endre")]
    # not even decided and left to expire: no change notice is in the ledger
    assert state_rows(project, "SELECT id FROM mailings WHERE id LIKE ?", (f"{EVENT}/changed-%",)) == []


# -- calling the whole event off -----------------------------------------------------------------


def call_off(project: Path, env: dict[str, str], *args: str):
    return mailer(project, "event", "call-off", *args, env=env)


def test_calling_off_cancels_the_places_calendar_entries_and_tells_the_waiting_list(registered, env, smtp):
    project, _, _ = registered

    result = call_off(project, env, EVENT, "--reason", "Stortinget er stengt <denne uka>")

    assert result.code == 0, result.err
    news = smtp.received[13:]
    assert sorted(r.rcpt_tos[0] for r in news) == sorted((*PLACED, WAITING))
    assert all(subject_of(r) == f"Avlyst: {TITLE}" for r in news)
    for address in PLACED:
        [confirmation] = to(smtp, address)[1:2]
        [off] = to(smtp, address, 13)
        before, after = vevent(confirmation), vevent(off)
        assert str(icalendar.Calendar.from_ical(calendar(off))["METHOD"]) == "CANCEL"
        assert str(after["UID"]) == str(before["UID"])
        assert int(after["SEQUENCE"]) > int(before["SEQUENCE"])
        assert str(after["STATUS"]) == "CANCELLED"
        assert strict_start(off) == START
    [waiting] = to(smtp, WAITING, 13)
    assert calendars(waiting) == []
    html = waiting.message.get_body(("html",)).get_content()
    assert "&lt;denne uka&gt;" in html and "<denne uka>" not in html
    assert "Stortinget er stengt <denne uka>" in text_of(waiting)


def test_after_a_call_off_the_registration_page_says_so_and_takes_no_one(registered, env):
    project, server, invitations = registered
    assert call_off(project, env, EVENT).code == 0

    with server.client() as client:
        page = client.get(server.local(invitations["kari@example.org"]))
    answer = sign_up(server, invitations["kari@example.org"])
    placed = submit(server, invitations["ase@example.org"], action="cancel")

    assert page.status_code == 410 and "avlyst" in page.text
    assert answer.status_code == 410 and placed.status_code == 410
    s = status(project, env)
    assert s["called_off"] is True and s["registered"] == 0 and s["placed"] == 0
    out = mailer(project, "event", "status", EVENT, env=env).out
    assert "CALLED OFF" in out


def test_calling_off_twice_sends_nothing_the_second_time_and_says_so(registered, env, smtp):
    project, _, _ = registered
    assert call_off(project, env, EVENT, "--reason", "Sykdom").code == 0
    assert len(smtp.received) == 16

    again = call_off(project, env, EVENT, "--reason", "Sykdom")

    assert again.code == 0
    assert "already called off" in again.out and "nothing sent" in again.out
    assert len(smtp.received) == 16


def test_an_event_moved_after_its_reminder_gets_one_for_the_new_time(registered, env, smtp):
    project, _, _ = registered
    first = (START - dt.timedelta(days=1)).replace(hour=9, minute=1)
    run_due(project, env, local(first))
    edit_event(project, start=local(START + dt.timedelta(days=7)), end=local(END + dt.timedelta(days=7)))
    run_due(project, env, local(first + dt.timedelta(minutes=5)))  # the "Endret" mails
    run_due(project, env, local(first + dt.timedelta(days=3)))  # nothing: the new time is later
    run_due(project, env, local(first + dt.timedelta(days=7)))

    reminders = [r for r in smtp.received if subject_of(r).startswith("Påminn")]
    assert sorted(r.rcpt_tos[0] for r in reminders) == sorted(PLACED * 2)
    last = [r for r in reminders if r.rcpt_tos == ["ase@example.org"]][-1]
    assert date_and_time(START + dt.timedelta(days=7), "nb") in text_of(last)


def test_an_event_called_off_gets_no_reminder(registered, env, smtp):
    project, _, _ = registered
    assert call_off(project, env, EVENT).code == 0
    reminder_time = (START - dt.timedelta(days=1)).replace(hour=9, minute=1)

    run_due(project, env, local(reminder_time))

    assert len(smtp.received) == 16
    assert not [r for r in smtp.received if subject_of(r).startswith("Påminnelse")]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("vinterfest",), "no event 'vinterfest'"),
        ((EVENT, "--reason", "Sykdom\nog mer"), "one line"),
        ((EVENT, "--reason", "Sykdom\x1b[31m"), "control characters"),
        ((EVENT, "--reason", "x" * 301), "at most 300"),
    ],
    ids=["unknown-event", "line-break", "control-character", "too-long"],
)
def test_bad_call_off_input_is_one_line_and_sends_nothing(registered, env, smtp, args, says):
    project, _, _ = registered

    result = call_off(project, env, *args)

    assert result.code == 1
    [line] = result.err.strip().splitlines()
    assert says in line
    assert len(smtp.received) == 13
    assert status(project, env)["called_off"] is False


def test_calling_off_an_event_that_has_started_is_refused(registered, env, smtp):
    project, _, _ = registered

    result = call_off(project, env, EVENT, "--now", local(START + dt.timedelta(minutes=5)))

    assert result.code == 1 and "started" in result.err
    assert len(smtp.received) == 13


def test_mailer_check_renders_the_change_and_call_off_mails_and_finds_nothing_new(tmp_path, env):
    block = event_block(location=None, online="true", join_url="https://x.example/j")
    project = make_project(tmp_path / "fylke", block)

    result = mailer(project, "check", env=env)

    assert result.code == 0, result.err
    assert "everything is in order" in result.out


def test_mailer_check_names_a_broken_change_template(tmp_path, env):
    project = make_project(tmp_path / "fylke")
    (project / "templates" / "event-changed.mjml").write_text(
        "{% extends 'base.mjml' %}{% block content %}{{ nope.x }}{% endblock %}", "utf-8"
    )

    result = mailer(project, "check", env=env)

    assert result.code == 1
    assert f"events.{EVENT}" in result.out + result.err


# -- who is told, decided on a real state file (no mail server needed) ------------------------------


def test_someone_confirmed_after_the_change_is_not_told_of_it_again(tmp_path):
    from test_event_places import PEOPLE, register, runner_at

    from mailer.events import actions

    project = make_project(tmp_path / "fylke")
    register(project, 1)
    edit_event(project, location="Løvebakken, Oslo")
    register(project, 2)  # their confirmation already says Løvebakken

    done = actions.announce_changes(runner_at(project), EVENT)

    assert [c.registration.person for c in done.result.changes] == [PEOPLE[1].person]
    assert done.result.changes[0].was["location"] == "Stortinget, Karl Johans gate 22, Oslo"


def test_an_offered_place_is_told_of_a_change_without_a_calendar_entry(tmp_path):
    from test_event_places import register, runner_at

    from mailer.events import actions

    project = make_project(tmp_path / "fylke", event_block(waitlist_offer_hours=24))
    first, *_ = register(project, 1, 2, 3)
    actions.cancel(runner_at(project), EVENT, first.result.registration.id)  # 3 is offered the place
    edit_event(project, location="Løvebakken, Oslo")
    runner = runner_at(project)

    done = actions.announce_changes(runner, EVENT)

    told = {
        c.registration.person: runner.state.notices.get(i)
        for c, i in zip(done.result.changes, done.delivery_ids, strict=True)
    }
    assert sorted(told) == ["2", "3"]
    assert json.loads(told["2"].calendar)["sequence"] == 1  # an update of the entry they have
    assert told["3"].calendar is None
    assert not actions.announce_changes(runner_at(project), EVENT).delivery_ids
