"""One clock: `mailer --now T COMMAND` runs any command as of another time, serve and scheduler too."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bounce_helpers import MEMBERS
from conftest import DRAFT, base_env, copy_example, mailer, small_project
from meeting_project import meeting_project
from webapp import SECRET, board_users, start_web

BOARD = """\
  styremote:
    kind: invitation
    template: invitation
    audience: styret
    subject: "Styremøte"
    meeting: {title: Styremøte, location: Ås, time: "18:00", duration: 2h, dates: [2027-01-20]}
"""


def test_the_global_now_gives_the_same_schedule_as_the_commands_own_now(tmp_path):
    root = copy_example(tmp_path / "akershus")
    own = mailer(root, "schedule", "--days", "10", "--json", "--now", "2027-03-01T08:00")
    shared = mailer(root, "--now", "2027-03-01T08:00", "schedule", "--days", "10", "--json")
    assert own.code == shared.code == 0, own.err + shared.err
    assert json.loads(own.out) == json.loads(shared.out) != []


def test_a_commands_own_now_wins_over_the_global_one(tmp_path):
    root = copy_example(tmp_path / "akershus")
    both = mailer(root, "--now", "2030-01-01T08:00", "schedule", "--json", "--now", "2027-03-01T08:00")
    own = mailer(root, "schedule", "--json", "--now", "2027-03-01T08:00")
    assert json.loads(both.out) == json.loads(own.out)


def test_a_global_now_that_is_no_time_is_one_line_and_exit_1(tmp_path):
    result = mailer(copy_example(tmp_path / "akershus"), "--now", "i morgen", "schedule")
    assert result.code == 1
    assert result.err == "error: --now 'i morgen' is not ISO 8601; write e.g. 2026-11-24T07:00\n"


@pytest.mark.parametrize("when", ["9999-12-31T00:00", "0001-01-01T00:00"])
def test_a_now_beyond_any_calendar_is_one_line_and_exit_1(tmp_path, when):
    root = copy_example(tmp_path / "akershus")
    for args in (("--now", when, "schedule"), ("schedule", "--now", when)):
        result = mailer(root, *args)
        assert result.code == 1 and "Traceback" not in result.err
        assert (
            result.err
            == f"error: --now '{when}' lies outside the years 1970–9000; write e.g. 2026-11-24T07:00\n"
        )


def test_check_runs_as_of_another_time_and_names_a_dated_series_with_no_dates_left(tmp_path):
    root = small_project(tmp_path / "fylke", MEMBERS, BOARD)
    before = mailer(root, "--now", "2027-01-19T12:00", "check")
    after = mailer(root, "--now", "2027-01-20T18:30", "check")
    assert before.code == after.code == 0, before.err + after.err
    assert "every date lies in the past" not in before.err
    assert (
        "warning: schedules.yaml: mailings.styremote: every date lies in the past (last 2027-01-20); "
        "add the next dates"
    ) in after.err


def test_an_empty_schedule_says_why_in_numbers(tmp_path):
    root = small_project(tmp_path / "fylke", MEMBERS, BOARD)
    (root / "drafts" / "nyhetsbrev-2026-12.md").write_text(DRAFT, encoding="utf-8")
    result = mailer(root, "--now", "2027-02-01T12:00", "schedule")
    assert result.code == 0, result.err
    assert result.out == (
        "nothing to send in the next 30 days: of 1 meeting series, 1 have every date in the past "
        "(`mailer check` names them); of 1 drafts, 1 past their lifetime, never sent "
        "(`mailer send ID` still sends one)\n"
    )


def test_an_empty_schedule_names_the_next_meeting_beyond_its_days(tmp_path):
    root = small_project(tmp_path / "fylke", MEMBERS, BOARD)
    result = mailer(root, "--now", "2026-11-01T12:00", "schedule", "--days", "7")
    assert "of 1 meeting series, 0 have every date in the past" in result.out
    assert "1 meet later (the next on 2027-01-20)" in result.out


def test_serve_runs_as_of_another_time(tmp_path, smtp):
    root = small_project(tmp_path / "fylke", MEMBERS)
    (root / "drafts" / "nyhetsbrev-2026-12.md").write_text(DRAFT, encoding="utf-8")
    env = base_env(MAILER_SECRET=SECRET, MAILER_BOARD_USERS=board_users(), **smtp.env())
    pages = {}
    for now in ("2026-12-01T12:00", "2026-12-20T12:00"):
        server = start_web(root, env, now=now)
        try:
            with server.board() as board:
                pages[now] = board.get("/board").text
        finally:
            server.stop()
    assert 'href="/board/m/nyhetsbrev-2026-12"' in pages["2026-12-01T12:00"]
    assert 'href="/board/m/nyhetsbrev-2026-12"' not in pages["2026-12-20T12:00"]  # past its lifetime


def test_the_scheduler_runs_as_of_another_time(tmp_path):
    root = meeting_project(tmp_path / "fylke")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mailer", "--project", str(root), "--now", "2026-11-21T09:00", "scheduler"],
        env=base_env(),  # no SMTP host: the outbox
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    folder = Path(root / ".mailer" / "outbox" / "morgenmote@2026-11-24")
    try:
        deadline = time.monotonic() + 60
        while len(list(folder.glob("*.eml"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1)
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert len(list(folder.glob("*.eml"))) == 2  # both officers, invited three days ahead


def test_schedule_lists_meetings_and_names_a_newsletter_past_its_lifetime_below_them(tmp_path):
    root = copy_example(tmp_path / "akershus")
    result = mailer(root, "--now", "2026-12-10T12:00", "schedule", "--days", "7")
    assert result.code == 0, result.err
    last = result.out.splitlines()[-1]
    assert last.startswith("not listed: nyhetsbrev-2026-12 was planned for 2026-12-03 18:00 (6 days ago")
    assert "`mailer send nyhetsbrev-2026-12` sends it now" in last


def test_a_now_the_clocks_skip_is_one_line_and_exit_1(tmp_path):
    from test_local_time_gaps import SKIPPED_OSLO, spring

    day = spring()
    result = mailer(copy_example(tmp_path / "akershus"), "--now", f"{day}T02:30", "schedule")
    assert result.code == 1 and "Traceback" not in result.err
    assert result.err == (
        f"error: --now '{day}T02:30': 02:30 on {day} {SKIPPED_OSLO.removesuffix(': choose another time')}; "
        "write a time that exists, or give its offset\n"
    )
    assert mailer(copy_example(tmp_path / "other"), "--now", f"{day}T02:30+01:00", "schedule").code == 0
