"""Bounces and complaints in the formats the big providers send, through `mailer bounces import`."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys

import pytest
from bounce_helpers import (
    FIXTURES,
    MEMBERS,
    copy_to,
    first_newsletter_sent,
    import_bytes,
    import_file,
    next_newsletter_recipients,
    returned,
)
from conftest import mailer

HARD_BOUNCES = [
    ("postfix-user-unknown.eml", "ase@example.org", "5.1.1"),
    ("postfix-queue-timeout.eml", "bjorn@example.net", "4.4.1"),
    ("exim-failed.eml", "kari@example.com", "5.1.1"),
    ("exchange-ndr.eml", "liv@example.com", "5.1.1"),
    ("m365-ndr.eml", "ola@example.com", "5.1.10"),
    ("gmail-no-such-user.eml", "per.gmail@example.com", "5.1.1"),
]


def bounces_json(root, env) -> list[dict]:
    result = mailer(root, "bounces", "--json", env=env)
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_every_message_leaves_with_a_verp_sender_that_names_no_address(tmp_path, smtp):
    first_newsletter_sent(tmp_path, smtp)
    senders = {r.mail_from for r in smtp.received}
    assert len(senders) == len(smtp.received) == 9
    for got in smtp.received:
        assert re.fullmatch(r"bounces\+\d+-[a-z2-7]{16}@testfylket\.example", got.mail_from)
        assert got.rcpt_tos[0].split("@")[0] not in got.mail_from
        assert got.message["From"].addresses[0].addr_spec == "post@testfylket.example"


@pytest.mark.parametrize(("fixture", "address", "status"), HARD_BOUNCES)
def test_a_hard_bounce_stops_all_mail_to_the_address(tmp_path, smtp, fixture, address, status):
    root, env = first_newsletter_sent(tmp_path, smtp)
    result = import_file(root, env, fixture, smtp)
    assert result.code == 0, result.err
    assert "1 hard bounces" in result.out and "1 addresses suppressed" in result.out
    [row] = bounces_json(root, env)
    assert (row["email"], row["kind"], row["status"]) == (address, "hard", status)
    got = next_newsletter_recipients(root, env, smtp)
    assert address not in got and len(got) == 8


def test_a_complaint_unsubscribes_from_everything_but_the_meetings_of_an_office(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    result = import_file(root, env, "yahoo-arf-complaint.eml", smtp)
    assert result.code == 0 and "1 complaints" in result.out
    rows = json.loads(mailer(root, "suppressions", "--json", env=env).out)
    categories = {r["category"] for r in rows if r["email"] == "hanne@example.org"}
    assert categories == {"nyhetsbrev", "*optional"}  # the newsletters and series to come too
    assert all(r["source"] == "complaint" for r in rows)
    assert "hanne@example.org" not in next_newsletter_recipients(root, env, smtp)


def test_soft_bounces_suppress_the_address_only_past_the_threshold(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp, MAILER_BOUNCE_SOFT_LIMIT="2")
    assert "1 soft bounces" in import_file(root, env, "gmail-mailbox-full.eml", smtp).out
    assert "siri@example.org" in next_newsletter_recipients(root, env, smtp)
    siri = copy_to(smtp, "siri@example.org")  # a second delivery: one soft bounce each counts
    again = returned("gmail-mailbox-full.eml", siri).replace(b"<full-1@", b"<full-2@")
    result = import_bytes(root, env, again)
    assert "1 soft bounces" in result.out and "1 addresses suppressed" in result.out
    [row] = bounces_json(root, env)
    assert (row["email"], row["kind"], row["count"], row["status"]) == (
        "siri@example.org",
        "soft",
        2,
        "4.2.2",
    )


def test_an_away_message_is_never_a_bounce(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    result = import_file(root, env, "away-message.eml")
    assert result.code == 0 and "1 automatic replies ignored" in result.out
    assert bounces_json(root, env) == []
    assert "kari@example.com" in next_newsletter_recipients(root, env, smtp)


def test_a_message_that_is_not_a_bounce_is_left_alone_and_counted(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    result = import_file(root, env, "member-reply.eml")
    assert result.code == 0 and "1 not bounces (left alone)" in result.out
    assert bounces_json(root, env) == []


def test_the_same_message_imported_twice_counts_once(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    import_file(root, env, "postfix-user-unknown.eml", smtp)
    second = import_file(root, env, "postfix-user-unknown.eml", smtp)
    assert second.code == 0 and "1 read before" in second.out and "hard" not in second.out
    [row] = bounces_json(root, env)
    assert row["count"] == 1


def test_a_bounce_for_an_address_never_mailed_is_unverified_and_suppresses_nobody(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    stranger = (
        (FIXTURES / "postfix-user-unknown.eml")
        .read_bytes()
        .replace(b"ase@example.org", b"stranger@example.org")
    )
    result = import_bytes(root, env, stranger)
    assert result.code == 0 and "1 unverified" in result.out
    assert json.loads(mailer(root, "suppressions", "--json", env=env).out) == []
    [row] = bounces_json(root, env)
    assert (row["email"], row["verified"]) == ("stranger@example.org", False)


def _forwarded_bounce(verp: str, final: str) -> bytes:
    """A DSN from a forwarding target's server: it names the target, not our member."""
    text = (FIXTURES / "postfix-user-unknown.eml").read_text()
    text = text.replace("ase@example.org", final).replace("To: bounces@testfylket.example", f"To: {verp}")
    return text.replace("Delivered-To: bounces@testfylket.example", f"Delivered-To: {verp}").encode()


def test_a_valid_verp_token_decides_the_member_even_when_the_bounce_names_a_forwarding_target(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    [kjell] = [r for r in smtp.received if r.rcpt_tos == ["kjell@example.org"]]
    bounce = tmp_path / "forwarded.eml"
    bounce.write_bytes(_forwarded_bounce(kjell.mail_from, "kjell.kvam@elsewhere.example"))
    assert "1 hard bounces" in mailer(root, "bounces", "import", str(bounce), env=env).out
    [row] = bounces_json(root, env)
    assert (row["member_id"], row["name"], row["email"]) == ("9", "Kjell Kvam", "kjell@example.org")
    assert "kjell@example.org" not in next_newsletter_recipients(root, env, smtp)


def test_a_forged_verp_token_suppresses_nobody_and_is_listed_as_unverified(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    [kjell] = [r for r in smtp.received if r.rcpt_tos == ["kjell@example.org"]]
    number = kjell.mail_from.split("+")[1].split("-")[0]
    forged = f"bounces+{int(number) - 1}-{kjell.mail_from.split('-')[1]}"
    result = import_bytes(root, env, _forwarded_bounce(forged, "kjell@example.org"))
    assert result.code == 0 and "1 unverified" in result.out
    [row] = bounces_json(root, env)
    assert (row["email"], row["verified"], row["why"]) == (
        "kjell@example.org",
        False,
        "its VERP token does not verify (forged or damaged)",
    )
    assert "kjell@example.org" in next_newsletter_recipients(root, env, smtp)


def test_an_mbox_with_a_broken_message_in_the_middle_is_read_to_the_end(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    parts = [
        b"From MAILER-DAEMON Thu Dec  3 18:02:11 2026\n"
        + returned("postfix-user-unknown.eml", copy_to(smtp, "ase@example.org")),
        b"From MAILER-DAEMON Thu Dec  3 18:03:00 2026\nContent-Type: multipart/report; boundary=\n"
        b"\xff\xfe\x00garbage without headers or an end\n--\n--\n",
        b"From MAILER-DAEMON Thu Dec  3 18:03:01 2026\n"
        + returned("exim-failed.eml", copy_to(smtp, "kari@example.com")),
    ]
    box = tmp_path / "bounces.mbox"
    box.write_bytes(b"\n".join(parts))
    result = mailer(root, "bounces", "import", str(box), env=env)
    assert result.code == 0, result.err
    assert "3 messages read" in result.out and "2 hard bounces" in result.out
    assert {r["email"] for r in bounces_json(root, env)} == {"ase@example.org", "kari@example.com"}


def test_a_maildir_is_read_message_by_message(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    maildir = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "new" / "1.mx").write_bytes(returned("m365-ndr.eml", copy_to(smtp, "ola@example.com")))
    (maildir / "cur" / "2.mx:2,S").write_bytes((FIXTURES / "away-message.eml").read_bytes())
    result = mailer(root, "bounces", "import", str(maildir), env=env)
    assert "2 messages read" in result.out and "1 hard bounces" in result.out
    assert "1 automatic replies ignored" in result.out


def test_one_message_on_standard_input_is_read_as_an_mta_pipes_it(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    proc = subprocess.run(
        [sys.executable, "-m", "mailer", "--project", str(root), "bounces", "import", "-"],
        input=returned("gmail-no-such-user.eml", copy_to(smtp, "per.gmail@example.com")),
        capture_output=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert b"1 hard bounces" in proc.stdout
    assert [r["email"] for r in bounces_json(root, env)] == ["per.gmail@example.com"]


def test_an_empty_file_is_refused_with_one_clear_line(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    empty = tmp_path / "empty.eml"
    empty.write_bytes(b"")
    result = mailer(root, "bounces", "import", str(empty), env=env)
    assert result.code == 1 and "Traceback" not in result.err
    assert result.err.strip() == f"error: {empty} is empty: nothing to import"


def test_a_missing_path_is_refused_with_one_clear_line(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    result = mailer(root, "bounces", "import", str(tmp_path / "nowhere"), env=env)
    assert result.code == 1 and "Traceback" not in result.err
    assert "nowhere: no such file or folder" in result.err and len(result.err.splitlines()) == 1


def test_bounces_lists_member_name_kind_reason_code_date_and_count_and_writes_csv(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    import_file(root, env, "postfix-user-unknown.eml", smtp)
    out = tmp_path / "bounces.csv"
    result = mailer(root, "bounces", "--csv", str(out), env=env)
    assert result.code == 0 and "1 failing addresses and 0 unverified written" in result.out
    with out.open(encoding="utf-8-sig") as f:
        [row] = list(csv.DictReader(f, delimiter=";"))
    assert (row["member_id"], row["name"], row["email"], row["kind"], row["status"], row["count"]) == (
        "1",
        "Åse Ødegård",
        "ase@example.org",
        "hard",
        "5.1.1",
        "1",
    )
    assert "User unknown" in row["reason"] and re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d", row["last"])
    human = mailer(root, "bounces", env=env).out
    assert "ase@example.org  1 Åse Ødegård  hard 5.1.1 x1" in human


def test_bounces_clear_lifts_a_bounce_and_mail_resumes(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    import_file(root, env, "postfix-user-unknown.eml", smtp)
    result = mailer(root, "bounces", "clear", "ase@example.org", env=env)
    assert result.code == 0 and "mail to it resumes" in result.out
    assert bounces_json(root, env) == []
    assert "ase@example.org" in next_newsletter_recipients(root, env, smtp)


def test_bounces_clear_never_lifts_a_complaint(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    import_file(root, env, "yahoo-arf-complaint.eml", smtp)
    result = mailer(root, "bounces", "clear", "hanne@example.org", env=env)
    assert result.code == 1 and "has no bounces to clear" in result.err
    assert "hanne@example.org" not in next_newsletter_recipients(root, env, smtp)


def test_bounces_clear_refuses_what_is_not_an_address(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    result = mailer(root, "bounces", "clear", "not-an-address", env=env)
    assert result.code == 1 and "'not-an-address' is not an email address" in result.err


def test_a_5xx_reply_at_send_time_is_a_hard_bounce(tmp_path, smtp):
    smtp.handler.reject["liv@example.com"] = "550 5.1.1 <liv@example.com>: Recipient address rejected"
    root, env = first_newsletter_sent(tmp_path, smtp)
    [row] = bounces_json(root, env)
    assert (row["email"], row["kind"], row["status"]) == ("liv@example.com", "hard", "5.1.1")
    del smtp.handler.reject["liv@example.com"]
    assert "liv@example.com" not in next_newsletter_recipients(root, env, smtp)


def test_status_shows_bounces_per_mailing(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    import_file(root, env, "postfix-user-unknown.eml", smtp)
    import_file(root, env, "exim-failed.eml", smtp)
    data = json.loads(mailer(root, "status", "--json", env=env).out)
    [row] = data["mailings"]
    assert (row["sent"], row["bounced"], row["total"]) == (7, 2, 9)
    assert "bounced" in mailer(root, "status", env=env).out


def test_the_board_reports_count_a_bounce_as_a_bounce_once_per_address_not_as_unsubscribed(tmp_path, smtp):
    """Two members share Åse's address; her copy bounces: the mailing's row still adds up to its
    recipients, the chapter shows one failing address, and nobody 'stopped all mail'."""
    shared = MEMBERS + "10,Åsmund,Ødegård,ase@example.org,Ås,,medlem,2020-01-01,nb\n"
    root, env = first_newsletter_sent(tmp_path, smtp, members=shared)
    assert "1 hard" in import_file(root, env, "postfix-user-unknown.eml", smtp).out

    mailings = json.loads(mailer(root, "report", "mailings", "--json", env=env).out)
    chapters = json.loads(mailer(root, "report", "chapters", "--json", env=env).out)

    [row] = mailings["mailings"]["rows"]
    parts = ("sent", "failed", "bounced", "deferred", "open", "dropped")
    assert row["bounced"] == 1 and sum(row[k] for k in parts) == row["recipients"]
    assert row["unsubscribed"] == 0
    [county] = chapters["county"]["rows"]
    assert (county["bouncing"], county["unsubscribed"]) == (1, 0)


def test_a_bad_bounce_address_setting_is_one_clear_line(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    env["MAILER_BOUNCE_ADDRESS"] = "not an address"
    result = mailer(root, "send", "nyhetsbrev-2026-12", env=env)
    assert result.code == 1 and "Traceback" not in result.err
    assert "MAILER_BOUNCE_ADDRESS" in result.err


def test_a_file_too_large_to_be_a_bounce_is_skipped_with_a_warning(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    huge = tmp_path / "huge.eml"
    huge.write_bytes(b"Subject: x\n\n" + b"A" * (10 * 1024 * 1024 + 1))
    result = mailer(root, "bounces", "import", str(huge), env=env)
    assert result.code == 0 and "1 unreadable" in result.out
    assert result.err.strip() == f"warning: {huge}: larger than a bounce can be; skipped"
