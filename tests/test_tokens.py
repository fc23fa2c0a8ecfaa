"""Signed links: the token format of December 2026 (v2), and the one mail carried before it (v1).

Links in mail already sent are honoured for 400 days, so a token made by the release before
the new format must keep working on every page that takes one (/u/, /r/, /h/), checked over
real HTTP against `mailer serve`. New tokens carry neither the address nor a readable member
id, keep to strict base64url and a 16-byte MAC, and refuse a change to any byte.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import base_env, mailer, small_project
from consultation_project import ID, make_project
from webapp import SECRET, approve_by_cli, start_web, unsubscribe_url

from mailer.delivery.tokens import BadToken, Signer

OSLO = ZoneInfo("Europe/Oslo")
NOW = dt.datetime.now(OSLO)
TODAY = NOW.date()
KEY = SECRET.encode()
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


# -- the format before: a frozen copy ------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def v1_sign(purpose: str, member_id: str, subject: str, issued: int, secret: bytes = KEY) -> str:
    """`Signer.sign` exactly as the release of 2026-12-05 made tokens (before v2)."""
    payload = _b64(json.dumps([purpose, member_id, subject, issued], separators=(",", ":")).encode())
    mac = hmac.new(secret, payload.encode(), hashlib.sha256).digest()[:16]
    return f"{payload}.{_b64(mac)}"


def test_the_frozen_copy_makes_the_tokens_the_release_before_made():
    # Made with mailer/delivery/tokens.py of commit ee680e3, for a fixed day.
    assert v1_sign("u", "1", "nyhetsbrev", 739956) == (
        "WyJ1IiwiMSIsIm55aGV0c2JyZXYiLDczOTk1Nl0.VwYur-NcNy9MiImEmk4fcA"
    )
    assert v1_sign("h", "kari@example.org", "horing-lokalvalg", 739956) == (
        "WyJoIiwia2FyaUBleGFtcGxlLm9yZyIsImhvcmluZy1sb2thbHZhbGciLDczOTk1Nl0.22CNjVet65PeXr6glA_rpA"
    )


def test_a_token_made_before_the_new_format_still_verifies():
    token = v1_sign("r", "7", "tirsdagsmote@2026-12-08", 739956)
    assert Signer(KEY).verify(token) == ("r", "7", "tirsdagsmote@2026-12-08", 739956)


def test_a_token_made_before_the_new_format_with_another_secret_is_refused():
    with pytest.raises(BadToken):
        Signer(KEY).verify(v1_sign("u", "1", "nyhetsbrev", 739956, secret=b"x" * 32))


# -- the new format ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("purpose", "member_id", "subject"),
    [
        ("u", "1", "nyhetsbrev"),
        ("r", "123456", "tirsdagsmote@2026-12-08"),
        ("h", "kari.nordmann@example.org", "horing-lokalvalg"),
        ("u", "Åse-Ødegård-ÆØÅ", "*"),
        ("p", "9" * 300, "x" * 300),
        ("i", "", "nyhetsbrev"),
    ],
)
def test_a_new_token_reads_back_exactly_what_was_signed(purpose, member_id, subject):
    signer = Signer(KEY)
    issued = TODAY.toordinal()
    assert signer.verify(signer.sign(purpose, member_id, subject, issued)) == (
        purpose,
        member_id,
        subject,
        issued,
    )


def test_a_new_token_names_neither_the_address_nor_the_member_id():
    signer = Signer(KEY)
    for member_id in ("kari.nordmann@example.org", "4711"):
        token = signer.sign("u", member_id, "nyhetsbrev", TODAY.toordinal())
        payload = token.split(".")[0]
        assert member_id.encode() not in base64.urlsafe_b64decode(payload + "==")
        assert member_id not in token


def test_two_members_links_to_the_same_mailing_share_no_key_stream():
    """The enciphered ids of two members are not the same bytes shifted: XOR reveals nothing plain."""
    signer = Signer(KEY)
    a = base64.urlsafe_b64decode(signer.sign("u", "1000", "nyhetsbrev", 1).split(".")[0] + "==")
    b = base64.urlsafe_b64decode(signer.sign("u", "1001", "nyhetsbrev", 1).split(".")[0] + "==")
    xor = bytes(x ^ y for x, y in zip(a[-4:], b[-4:], strict=True))
    assert xor != bytes(x ^ y for x, y in zip(b"1000", b"1001", strict=True))


def test_a_new_token_is_strict_base64url_with_a_16_byte_mac():
    token = Signer(KEY).sign("u", "1", "nyhetsbrev", TODAY.toordinal())
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", token)
    assert len(base64.urlsafe_b64decode(token.split(".")[1] + "==")) == 16


@pytest.mark.parametrize("part", ["payload", "mac"])
def test_changing_any_byte_of_a_new_token_is_refused(part):
    signer = Signer(KEY)
    payload, mac = signer.sign("r", "123456", "tirsdagsmote@2026-12-08", TODAY.toordinal()).split(".")
    data = bytearray(base64.urlsafe_b64decode((payload if part == "payload" else mac) + "=="))
    for i in range(len(data)):
        for flip in (0x01, 0x80):
            changed = bytearray(data)
            changed[i] ^= flip
            text = _b64(bytes(changed))
            token = f"{text}.{mac}" if part == "payload" else f"{payload}.{text}"
            with pytest.raises(BadToken):
                signer.verify(token)


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda p, m: f"{p}=.{m}", id="padding"),
        pytest.param(lambda p, m: f"{p}.{m[:-1]}{ALPHABET[ALPHABET.index(m[-1]) + 1]}", id="unused-bits-set"),
        pytest.param(lambda p, m: f"{p[:-1]}+.{m}", id="standard-alphabet"),
        pytest.param(lambda p, m: f"{p}.{m}.{m}", id="three-parts"),
        pytest.param(lambda p, m: f"{p}.{m[:-4]}", id="short-mac"),
        pytest.param(lambda p, m: f"{p[:6]}.{m}", id="truncated-payload"),
        pytest.param(lambda p, m: f".{m}", id="no-payload"),
    ],
)
def test_a_new_token_in_any_other_spelling_is_refused(spoil):
    signer = Signer(KEY)
    payload, mac = signer.sign("u", "1", "nyhetsbrev", TODAY.toordinal()).split(".")
    with pytest.raises(BadToken):
        signer.verify(spoil(payload, mac))


def test_a_mac_of_one_format_under_the_payload_of_the_other_is_refused():
    signer = Signer(KEY)
    new = signer.sign("u", "1", "nyhetsbrev", TODAY.toordinal()).split(".")
    old = v1_sign("u", "1", "nyhetsbrev", TODAY.toordinal()).split(".")
    for token in (f"{new[0]}.{old[1]}", f"{old[0]}.{new[1]}"):
        with pytest.raises(BadToken):
            signer.verify(token)


def test_a_new_token_signed_with_another_secret_is_refused():
    token = Signer(b"y" * 32).sign("u", "1", "nyhetsbrev", TODAY.toordinal())
    with pytest.raises(BadToken):
        Signer(KEY).verify(token)


# -- links from mail sent before the new format, over real HTTP ----------------------------------


def tuesday_after(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=(1 - day.weekday()) % 7 or 7)


AHEAD = tuesday_after(TODAY + dt.timedelta(days=1))
FIRST = AHEAD - dt.timedelta(days=21)
MEMBERS = """\
1,Åse,Ødegård,ase@example.org,Ås,,"medlem, tillitsvalgt",2020-01-01,nb
2,Bjørn,Bråten,bjorn@example.org,Bærum,,"medlem, tillitsvalgt",2021-05-05,nn
"""
SERIES = f"""\
  tirsdagsmote:
    kind: invitation
    template: invitation
    audience: tillitsvalgte
    subject: "Tirsdagsmøte"
    meeting:
      title: Tirsdagsmøte
      location: Digitalt
      time: "08:00"
      duration: 45m
      recurrence: {{frequency: weekly, weekday: tirsdag, start: {FIRST.isoformat()}}}
    invite: {{days_before: 3, at: "09:00"}}
"""
OCCURRENCE = f"tirsdagsmote@{AHEAD.isoformat()}"
ISSUED = (TODAY - dt.timedelta(days=300)).toordinal()  # a link from a mail of ten months ago


@pytest.fixture
def server(tmp_path: Path):
    root = small_project(tmp_path / "fylke", MEMBERS, SERIES)
    web = start_web(root, base_env(MAILER_SECRET=SECRET))
    yield root, web
    web.stop()


def rows(root: Path, sql: str) -> list[tuple[object, ...]]:
    return sqlite3.connect(root / ".mailer" / "state.db").execute(sql).fetchall()


def test_an_unsubscribe_link_from_mail_sent_before_the_new_format_still_unsubscribes(server):
    root, web = server
    token = v1_sign("u", "1", "nyhetsbrev", ISSUED)
    with web.client() as client:
        page = client.get(f"/u/{token}")
        done = client.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"})
    assert page.status_code == 200 and "Meld meg av" in page.text
    assert done.status_code == 200 and "Du er meldt av" in done.text
    assert rows(root, "SELECT address, category FROM suppressions") == [("ase@example.org", "nyhetsbrev")]


def test_an_rsvp_link_from_mail_sent_before_the_new_format_still_records_the_answer(server):
    root, web = server
    token = v1_sign("r", "2", OCCURRENCE, ISSUED)
    with web.client() as client:
        asked = client.get(f"/r/{token}/yes")
        answered = client.post(f"/r/{token}/yes")
    assert asked.status_code == 200 and "Kjem du?" in asked.text
    assert answered.status_code == 200 and "Takk! Vi har notert at du kjem." in answered.text
    assert rows(root, "SELECT occurrence, member_id, answer FROM rsvps") == [(OCCURRENCE, "2", "yes")]


def test_a_consultation_link_from_mail_sent_before_the_new_format_still_takes_the_answer(tmp_path):
    project = make_project(tmp_path / "fylke")
    env = base_env(MAILER_SECRET=SECRET)
    web = start_web(project, env)
    token = v1_sign("h", "1", ID, ISSUED)
    try:
        with web.client() as client:
            form = client.get(f"/h/{token}")
            hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.text))
            posted = client.post(
                f"/h/{token}", data={**hidden, "q.saker": "Veier og skoler", "q.fylkessak": "Veier"}
            )
    finally:
        web.stop()
    assert form.status_code == 200 and "Hvilke saker er viktigst?" in form.text
    assert posted.status_code == 200
    status = mailer(project, "consultation", "status", ID, "--json", env=env)
    assert json.loads(status.out)["answered"] == 1


# -- the new format in mail that is sent ------------------------------------------------------------


def test_a_register_without_an_id_column_sends_links_that_name_no_address_and_still_work(tmp_path, smtp):
    root = small_project(tmp_path / "fylke", "")
    (root / "recipients" / "members.csv").write_text(
        "first_name,last_name,email,municipality\nKari,Nordmann,kari.nordmann@example.org,Asker\n",
        encoding="utf-8",
    )
    send_at = (NOW - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    (root / "drafts" / "nyhetsbrev-2026-12.md").write_text(
        f'---\nsubject: "Nyhetsbrev"\nsend_at: {send_at}\n---\nHei {{{{ member.first_name }}}}!\n', "utf-8"
    )
    env = base_env(MAILER_SECRET=SECRET, **smtp.env())
    approve_by_cli(root, "nyhetsbrev-2026-12", env)
    sent = mailer(root, "send", "nyhetsbrev-2026-12", env=env)
    assert sent.code == 0, sent.err
    [received] = smtp.handler.to("kari.nordmann@example.org")
    url = unsubscribe_url(received.message["List-Unsubscribe"])
    html = received.message.get_body(("html",)).get_content()
    assert url in html

    token = url.rsplit("/", 1)[1]
    assert "kari" not in base64.urlsafe_b64decode(token.split(".")[0] + "==").decode("latin-1")

    web = start_web(root, env)
    try:
        with web.client() as client:
            done = client.post(web.local(url), data={"List-Unsubscribe": "One-Click"})
    finally:
        web.stop()
    assert done.status_code == 200
    assert rows(root, "SELECT address FROM suppressions") == [("kari.nordmann@example.org",)]
