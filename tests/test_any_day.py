"""README's first command works on any day: today, and with the machine's clock a year ahead.

The clock is moved with libfaketime (Debian's `faketime`), so the exact command from README.md
runs unchanged against what it takes to be the system clock, as a user's machine would a year
from now. Nothing in the example may need a date edited for it.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, base_env, copy_example
from test_readme import readme_commands

LIBFAKETIME = next(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"), None)
needs_faketime = pytest.mark.skipif(
    LIBFAKETIME is None, reason="Debian package faketime (.ci/debian-packages)"
)


def readme_mailer_part() -> str:
    """README's first command after its set-up (`pip install -e .`): the mailer commands themselves."""
    first = readme_commands()[0]
    setup, _, rest = first.partition("pip install -e . && ")
    assert setup and rest.startswith("mailer preview "), first
    return rest


def shifted(days: int | None, **extra: str) -> dict[str, str]:
    """The environment of a process whose clocks run `days` ahead (none: the real clock)."""
    env = base_env(**extra)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # `mailer` of this venv
    if days is not None:
        assert LIBFAKETIME is not None
        env.update(LD_PRELOAD=str(LIBFAKETIME), FAKETIME=f"+{days + suite_shift()}d")
    return env


def suite_shift() -> int:
    """Days the suite itself runs ahead (the whole suite may run under libfaketime too)."""
    found = (
        re.fullmatch(r"\+(\d+)d", os.environ.get("FAKETIME", ""))
        if "faketime" in os.environ.get("LD_PRELOAD", "")
        else None
    )
    return int(found[1]) if found else 0


def run_shell(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def selected_by_the_newsletter(project: Path, env: dict[str, str]) -> set[str]:
    done = run_shell("mailer recipients --audience alle-medlemmer --json", project, env)
    assert done.returncode == 0, done.stderr
    return {m["email"].lower() for m in json.loads(done.stdout)}


def outbox_recipients(project: Path) -> list[str]:
    files = sorted((project / ".mailer" / "outbox" / "nyhetsbrev-2026-12").glob("*.eml"))
    return [
        email.message_from_bytes(f.read_bytes(), policy=email.policy.default)["To"]
        .addresses[0]
        .addr_spec.lower()
        for f in files
    ]


def readme_in_a_copy(tmp_path: Path, days: int | None) -> tuple[Path, subprocess.CompletedProcess[str]]:
    project = copy_example(tmp_path / "akershus")
    return project, run_shell(readme_mailer_part(), project, shifted(days))


@needs_faketime
def test_the_clock_of_the_tests_really_moves_a_year():
    done = run_shell(
        f"{sys.executable} -c 'import datetime; print(datetime.date.today().isoformat())'", REPO, shifted(365)
    )
    assert done.stdout.strip() == (dt.date.today() + dt.timedelta(days=365)).isoformat()


@needs_faketime
def test_the_readme_command_sends_the_example_to_every_member_a_year_from_now(tmp_path):
    project, done = readme_in_a_copy(tmp_path, 365)
    assert done.returncode == 0, done.stderr
    got = outbox_recipients(project)
    assert len(got) == len(set(got)) == len(selected_by_the_newsletter(project, shifted(365))) >= 300
    assert "sending now because you asked (run-due would not)" in done.stdout
    assert re.search(r"nyhetsbrev-2026-12: \d+ sent\n", done.stdout)


def test_the_readme_command_sends_the_example_to_every_member_today(tmp_path):
    project, done = readme_in_a_copy(tmp_path, None)
    assert done.returncode == 0, done.stderr
    got = outbox_recipients(project)
    assert len(got) == len(set(got)) == len(selected_by_the_newsletter(project, shifted(None))) >= 300
    assert f"messages are in {project / '.mailer' / 'outbox' / 'nyhetsbrev-2026-12'}" in done.stdout


@needs_faketime
def test_the_example_has_meetings_ahead_a_year_from_now(tmp_path):
    project = copy_example(tmp_path / "akershus")
    done = run_shell("mailer schedule --days 14 --json", project, shifted(365))
    assert done.returncode == 0, done.stderr
    series = {row["id"].split("@")[0] for row in json.loads(done.stdout) if row["kind"] == "invitation"}
    assert {"tirsdagsmote", "mandagsmote"} <= series


@needs_faketime
def test_check_names_each_dated_series_whose_dates_all_lie_behind_it_a_year_from_now(tmp_path):
    project = copy_example(tmp_path / "akershus")
    done = run_shell("mailer check", project, shifted(365))
    assert done.returncode == 0, done.stderr
    assert (
        "warning: schedules.yaml: mailings.ordforerforum: every date lies in the past (last 2027-06-03); "
        "add the next dates" in done.stderr
    )
    assert "mailings.tirsdagsmote: every date" not in done.stderr  # open-ended: never runs out
