"""Answers (a date of birth!) and guests are erased `forget_after_days` after the event, and by
`mailer forget` at once: no trace in any file of the state folder, only the counts stay; and a
registrant's answers never travel by mail."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest import base_env, mailer
from event_project import (
    END,
    EVENT,
    START,
    event_block,
    hidden,
    links,
    local,
    make_project,
    run_due,
    status,
    wait_for,
)
from webapp import SECRET, start_web

DATES = {"ase@example.org": "17.05.1990", "kari@example.org": "01.02.1961", "per@example.org": "24.12.1975"}
GUEST, GUEST_NAME, GUEST_DOB = "gry.gjest@example.net", "Gry Gjestesen", "03.04.1985"


def traces(project: Path, *needles: str) -> list[str]:
    """Each needle (any letter case, as typed or as an ISO date) found in a file of the state folder."""
    found = []
    files = [p for p in (project / ".mailer").rglob("*") if p.is_file()]
    for needle in needles:
        forms = {needle.lower().encode()}
        if needle.count(".") == 2 and needle.replace(".", "").isdigit():
            d, m, y = needle.split(".")
            forms.add(f"{y}-{m}-{d}".encode())
        for path in files:
            data = path.read_bytes().lower()
            found += [f"{needle} in {path.name}" for f in forms if f in data]
    return found


@pytest.fixture
def env(smtp) -> dict[str, str]:
    return base_env(MAILER_SECRET=SECRET, MAILER_WEB_REQUESTS_PER_MINUTE="100000", **smtp.env())


@pytest.fixture
def registered(tmp_path, env, smtp):
    """Three members (two places, one waiting) and a confirmed guest, each with a date of birth."""
    project = make_project(tmp_path / "fylke", event_block(open_to="public"))
    run_due(project, env)
    server = start_web(project, env)
    invitations = links(smtp.received, "/p/")
    with server.client() as client:
        for address, dob in DATES.items():
            link = server.local(invitations[address])
            form = hidden(client.get(link).text)
            client.post(link, data={**form, "action": "register", "q.fodselsdato": dob})
        public = server.local(f"https://x/p/{EVENT}")
        form = hidden(client.get(public).text)
        client.post(public, data={**form, "name": GUEST_NAME, "email": GUEST, "q.fodselsdato": GUEST_DOB})
    wait_for(smtp, 14)
    mail = next(r for r in smtp.received if GUEST in r.rcpt_tos)
    with server.client() as client:
        link = server.local(links([mail], "/p/")[GUEST])
        client.post(link, data={**hidden(client.get(link).text), "action": "confirm"})
    wait_for(smtp, 15)
    yield project, server
    server.stop()


def test_before_the_erasure_the_answers_are_there_to_export(registered, env, tmp_path):
    project, _ = registered
    out = tmp_path / "liste.csv"

    mailer(project, "event", "export", EVENT, "--out", str(out), env=env)

    assert "17.05.1990" in out.read_text("utf-8-sig")
    assert traces(project, "17.05.1990")


def test_the_answers_and_the_guests_are_erased_after_the_event_and_the_counts_stay(registered, env, tmp_path):
    project, server = registered
    before = status(project, env)

    run_due(project, env, local(END + dt.timedelta(days=30, minutes=1)))
    server.stop()

    assert traces(project, *DATES.values(), GUEST_DOB, GUEST, GUEST_NAME) == []
    after = status(project, env)
    for key in ("placed", "waiting", "taken", "registered"):
        assert after[key] == before[key], key
    assert after["erased"] is True
    assert after["answers"]["fodselsdato"]["answered"] == 0
    out = tmp_path / "liste.csv"
    mailer(project, "event", "export", EVENT, "--out", str(out), env=env)
    assert "1990" not in out.read_text("utf-8-sig") and "Ødegård" not in out.read_text("utf-8-sig")


def test_nothing_is_erased_before_forget_after_days_are_over(registered, env):
    project, _ = registered

    run_due(project, env, local(END + dt.timedelta(days=29)))

    assert status(project, env)["answers"]["fodselsdato"]["answered"] == 4  # three members and the guest
    assert status(project, env)["erased"] is False


def test_forget_erases_a_registrant_at_once_and_their_place_goes_to_the_first_in_line(registered, env, smtp):
    project, server = registered

    result = mailer(project, "forget", "ase@example.org", env=env)

    assert result.code == 0, result.err
    server.stop()
    assert traces(project, "ase@example.org", DATES["ase@example.org"], "Ødegård") == []
    assert status(project, env)["cancelled"] == 1
    count = len(smtp.received)
    run_due(project, env)
    [promoted] = smtp.received[count:]
    assert promoted.rcpt_tos == ["per@example.org"]
    assert str(promoted.message["Subject"]) == "Du har plass: Medlemstreff på Stortinget"


def test_forget_erases_a_guest_by_the_address_they_gave(registered, env):
    project, server = registered

    result = mailer(project, "forget", GUEST.upper(), env=env)

    assert result.code == 0, result.err
    server.stop()
    assert traces(project, GUEST, GUEST_NAME, GUEST_DOB) == []


def test_no_mail_carries_anyones_answers(registered, env, smtp):
    project, _ = registered
    run_due(project, env, local((START - dt.timedelta(days=1)).replace(hour=9, minute=1)))  # the reminder
    mailer(project, "event", "cancel", EVENT, "kari@example.org", env=env)

    assert len(smtp.received) > 15
    for got in smtp.received:
        data = got.data.lower()
        for dob in (*DATES.values(), GUEST_DOB):
            d, m, y = dob.split(".")
            assert dob.encode() not in data and f"{y}-{m}-{d}".encode() not in data


def test_a_guest_on_a_forged_address_cannot_erase_the_member_who_owns_it(tmp_path, env, smtp):
    project = make_project(tmp_path / "fylke", event_block(open_to="public"))
    run_due(project, env)
    server = start_web(project, env)
    try:
        with server.client() as client:
            public = server.local(f"https://x/p/{EVENT}")
            form = hidden(client.get(public).text)
            client.post(
                public, data={**form, "name": "Noen", "email": "ase@example.org", "q.fodselsdato": "1.1.1990"}
            )
        wait_for(smtp, 11)
    finally:
        server.stop()

    run_due(project, env, local(dt.datetime.now(END.tzinfo) + dt.timedelta(hours=25)))

    result = mailer(project, "status", "--json", env=env)
    assert '"id": "medlemstreff/invitation"' in result.out and '"sent": 10' in result.out
    assert traces(project, "ase@example.org")  # the member's own invitation is still in the ledger
