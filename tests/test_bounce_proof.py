"""What comes back must prove it answers a message we sent, or it changes nothing.

The bounce address is public: anyone can mail it a delivery report or an abuse complaint
naming any member. Through the real `mailer bounces import` and a real SMTP server: a forged
report is recorded as unverified and suppresses nobody; the same report carrying the proof a
real one carries (a valid VERP token, or a Message-ID of ours sent to that very address) is
believed. And reading any message is bounded in parts and time.
"""

from __future__ import annotations

import json
import time

import pytest
from bounce_helpers import (
    copy_to,
    first_newsletter_sent,
    import_bytes,
    import_file,
    next_newsletter_recipients,
    returned,
)
from conftest import mailer

from mailer.bounces import parse

FORGED_DSN = b"""\
From: evil@attacker.example
To: bounces@testfylket.example
Subject: Undelivered Mail Returned to Sender
Message-ID: <forged-1@attacker.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="X"

--X
Content-Type: text/plain

Your message could not be delivered.

--X
Content-Type: message/delivery-status

Reporting-MTA: dns; attacker.example

Final-Recipient: rfc822; kari@example.com
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 user unknown

--X--
"""

FORGED_ARF = b"""\
From: evil@attacker.example
To: bounces@testfylket.example
Subject: FW: Nyhetsbrev
Message-ID: <forged-arf-1@attacker.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="Y"

--Y
Content-Type: text/plain

This is an abuse report.

--Y
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: Evil/1.0
Version: 1
Original-Rcpt-To: <kjell@example.org>

--Y
Content-Type: message/rfc822

From: Testfylket Senterparti <post@testfylket.example>
To: Kjell Kvam <kjell@example.org>
Subject: Nyhetsbrev

Hei!
--Y--
"""


def bounces_json(root, env) -> list[dict]:
    result = mailer(root, "bounces", "--json", env=env)
    assert result.code == 0, result.err
    return json.loads(result.out)


def suppressions(root, env) -> list[dict]:
    return json.loads(mailer(root, "suppressions", "--json", env=env).out)


def test_a_forged_delivery_report_without_a_token_suppresses_nobody_and_is_one_unverified_row(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    result = import_bytes(root, env, FORGED_DSN)
    assert result.code == 0, result.err
    assert "1 unverified" in result.out and "suppressed" not in result.out.replace("nobody suppressed", "")
    assert suppressions(root, env) == []
    [row] = bounces_json(root, env)
    assert (row["email"], row["kind"], row["status"], row["verified"]) == (
        "kari@example.com",
        "hard",
        "5.1.1",
        False,
    )
    assert row["why"] == "no VERP token and no Message-ID of ours in it"
    assert "kari@example.com" in next_newsletter_recipients(root, env, smtp)


def test_a_forged_complaint_without_a_token_unsubscribes_nobody(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    result = import_bytes(root, env, FORGED_ARF)
    assert result.code == 0 and "1 unverified" in result.out and "complaints" not in result.out
    assert suppressions(root, env) == []
    [row] = bounces_json(root, env)
    assert (row["email"], row["kind"], row["verified"]) == ("kjell@example.org", "complaint", False)
    assert "kjell@example.org" in next_newsletter_recipients(root, env, smtp)


def test_the_same_delivery_report_with_the_member_s_valid_token_suppresses_the_address(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    kari = copy_to(smtp, "kari@example.com")
    real = FORGED_DSN.replace(b"To: bounces@testfylket.example", f"To: {kari.mail_from}".encode())
    result = import_bytes(root, env, real)
    assert "1 hard bounces" in result.out and "1 addresses suppressed" in result.out
    assert "kari@example.com" not in next_newsletter_recipients(root, env, smtp)


def test_the_same_complaint_with_the_member_s_valid_token_unsubscribes_from_the_newsletter(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    kjell = copy_to(smtp, "kjell@example.org")
    real = FORGED_ARF.replace(b"To: bounces@testfylket.example", f"To: {kjell.mail_from}".encode())
    assert "1 complaints" in import_bytes(root, env, real).out
    assert {(r["email"], r["category"]) for r in suppressions(root, env)} == {
        ("kjell@example.org", "nyhetsbrev"),
        ("kjell@example.org", "*optional"),
    }


@pytest.mark.parametrize(
    "fixture",
    [
        "postfix-user-unknown.eml",
        "exim-failed.eml",
        "m365-ndr.eml",
        "gmail-no-such-user.eml",
        "yahoo-arf-complaint.eml",
    ],
)
def test_without_verp_a_report_quoting_our_message_id_for_that_address_is_believed(tmp_path, smtp, fixture):
    root, env = first_newsletter_sent(tmp_path, smtp, MAILER_BOUNCE_ADDRESS="")
    assert all("+" not in r.mail_from for r in smtp.received), "no VERP without MAILER_BOUNCE_ADDRESS"
    result = import_file(root, env, fixture, smtp)
    assert result.code == 0, result.err
    assert "unverified" not in result.out and "1 addresses suppressed" in result.out
    [row] = bounces_json(root, env)
    assert row["verified"] is True


def test_without_verp_a_report_without_our_message_id_is_unverified(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp, MAILER_BOUNCE_ADDRESS="")
    result = import_file(root, env, "exchange-ndr.eml", smtp)
    assert "1 unverified" in result.out
    assert suppressions(root, env) == []


def test_a_message_id_of_ours_sent_to_another_address_proves_nothing(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp, MAILER_BOUNCE_ADDRESS="")
    ase = copy_to(smtp, "ase@example.org")  # a member forges a bounce for Kari with her own copy
    forged = returned("exim-failed.eml", ase, verp=False)
    result = import_bytes(root, env, forged)
    assert "1 unverified" in result.out and suppressions(root, env) == []
    [row] = bounces_json(root, env)
    assert (row["email"], row["why"]) == (
        "kari@example.com",
        "the Message-ID of ours it quotes was sent to another address",
    )


def test_a_forgery_sent_ahead_does_not_make_the_real_bounce_look_read_before(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    real = returned("postfix-user-unknown.eml", copy_to(smtp, "ase@example.org"))
    forged = (
        returned("postfix-user-unknown.eml", None)
        .replace(b"Final-Recipient: rfc822; ase@example.org", b"Final-Recipient: rfc822; kari@example.com")
        .replace(
            b"Original-Recipient: rfc822;ase@example.org", b"Original-Recipient: rfc822;kari@example.com"
        )
    )
    assert "1 unverified" in import_bytes(root, env, forged, "forged.eml").out
    result = import_bytes(root, env, real, "real.eml")
    assert "1 hard bounces" in result.out and "read before" not in result.out


def test_unverified_reports_are_listed_apart_in_the_text_listing(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    import_file(root, env, "postfix-user-unknown.eml", smtp)
    import_bytes(root, env, FORGED_DSN, "forged.eml")
    text = mailer(root, "bounces", env=env).out.splitlines()
    assert text[0].startswith("ase@example.org  1 Åse Ødegård  hard 5.1.1 x1")
    assert text[1] == "unverified (1): reports that prove nothing; nobody was suppressed:"
    assert text[2].startswith("  kari@example.com  3 Kari Styre  hard 5.1.1 x1")
    assert text[2].endswith("(no VERP token and no Message-ID of ours in it)")


def test_bounces_clear_removes_the_unverified_reports_of_an_address(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    import_bytes(root, env, FORGED_DSN)
    result = mailer(root, "bounces", "clear", "kari@example.com", env=env)
    assert result.code == 0 and "1 unverified reports cleared; they had suppressed nothing" in result.out
    assert bounces_json(root, env) == []


def many_parts(parts: int = 60_000) -> bytes:
    block = (
        b"--B\nContent-Type: message/delivery-status\n\nFinal-Recipient: rfc822; kari@example.com\n"
        b"Action: failed\nStatus: 5.1.1\nX: " + b"x" * 2 + b"\n"
    )
    head = b"From: x@attacker.example\nMIME-Version: 1.0\nContent-Type: multipart/report; boundary=B\n\n"
    return head + block * parts + b"--B--\n"


def test_a_message_of_60000_report_parts_is_refused_in_well_under_a_second():
    data = many_parts()
    assert len(data) > 7_000_000
    started = time.process_time()
    with pytest.raises(parse.Unreadable, match="more than 200 MIME parts"):
        parse.read(data)
    assert time.process_time() - started < 0.3


def test_a_message_of_60000_report_parts_is_counted_unreadable_with_one_warning(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    result = import_bytes(root, env, many_parts(), "huge.eml")
    assert result.code == 0 and "1 unreadable" in result.out
    [warning] = result.err.splitlines()
    assert warning == f"warning: {root.parent / 'huge.eml'}: not read: more than 200 MIME parts; skipped"
    assert bounces_json(root, env) == []


def test_a_message_that_takes_too_long_to_read_is_unreadable():
    slow = b"Subject: x\n\n" + b"A" * 5_000_000
    with pytest.raises(parse.Unreadable, match="took more than"):
        parse.read(slow, max_seconds=0.0)


def test_a_message_of_thousands_of_nested_messages_without_boundaries_is_refused_too():
    nested = b"".join(b"Content-Type: message/rfc822\n\n" for _ in range(5000)) + b"Subject: x\n\nbody\n"
    with pytest.raises(parse.Unreadable, match="more than 200 MIME parts"):
        parse.read(b"From: x@attacker.example\nMIME-Version: 1.0\n" + nested)
