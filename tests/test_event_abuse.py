"""Bad input and abuse of the registration pages (`/p/`): each is refused with a page that says
why, records nothing and sends nothing (the fuzzing of /p/ is in test_event_fuzzing.py).
"""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest
from conftest import base_env
from event_project import EVENT, NOW, event_block, hidden, links, local, make_project, run_due, status
from webapp import SECRET, start_web

from mailer.delivery.tokens import Signer
from mailer.web.registration import csrf_value

TODAY = NOW.date()


def token(member_id: str, subject: str = EVENT, purpose: str = "p", issued: dt.date = TODAY) -> str:
    return Signer(SECRET.encode()).sign(purpose, member_id, subject, issued.toordinal())


@pytest.fixture
def env(smtp) -> dict[str, str]:
    return base_env(MAILER_SECRET=SECRET, MAILER_WEB_REQUESTS_PER_MINUTE="100000", **smtp.env())


@pytest.fixture
def sent(tmp_path, env, smtp):
    """Members invited to one event, a public one beside it, and `mailer serve`."""
    project = make_project(tmp_path / "fylke", event_block(), event_block("temamote", open_to="public"))
    run_due(project, env)
    server = start_web(project, env)
    yield project, server, links(smtp.received, "/p/", f"{EVENT}/invitation")
    server.stop()


def form(server, link: str) -> dict[str, str]:
    with server.client() as client:
        return hidden(client.get(server.local(link)).text)


def post(server, link: str, **fields: str) -> httpx.Response:
    with server.client() as client:
        return client.post(server.local(link), data={**form(server, link), **fields})


def register(server, link: str, dob: str = "17.05.1990") -> httpx.Response:
    return post(server, link, action="register", **{"q.fodselsdato": dob})


def counts(project, env, name: str = EVENT) -> dict[str, object]:
    return status(project, env, name)


def mails_after(smtp, n: int) -> list:
    import time

    time.sleep(1.0)  # what a request sends goes out right after its answer
    return smtp.received[n:]


def test_a_missing_required_answer_is_asked_for_again_and_nothing_is_recorded(sent, env, smtp):
    project, server, invitations = sent

    answer = post(server, invitations["ase@example.org"], action="register", **{"q.fodselsdato": ""})

    assert answer.status_code == 400 and "Dette må fylles ut" in answer.text
    assert counts(project, env)["registered"] == 0
    assert not mails_after(smtp, 20)


@pytest.mark.parametrize(
    "dob", ["31.02.1990", "i går", "17/05/1990", "1990-13-01", "17.05.19900", "01.01.1066"]
)
def test_a_date_that_is_no_date_is_refused(sent, env, dob):
    project, server, invitations = sent

    answer = register(server, invitations["ase@example.org"], dob=dob)

    assert answer.status_code == 400 and "Skriv datoen som dd.mm.åååå" in answer.text
    assert counts(project, env)["registered"] == 0


def test_the_date_is_kept_as_a_date_whichever_way_it_was_written(sent, env):
    project, server, invitations = sent
    register(server, invitations["ase@example.org"], dob="7.5.1990")
    register(server, invitations["kari@example.org"], dob="1990-05-07")

    answers = counts(project, env)["answers"]

    assert answers["fodselsdato"]["answered"] == 2


def test_a_second_submit_changes_nothing_and_sends_nothing(sent, env, smtp):
    project, server, invitations = sent
    link = invitations["ase@example.org"]
    shown = form(server, link)
    with server.client() as client:
        first = client.post(
            server.local(link), data={**shown, "action": "register", "q.fodselsdato": "1.1.1990"}
        )
        second = client.post(
            server.local(link), data={**shown, "action": "register", "q.fodselsdato": "1.1.1990"}
        )

    assert first.status_code == 200
    assert second.status_code == 409 and "allerede påmeldt" in second.text
    assert counts(project, env)["registered"] == 1
    assert len([r for r in mails_after(smtp, 20) if "ase@example.org" in r.rcpt_tos]) == 1


def test_signing_up_and_off_again_and_again_stops_after_five_sign_ups_a_day(sent, env, smtp):
    """Each sign-up and each cancellation mails the member: a forwarded link or a script must
    not be able to flood their inbox."""
    project, server, invitations = sent
    link = invitations["ase@example.org"]
    for _ in range(5):
        assert register(server, link).status_code == 200
        assert post(server, link, action="cancel").status_code == 200

    refused = register(server, link)

    assert refused.status_code == 429 and "5 ganger det siste døgnet" in refused.text
    assert counts(project, env)["registered"] == 0
    got = [r for r in mails_after(smtp, 20) if "ase@example.org" in r.rcpt_tos]
    assert len(got) == 10


def test_ten_megabytes_of_text_are_refused_unread(sent, env):
    project, server, invitations = sent

    answer = post(server, invitations["ase@example.org"], action="register", **{"q.hensyn": "x" * 10_000_000})

    assert answer.status_code == 413
    assert counts(project, env)["registered"] == 0


def test_an_answer_longer_than_the_question_allows_is_refused(sent, env):
    project, server, invitations = sent

    answer = post(
        server,
        invitations["ase@example.org"],
        action="register",
        **{"q.fodselsdato": "1.1.1990", "q.hensyn": "x" * 501},
    )

    assert answer.status_code == 400 and "høyst 500 tegn" in answer.text
    assert counts(project, env)["registered"] == 0


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(lambda link: link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB"), id="tampered"),
        pytest.param(
            lambda link: link[: link.index("/p/") + 3] + token("1", purpose="u"), id="unsubscribe-token"
        ),
        pytest.param(
            lambda link: link[: link.index("/p/") + 3] + token("1", "nyhetsbrev"), id="other-subject"
        ),
        pytest.param(
            lambda link: link[: link.index("/p/") + 3] + token("1", issued=TODAY - dt.timedelta(days=401)),
            id="expired",
        ),
        pytest.param(
            lambda link: link[: link.index("/p/") + 3] + token("guest-00ff00ff00ff00ff"), id="unknown-guest"
        ),
        pytest.param(lambda link: link + "=", id="not-canonical"),
    ],
)
def test_a_forged_or_expired_link_is_refused_and_records_nothing(sent, env, bad):
    project, server, invitations = sent
    link = bad(invitations["ase@example.org"])

    with server.client() as client:
        shown = client.get(server.local(link))
        posted = client.post(server.local(link), data={"action": "register", "q.fodselsdato": "1.1.1990"})

    assert shown.status_code in (400, 404) and posted.status_code in (400, 404)
    told = ("Finner ikke arrangementet", "Lenken virker ikke", "Påmeldingen finnes ikke lenger")
    assert any(text in shown.text for text in told)  # the last: a guest's signed link, nobody's now
    assert counts(project, env)["registered"] == 0


def test_a_member_who_left_the_export_is_told_so(sent, env):
    _, server, invitations = sent
    link = invitations["ase@example.org"]
    link = link[: link.index("/p/") + 3] + token("999")

    with server.client() as client:
        answer = client.get(server.local(link))

    assert answer.status_code == 404 and "Vi finner deg ikke i medlemslisten" in answer.text


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"csrf": "0" * 32}, id="wrong-csrf"),
        pytest.param({"csrf": ""}, id="no-csrf"),
    ],
)
def test_a_form_without_its_csrf_value_is_refused(sent, env, fields):
    project, server, invitations = sent

    answer = post(
        server, invitations["ase@example.org"], action="register", **{"q.fodselsdato": "1.1.1990"}, **fields
    )

    assert answer.status_code == 403
    assert counts(project, env)["registered"] == 0


def test_a_form_sent_from_another_site_is_refused(sent, env):
    project, server, invitations = sent
    link = invitations["ase@example.org"]
    shown = form(server, link)

    with server.client() as client:
        answer = client.post(
            server.local(link),
            data={**shown, "action": "register", "q.fodselsdato": "1.1.1990"},
            headers={"Origin": "https://evil.example"},
        )

    assert answer.status_code == 403
    assert counts(project, env)["registered"] == 0


def test_a_cancel_link_used_twice_cancels_once_and_sends_one_cancellation(sent, env, smtp):
    project, server, invitations = sent
    link = invitations["ase@example.org"]
    register(server, link)
    shown = form(server, link)
    with server.client() as client:
        first = client.post(server.local(link), data={**shown, "action": "cancel"})
        second = client.post(server.local(link), data={**shown, "action": "cancel"})

    assert first.status_code == 200 and "Du er meldt av" in first.text
    assert second.status_code == 409 and "Du er meldt av" in second.text
    got = [r for r in mails_after(smtp, 20) if "ase@example.org" in r.rcpt_tos]
    assert [str(r.message["Subject"]).split(":")[0] for r in got] == ["Du har plass", "Avmeldt"]
    assert counts(project, env)["cancelled"] == 1


def test_a_form_sent_after_the_deadline_is_refused(tmp_path, env, smtp):
    project = make_project(
        tmp_path / "fylke", event_block(registration_closes=local(NOW - dt.timedelta(hours=1)))
    )
    server = start_web(project, env)
    try:
        link = f"https://medlem.testfylket.example/p/{token('1')}"
        csrf = csrf_value(SECRET.encode(), token("1"))  # as a form shown before the deadline has it
        with server.client() as client:
            shown = client.get(server.local(link))
            answer = client.post(
                server.local(link), data={"csrf": csrf, "action": "register", "q.fodselsdato": "1.1.1990"}
            )
        assert shown.status_code == 200 and "Påmeldingen er stengt" in shown.text
        assert answer.status_code == 410 and "Påmeldingen er stengt" in answer.text
        assert counts(project, env)["registered"] == 0
    finally:
        server.stop()


def test_nothing_can_be_changed_once_the_event_has_started(tmp_path, env):
    begun = NOW - dt.timedelta(minutes=30)
    block = event_block(
        start=local(begun), end=local(begun + dt.timedelta(hours=2)), registration_closes=local(begun)
    )
    project = make_project(tmp_path / "fylke", block)
    server = start_web(project, env)
    try:
        link = f"https://medlem.testfylket.example/p/{token('1')}"
        with server.client() as client:
            answer = client.get(server.local(link))
        assert "Arrangementet har begynt" in answer.text
    finally:
        server.stop()


# -- the public form --------------------------------------------------------------------------------


def guest(server, **fields: str) -> httpx.Response:
    values = {"name": "Gry Gjest", "email": "gry@example.net", "q.fodselsdato": "3.4.1985", **fields}
    return post(server, "https://x/p/temamote", **values)


def test_a_public_registration_for_an_address_already_registered_is_answered_the_same_and_sends_nothing(
    sent, env, smtp
):
    project, server, _ = sent
    first = guest(server)
    mails_after(smtp, 20)

    again = guest(server, email="GRY@example.net", name="Noen Andre")

    assert again.status_code == first.status_code == 200
    strip = re.compile(r'name="csrf" value="[^"]*"')
    assert strip.sub("", again.text) == strip.sub("", first.text)
    assert len(mails_after(smtp, 20)) == 1
    assert counts(project, env, "temamote")["unconfirmed"] == 1


def test_a_member_already_registered_cannot_be_registered_again_as_a_guest(sent, env, smtp):
    project, server, _ = sent
    register(server, f"https://x/p/{token('1', 'temamote')}")

    answer = guest(server, email="ase@example.org")

    assert answer.status_code == 200 and "Sjekk e-posten din" in answer.text
    assert counts(project, env, "temamote")["unconfirmed"] == 0


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        pytest.param({"email": "ikke-en-adresse"}, "Skriv en gyldig e-postadresse", id="bad-email"),
        pytest.param({"email": "a@b.c\r\nBcc: x@evil.example"}, "Skriv en gyldig e-postadresse", id="header"),
        pytest.param({"name": ""}, "Skriv navnet ditt", id="no-name"),
        pytest.param({"name": "Gry\x1b[31m Gjest"}, "Skriv navnet ditt", id="control"),
        pytest.param({"name": "Gry \u202etsejG"}, "Skriv navnet ditt", id="bidi-override"),
        pytest.param({"name": "x" * 101}, "Skriv navnet ditt", id="long-name"),
        pytest.param({"q.fodselsdato": "snart"}, "Skriv datoen som dd.mm.åååå", id="bad-date"),
    ],
)
def test_a_public_form_with_a_bad_field_is_asked_for_again(sent, env, smtp, fields, needle):
    project, server, _ = sent

    answer = guest(server, **fields)

    assert answer.status_code == 400 and needle in answer.text
    assert counts(project, env, "temamote")["unconfirmed"] == 0
    assert not mails_after(smtp, 20)


def test_a_public_form_whose_hidden_field_a_robot_filled_in_records_nothing(sent, env, smtp):
    project, server, _ = sent

    answer = guest(server, website="https://spam.example")

    assert answer.status_code == 200 and "Sjekk e-posten din" in answer.text
    assert counts(project, env, "temamote")["unconfirmed"] == 0
    assert not mails_after(smtp, 20)


@pytest.mark.parametrize("csrf", ["1.x", "².x", "①.x", "9" * 40 + ".x", ""])
def test_a_public_form_sent_without_having_been_shown_is_refused(sent, env, csrf):
    project, server, _ = sent

    with server.client() as client:
        answer = client.post(
            server.local("https://x/p/temamote"),
            data={"name": "Gry", "email": "gry@example.net", "csrf": csrf},
        )

    assert answer.status_code == 403
    assert counts(project, env, "temamote")["unconfirmed"] == 0


def test_one_client_may_send_ten_public_forms_an_hour_and_no_more(sent, env, smtp):
    project, server, _ = sent

    answers = [guest(server, email=f"gjest{i}@example.net").status_code for i in range(11)]

    assert answers == [200] * 10 + [429]
    assert counts(project, env, "temamote")["unconfirmed"] == 10


def test_a_members_only_event_has_no_public_form(sent, env):
    _, server, _ = sent

    with server.client() as client:
        answer = client.get(server.local(f"https://x/p/{EVENT}"))

    assert answer.status_code == 404


def test_the_public_form_never_shows_the_join_link(tmp_path, env):
    join = "https://teams.example/l/meetup-join/hemmelig"
    project = make_project(
        tmp_path / "fylke",
        event_block("temamote", open_to="public", location=None, online="true", join_url=join),
    )
    server = start_web(project, env)
    try:
        with server.client() as client:
            page = client.get(server.local("https://x/p/temamote"))
        assert page.status_code == 200 and join not in page.text
    finally:
        server.stop()
