"""Bounces fetched by run-due from a real IMAP server (Dovecot) over TLS."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from bounce_helpers import (
    BOUNCE_ADDRESS,
    FIXTURES,
    MEMBERS,
    copy_to,
    env_for,
    first_newsletter_sent,
    next_newsletter_recipients,
    returned,
)
from conftest import DRAFT, base_env, free_port, mailer, small_project
from imapserver import DOVECOT, IMAPServer, running_dovecot


@pytest.fixture
def imap() -> Iterator[IMAPServer]:
    if not DOVECOT.exists():
        pytest.skip("Dovecot is not installed (/usr/sbin/dovecot; apt-get install dovecot-imapd)")
    # a short folder: Dovecot's sockets live in it, and a socket path has at most 107 bytes
    # (pytest-xdist's tmp_path is longer than that)
    with tempfile.TemporaryDirectory(prefix="dv-") as folder, running_dovecot(Path(folder) / "d") as server:
        yield server


def test_run_due_reads_bounces_from_imap_and_moves_what_it_processed(tmp_path, smtp, imap):
    root, env = first_newsletter_sent(tmp_path, smtp, **imap.env())
    imap.deliver(returned("postfix-user-unknown.eml", copy_to(smtp, "ase@example.org")))
    imap.deliver((FIXTURES / "member-reply.eml").read_bytes())
    result = mailer(root, "run-due", env=env)
    assert result.code == 0, result.err
    assert "2 messages read, 1 hard bounces" in result.out
    assert (imap.count("INBOX"), imap.count("mailer-processed")) == (1, 1)
    assert "ase@example.org" not in next_newsletter_recipients(root, env, smtp)


def test_a_forged_report_in_the_imap_folder_suppresses_nobody_and_is_listed_as_unverified(
    tmp_path, smtp, imap
):
    root, env = first_newsletter_sent(tmp_path, smtp, **imap.env())
    forged = (FIXTURES / "postfix-user-unknown.eml").read_bytes()  # no token, no Message-ID of ours
    imap.deliver(forged.replace(b"ase@example.org", b"kari@example.com"))
    result = mailer(root, "run-due", env=env)
    assert result.code == 0, result.err
    assert "1 messages read, 1 unverified" in result.out
    assert json.loads(mailer(root, "suppressions", "--json", env=env).out) == []
    [row] = json.loads(mailer(root, "bounces", "--json", env=env).out)
    assert (row["email"], row["verified"]) == ("kari@example.com", False)
    assert "kari@example.com" in next_newsletter_recipients(root, env, smtp)


def test_a_message_fetched_again_is_not_counted_twice(tmp_path, smtp, imap):
    root, env = first_newsletter_sent(tmp_path, smtp, **imap.env())
    bounce = returned("exim-failed.eml", copy_to(smtp, "kari@example.com"))
    imap.deliver(bounce)
    assert mailer(root, "run-due", env=env).code == 0
    imap.deliver(bounce)
    second = mailer(root, "run-due", env=env)
    assert second.code == 0 and "hard bounces" not in second.out
    assert (imap.count("INBOX"), imap.count("mailer-processed")) == (0, 2)
    [row] = json.loads(mailer(root, "bounces", "--json", env=env).out)
    assert (row["email"], row["count"]) == ("kari@example.com", 1)


def _due_newsletter(tmp_path: Path, env: dict[str, str]) -> Path:
    root = small_project(tmp_path / "fylke", MEMBERS)
    (root / "drafts" / "nyhetsbrev-2026-12.md").write_text(DRAFT, encoding="utf-8")
    assert mailer(root, "preview", "nyhetsbrev-2026-12", env=env).code == 0
    assert mailer(root, "approve", "nyhetsbrev-2026-12", "--by", "Kari Styre", env=env).code == 0
    return root


def test_an_imap_login_refused_is_one_warning_and_sending_goes_on(tmp_path, smtp, imap):
    env = env_for(smtp, **imap.env(password="wrong-password"))
    root = _due_newsletter(tmp_path, env)
    result = mailer(root, "run-due", "--now", "2026-12-03T18:05", env=env)
    assert result.code == 0, result.err
    [line] = result.err.splitlines()
    assert line.startswith("warning: bounce mailbox 127.0.0.1:") and "login refused" in line
    assert "sending goes on" in line and "9 sent" in result.out and len(smtp.received) == 9


def test_an_imap_server_that_is_down_is_one_warning_and_sending_goes_on(tmp_path, smtp):
    env = env_for(smtp, MAILER_BOUNCE_IMAP_HOST="127.0.0.1", MAILER_BOUNCE_IMAP_PORT=str(free_port()))
    root = _due_newsletter(tmp_path, env)
    result = mailer(root, "run-due", "--now", "2026-12-03T18:05", env=env)
    assert result.code == 0, result.err
    [line] = result.err.splitlines()
    assert "cannot connect (connection refused)" in line and "9 sent" in result.out


def test_a_message_in_the_folder_that_is_no_mail_is_one_warning_and_stays_for_a_person(tmp_path, imap):
    env = base_env(
        MAILER_BOUNCE_ADDRESS=BOUNCE_ADDRESS, MAILER_SECRET="s3cret-for-the-tests-only", **imap.env()
    )
    root = small_project(tmp_path / "fylke", MEMBERS)
    imap.deliver("Husk styremøtet på torsdag.\nTa med sakspapirene.\n".encode())
    result = mailer(root, "run-due", env=env)
    assert result.code == 0
    assert "Traceback" not in result.err and "Error" not in result.err
    assert result.err.splitlines() == [
        "warning: INBOX message 1: not an email message (it has no header lines); skipped"
    ]
    assert (imap.count("INBOX"), imap.count("mailer-processed")) == (1, -1)
    assert mailer(root, "run-due", env=env).err == ""
