"""A member's choices are theirs, not the old mailbox's: when the secretary changes a member's
address in the export, an unsubscribe, a language and a pause made at the old address hold at
the new one (a bounce does not: it said the old mailbox failed)."""

from __future__ import annotations

import datetime as dt
import json

from bounce_helpers import first_newsletter_sent, next_newsletter_recipients, send_newsletter
from conftest import mailer

from mailer.delivery.runner import Runner
from mailer.project.folder import Project


def move(root, old: str, new: str) -> None:
    export = root / "recipients" / "members.csv"
    export.write_text(export.read_text("utf-8").replace(old, new), "utf-8")


def test_an_unsubscribe_follows_the_member_to_the_address_the_export_gives_them(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    assert mailer(root, "unsubscribe", "kari@example.com", env=env).code == 0
    move(root, "kari@example.com", "kari.ny@example.com")

    got = next_newsletter_recipients(root, env, smtp)

    assert "kari.ny@example.com" not in got and "kari@example.com" not in got
    assert "ase@example.org" in got
    held = json.loads(mailer(root, "suppressions", "--json", env=env).out)
    assert {(r["email"], r["category"]) for r in held} >= {("kari.ny@example.com", "*")}
    log = mailer(root, "preferences", "kari.ny@example.com", env=env)
    assert "earlier address" in log.out


def test_a_bounce_at_the_old_address_does_not_follow_to_the_new_one(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp, MAILER_BOUNCE_SOFT_LIMIT="1")
    runner = Runner(Project(root), dt.datetime.now(dt.UTC))
    runner.state.suppressions.add("siri@example.org", "*", runner.now, "bounce")  # as a hard bounce does
    runner.close()
    move(root, "siri@example.org", "siri.ny@example.org")

    assert "siri.ny@example.org" in next_newsletter_recipients(root, env, smtp)


def test_a_pause_and_a_language_follow_the_member_to_their_new_address(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    now = dt.datetime.now(dt.UTC)
    runner = Runner(Project(root), now)
    runner.state.preferences.choose_language("ola@example.com", "nn", now, "page")
    runner.state.preferences.pause("liv@example.com", now + dt.timedelta(days=90), now, "page")
    runner.close()
    move(root, "ola@example.com", "ola.ny@example.com")
    move(root, "liv@example.com", "liv.ny@example.com")

    smtp.received.clear()
    send_newsletter(root, env, "nyhetsbrev-2027-01")

    to = {r.rcpt_tos[0]: r for r in smtp.received}
    assert "liv.ny@example.com" not in to  # still paused
    assert "ola.ny@example.com" in to
    chosen = mailer(root, "preferences", "ola.ny@example.com", env=env).out
    assert "language: nn" in chosen, chosen
