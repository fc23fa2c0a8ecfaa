"""A VERP token names a delivery by its row number, and SQLite gives a number again once the
rows that held it are gone (`mailer forget`). A token from mail to an erased member must then
prove nothing about the member whose delivery got that number next."""

from __future__ import annotations

import json

from bounce_helpers import (
    MEMBERS,
    copy_to,
    first_newsletter_sent,
    import_bytes,
    next_newsletter_recipients,
    send_newsletter,
)
from conftest import mailer

REPORT = """\
From: MAILER-DAEMON@mx.example.net
To: {to}
Subject: Undelivered Mail Returned to Sender
Message-ID: <late-1@mx.example.net>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="X"

--X
Content-Type: text/plain

Your message could not be delivered.

--X
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; kjell@example.org
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 user unknown

--X--
"""


def number(received) -> int:
    """The delivery number in a copy's envelope sender, bounces+NUMBER-MAC@…"""
    return int(received.mail_from.split("+")[1].split("-")[0])


def test_a_token_from_mail_to_an_erased_member_stops_no_one_who_got_its_number(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    kjell = copy_to(smtp, "kjell@example.org")
    token_id = number(kjell)
    export = root / "recipients" / "members.csv"
    export.write_text(export.read_text("utf-8").replace(MEMBERS.splitlines()[-1] + "\n", ""), "utf-8")
    assert mailer(root, "forget", "kjell@example.org", env=env).code == 0
    still = {a.split(",")[3] for a in MEMBERS.splitlines()} - {"kjell@example.org"}
    assert next_newsletter_recipients(root, env, smtp) == still
    [reused] = [r.rcpt_tos[0] for r in smtp.received if number(r) == token_id]  # its number again

    result = import_bytes(root, env, REPORT.format(to=kjell.mail_from).encode())

    assert result.code == 0, result.err
    assert "nobody suppressed" in result.out
    assert json.loads(mailer(root, "suppressions", "--json", env=env).out) == []
    smtp.received.clear()
    send_newsletter(root, env, "nyhetsbrev-2027-02")
    assert reused in {r.rcpt_tos[0] for r in smtp.received}
