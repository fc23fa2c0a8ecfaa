"""The preference page under attack and misuse: every bad request is refused whole, nothing changes.

Through the real `mailer serve` and SMTP server: forged, tampered, expired and replayed links,
forms without their CSRF value or from another site, categories that do not exist or that an
office requires, confirmations used twice or too late, and what a member may type.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import pytest
from conftest import mailer
from prefs_project import (
    FORM,
    SECRETARY,
    TODAY,
    confirmation_link,
    csrf,
    env_for,
    form,
    make_project,
    post,
    token,
)
from webapp import SECRET, start_web

from mailer.delivery.tokens import Signer


@pytest.fixture
def root(tmp_path):
    return make_project(tmp_path)


@pytest.fixture
def env(smtp):
    return env_for(smtp.env())


@pytest.fixture
def server(root, env):
    web = start_web(root, env)
    yield web
    web.stop()


def log(root, env) -> list[dict[str, str]]:
    return json.loads(mailer(root, "suppressions", "--history", "--json", env=env).out)


def tampered(t: str) -> str:
    payload, mac = t.split(".")
    return f"{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{mac}"


BAD_LINKS = {
    "forged with another secret": lambda: Signer(b"not-the-secret-0123456789").sign(
        "i", "1", "", TODAY.toordinal()
    ),
    "tampered": lambda: tampered(token("1")),
    "cut short": lambda: token("1")[:-3],
    "older than 400 days": lambda: token("1", issued=TODAY - dt.timedelta(days=401)),
    "an unsubscribe link's token": lambda: token("1", "u", "nyhetsbrev"),
    "not base64url": lambda: "%00%0d%0a.<script>",
}


@pytest.mark.parametrize("kind", BAD_LINKS)
def test_a_bad_link_gets_a_plain_400_page_and_a_post_through_it_changes_nothing(
    root, env, smtp, server, kind
):
    bad = BAD_LINKS[kind]()
    good_csrf = csrf(server.client().get(f"/i/{token('1')}").text)
    with server.client() as client:
        got = client.get(f"/i/{bad}")
        posted = client.post(
            f"/i/{bad}",
            content=form([("csrf", good_csrf), ("action", "save"), ("shown", "nyhetsbrev")]),
            headers=FORM,
        )
    assert got.status_code == 400 and "Lenken virker ikke" in got.text
    assert posted.status_code == 400
    assert log(root, env) == [] and smtp.received == []


def test_a_replayed_post_changes_nothing_the_second_time(root, env, server):
    path = f"/i/{token('1')}"
    with server.client() as client:
        value = csrf(client.get(path).text)
        body = form([("csrf", value), ("action", "save"), ("shown", "nyhetsbrev"), ("language", "nn")])
        assert client.post(path, content=body, headers=FORM).status_code == 200
        before = log(root, env)
        assert client.post(path, content=body, headers=FORM).status_code == 200
    assert log(root, env) == before and len(before) == 2


@pytest.mark.parametrize("how", ["no csrf value", "another link's csrf value", "another site"])
def test_a_post_without_the_pages_own_csrf_value_or_from_another_site_is_refused(root, env, server, how):
    path = f"/i/{token('1')}"
    with server.client() as client:
        value = csrf(client.get(path).text)
        other = csrf(client.get(f"/i/{token('4')}").text)
        fields = [("action", "save"), ("shown", "nyhetsbrev")]
        headers = dict(FORM)
        if how == "another link's csrf value":
            fields.append(("csrf", other))
        elif how == "another site":
            fields.append(("csrf", value))
            headers["origin"] = "https://angriper.example"
        got = client.post(path, content=form(fields), headers=headers)
    assert got.status_code == 403 and "Skjemaet kom ikke fra denne siden" in got.text
    assert log(root, env) == []


@pytest.mark.parametrize(
    "fields",
    [
        [("shown", "finnes-ikke")],
        [("shown", "nyhetsbrev"), ("on", "finnes-ikke")],
        [("shown", "lederforum")],  # Åse holds no office: the leaders' series is not on her page
        [("shown", "nyhetsbrev<script>")],
    ],
)
def test_a_category_that_is_not_on_the_members_page_is_refused_and_nothing_changes(root, env, server, fields):
    got = post(server, f"/i/{token('1')}", [*fields, ("language", "nn")])
    assert got.status_code == 400 and "Skjemaet nevnte noe som ikke finnes på siden" in got.text
    assert "<script>" not in got.text
    assert log(root, env) == []


def test_turning_off_what_an_office_requires_by_crafting_the_post_is_refused_whole(root, env, server):
    got = post(
        server, f"/i/{token('3')}", [("shown", "lederforum"), ("shown", "nyhetsbrev"), ("language", "nn")]
    )
    assert got.status_code == 400
    assert "Invitasjoner til Lederforum følger vervet ditt og kan ikke slås av her" in got.text
    assert log(root, env) == [], "not the newsletter, not the language either"
    rows = json.loads(mailer(root, "suppressions", "--json", env=env).out)
    assert rows == []


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ([("action", "pause"), ("months", "2")], "Velg 1, 3 eller 6 måneder"),
        ([("action", "pause"), ("months", "-1")], "Velg 1, 3 eller 6 måneder"),
        ([("action", "pause"), ("months", "1e9")], "Velg 1, 3 eller 6 måneder"),
        ([("action", "save"), ("language", "de")], "Velg bokmål eller nynorsk"),
        ([("action", "save"), ("language", "nn\r\nX: y")], "Velg bokmål eller nynorsk"),
        ([("action", "slett-alt")], "Skjemaet kom ikke fra denne siden"),
    ],
)
def test_a_value_the_page_does_not_offer_is_refused_and_nothing_changes(root, env, server, fields, says):
    got = post(server, f"/i/{token('1')}", fields)
    assert got.status_code == 400 and says in got.text
    assert log(root, env) == []


def test_a_confirmation_counts_once_and_a_second_click_says_it_was_used(root, env, smtp, server):
    assert mailer(root, "unsubscribe", "ase@example.org", "--from", "nyhetsbrev", env=env).code == 0
    post(server, f"/i/{token('1')}", [("shown", "nyhetsbrev"), ("on", "nyhetsbrev")])
    [mail] = smtp.received
    path = server.local(confirmation_link(mail))
    with server.client() as client:
        value = csrf(client.get(path).text)
        first = client.post(path, data={"csrf": value})
        second = client.post(path, data={"csrf": value})
        again = client.get(path)
    assert first.status_code == 200
    assert second.status_code == 410 and "Lenken er allerede brukt" in second.text
    assert again.status_code == 410
    assert [e["action"] for e in log(root, env)].count("resubscribed") == 1


def test_a_confirmation_after_48_hours_is_refused_and_lifts_nothing(root, env, smtp, server):
    assert mailer(root, "unsubscribe", "ase@example.org", "--from", "nyhetsbrev", env=env).code == 0
    post(server, f"/i/{token('1')}", [("shown", "nyhetsbrev"), ("on", "nyhetsbrev")])
    [mail] = smtp.received
    path = server.local(confirmation_link(mail))
    with server.client() as client:
        value = csrf(client.get(path).text)
    # 49 hours pass: the request is moved back in time (the server runs on the real clock)
    db = sqlite3.connect(root / ".mailer" / "state.db")
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=49)
    with db:
        db.execute(
            "UPDATE resubscriptions SET requested_at = ?, expires_at = ?",
            (
                past.isoformat(timespec="seconds"),
                (past + dt.timedelta(hours=48)).isoformat(timespec="seconds"),
            ),
        )
    db.close()
    with server.client() as client:
        shown = client.get(path)
        posted = client.post(path, data={"csrf": value})
    assert shown.status_code == 410 and "Lenken er for gammel" in shown.text
    assert posted.status_code == 410
    rows = json.loads(mailer(root, "suppressions", "--json", env=env).out)
    assert [(r["email"], r["category"]) for r in rows] == [("ase@example.org", "nyhetsbrev")]


def test_a_confirmation_link_tampered_or_made_for_another_member_is_refused(root, env, smtp, server):
    assert mailer(root, "unsubscribe", "ase@example.org", "--from", "nyhetsbrev", env=env).code == 0
    post(server, f"/i/{token('1')}", [("shown", "nyhetsbrev"), ("on", "nyhetsbrev")])
    [mail] = smtp.received
    real = confirmation_link(mail).rsplit("/", 1)[1]
    _, _, nonce, _ = Signer(SECRET.encode()).verify(real)
    other = token("4", "c", nonce)
    with server.client() as client:
        for bad in (tampered(real), other):
            assert client.get(f"/c/{bad}").status_code == 400
    assert json.loads(mailer(root, "suppressions", "--json", env=env).out)[0]["email"] == "ase@example.org"


def test_a_huge_noe_feil_text_is_refused_before_anything_is_read_into_a_mail(root, env, smtp, server):
    got = post(server, f"/i/{token('4')}", [("action", "report"), ("text", "feil " * 5000)])
    assert got.status_code == 413 and smtp.received == []


@pytest.mark.parametrize(
    ("text", "says"), [("x" * 1001, "Meldingen er for lang"), (" \r\n\t ", "Skriv hva som er feil")]
)
def test_a_noe_feil_text_too_long_or_empty_is_refused_and_kept_in_the_form(
    root, env, smtp, server, text, says
):
    got = post(server, f"/i/{token('4')}", [("action", "report"), ("text", text)])
    assert got.status_code == 400 and says in got.text
    assert smtp.received == []
    if text.strip():
        assert text in got.text, "what the member wrote is not lost"


def test_control_characters_and_line_breaks_in_noe_feil_never_reach_a_header_of_the_mail(
    root, env, smtp, server
):
    text = "Feil navn\r\nBcc: alle@example.org\r\nSubject: hei\x1b[31m\x00\u2028slutt"
    got = post(server, f"/i/{token('4')}", [("action", "report"), ("text", text)])
    assert got.status_code == 200
    [mail] = smtp.received
    assert mail.rcpt_tos == [SECRETARY]
    message = mail.message
    assert message["Bcc"] is None and message["Subject"].startswith("Noe feil i medlemsregisteret?")
    assert "hei" not in message["Subject"]
    head = mail.data.split(b"\r\n\r\n", 1)[0]
    assert b"alle@example.org" not in head and b"\x1b" not in mail.data and b"\x00" not in mail.data
    body = message.get_body(("plain",)).get_content()
    assert "Bcc: alle@example.org" in body and "Subject: hei [31m" in body


def test_noe_feil_goes_a_few_times_a_day_at_most(root, env, smtp, server):
    codes = [
        post(server, f"/i/{token('4')}", [("action", "report"), ("text", f"feil {n}")]).status_code
        for n in range(5)
    ]
    assert codes == [200, 200, 200, 429, 429]
    assert len(smtp.received) == 3
