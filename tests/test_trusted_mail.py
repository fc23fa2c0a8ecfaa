"""Mail that filters trust: SpamAssassin's verdict, RFC 2047 headers, DKIM through a refolding relay."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from email.header import decode_header, make_header
from pathlib import Path

import dkim
import pytest
from conftest import DRAFT, base_env, mailer, small_project

MEMBERS = """\
1,Åse Marie Kristine,Ødegård-Bjørnstad Ståleng,ase@example.org,Ås,Ås Sp,"medlem, tillitsvalgt",2020-01-01,nb
2,Bjørn,Bråten,bjorn@example.org,Bærum,Bærum Sp,"medlem, tillitsvalgt",2021-05-05,nn
3,Kari,Styre,kari@example.org,Asker,Asker Sp,medlem|fylkesstyremedlem,2026-11-10,nb
"""
MAILINGS = """\
  tirsdagsmote:
    kind: invitation
    template: invitation
    audience: tillitsvalgte
    subject: "Invitasjon til tirsdagsmøtet for tillitsvalgte i Testfylket, {{ meeting.start|datetime }}"
    meeting:
      title: Tirsdagsmøte for tillitsvalgte og folkevalgte i Testfylket Senterparti
      location: Digitalt, lenke kommer i invitasjonen
      time: "08:00"
      duration: 45m
      dates: [2026-11-24]
    invite: {days_before: 3, at: "09:00"}
    reminder: {days_before: 1, at: "07:00"}
  velkommen:
    kind: welcome
    template: welcome
    audience: alle
    subject: "Velkommen som medlem i Testfylket Senterparti, {{ member.first_name }}!"
    window_days: 30
    at: "10:00"
"""
SENDS = (
    ("nyhetsbrev-2026-12", "2026-11-20T12:00"),
    ("tirsdagsmote@2026-11-24", "2026-11-21T09:00"),
    ("tirsdagsmote@2026-11-24/reminder", "2026-11-23T07:00"),
    ("velkommen", "2026-11-20T10:00"),
)
ENCODED_WORD = re.compile(rb"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")


@pytest.fixture
def sent(tmp_path, smtp) -> dict[str, list[bytes]]:
    """Every kind of message, as the SMTP server received it, by mailing."""
    root = small_project(tmp_path / "fylke", MEMBERS, MAILINGS)
    (root / "drafts" / "nyhetsbrev-2026-12.md").write_text(
        DRAFT.replace("send_at:", "preheader: Budsjettet, lokalvalget og møtene før jul.\nsend_at:"),
        encoding="utf-8",
    )
    env = base_env(**smtp.env())
    assert mailer(root, "preview", "nyhetsbrev-2026-12", env=env).code == 0
    assert mailer(root, "approve", "nyhetsbrev-2026-12", "--by", "Kari Styre", env=env).code == 0
    by_mailing: dict[str, list[bytes]] = {}
    for mailing, now in SENDS:
        before = len(smtp.received)
        result = mailer(root, "send", mailing, "--now", now, env=env)
        assert result.code == 0, result.err
        by_mailing[mailing] = [r.data for r in smtp.received[before:]]
        assert by_mailing[mailing], mailing
    return by_mailing


def spamassassin_score(data: bytes) -> tuple[float, str]:
    """SpamAssassin's local rules only (-L: no network tests), as Debian ships them."""
    report = subprocess.run(
        ["spamassassin", "-L", "-t"], input=data, capture_output=True, timeout=120, check=True
    ).stdout.decode("utf-8", "replace")
    score = re.search(r"X-Spam-Status: \w+, score=(-?[\d.]+)", report)
    assert score, report[:2000]
    return float(score[1]), report[report.find("Content analysis") :]


@pytest.mark.skipif(shutil.which("spamassassin") is None, reason="Debian's spamassassin is not installed")
def test_spamassassin_scores_every_kind_of_message_at_zero_or_below(sent):
    for mailing, messages in sent.items():
        score, details = spamassassin_score(messages[0])
        assert score <= 0, f"{mailing}: {score}\n{details}"


def test_the_preheader_is_visible_text_not_hidden(sent):
    import email
    import email.policy

    msg = email.message_from_bytes(sent["nyhetsbrev-2026-12"][0], policy=email.policy.default)
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Budsjettet, lokalvalget og møtene før jul." in html
    assert "display:none" not in html.replace(" ", "")
    assert "#ffffff;line-height:1px" not in html


def test_encoded_words_in_headers_are_at_most_75_characters_and_decode_to_the_text(sent):
    words = 0
    for messages in sent.values():
        for data in messages:
            head = data.split(b"\r\n\r\n", 1)[0]
            for word in ENCODED_WORD.findall(head):
                words += 1
                assert len(word) <= 75, word
    assert words > 10
    newsletter = sent["nyhetsbrev-2026-12"]
    import email

    to = [email.message_from_bytes(d)["To"] for d in newsletter]
    names = {str(make_header(decode_header(t))) for t in to}
    assert "Åse Marie Kristine Ødegård-Bjørnstad Ståleng <ase@example.org>" in names


def refold(data: bytes, width: int = 40) -> bytes:
    """What some relays do: unfold each header, then fold it again at whitespace to `width`."""
    head, body = data.split(b"\r\n\r\n", 1)
    lines: list[bytes] = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            lines[-1] += b" " + line.strip()
        else:
            lines.append(line)
    out: list[bytes] = []
    for line in lines:
        if line.lower().startswith(b"dkim-signature:"):
            out.append(line)
            continue
        folded, current = [], b""
        for word in line.split(b" "):
            if current and len(current) + 1 + len(word) > width:
                folded.append(current)
                current = word
            else:
                current = current + b" " + word if current else word
        folded.append(current)
        out.append(b"\r\n ".join(folded))
    return b"\r\n".join(out) + b"\r\n\r\n" + body


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> tuple[Path, bytes]:
    folder = tmp_path_factory.mktemp("dkim")
    private = folder / "dkim.key"
    subprocess.run(["openssl", "genrsa", "-out", str(private), "2048"], check=True, capture_output=True)
    public = subprocess.run(
        ["openssl", "rsa", "-in", str(private), "-pubout", "-outform", "DER"], check=True, capture_output=True
    ).stdout
    return private, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def test_an_invitation_signature_survives_a_relay_that_refolds_long_header_lines(tmp_path, smtp, keys):
    private, record = keys
    root = small_project(tmp_path / "fylke", MEMBERS, MAILINGS)
    env = base_env(**smtp.env(), MAILER_DKIM_PRIVATE_KEY=str(private), MAILER_DKIM_SELECTOR="mai2026")
    result = mailer(root, "send", "tirsdagsmote@2026-11-24", "--now", "2026-11-21T09:00", env=env)
    assert result.code == 0, result.err

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name == b"mai2026._domainkey.testfylket.example." else None

    for got in smtp.received:
        refolded = refold(got.data)
        assert refolded != got.data
        assert dkim.verify(refolded, dnsfunc=lookup), got.message["To"]
