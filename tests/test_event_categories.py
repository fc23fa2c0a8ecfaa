"""An event with places is a category a member chooses like the newsletter: on their page where
they are in its audience, held back by a pause, left off when they come back to one category
after "everything", and back only when they ask for it. What goes to them about their own place
still reaches them.

Through the real command line, the real `mailer serve` and a real SMTP server; dates are
relative to today (the web part runs on the real clock).
"""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from conftest import Received, SMTPServer, mailer, small_project
from event_project import START, event_block, hidden, links, local
from prefs_project import MEMBERS, confirm, env_for, newsletter, post, preferences, recipients, token
from webapp import start_web, unsubscribe_url

EVENT = "medlemstreff"
TITLE = "Medlemstreff på Stortinget"
INVITATION = f"{EVENT}/invitation"
PAST = "kurs-i-fjor"
PAST_START = START - dt.timedelta(days=30)


@pytest.fixture
def root(tmp_path):
    """The newsletter, an event for Follo (Åse, Bjørn and Hilde; not Per in Bærum) whose
    invitation is due, and an event for everyone that ended weeks ago."""
    project = small_project(tmp_path / "fylke", MEMBERS)
    past = event_block(
        PAST,
        title="Kurs i valgkamp",
        start=local(PAST_START),
        end=local(PAST_START + dt.timedelta(hours=2)),
        registration_closes=local(PAST_START - dt.timedelta(days=1)),
        questions=None,
        reminder=None,
    )
    with open(project / "schedules.yaml", "a", encoding="utf-8") as f:
        f.write("events:\n" + event_block(audience="follo") + past)
    return project


@pytest.fixture
def env(smtp):
    return env_for(smtp.env())


@pytest.fixture
def server(root, env):
    web = start_web(root, env)
    yield web
    web.stop()
    assert "Traceback" not in web.log.read_text()


def page(member_id: str) -> str:
    return f"/i/{token(member_id)}"


def send_invitation(root, env) -> None:
    result = mailer(root, "send", INVITATION, env=env)
    assert result.code == 0, result.err


def invited(smtp: SMTPServer) -> set[str]:
    return {r.rcpt_tos[0] for r in smtp.received if r.message["X-Mailer-Mailing"] == INVITATION}


def words(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def text_of(got: Received) -> str:
    return " ".join(got.message.get_body(("plain",)).get_content().split())


def mail_to(smtp: SMTPServer, address: str, subject: str, seconds: float = 30.0) -> Received:
    """The one message to `address` with `subject` (the web part sends right after answering)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = [r for r in smtp.handler.to(address) if r.message["Subject"] == subject]
        if found:
            [got] = found
            return got
        time.sleep(0.05)
    raise AssertionError(f"no '{subject}' to {address} within {seconds} s")


def test_the_page_lists_an_upcoming_event_as_optional_to_those_in_its_audience(server):
    with server.client() as client:
        ase, bjorn, hilde, per = (client.get(page(n)).text for n in ("1", "2", "3", "4"))

    box = f'<label><input type="checkbox" name="on" value="{EVENT}" checked>'
    assert f"{box} Invitasjoner til {TITLE}</label>" in ase
    assert f'<input type="hidden" name="shown" value="{EVENT}">' in ase
    assert f"{box} Invitasjonar til {TITLE}</label>" in bjorn
    assert f"{box} Invitasjoner til {TITLE}</label>" in hilde, "no office requires an event"
    assert TITLE not in per, "Bærum is not in Follo"
    assert all("Kurs i valgkamp" not in p and PAST not in p for p in (ase, bjorn, hilde, per)), "it is over"


def test_a_pause_holds_an_event_invitation_back(root, env, smtp, server):
    paused = post(server, page("1"), [("action", "pause"), ("months", "6")])
    assert paused.status_code == 200 and "Pausen er registrert" in paused.text

    send_invitation(root, env)

    assert invited(smtp) == {"bjorn@example.org", "hilde@example.org"}


def test_coming_back_to_the_newsletter_after_everything_off_leaves_the_event_off(root, env, smtp, server):
    newsletter(root, env, 1)
    [first] = smtp.handler.to("ase@example.org")
    with server.client() as client:
        everything = client.post(
            server.local(unsubscribe_url(first.message["List-Unsubscribe"])), data={"scope": "*"}
        )
    assert everything.status_code == 200 and "Du får ingen flere e-poster fra" in everything.text
    asked = post(server, page("1"), [("shown", "nyhetsbrev"), ("on", "nyhetsbrev")])
    assert asked.status_code == 200 and "Vi har sendt en e-post til adressen din" in asked.text
    mail = mail_to(smtp, "ase@example.org", "Bekreft at du vil ha e-post fra oss igjen")
    assert "Nyhetsbrevet" in text_of(mail) and TITLE not in text_of(mail)
    assert confirm(server, mail).status_code == 200
    smtp.handler.received.clear()

    newsletter(root, env, 2)
    send_invitation(root, env)

    assert "ase@example.org" in recipients(smtp.received, "Nyhetsbrev 2")
    assert invited(smtp) == {"bjorn@example.org", "hilde@example.org"}
    held = {h["category"]: h["since"] for h in preferences(root, env, "ase@example.org")["held"]}
    assert set(held) == {EVENT, PAST}, "one suppression per other category, events too"
    with server.client() as client:
        shown = client.get(page("1")).text
    assert f'<input type="checkbox" name="on" value="{EVENT}"> Invitasjoner til {TITLE}' in shown


def test_an_event_left_from_its_invitation_comes_back_when_asked_for_on_the_page(root, env, smtp, server):
    send_invitation(root, env)
    [got] = smtp.handler.to("ase@example.org")
    with server.client() as client:
        left = client.post(
            server.local(unsubscribe_url(got.message["List-Unsubscribe"])), data={"scope": EVENT}
        )
        shown = client.get(page("1")).text
    assert left.status_code == 200
    assert f"Du får ikke flere e-poster fra oss om invitasjoner til {TITLE}." in words(left.text)
    assert "Trykk på «Innstillinger for e-post»" in left.text
    assert f'<input type="checkbox" name="on" value="{EVENT}"> Invitasjoner til {TITLE}' in shown
    assert "Du meldte deg av" in shown

    asked = post(server, page("1"), [("shown", EVENT), ("on", EVENT)])

    assert asked.status_code == 200
    assert f"Trykk på knappen i den for å få Invitasjoner til {TITLE} igjen." in words(asked.text)
    mail = mail_to(smtp, "ase@example.org", "Bekreft at du vil ha e-post fra oss igjen")
    assert f"Invitasjoner til {TITLE}" in text_of(mail)
    confirmed = confirm(server, mail)
    assert confirmed.status_code == 200 and "Velkommen tilbake" in confirmed.text
    record = preferences(root, env, "ase@example.org")
    assert record["held"] == []
    assert [(e["action"], e["category"]) for e in record["history"]] == [
        ("unsubscribed", EVENT),
        ("resubscribe_requested", EVENT),
        ("resubscribed", EVENT),
    ]
    with server.client() as client:
        again = client.get(page("1")).text
    assert f'<input type="checkbox" name="on" value="{EVENT}" checked> Invitasjoner til {TITLE}' in again


def test_a_member_who_turned_the_event_off_and_paused_still_gets_her_confirmation_and_reminder(
    root, env, smtp, server
):
    send_invitation(root, env)
    link = links(smtp.received, "/p/", INVITATION)["ase@example.org"]
    off = post(server, page("1"), [("shown", EVENT)])
    assert off.status_code == 200 and f"Du får ikke lenger: Invitasjoner til {TITLE}." in words(off.text)
    paused = post(server, page("1"), [("action", "pause"), ("months", "3")])
    assert paused.status_code == 200 and "Pausen er registrert" in paused.text

    with server.client() as client:
        form = hidden(client.get(server.local(link)).text)
        registered = client.post(
            server.local(link), data={**form, "action": "register", "q.fodselsdato": "17.05.1990"}
        )

    assert registered.status_code == 200 and "Du har plass" in registered.text
    confirmation = mail_to(smtp, "ase@example.org", f"Du har plass: {TITLE}")
    [calendar] = [p for p in confirmation.message.walk() if p.get_content_type() == "text/calendar"]
    assert b"METHOD:REQUEST" in calendar.get_payload(decode=True)
    reminder_time = (START - dt.timedelta(days=1)).replace(hour=9, minute=5)
    result = mailer(root, "run-due", "--now", local(reminder_time), env=env)
    assert result.code == 0, result.err
    mail_to(smtp, "ase@example.org", f"Påminnelse: {TITLE}")
    assert [r.message["X-Mailer-Mailing"] for r in smtp.handler.to("ase@example.org")] == [
        INVITATION,
        f"{EVENT}/confirmation-1",
        f"{EVENT}/reminder-1",
    ]
