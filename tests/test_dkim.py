"""DKIM: every message is signed over the headers mailbox providers check, or nothing is sent."""

from __future__ import annotations

import base64
import re
import subprocess
from pathlib import Path

import dkim
import pytest
from conftest import DRAFT, base_env, mailer, small_project

from mailer.delivery.dkim import Sealer
from mailer.errors import UserError
from mailer.project.settings import read_private_key

MEMBERS = """\
1,Åse,Ødegård,ase@example.org,Ås,,"medlem, tillitsvalgt",2020-01-01,nb
2,Bjørn,Bråten,bjorn@example.org,Bærum,,"medlem, tillitsvalgt",2021-05-05,nn
3,Kari,Styre,kari@example.org,Asker,,medlem|fylkesstyremedlem,2019-01-01,nb
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
      dates: [2026-11-24]
    invite: {days_before: 3, at: "09:00"}
"""
REQUIRED = {
    "from",
    "subject",
    "date",
    "message-id",
    "to",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "list-id",
}


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> tuple[Path, bytes]:
    """A fresh RSA key pair made with openssl, and the DNS TXT record that publishes it."""
    folder = tmp_path_factory.mktemp("dkim")
    private = folder / "dkim.key"
    subprocess.run(["openssl", "genrsa", "-out", str(private), "2048"], check=True, capture_output=True)
    public = subprocess.run(
        ["openssl", "rsa", "-in", str(private), "-pubout", "-outform", "DER"], check=True, capture_output=True
    ).stdout
    return private, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = small_project(tmp_path / "fylke", MEMBERS, SERIES)
    (root / "drafts" / "nyhetsbrev-2026-12.md").write_text(DRAFT, encoding="utf-8")
    return root


def dkim_env(smtp, key: Path | str) -> dict[str, str]:
    return base_env(**smtp.env(), MAILER_DKIM_PRIVATE_KEY=str(key), MAILER_DKIM_SELECTOR="mai2026")


def publish(record: bytes):
    """dkimpy's DNS lookup, answered with our record for our selector only."""

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name == b"mai2026._domainkey.testfylket.example." else None

    return lookup


def send_both(root: Path, env: dict[str, str]) -> None:
    assert mailer(root, "preview", "nyhetsbrev-2026-12", env=env).code == 0
    assert mailer(root, "approve", "nyhetsbrev-2026-12", "--by", "Kari Styre", env=env).code == 0
    for mailing, now in (
        ("nyhetsbrev-2026-12", "2026-11-20T12:00"),
        ("tirsdagsmote@2026-11-24", "2026-11-21T09:00"),
    ):
        result = mailer(root, "send", mailing, "--now", now, env=env)
        assert result.code == 0, result.err


def signed_headers(data: bytes) -> set[str]:
    signature = dkim.DKIM(data).verify_headerprep()[0]
    return {h.strip().decode().lower() for h in signature[b"h"].split(b":")}


def test_every_newsletter_and_invitation_is_signed_and_verifies_against_the_public_key(root, smtp, keys):
    private, record = keys
    send_both(root, dkim_env(smtp, private))
    kinds = {r.message["List-Id"] is not None for r in smtp.received}
    assert len(smtp.received) == 5 and kinds == {True, False}, "3 newsletters and 2 invitations"
    for got in smtp.received:
        assert got.data.startswith(b"DKIM-Signature: ")
        assert dkim.verify(got.data, dnsfunc=publish(record)), got.message["Subject"]
        signature = dkim.DKIM(got.data).verify_headerprep()[0]
        assert (signature[b"d"], signature[b"s"], signature[b"a"]) == (
            b"testfylket.example",
            b"mai2026",
            b"rsa-sha256",
        )
        assert signed_headers(got.data) >= REQUIRED


def test_a_header_changed_on_the_way_breaks_the_signature(root, smtp, keys):
    private, record = keys
    send_both(root, dkim_env(smtp, private))
    data = smtp.received[0].data
    for header in (b"Subject", b"List-Unsubscribe", b"To"):
        changed = re.sub(rb"(?m)^(" + header + rb": )", rb"\1X", data, count=1)
        assert changed != data and not dkim.verify(changed, dnsfunc=publish(record)), header
    below = data.replace(b"\r\n\r\n", b"\r\nList-Unsubscribe: <https://evil.example/u/x>\r\n\r\n", 1)
    above = b"Subject: Vinn en premie\r\n" + data
    for added in (below, above):
        assert not dkim.verify(added, dnsfunc=publish(record)), "a second copy of a signed header is caught"
    invitation = next(r.data for r in smtp.received if r.message["List-Id"] is None)
    assert dkim.verify(invitation, dnsfunc=publish(record))
    with_list_id = invitation.replace(b"\r\n\r\n", b"\r\nList-Id: <spam.example>\r\n\r\n", 1)
    assert not dkim.verify(with_list_id, dnsfunc=publish(record)), "a header the message lacked is signed too"


def test_the_signing_domain_can_be_set_apart_from_the_sender(root, smtp, keys):
    env = {**dkim_env(smtp, keys[0]), "MAILER_DKIM_DOMAIN": "mail.testfylket.example"}
    send_both(root, env)
    signature = dkim.DKIM(smtp.received[0].data).verify_headerprep()[0]
    assert signature[b"d"] == b"mail.testfylket.example"


def test_without_dkim_settings_messages_go_unsigned(root, smtp):
    send_both(root, base_env(**smtp.env()))
    assert all(b"DKIM-Signature" not in r.data for r in smtp.received)


@pytest.mark.parametrize("problem", ["missing file", "a folder", "not a key", "no selector"])
def test_a_configured_key_that_cannot_be_used_stops_at_start_with_one_line_and_nothing_is_sent(
    root, smtp, tmp_path, keys, problem
):
    garbage = tmp_path / "garbage.key"
    garbage.write_text("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
    env = {
        "missing file": dkim_env(smtp, tmp_path / "nowhere.key"),
        "a folder": dkim_env(smtp, tmp_path),
        "not a key": dkim_env(smtp, garbage),
        "no selector": {**dkim_env(smtp, keys[0]), "MAILER_DKIM_SELECTOR": ""},
    }[problem]
    for args in (
        ("run-due", "--now", "2026-11-21T09:00"),
        ("send", "tirsdagsmote@2026-11-24"),
        ("scheduler",),
    ):
        result = mailer(root, *args, env=env, timeout=60)
        assert result.code == 1, result
        assert len(result.err.strip().splitlines()) == 1 and "MAILER_DKIM" in result.err
        assert "Traceback" not in result.err
    assert smtp.received == []
    assert not (root / ".mailer" / "outbox").exists()


def relay(data: bytes) -> bytes:
    """What a relay may do to a message without breaking a relaxed/relaxed signature."""
    head, _, body = data.partition(b"\r\n\r\n")
    head = re.sub(rb"(?m)^Subject: ", b"SUBJECT:   ", head, count=1)
    head = re.sub(rb"(?m)^(List-Unsubscribe:) <", rb"\1\r\n\t <", head, count=1)
    head = re.sub(rb"(?m)^(To: .*?) <", rb"\1\r\n    <", head, count=1)
    body = body.replace(b"\r\n", b"  \t\r\n", 3) + b"\r\n\r\n"
    return head + b"\r\n\r\n" + body


def test_a_signature_survives_headers_refolded_and_respaced_on_the_way(root, smtp, keys):
    private, record = keys
    send_both(root, dkim_env(smtp, private))
    for got in smtp.received:
        moved = relay(got.data)
        assert moved.count(b"\r\n\t <") + moved.count(b"\r\n    <") >= 1 and b"SUBJECT:   " in moved
        assert dkim.verify(moved, dnsfunc=publish(record)), got.message["Subject"]


def sealer(private: Path) -> Sealer:
    return Sealer(read_private_key(private), "mai2026", "testfylket.example")


@pytest.mark.parametrize(
    "body",
    [b"", b"Hei\r\n", b"Hei", b"\r\n\r\n", b"Hei  p\xc3\xa5\t deg \r\n\r\n\r\n", b" \r\nlinje\r\n \r\n"],
    ids=["empty", "one line", "no final line break", "only blank lines", "blanks", "blank lines around"],
)
def test_a_message_signed_through_openssl_verifies_with_dkimpy(keys, body):
    private, record = keys
    message = (
        b"From: Fylket <post@testfylket.example>\r\n"
        b"To: =?utf-8?q?=C3=85se?= <ase@example.org>\r\n"
        b"Subject: Nyhetsbrev\r\n\tdesember\r\n"
        b"Message-ID: <1@testfylket.example>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"\r\n" + body
    )
    signed = sealer(private)(message)
    assert signed.endswith(message)
    assert dkim.verify(signed, dnsfunc=publish(record))
    assert all(len(line) <= 78 for line in signed.split(b"\r\n\r\n")[0].split(b"\r\n"))
    assert not dkim.verify(signed.replace(b"Nyhetsbrev", b"Nyhetsbrevet"), dnsfunc=publish(record))


def test_a_key_whose_parts_do_not_match_is_refused_before_anything_is_signed(keys, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    good = read_private_key(keys[0]).private_numbers()
    public = rsa.RSAPublicNumbers(3, good.public_numbers.n)  # not the exponent d was made for
    broken = rsa.RSAPrivateNumbers(
        good.p, good.q, good.d, good.dmp1, good.dmq1, good.iqmp, public
    ).private_key(unsafe_skip_rsa_key_validation=True)
    path = tmp_path / "broken.key"
    path.write_bytes(
        broken.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(UserError, match="is not an RSA private key in PEM format"):
        read_private_key(path)
