"""Edges of events and meetings: an offer when the event moves, a meeting reinstated after its
call-off, what `run-due` says of a guest who never confirmed, and the page of a guest whose
registration is gone.

End to end: the real `mailer serve`, `run-due` as a subprocess, the state file, mail through the
real SMTP server, read with the `email` package and calendars with icalendar. Dates are
relative to now (the web part runs on the real clock); `--now` only ever moves forward.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import icalendar
import pytest
from conftest import Received, base_env, mailer, small_project, state_rows
from event_project import (
    EVENT,
    NOW,
    OSLO,
    START,
    event_block,
    links,
    local,
    make_project,
    run_due,
    subject_of,
    wait_for,
)
from test_event_changes import edit_event
from test_events import calendar, sign_up, submit, text_of, to, web_env
from webapp import start_web

from mailer.project.dates import date_and_time
from mailer.state.database import unstamp

TITLE = "Medlemstreff på Stortinget"


@pytest.fixture
def env(smtp, engine) -> dict[str, str]:
    """Every test here runs with the state in SQLite and again in PostgreSQL (`engine`)."""
    return web_env(smtp)


# -- an offer, when the event moves ----------------------------------------------------------------


@pytest.fixture
def offered(tmp_path, env, smtp):
    """Åse and Kari had the two places, Per was first in line; Åse cancelled, and Per is offered
    her place for 48 hours. The web part still runs."""
    project = make_project(tmp_path / "fylke", event_block(waitlist_offer_hours=48))
    run_due(project, env)
    invitations = links(smtp.received, "/p/")
    server = start_web(project, env)
    try:
        for address in ("ase@example.org", "kari@example.org", "per@example.org"):
            sign_up(server, invitations[address])
        wait_for(smtp, 13)
        submit(server, invitations["ase@example.org"], action="cancel")
        wait_for(smtp, 15)
        assert [subject_of(r) for r in to(smtp, "per@example.org", 13)] == [f"En plass er ledig: {TITLE}"]
        yield project, server, invitations
    finally:
        server.stop()


def offer_expires(project: Path) -> dt.datetime:
    [(value,)] = state_rows(
        project, "SELECT offer_expires_at FROM waitlist WHERE offer_expires_at IS NOT NULL"
    )
    return unstamp(str(value)).astimezone(OSLO)


def test_an_offer_made_before_the_event_moved_earlier_runs_out_at_the_new_start(offered, env, smtp):
    project, server, invitations = offered
    before = offer_expires(project)
    new_start = (NOW + dt.timedelta(hours=30)).replace(second=0, microsecond=0)
    assert new_start < before  # the offer, as made, would outlast the new start
    edit_event(
        project,
        start=local(new_start),
        end=local(new_start + dt.timedelta(hours=2)),
        registration_closes=local(new_start - dt.timedelta(hours=1)),
    )

    run_due(project, env)

    assert offer_expires(project) == new_start
    [changed] = [r for r in to(smtp, "per@example.org", 15) if subject_of(r) == f"Endret: {TITLE}"]
    assert f"si ja innen {date_and_time(new_start, 'nb')}" in text_of(changed)
    with server.client() as client:
        page = client.get(server.local(invitations["per@example.org"])).text
    assert f"Svar innen {date_and_time(new_start, 'nb')}" in page


def test_an_offer_keeps_its_deadline_when_the_event_moves_later_and_the_change_mail_says_it(
    offered, env, smtp
):
    project, _, _ = offered
    before = offer_expires(project)
    later = START + dt.timedelta(days=2)
    edit_event(project, start=local(later), end=local(later + dt.timedelta(hours=2)))

    run_due(project, env)

    assert offer_expires(project) == before  # counted from when it was made, as Per was told
    [changed] = [r for r in to(smtp, "per@example.org", 15) if subject_of(r) == f"Endret: {TITLE}"]
    assert f"si ja innen {date_and_time(before, 'nb')}" in text_of(changed)


# -- a meeting called off, then held after all -----------------------------------------------------

MEETING_DAY = (NOW + dt.timedelta(days=6)).date()
MEMBERS = (
    '1,Åse,Ødegård,ase@example.org,Ås,Ås,"medlem, tillitsvalgt",2020-01-01,nb\n'
    "2,Bjørn,Bråten,bjorn@example.org,Bærum,Bærum,medlem|lokallagsleder,2021-05-05,nn\n"
)
SERIES = f"""\
  styremote:
    kind: invitation
    template: invitation
    audience: tillitsvalgte
    subject: "Styremøte {{{{ meeting.start|date }}}}"
    meeting:
      title: Styremøte
      location: Fylkeshuset, Oslo
      time: "18:00"
      duration: 2h
      dates: [{MEETING_DAY.isoformat()}]
    invite: {{days_before: 3, at: "09:00"}}
"""
INVITED_AT = dt.datetime.combine(MEETING_DAY - dt.timedelta(days=3), dt.time(9, 0))
CALLED_OFF = "    invite: {days_before: 3"


def meeting_run(project: Path, smtp, at: dt.datetime) -> str:
    result = mailer(project, "run-due", "--now", local(at), env=base_env(**smtp.env()))
    assert result.code == 0, result.err
    return result.out


def vevent(got: Received) -> tuple[str, icalendar.Event]:
    cal = icalendar.Calendar.from_ical(calendar(got))
    return str(cal["METHOD"]), cal.walk("VEVENT")[0]


def test_a_meeting_called_off_and_then_reinstated_tells_members_it_is_held_after_all(tmp_path, smtp):
    project = small_project(tmp_path / "fylke", MEMBERS, SERIES)
    schedules = project / "schedules.yaml"
    meeting_run(project, smtp, INVITED_AT)
    plain = schedules.read_text("utf-8")
    schedules.write_text(
        plain.replace(CALLED_OFF, f"      changes:\n        {MEETING_DAY}: cancelled\n{CALLED_OFF}"), "utf-8"
    )
    meeting_run(project, smtp, INVITED_AT + dt.timedelta(hours=1))
    assert len(smtp.received) == 4  # the invitation and its cancellation, to each of the two
    schedules.write_text(plain, "utf-8")  # the board takes the call-off back

    out = meeting_run(project, smtp, INVITED_AT + dt.timedelta(hours=2))

    assert f"styremote@{MEETING_DAY}/update-2: 2 sent" in out
    news = {r.rcpt_tos[0]: r for r in smtp.received[4:]}
    ase, bjorn = news["ase@example.org"], news["bjorn@example.org"]
    assert subject_of(ase).startswith("Blir likevel holdt: Styremøte")
    assert subject_of(bjorn).startswith("Blir likevel halde: Styremøte")
    assert "blir likevel holdt" in text_of(ase) and "endret" not in text_of(ase).lower()
    assert "blir likevel halde" in text_of(bjorn) and "endra" not in text_of(bjorn).lower()
    for got in (ase, bjorn):
        [invitation, cancellation] = [r for r in to(smtp, got.rcpt_tos[0])][:2]
        method, event = vevent(got)
        assert (method, str(event["STATUS"])) == ("REQUEST", "CONFIRMED")
        assert str(event["UID"]) == str(vevent(invitation)[1]["UID"])
        assert int(event["SEQUENCE"]) > int(vevent(cancellation)[1]["SEQUENCE"]) == 1
        assert event.decoded("DTSTART") == dt.datetime.combine(MEETING_DAY, dt.time(18, 0), OSLO)
    assert meeting_run(project, smtp, INVITED_AT + dt.timedelta(hours=3)) == ""


# -- a guest who never confirmed ----------------------------------------------------------------------


@pytest.fixture
def public(tmp_path, env, smtp):
    project = make_project(tmp_path / "fylke", event_block(open_to="public"))
    run_due(project, env)
    server = start_web(project, env)
    try:
        yield project, server
    finally:
        server.stop()


def guest_sign_up(server, smtp, address: str = "gry@example.net", name: str = "Gry Gjest") -> str:
    """The guest's own link, from the mail asking them to confirm."""
    count = len(smtp.received)
    submit(server, f"https://x/p/{EVENT}", name=name, email=address, **{"q.fodselsdato": "03.04.1985"})
    wait_for(smtp, count + 1)
    return links(to(smtp, address), "/p/")[address]


def a_day_later(project: Path, env: dict[str, str], *args: str):
    later = local(dt.datetime.now(OSLO) + dt.timedelta(hours=25))
    result = mailer(project, "run-due", "--now", later, *args, env=env)
    assert result.code == 0, result.err
    return result


def test_run_due_says_an_unconfirmed_guest_registration_lapsed_not_that_mail_was_dropped(public, env, smtp):
    project, server = public
    guest_sign_up(server, smtp)

    out = a_day_later(project, env).out

    assert "1 unconfirmed guest registration lapsed and was erased" in out
    assert "dropped" not in out


def test_run_due_json_counts_no_dropped_delivery_for_a_lapsed_guest(public, env, smtp):
    project, server = public
    guest_sign_up(server, smtp)

    run = json.loads(a_day_later(project, env, "--json").out)

    [events] = [m for m in run["mailings"] if m["mailing"] == "events"]
    assert events["dropped_in_run"] == 0
    assert events["note"] == "1 unconfirmed guest registration lapsed and was erased"


# -- the page of a guest whose registration is gone ------------------------------------------------


def test_a_guest_who_confirms_after_their_registration_lapsed_is_told_it_no_longer_exists(public, env, smtp):
    project, server = public
    link = guest_sign_up(server, smtp)
    a_day_later(project, env)

    with server.client() as client:
        shown = client.get(server.local(link))
    clicked = submit(server, link, action="confirm")

    assert (shown.status_code, clicked.status_code) == (404, 400)  # nothing there to confirm
    for page in (shown.text, clicked.text):
        assert "Påmeldingen finnes ikke lenger" in page
        assert "for gammel" not in page and "Lenken virker ikke" not in page
        assert "gry@example.net" not in page.lower() and "Gry" not in page
    assert TITLE in shown.text  # the event the link was for: the token names it, not the person


def test_a_guest_whose_details_were_forgotten_on_request_is_told_the_registration_no_longer_exists(
    public, env, smtp
):
    project, server = public
    link = guest_sign_up(server, smtp)
    confirmed = submit(server, link, action="confirm")
    assert "Du har plass" in confirmed.text
    forgot = mailer(project, "forget", "gry@example.net", env=env)
    assert forgot.code == 0, forgot.err

    with server.client() as client:
        page = client.get(server.local(link))

    assert page.status_code == 404
    assert "Påmeldingen finnes ikke lenger" in page.text and "for gammel" not in page.text
    assert "gry@example.net" not in page.text.lower() and "Gry" not in page.text
    assert not re.search(r"Hei, \w", page.text)
