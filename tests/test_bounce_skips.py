"""A stray file among returned mail is one warning line: no traceback, no exception names.

flufl.bounce's detectors are third-party heuristics run on untrusted input; one of them (Yale's)
raises on any message without a From header, and flufl.bounce logs the traceback before giving up
on the whole message. Whatever the source (a file, a Maildir, an mbox, standard input, IMAP), the
secretary reads one line per skipped message, in words.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from bounce_helpers import BOUNCE_ADDRESS, MEMBERS
from conftest import base_env, mailer, small_project
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailer.bounces import parse

NOTE = "Husk styremøtet på torsdag.\nTa med sakspapirene.\n".encode()
EXCEPTION_NAME = re.compile(r"\b[A-Z]\w*(Error|Exception)\b|Traceback")

QMAIL_WITHOUT_FROM = b"""\
Subject: failure notice
Date: Thu, 3 Dec 2026 18:05:00 +0100

Hi. This is the qmail-send program at mx.example.org.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<kari@example.com>:
Sorry, no mailbox here by that name. (#5.1.1)

--- Below this line is a copy of the message.
"""


def _project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    env = base_env(MAILER_BOUNCE_ADDRESS=BOUNCE_ADDRESS, MAILER_SECRET="s3cret-for-the-tests-only")
    return small_project(tmp_path / "fylke", MEMBERS), env


def _one_clean_warning(err: str, label: str) -> None:
    assert not EXCEPTION_NAME.search(err), err
    assert err.splitlines() == [f"warning: {label}: not an email message (it has no header lines); skipped"]


def test_a_text_file_that_is_no_mail_is_one_warning_line(tmp_path):
    root, env = _project(tmp_path)
    note = tmp_path / "notat.txt"
    note.write_bytes(NOTE)
    result = mailer(root, "bounces", "import", str(note), env=env)
    assert result.code == 0
    _one_clean_warning(result.err, str(note))
    assert result.out.strip() == "1 messages read, 1 unreadable"


def test_a_maildir_with_a_stray_note_warns_once_and_reads_the_rest(tmp_path):
    root, env = _project(tmp_path)
    maildir = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "new" / "1.mx").write_bytes(NOTE)
    (maildir / "new" / "2.mx").write_bytes(b"Subject: Hei\nFrom: a@example.org\n\nTakk for sist.\n")
    result = mailer(root, "bounces", "import", str(maildir), env=env)
    assert result.code == 0
    _one_clean_warning(result.err, f"{maildir}/new/1.mx")
    assert "2 messages read" in result.out and "1 not bounces (left alone)" in result.out


def test_an_mbox_message_without_headers_warns_once(tmp_path):
    root, env = _project(tmp_path)
    box = tmp_path / "bounces.mbox"
    box.write_bytes(b"From MAILER-DAEMON Thu Dec  3 18:02:11 2026\n" + NOTE)
    result = mailer(root, "bounces", "import", str(box), env=env)
    assert result.code == 0
    _one_clean_warning(result.err, f"{box} message 1")


def test_a_note_piped_on_standard_input_warns_once(tmp_path):
    root, env = _project(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "mailer", "--project", str(root), "bounces", "import", "-"],
        input=NOTE,
        capture_output=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0
    _one_clean_warning(proc.stderr.decode(), "standard input")


def test_a_bounce_without_from_is_still_read_by_the_detectors_after_the_one_that_fails(tmp_path):
    root, env = _project(tmp_path)
    draft = root / "drafts" / "nyhetsbrev-2026-12.md"
    draft.write_text("---\nsubject: Nyhetsbrev\nsend_at: 2026-12-03T18:00\n---\nHei!\n", encoding="utf-8")
    now = ("--now", "2026-12-03T18:05")
    assert mailer(root, "preview", "nyhetsbrev-2026-12", *now, env=env).code == 0
    assert mailer(root, "approve", "nyhetsbrev-2026-12", "--by", "Kari Styre", *now, env=env).code == 0
    sent = mailer(root, "send", "nyhetsbrev-2026-12", *now, env=env)
    assert sent.code == 0 and "9 sent" in sent.out, sent.out + sent.err
    # the copy of the message below qmail's line carries our Message-ID: the proof that the
    # bounce answers a message we sent (a bounce without proof suppresses nobody)
    [copy] = [
        p for p in (root / ".mailer" / "outbox").rglob("*.eml") if b"kari@example.com" in p.read_bytes()
    ]
    message_id = next(
        line for line in copy.read_bytes().splitlines() if line.lower().startswith(b"message-id:")
    )
    bounce = tmp_path / "qmail.eml"
    bounce.write_bytes(QMAIL_WITHOUT_FROM + b"\n" + message_id + b"\nTo: kari@example.com\n")
    result = mailer(root, "bounces", "import", str(bounce), env=env)
    assert (result.code, result.err) == (0, "")
    assert "1 hard bounces" in result.out
    [row] = json.loads(mailer(root, "bounces", "--json", env=env).out)
    assert (row["email"], row["status"]) == ("kari@example.com", "5.1.1")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400) | st.text(max_size=400).map(lambda t: t.encode("utf-8")))
def test_reading_any_bytes_gives_a_finding_or_says_it_is_no_mail_and_prints_nothing(capfd, data):
    try:
        finding = parse.read(data)
    except parse.NotAMessage as exc:
        assert str(exc) == "not an email message (it has no header lines)"
    else:
        assert finding.verdict in ("hard", "soft", "complaint", "auto_reply", "unrecognised")
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


@pytest.mark.parametrize("data", [NOTE, b"X-Note: no From here\n\nHei\n", b"From: \n\nx"])
def test_no_detector_logs_a_traceback_on_a_message_without_a_sender(capfd, data):
    with contextlib.suppress(parse.NotAMessage):
        parse.read(data)
    assert capfd.readouterr() == ("", "")
