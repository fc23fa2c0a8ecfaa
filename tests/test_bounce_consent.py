"""What a bounce or a complaint does to a member's own choices, and how a bounce is counted.

A member who stops everything while their address bounces keeps that choice after `bounces
clear`; delay warnings count one soft bounce per delivery, dated when they were written; a
complaint stops every optional category, also one added later; a late bounce for an erased
member keeps no address. Everything through the command line (and the unsubscribe page) against
a real SMTP server; dates are relative to now.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
from pathlib import Path
from zoneinfo import ZoneInfo

from bounce_helpers import (
    MEMBERS,
    copy_to,
    first_newsletter_sent,
    import_bytes,
    import_file,
    next_newsletter_recipients,
    returned,
)
from conftest import Received, SMTPServer, mailer
from prefs_project import confirm, page_link, post
from webapp import start_web, unsubscribe_url

OSLO = ZoneInfo("Europe/Oslo")
ASE = "ase@example.org"
SIRI = "siri@example.org"
HANNE = "hanne@example.org"
KJELL = "kjell@example.org"


def suppressions(root: Path, env: dict[str, str]) -> list[dict]:
    result = mailer(root, "suppressions", "--json", env=env)
    assert result.code == 0, result.err
    return json.loads(result.out)


def history(root: Path, env: dict[str, str], address: str) -> list[tuple[str, str, str]]:
    """(action, category, source) of each consent log entry about the address, in order."""
    result = mailer(root, "suppressions", "--history", "--json", env=env)
    assert result.code == 0, result.err
    return [
        (e["action"], e["category"], e["source"]) for e in json.loads(result.out) if e["email"] == address
    ]


def approve_and_send(root: Path, env: dict[str, str], name: str, *now: str) -> None:
    assert mailer(root, "preview", name, env=env).code == 0
    assert mailer(root, "approve", name, "--by", "Kari Styre", env=env).code == 0
    result = mailer(root, "send", name, *now, env=env)
    assert result.code == 0, result.err


def bounced_hard(root: Path, env: dict[str, str], smtp: SMTPServer) -> None:
    result = import_file(root, env, "postfix-user-unknown.eml", smtp)
    assert result.out.strip() == "1 messages read, 1 hard bounces, 1 addresses suppressed", result.out


# -- 1. the member's own "stop everything" while a bounce suppresses the address --------------


def test_a_member_who_stops_everything_while_bouncing_stays_unsubscribed_after_bounces_clear(
    engine, tmp_path, smtp
):
    root, env = first_newsletter_sent(tmp_path, smtp)
    bounced_hard(root, env, smtp)

    first = mailer(root, "unsubscribe", ASE, env=env)
    again = mailer(root, "unsubscribe", ASE, env=env)
    cleared = mailer(root, "bounces", "clear", ASE, env=env)

    assert (first.code, first.out.strip()) == (0, f"{ASE} unsubscribed from everything")
    assert (again.code, again.out.strip()) == (0, f"{ASE} was already unsubscribed from everything")
    assert cleared.code == 0, cleared.err
    assert cleared.out.strip() == (
        f"{ASE}: 1 bounces cleared; still unsubscribed from everything, which this does not lift"
    )
    [row] = suppressions(root, env)
    assert (row["email"], row["category"], row["source"]) == (ASE, "*", "secretary")
    assert history(root, env, ASE) == [
        ("unsubscribed", "*", "bounce"),
        ("unsubscribed", "*", "secretary"),
        ("bounce_cleared", "*", "bounces clear"),
    ]
    assert ASE not in next_newsletter_recipients(root, env, smtp)


def test_stop_everything_on_the_unsubscribe_page_while_bouncing_holds_after_bounces_clear(
    engine, tmp_path, smtp
):
    root, env = first_newsletter_sent(tmp_path, smtp)
    link = unsubscribe_url(str(copy_to(smtp, ASE).message["List-Unsubscribe"]))
    bounced_hard(root, env, smtp)
    server = start_web(root, env)
    try:
        with server.client() as client:
            answer = client.post(server.local(link), data={"scope": "*"})
    finally:
        server.stop()
    assert answer.status_code == 200

    cleared = mailer(root, "bounces", "clear", ASE, env=env)

    assert cleared.out.strip() == (
        f"{ASE}: 1 bounces cleared; still unsubscribed from everything, which this does not lift"
    )
    assert [(r["email"], r["category"], r["source"]) for r in suppressions(root, env)] == [(ASE, "*", "web")]
    assert history(root, env, ASE) == [
        ("unsubscribed", "*", "bounce"),
        ("unsubscribed", "*", "web"),
        ("bounce_cleared", "*", "bounces clear"),
    ]
    assert ASE not in next_newsletter_recipients(root, env, smtp)


def test_bounces_clear_resumes_mail_to_a_member_who_chose_nothing_while_bouncing(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    bounced_hard(root, env, smtp)

    cleared = mailer(root, "bounces", "clear", ASE, env=env)

    assert cleared.out.strip() == f"{ASE}: 1 bounces cleared; mail to it resumes"
    assert suppressions(root, env) == []
    assert ASE in next_newsletter_recipients(root, env, smtp)


# -- 2. soft bounces: one per delivery, dated when the report was written -----------------------


def delay_report(copy: Received, written: dt.datetime, number: int) -> bytes:
    """A delay warning (4.2.2, mailbox full) for one copy, at its VERP address, written at `written`."""
    return f"""\
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: {copy.mail_from}
Auto-Submitted: auto-replied
Subject: Delivery Status Notification (Delay)
Date: {email.utils.format_datetime(written)}
Message-ID: <delay-{number}@mx.google.com>
MIME-Version: 1.0
Content-Type: multipart/report; boundary="b"; report-type=delivery-status

--b
Content-Type: text/plain; charset="UTF-8"

** Message not delivered yet **

--b
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com

Final-Recipient: rfc822; {copy.rcpt_tos[0]}
Action: delayed
Status: 4.2.2
Diagnostic-Code: smtp; 452-4.2.2 The recipient's inbox is out of storage space.

--b--
""".encode()


def mbox(root: Path, reports: list[bytes]) -> str:
    path = root.parent / "bounces.mbox"
    path.write_bytes(b"".join(b"From MAILER-DAEMON Mon Dec  7 10:00:00 2026\n" + r + b"\n" for r in reports))
    return str(path)


def sent_at(root: Path, env: dict[str, str], smtp: SMTPServer, name: str, when: dt.datetime) -> Received:
    """Send a newsletter issue as of `when` (`--now`); returns the copy Siri got."""
    smtp.received.clear()
    send_at = (when - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    (root / "drafts" / f"{name}.md").write_text(f'---\nsubject: "{name}"\nsend_at: {send_at}\n---\nHei!\n')
    approve_and_send(root, env, name, "--now", when.isoformat(timespec="minutes"))
    return copy_to(smtp, SIRI)


def reports_of_issues_sent(
    root: Path, env: dict[str, str], smtp: SMTPServer, prefix: str, times: list[dt.datetime]
) -> list[bytes]:
    """An issue sent at each of `times`, and a delay warning for Siri's copy written 2 hours later."""
    reports = []
    for k, when in enumerate(times):
        copy = sent_at(root, env, smtp, f"{prefix}-{k}", when)
        reports.append(delay_report(copy, when + dt.timedelta(hours=2), k))
    return reports


def test_daily_delay_warnings_for_one_delivery_count_as_one_soft_bounce(engine, tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    copy, now = copy_to(smtp, SIRI), dt.datetime.now(OSLO)
    daily = [delay_report(copy, now - dt.timedelta(days=4 - day), day) for day in range(5)]

    result = mailer(root, "bounces", "import", mbox(root, daily), env=env)

    assert (
        result.out.strip() == "5 messages read, 1 soft bounces, 4 soft bounces for a delivery already counted"
    )
    [row] = json.loads(mailer(root, "bounces", "--json", env=env).out)
    assert (row["email"], row["kind"], row["count"]) == (SIRI, "soft", 1)
    assert suppressions(root, env) == []
    assert SIRI in next_newsletter_recipients(root, env, smtp)


def test_soft_bounces_of_deliveries_weeks_apart_read_together_suppress_nobody(engine, tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    now = dt.datetime.now(OSLO).replace(second=0, microsecond=0)
    weeks = [now - dt.timedelta(days=7 * (6 - k)) for k in range(5)]  # 42 to 14 days ago
    reports = reports_of_issues_sent(root, env, smtp, "nyhetsbrev-uke", weeks)

    result = mailer(root, "bounces", "import", mbox(root, reports), env=env)

    assert result.out.strip() == "5 messages read, 5 soft bounces"
    assert suppressions(root, env) == []
    assert SIRI in next_newsletter_recipients(root, env, smtp)


def test_five_soft_bounces_of_five_deliveries_within_a_week_suppress_the_address(engine, tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    now = dt.datetime.now(OSLO).replace(second=0, microsecond=0)
    days = [now - dt.timedelta(days=20 - k) for k in range(5)]  # 20 to 16 days ago: one week
    reports = reports_of_issues_sent(root, env, smtp, "nyhetsbrev-dag", days)

    result = mailer(root, "bounces", "import", mbox(root, list(reversed(reports))), env=env)

    assert result.out.strip() == "5 messages read, 5 soft bounces, 1 addresses suppressed"
    assert [(r["email"], r["category"], r["source"]) for r in suppressions(root, env)] == [
        (SIRI, "*", "bounce")
    ]
    assert SIRI not in next_newsletter_recipients(root, env, smtp)


def test_a_report_dated_before_its_delivery_counts_from_the_send(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp, MAILER_BOUNCE_SOFT_LIMIT="2")
    first = copy_to(smtp, SIRI)
    second = sent_at(root, env, smtp, "nyhetsbrev-2026-12-b", dt.datetime.now(OSLO))
    month_ago = dt.datetime.now(OSLO) - dt.timedelta(days=30)  # a sender whose clock is wrong
    reports = [delay_report(first, month_ago, 1), delay_report(second, dt.datetime.now(OSLO), 2)]

    result = mailer(root, "bounces", "import", mbox(root, reports), env=env)

    assert result.out.strip() == "2 messages read, 2 soft bounces, 1 addresses suppressed"
    assert SIRI not in next_newsletter_recipients(root, env, smtp)


# -- 3. a complaint stops every optional category, also those added after it --------------------

LATER_SERIES = """\
  medlemsblad:
    kind: newsletter
    template: newsletter
    audience: alle
  styreseminar:
    kind: invitation
    template: invitation
    audience: styret
    subject: "Styreseminar"
    meeting:
      title: Styreseminar
      location: Fylkeskontoret
      time: "18:00"
      duration: 2h
      dates: [{day}]
"""


def test_a_complaint_stops_a_newsletter_added_after_it_but_not_a_meeting_of_an_office(engine, tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    result = import_file(root, env, "yahoo-arf-complaint.eml", smtp)
    assert result.out.strip() == "1 messages read, 1 complaints, 1 addresses suppressed"
    seminar = (dt.datetime.now(OSLO) + dt.timedelta(days=20)).date()
    with (root / "schedules.yaml").open("a", encoding="utf-8") as f:
        f.write(LATER_SERIES.format(day=seminar.isoformat()))
    (root / "drafts" / "medlemsblad-1.md").write_text(
        f'---\nsubject: "Medlemsblad"\nsend_at: {dt.datetime.now(OSLO):%Y-%m-%dT00:00}\n---\nHei!\n'
    )

    smtp.received.clear()
    approve_and_send(root, env, "medlemsblad-1")
    newsletter = {r.rcpt_tos[0] for r in smtp.received}
    smtp.received.clear()
    invited = mailer(root, "send", f"styreseminar@{seminar.isoformat()}", env=env)
    assert invited.code == 0, invited.err

    everyone = {line.split(",")[3] for line in MEMBERS.splitlines()}
    assert newsletter == everyone - {HANNE}
    assert {r.rcpt_tos[0] for r in smtp.received} == {HANNE, "per.gmail@example.com"}
    assert {(r["email"], r["category"], r["source"]) for r in suppressions(root, env)} == {
        (HANNE, "nyhetsbrev", "complaint"),
        (HANNE, "*optional", "complaint"),
    }


def test_a_complainer_who_confirms_coming_back_to_the_newsletter_gets_it_again(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    page = page_link(copy_to(smtp, HANNE))
    assert "1 complaints" in import_file(root, env, "yahoo-arf-complaint.eml", smtp).out
    with (root / "schedules.yaml").open("a", encoding="utf-8") as f:
        f.write("  medlemsblad:\n    kind: newsletter\n    template: newsletter\n    audience: alle\n")
    server = start_web(root, env)
    try:
        with server.client() as client:
            shown = client.get(server.local(page)).text
        smtp.received.clear()
        saved = post(server, server.local(page), [("shown", "nyhetsbrev"), ("on", "nyhetsbrev")])
        assert saved.status_code == 200, saved.text
        [mail] = [r for r in smtp.received if r.rcpt_tos == [HANNE]]
        assert confirm(server, mail).status_code == 200
    finally:
        server.stop()

    assert 'value="nyhetsbrev" checked' not in shown
    assert 'value="medlemsblad" checked' not in shown, "added after the complaint, and off too"
    assert HANNE in next_newsletter_recipients(root, env, smtp)
    assert [(e[0], e[1]) for e in history(root, env, HANNE)][-2:] == [
        ("resubscribed", "nyhetsbrev"),
        ("resubscribed", "*optional"),
    ]


# -- 4. a late bounce for an erased member ------------------------------------------------------


def test_a_late_bounce_quoting_our_message_id_of_an_erased_member_keeps_no_address(engine, tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp, MAILER_BOUNCE_ADDRESS="")
    kjell = copy_to(smtp, KJELL)
    late = returned("postfix-user-unknown.eml", None).replace(ASE.encode(), KJELL.encode())
    late = late.replace(b"<a1@testfylket.example>", str(kjell.message["Message-ID"]).encode())
    export = root / "recipients" / "members.csv"
    text = export.read_text(encoding="utf-8")
    export.write_text("".join(x for x in text.splitlines(keepends=True) if KJELL not in x), encoding="utf-8")
    assert mailer(root, "forget", KJELL, env=env).code == 0

    result = import_bytes(root, env, late)

    assert result.code == 0, result.err
    assert result.out.strip() == "1 messages read, 1 for deliveries no longer in the ledger (ignored)"
    assert json.loads(mailer(root, "bounces", "--json", env=env).out) == []
    again = mailer(root, "forget", KJELL, env=env)
    assert again.code == 1 and f"nothing is known about {KJELL}" in again.err
