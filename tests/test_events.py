"""Events with places, end to end: invitation by run-due, registration on `mailer serve`, the
confirmations, the waiting list and its offers, guests, and the reminder, through a real SMTP
server; calendars parsed with icalendar and the strict `ical`.

Dates are relative to now (the web part runs on the real clock); a test that needs later
moves run-due's clock forward with `--now`, never back.
"""

from __future__ import annotations

import datetime as dt
import json
import threading

import icalendar
import pytest
from conftest import Received, base_env, mailer
from event_project import (
    EVENT,
    NOW,
    START,
    event_block,
    hidden,
    links,
    local,
    make_project,
    run_due,
    status,
    subject_of,
    wait_for,
)
from ical.calendar_stream import IcsCalendarStream
from webapp import SECRET, start_web

JOIN = "https://teams.example/l/meetup-join/webinar-1"


def web_env(smtp) -> dict[str, str]:
    return base_env(MAILER_SECRET=SECRET, MAILER_WEB_REQUESTS_PER_MINUTE="100000", **smtp.env())


@pytest.fixture
def env(smtp, engine) -> dict[str, str]:
    """Every test here runs with the state in SQLite and again in PostgreSQL (`engine`)."""
    return web_env(smtp)


def invited(tmp_path, env, smtp, *blocks: str):
    project = make_project(tmp_path / "fylke", *blocks)
    run_due(project, env)
    server = start_web(project, env)
    return project, server, links(smtp.received, "/p/")


@pytest.fixture
def sent(tmp_path, env, smtp):
    project, server, invitations = invited(tmp_path, env, smtp)
    yield project, server, invitations
    server.stop()


def submit(server, link: str, **fields: str):
    with server.client() as client:
        form = hidden(client.get(server.local(link)).text)
        return client.post(server.local(link), data={**form, **fields})


def sign_up(server, link: str, dob: str = "17.05.1990"):
    return submit(server, link, action="register", **{"q.fodselsdato": dob})


def to(smtp, address: str, since: int = 0) -> list[Received]:
    return [r for r in smtp.received[since:] if address in r.rcpt_tos]


def calendar(got: Received) -> bytes:
    [part] = [p for p in got.message.walk() if p.get_content_type() == "text/calendar"]
    return part.get_payload(decode=True)


def text_of(got: Received) -> str:
    return got.message.get_body(("plain",)).get_content()


def test_the_invitation_reaches_each_member_of_the_audience_once_with_their_own_link(sent, env, smtp):
    project, _, invitations = sent

    run_due(project, env)

    assert len(smtp.received) == 10
    assert len(set(invitations.values())) == 10
    assert all("/p/" in link for link in invitations.values())
    assert all(not r.message.get_body(("plain",)).is_attachment() for r in smtp.received)
    assert not [p for r in smtp.received for p in r.message.walk() if p.get_content_type() == "text/calendar"]


def test_opening_the_link_shows_the_form_and_records_nothing(sent, env):
    project, server, invitations = sent

    with server.client() as client:
        page = client.get(server.local(invitations["ase@example.org"]))

    assert page.status_code == 200
    assert "Hei, Åse!" in page.text and "Fødselsdato" in page.text
    assert "ase@example.org" not in page.text
    assert status(project, env)["registered"] == 0


def test_three_registrations_for_two_places_give_two_confirmations_and_one_waiting_list_mail(sent, smtp):
    _, server, invitations = sent

    answers = [
        sign_up(server, invitations[a]) for a in ("ase@example.org", "kari@example.org", "per@example.org")
    ]

    assert [r.status_code for r in answers] == [200, 200, 200]
    assert "Du har plass" in answers[0].text and "nummer 1 på ventelisten" in answers[2].text
    wait_for(smtp, 13)
    [ase] = to(smtp, "ase@example.org", 10)
    [kari] = to(smtp, "kari@example.org", 10)
    [per] = to(smtp, "per@example.org", 10)
    assert subject_of(ase) == "Du har plass: Medlemstreff på Stortinget"
    assert b"METHOD:REQUEST" in calendar(ase) and b"METHOD:REQUEST" in calendar(kari)
    assert subject_of(per) == "Ventelisten: Medlemstreff på Stortinget"
    assert "nummer 1 på ventelisten" in text_of(per)
    assert not [p for p in per.message.walk() if p.get_content_type() == "text/calendar"]


def test_a_nynorsk_member_is_told_in_nynorsk(sent, smtp):
    _, server, invitations = sent

    sign_up(server, invitations["bjorn@example.org"])

    wait_for(smtp, 11)
    [got] = to(smtp, "bjorn@example.org", 10)
    assert "Du er påmeld" in text_of(got)


def test_a_cancellation_promotes_the_first_in_line_with_a_request_and_cancels_the_place_with_cancel(
    sent, smtp
):
    _, server, invitations = sent
    for address in ("ase@example.org", "kari@example.org", "per@example.org"):
        sign_up(server, invitations[address])
    wait_for(smtp, 13)

    answer = submit(server, invitations["ase@example.org"], action="cancel")

    assert answer.status_code == 200 and "Du er meldt av" in answer.text
    wait_for(smtp, 15)
    [cancel] = to(smtp, "ase@example.org", 13)
    [promoted] = to(smtp, "per@example.org", 13)
    assert subject_of(cancel) == "Avmeldt: Medlemstreff på Stortinget"
    assert subject_of(promoted) == "Du har plass: Medlemstreff på Stortinget"
    assert "En plass ble ledig" in text_of(promoted)
    request, cancelled = calendar(to(smtp, "ase@example.org", 10)[0]), calendar(cancel)
    for data, method in ((calendar(promoted), "REQUEST"), (cancelled, "CANCEL")):
        strict = IcsCalendarStream.calendar_from_ics(data.decode())
        assert strict.events[0].dtstart == START
        parsed = icalendar.Calendar.from_ical(data)
        assert str(parsed["METHOD"]) == method
    first = icalendar.Calendar.from_ical(request).walk("VEVENT")[0]
    last = icalendar.Calendar.from_ical(cancelled).walk("VEVENT")[0]
    assert str(first["UID"]) == str(last["UID"])
    assert int(last["SEQUENCE"]) > int(first["SEQUENCE"])
    assert str(last["STATUS"]) == "CANCELLED"


def test_each_registrant_sees_only_themself_in_the_calendar_and_the_mail(sent, smtp):
    _, server, invitations = sent
    for address in ("ase@example.org", "kari@example.org"):
        sign_up(server, invitations[address], dob="01.02.1961")
    wait_for(smtp, 12)

    for got in smtp.received[10:]:
        data = got.data.lower()
        others = {"ase@example.org", "kari@example.org"} - {got.rcpt_tos[0]}
        assert not any(o.encode() in data for o in others)
        assert b"1961" not in data  # the answers never travel by mail


def test_with_offers_the_first_in_line_is_offered_the_place_and_can_take_it(tmp_path, env, smtp):
    _, server, invitations = invited(tmp_path, env, smtp, event_block(waitlist_offer_hours=2))
    try:
        for address in ("ase@example.org", "kari@example.org", "per@example.org"):
            sign_up(server, invitations[address])
        wait_for(smtp, 13)
        submit(server, invitations["ase@example.org"], action="cancel")
        wait_for(smtp, 15)
        [offer] = to(smtp, "per@example.org", 13)
        assert subject_of(offer) == "En plass er ledig: Medlemstreff på Stortinget"
        assert "innen" in text_of(offer)

        taken = submit(server, links([offer], "/p/")["per@example.org"], action="accept")

        assert taken.status_code == 200 and "Du har plass" in taken.text
        wait_for(smtp, 16)
        [confirmation] = to(smtp, "per@example.org", 15)
        assert b"METHOD:REQUEST" in calendar(confirmation)
    finally:
        server.stop()


def test_an_offer_left_unanswered_passes_to_the_next_when_its_hours_are_over(tmp_path, env, smtp):
    project, server, invitations = invited(tmp_path, env, smtp, event_block(waitlist_offer_hours=2))
    try:
        for address in ("ase@example.org", "kari@example.org", "per@example.org", "olav@example.org"):
            sign_up(server, invitations[address])
        wait_for(smtp, 14)
        submit(server, invitations["ase@example.org"], action="cancel")
        wait_for(smtp, 16)
        cancelled_at = dt.datetime.now(NOW.tzinfo)
        run_due(project, env, local(cancelled_at + dt.timedelta(hours=1)))
        assert not to(smtp, "olav@example.org", 16)
        with server.client() as client:
            shown = hidden(client.get(server.local(invitations["per@example.org"])).text)

        run_due(project, env, local(cancelled_at + dt.timedelta(hours=2, minutes=5)))

        [offer] = to(smtp, "olav@example.org", 16)
        assert subject_of(offer) == "En plass er ledig: Medlemstreff på Stortinget"
        with server.client() as client:
            late = client.post(
                server.local(invitations["per@example.org"]), data={**shown, "action": "accept"}
            )
        assert late.status_code == 409 and "Tilbudet har gått ut" in late.text
        with server.client() as client:
            again = client.get(server.local(invitations["per@example.org"])).text
        assert "Tilbudet har gått ut" in again and "Meld meg på" in again  # back in line if they like
        counts = status(project, env)
        assert (counts["offered"], counts["expired"]) == (1, 1)
    finally:
        server.stop()


def test_two_people_sending_the_last_place_at_the_same_moment_get_one_place_between_them(tmp_path, env, smtp):
    project, server, invitations = invited(tmp_path, env, smtp, event_block(capacity=3, waitlist="false"))
    try:
        forms = {}
        with server.client() as client:
            for address, link in invitations.items():
                forms[address] = hidden(client.get(server.local(link)).text)
        start = threading.Barrier(len(invitations))
        answers: dict[str, int] = {}

        def post(address: str) -> None:
            with server.client() as client:
                start.wait()
                data = {**forms[address], "action": "register", "q.fodselsdato": "17.05.1990"}
                answers[address] = client.post(server.local(invitations[address]), data=data).status_code

        threads = [threading.Thread(target=post, args=(a,)) for a in invitations]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)

        assert sorted(answers.values()) == [200, 200, 200] + [409] * 7
        wait_for(smtp, 13)
        counts = status(project, env)
        assert counts["placed"] == 3 and counts["registered"] == 3
        assert len([r for r in smtp.received[10:] if "Du har plass" in subject_of(r)]) == 3
    finally:
        server.stop()


def test_the_waiting_list_orders_simultaneous_registrations_without_gaps(tmp_path, env, smtp):
    project, server, invitations = invited(tmp_path, env, smtp, event_block(capacity=1))
    try:
        start = threading.Barrier(len(invitations))

        def post(link: str) -> None:
            with server.client() as client:
                form = hidden(client.get(server.local(link)).text)
                start.wait()
                client.post(
                    server.local(link), data={**form, "action": "register", "q.fodselsdato": "1.1.1980"}
                )

        threads = [threading.Thread(target=post, args=(link,)) for link in invitations.values()]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)

        wait_for(smtp, 20)
        positions = sorted(
            int(text_of(r).split("nummer ")[1].split(" ")[0])
            for r in smtp.received[10:]
            if subject_of(r).startswith("Ventelist")  # Ventelisten, and Ventelista in nynorsk
        )
        assert positions == list(range(1, 10))
        assert status(project, env)["placed"] == 1
    finally:
        server.stop()


def test_the_reminder_reaches_only_those_with_a_place_and_carries_the_join_link(tmp_path, env, smtp):
    block = event_block(location=None, online="true", join_url=JOIN, capacity=2)
    project, server, invitations = invited(tmp_path, env, smtp, block)
    try:
        for address in ("ase@example.org", "kari@example.org", "per@example.org"):
            sign_up(server, invitations[address])
        wait_for(smtp, 13)
        assert all(JOIN not in text_of(r) for r in smtp.received[:10])
        assert JOIN not in text_of(to(smtp, "per@example.org", 10)[0])

        reminder_time = START - dt.timedelta(days=1)
        run_due(project, env, local(reminder_time.replace(hour=9, minute=1)))
        run_due(project, env, local(reminder_time.replace(hour=9, minute=2)))

        reminders = smtp.received[13:]
        assert sorted(r.rcpt_tos[0] for r in reminders) == ["ase@example.org", "kari@example.org"]
        assert all(subject_of(r) == "Påminnelse: Medlemstreff på Stortinget" for r in reminders)
        assert all(JOIN in text_of(r) for r in reminders)
        with server.client() as client:
            page = client.get(server.local(invitations["ase@example.org"])).text
            waiting = client.get(server.local(invitations["per@example.org"])).text
        assert JOIN not in page
        assert "lenken står i e-posten som bekreftet plassen din" in page  # not "kommer … når"
        assert "lenken kommer på e-post når du er påmeldt" in waiting
    finally:
        server.stop()


@pytest.fixture
def public(tmp_path, env, smtp):
    project, server, invitations = invited(tmp_path, env, smtp, event_block(open_to="public", capacity=1))
    yield project, server, invitations
    server.stop()


def guest_sign_up(server, address: str, name: str = "Gry Gjest"):
    return submit(server, f"https://x/p/{EVENT}", name=name, email=address, **{"q.fodselsdato": "03.04.1985"})


def test_a_guest_gets_a_confirmation_link_and_holds_no_place_until_they_click_it(public, env, smtp):
    project, server, invitations = public

    answer = guest_sign_up(server, "gry@example.net")

    assert answer.status_code == 200 and "Sjekk e-posten din" in answer.text
    wait_for(smtp, 11)
    [mail] = to(smtp, "gry@example.net")
    assert subject_of(mail) == "Bekreft påmeldingen: Medlemstreff på Stortinget"
    sign_up(server, invitations["ase@example.org"])
    wait_for(smtp, 12)
    assert subject_of(to(smtp, "ase@example.org", 11)[0]) == "Du har plass: Medlemstreff på Stortinget"
    counts = status(project, env)
    assert (counts["placed"], counts["unconfirmed"]) == (1, 1)

    confirmed = submit(server, links([mail], "/p/")["gry@example.net"], action="confirm")

    assert confirmed.status_code == 200 and "nummer 1 på ventelisten" in confirmed.text
    wait_for(smtp, 13)
    assert subject_of(to(smtp, "gry@example.net", 12)[0]) == "Ventelisten: Medlemstreff på Stortinget"


def test_a_guests_mail_links_no_preference_page_and_a_members_does(public, env, smtp):
    """A guest is no member: there is no /i/ page of theirs to link to (it would only say no)."""
    _, server, invitations = public
    guest_sign_up(server, "gry@example.net")
    wait_for(smtp, 11)
    sign_up(server, invitations["ase@example.org"])
    wait_for(smtp, 12)

    [guest] = to(smtp, "gry@example.net")
    [member] = to(smtp, "ase@example.org", 11)

    assert "Innstillinger for e-post" not in text_of(guest) and "/i/" not in text_of(guest)
    assert "Innstillinger for e-post" in text_of(member) and "/i/" in text_of(member)


def test_a_guest_who_never_confirms_expires_after_a_day_and_is_forgotten(public, env, smtp):
    project, server, _ = public
    guest_sign_up(server, "aldri@example.net", name="Aldri Bekreftet")
    wait_for(smtp, 11)
    [mail] = to(smtp, "aldri@example.net")

    run_due(project, env, local(dt.datetime.now(NOW.tzinfo) + dt.timedelta(hours=25)))

    counts = status(project, env)
    assert (counts["unconfirmed"], counts["expired"], counts["placed"]) == (0, 1, 0)
    late = submit(server, links([mail], "/p/")["aldri@example.net"], action="confirm")
    assert late.status_code == 400
    state = b"".join(p.read_bytes() for p in (project / ".mailer").rglob("*") if p.is_file())
    assert b"aldri@example.net" not in state.lower() and b"Aldri Bekreftet" not in state


def test_a_guest_is_never_added_to_an_audience(public, env, smtp):
    project, server, _ = public
    guest_sign_up(server, "gry@example.net")
    wait_for(smtp, 11)

    result = mailer(project, "recipients", "--json", env=env)

    assert "gry@example.net" not in result.out
    assert len(json.loads(result.out)) == 10


def test_a_confirmation_the_web_part_could_not_send_is_sent_by_the_next_run(tmp_path, env, smtp):
    project = make_project(tmp_path / "fylke")
    run_due(project, env)
    invitations = links(smtp.received, "/p/")
    down = {**env, "MAILER_SMTP_PORT": "1"}  # nothing listens there: the server is down for the web part
    server = start_web(project, down)
    try:
        answer = sign_up(server, invitations["ase@example.org"])
    finally:
        server.stop()
    assert answer.status_code == 200 and "Du har plass" in answer.text
    assert not to(smtp, "ase@example.org", 10)

    run_due(project, env)

    [confirmation] = to(smtp, "ase@example.org", 10)
    assert subject_of(confirmation) == "Du har plass: Medlemstreff på Stortinget"
    run_due(project, env)
    assert len(to(smtp, "ase@example.org", 10)) == 1
