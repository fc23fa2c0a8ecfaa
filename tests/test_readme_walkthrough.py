"""README followed literally by a new county secretary: what went wrong on the way."""

from __future__ import annotations

import stat
import subprocess
import sys

from conftest import base_env, mailer, small_project


def test_a_new_county_folder_keeps_its_member_file_private_and_check_does_not_warn_about_it(tmp_path):
    # README: `mailer init ../buskerud`, then `mailer --project ../buskerud check`. The member
    # file init writes was 0644, so the very first check warned to `chmod 600` a file mailer made.
    folder = tmp_path / "buskerud"
    made = subprocess.run(
        [sys.executable, "-m", "mailer", "init", str(folder)], capture_output=True, text=True, env=base_env()
    )
    assert made.returncode == 0, made.stderr
    members = folder / "recipients" / "medlemmer.csv"
    assert stat.S_IMODE(members.stat().st_mode) & 0o077 == 0
    assert stat.S_IMODE((folder / "recipients").stat().st_mode) & 0o077 == 0
    result = mailer(folder, "check")
    assert result.code == 0, result.err
    assert "group and others can read" not in result.err, result.err


def test_the_secretary_reads_choices_in_the_organisations_time_not_utc(tmp_path):
    # An unsubscribe made 00:30 in Oslo (23:30 UTC the day before) and a pause that ends at the
    # start of a day in Oslo were printed by their UTC date and time: the day before.
    project = small_project(tmp_path / "p", "1,Kari,Nordmann,kari@example.org,Ås,Ås Sp,medlem,,nb\n")
    made = mailer(project, "--now", "2026-12-09T00:30", "unsubscribe", "kari@example.org")
    assert made.code == 0, made.err
    listed = mailer(project, "--now", "2026-12-09T00:31", "suppressions")
    assert "since 2026-12-09 (secretary)" in listed.out, listed.out
    one = mailer(project, "--now", "2026-12-09T00:31", "preferences", "kari@example.org")
    assert "everything: off since 2026-12-09" in one.out, one.out
    assert "2026-12-09 00:30" in one.out and "+00:00" not in one.out, one.out
    history = mailer(project, "--now", "2026-12-09T00:31", "suppressions", "--history")
    assert "2026-12-09 00:30:00  unsubscribed" in history.out, history.out
