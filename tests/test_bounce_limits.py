"""What one returned message may cost, and what it may change: anyone can mail the bounce address.

A message of millions of blank lines is read within the read limit (flufl.bounce's detectors see
only its first lines); one report names at most ten addresses, each once with its worst status,
each cut to 254 characters; a message over 10 MB in the IMAP folder is never fetched; delivery
reports encoded in base64, or in RFC 6533's UTF-8 form, are read like any other; and a Maildir
that a mail program works on during an import is read to its end.
"""

from __future__ import annotations

import base64
import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from bounce_helpers import (
    BOUNCE_ADDRESS,
    FIXTURES,
    copy_to,
    first_newsletter_sent,
    import_bytes,
    next_newsletter_recipients,
    returned,
)
from conftest import Received, mailer
from imapserver import DOVECOT, IMAPServer, running_dovecot

from mailer.bounces import mailbox
from mailer.bounces.mailbox import Skipped

SLOW = "not read: took more than 2 s to read; skipped"


@pytest.fixture
def imap() -> Iterator[IMAPServer]:
    if not DOVECOT.exists():
        pytest.skip("Dovecot is not installed (/usr/sbin/dovecot; apt-get install dovecot-imapd)")
    # a short folder: Dovecot's sockets live in it, and a socket path has at most 107 bytes
    with tempfile.TemporaryDirectory(prefix="dv-") as folder, running_dovecot(Path(folder) / "d") as server:
        yield server


def delivery_report(
    copy: Received | None,
    recipients: list[tuple[str, str, str]],
    *,
    verp: bool = True,
    status_type: str = "message/delivery-status",
    encoding: str = "",
    diagnostic: str = "550 {status} user unknown",
) -> bytes:
    """A delivery report for `copy` (to its VERP address, quoting its Message-ID), one block per
    (address, action, status)."""
    to = copy.mail_from if copy and verp else BOUNCE_ADDRESS
    message_id = str(copy.message["Message-ID"]) if copy else "<elsewhere@example.net>"
    blocks = ["Reporting-MTA: dns; mx.example.net\n"] + [
        f"Final-Recipient: rfc822; {address}\nAction: {action}\nStatus: {status}\n"
        f"Diagnostic-Code: smtp; {diagnostic.format(status=status)}\n"
        for address, action, status in recipients
    ]
    status = "\n".join(blocks).encode()
    if encoding == "base64":
        status = base64.encodebytes(status)
    cte = f"Content-Transfer-Encoding: {encoding}\n" if encoding else ""
    return (
        (
            f"Return-Path: <>\nFrom: MAILER-DAEMON@mx.example.net (Mail Delivery System)\nTo: {to}\n"
            "Subject: Undelivered Mail Returned to Sender\nMessage-ID: <report-1@mx.example.net>\n"
            'MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'
            "--B\nContent-Type: text/plain\n\nYour message could not be delivered.\n\n"
            f"--B\nContent-Type: {status_type}\n{cte}\n"
        ).encode()
        + status
        + (
            "\n--B\nContent-Type: text/rfc822-headers\n\n"
            f"From: Testfylket Senterparti <post@testfylket.example>\nMessage-ID: {message_id}\n"
            "Subject: Nyhetsbrev\n\n--B--\n"
        ).encode()
    )


def bounces_json(root: Path, env: dict[str, str]) -> list[dict]:
    result = mailer(root, "bounces", "--json", env=env)
    assert result.code == 0, result.err
    return json.loads(result.out)


def suppressed(root: Path, env: dict[str, str]) -> list:
    result = mailer(root, "suppressions", "--json", env=env)
    assert result.code == 0, result.err
    return json.loads(result.out)


def blank_lines(megabytes: float) -> bytes:
    head = b"From: someone@example.net\nTo: bounces@testfylket.example\nSubject: Hei\n\n"
    return head + b"\n" * int(megabytes * 1_000_000)


# reading is bounded


def test_300_000_blank_lines_are_read_at_once_and_left_alone(tmp_path, smtp):
    """The detectors took 13 s over them; they now see the first 2,000 lines."""
    root, env = first_newsletter_sent(tmp_path, smtp)
    started = time.monotonic()
    result = import_bytes(root, env, blank_lines(0.3))
    assert time.monotonic() - started < 20
    assert (result.code, result.err) == (0, "")
    assert result.out.strip() == "1 messages read, 1 not bounces (left alone)"


@pytest.mark.parametrize("megabytes", [3, 6])
def test_megabytes_of_blank_lines_cost_at_most_the_read_limit(tmp_path, smtp, megabytes):
    """Parsing 6 MB of lines takes about the 2 s limit itself: read and left alone, or skipped
    with one warning, depending on the machine; never minutes."""
    root, env = first_newsletter_sent(tmp_path, smtp)
    started = time.monotonic()
    result = import_bytes(root, env, blank_lines(megabytes), "blank.eml")
    assert time.monotonic() - started < 20
    assert result.code == 0 and "Traceback" not in result.err
    if result.err:
        assert result.err.splitlines() == [f"warning: {root.parent / 'blank.eml'}: {SLOW}"]
        assert result.out.strip() == "1 messages read, 1 unreadable"
    else:
        assert result.out.strip() == "1 messages read, 1 not bounces (left alone)"
    assert suppressed(root, env) == []


def test_a_bounce_followed_by_300_000_blank_lines_is_still_read_by_the_detectors(tmp_path, smtp):
    """What the detectors see of a message is enough to read a bounce (it says so at its top)."""
    root, env = first_newsletter_sent(tmp_path, smtp)
    ndr = returned("exchange-ndr.eml", copy_to(smtp, "liv@example.com"))  # no delivery report
    result = import_bytes(root, env, ndr + b"\n" * 300_000)
    assert (result.code, result.err) == (0, "")
    assert result.out.strip() == "1 messages read, 1 hard bounces, 1 addresses suppressed"
    [row] = bounces_json(root, env)
    assert (row["email"], row["status"]) == ("liv@example.com", "5.1.1")


# what one report may change


@pytest.mark.parametrize("many", [1_000, 100_000])
def test_a_forged_complaint_naming_many_addresses_records_ten_cut_to_254_characters(tmp_path, smtp, many):
    root, env = first_newsletter_sent(tmp_path, smtp)
    long = "x" * 5000 + "@example.org"
    addresses = ", ".join([long, "ase@example.org"] + [f"m{n}@example.org" for n in range(many)])
    arf = (FIXTURES / "yahoo-arf-complaint.eml").read_bytes()
    arf = arf.replace(b"Original-Rcpt-To: <hanne@example.org>\n", b"")
    arf = arf.replace(b"To: Hanne Hagen <hanne@example.org>", f"To: {addresses}".encode())
    result = import_bytes(root, env, arf)
    assert (result.code, result.err) == (0, "")
    assert result.out.strip() == (
        "1 messages read, 10 unverified (nobody suppressed; listed by `mailer bounces`)"
    )
    rows = bounces_json(root, env)
    assert [r["email"] for r in rows if len(r["email"]) > 30] == ["x" * 253 + "…"]
    assert {r["email"] for r in rows} >= {"ase@example.org", "m0@example.org", "m7@example.org"}
    assert len(rows) == 10 and not any(r["verified"] for r in rows)
    assert suppressed(root, env) == []


def test_a_report_listing_one_address_five_times_is_one_soft_bounce(tmp_path, smtp):
    """Five soft bounces suppress an address; one report saying the same thing five times is one."""
    root, env = first_newsletter_sent(tmp_path, smtp)
    copy = copy_to(smtp, "siri@example.org")  # proven by its Message-ID, not by a token
    report = delivery_report(copy, [("siri@example.org", "delayed", "4.2.2")] * 5, verp=False)
    result = import_bytes(root, env, report)
    assert (result.code, result.err) == (0, "")
    assert result.out.strip() == "1 messages read, 1 soft bounces"
    [row] = bounces_json(root, env)
    assert (row["email"], row["kind"], row["count"]) == ("siri@example.org", "soft", 1)
    assert suppressed(root, env) == []


def test_an_address_listed_as_delayed_and_as_failed_counts_its_failure(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    copy = copy_to(smtp, "kari@example.com")
    blocks = [("kari@example.com", "delayed", "4.2.2")] * 3 + [("kari@example.com", "failed", "5.1.1")]
    result = import_bytes(root, env, delivery_report(copy, blocks))
    assert (result.code, result.err) == (0, "")
    assert result.out.strip() == "1 messages read, 1 hard bounces, 1 addresses suppressed"
    [row] = bounces_json(root, env)
    assert (row["email"], row["kind"], row["count"]) == ("kari@example.com", "hard", 1)
    assert (row["status"], row["reason"]) == ("5.1.1", "550 5.1.1 user unknown")


# delivery reports in their other valid forms


def test_a_base64_encoded_delivery_report_with_our_token_suppresses_the_address(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    copy = copy_to(smtp, "ase@example.org")
    report = delivery_report(copy, [("ase@example.org", "failed", "5.1.1")], encoding="base64")
    assert b"Status: 5.1.1" not in report
    result = import_bytes(root, env, report)
    assert (result.code, result.err) == (0, "")
    assert result.out.strip() == "1 messages read, 1 hard bounces, 1 addresses suppressed"
    [row] = bounces_json(root, env)
    assert (row["email"], row["status"]) == ("ase@example.org", "5.1.1")
    assert "ase@example.org" not in next_newsletter_recipients(root, env, smtp)


def test_a_global_delivery_report_in_utf8_with_our_token_suppresses_the_address(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    copy = copy_to(smtp, "bjorn@example.net")
    report = delivery_report(
        copy,
        [("bjørn@eksempel.no", "failed", "5.1.1")],  # a forwarding target, in UTF-8 (RFC 6531)
        status_type="message/global-delivery-status",
        diagnostic="550 {status} mottakaren finst ikkje på tenaren",
    )
    result = import_bytes(root, env, report)
    assert (result.code, result.err) == (0, "")
    assert result.out.strip() == "1 messages read, 1 hard bounces, 1 addresses suppressed"
    [row] = bounces_json(root, env)
    assert (row["email"], row["status"]) == ("bjorn@example.net", "5.1.1")
    assert row["reason"] == "550 5.1.1 mottakaren finst ikkje på tenaren"
    assert "bjorn@example.net" not in next_newsletter_recipients(root, env, smtp)


# the IMAP folder


def test_a_message_over_10_mb_in_the_imap_folder_is_skipped_unread_and_stays_there(tmp_path, smtp, imap):
    root, env = first_newsletter_sent(tmp_path, smtp, **imap.env())
    bounce = returned("postfix-user-unknown.eml", copy_to(smtp, "ase@example.org"))
    imap.deliver(bounce + b"\n" + (b"x" * 76 + b"\n") * 160_000)  # 12 MB, with a valid token
    imap.deliver(returned("exim-failed.eml", copy_to(smtp, "kari@example.com")))
    result = mailer(root, "run-due", env=env)
    assert result.code == 0, result.err
    assert result.err.splitlines() == ["warning: INBOX message 1: larger than a bounce can be; skipped"]
    assert "2 messages read, 1 hard bounces, 1 addresses suppressed, 1 unreadable" in result.out
    assert [r["email"] for r in bounces_json(root, env)] == ["kari@example.com"]
    assert (imap.count("INBOX"), imap.count("mailer-processed")) == (1, 1)
    again = mailer(root, "run-due", env=env)
    assert (again.code, again.err) == (0, "")
    assert "ase@example.org" in next_newsletter_recipients(root, env, smtp)


# a Maildir that a mail program works on meanwhile (what `bounces import DIR` reads)


def _maildir(tmp_path: Path, *names: str) -> Path:
    box = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (box / sub).mkdir(parents=True)
    for name in names:
        (box / "new" / name).write_bytes(f"Subject: {name}\nFrom: a@example.org\n\nHei\n".encode())
    return box


def test_a_message_moved_from_new_to_cur_during_an_import_is_read_there(tmp_path):
    box = _maildir(tmp_path, "1.mx", "2.mx")
    read = mailbox.messages(str(box))
    first = next(read)
    (box / "new" / "2.mx").rename(box / "cur" / "2.mx:2,S")  # a mail program shows it as seen
    rest = list(read)
    assert [label for label, _ in [first, *rest]] == [f"{box}/new/1.mx", f"{box}/cur/2.mx:2,S"]
    assert rest[0][1] == b"Subject: 2.mx\nFrom: a@example.org\n\nHei\n"


def test_a_message_deleted_during_an_import_is_one_warning_and_the_rest_is_read(tmp_path):
    box = _maildir(tmp_path, "1.mx", "2.mx", "3.mx")
    read = mailbox.messages(str(box))
    next(read)
    (box / "new" / "2.mx").unlink()
    gone = Skipped("gone before it was read (another mail program moved or deleted it)")
    third = b"Subject: 3.mx\nFrom: a@example.org\n\nHei\n"
    assert list(read) == [(f"{box}/new/2.mx", gone), (f"{box}/new/3.mx", third)]
