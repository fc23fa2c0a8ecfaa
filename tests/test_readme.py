"""README's two fresh-machine commands are the ones CI and users run."""

from __future__ import annotations

import re
import subprocess

from conftest import REPO


def readme_commands() -> list[str]:
    fresh = (REPO / "README.md").read_text("utf-8").split("## On a fresh machine")[1].split("\n## ")[0]
    return re.findall(r"```sh\n(.+?)\n```", fresh)


def test_ci_runs_exactly_the_readme_commands():
    commands = readme_commands()
    assert len(commands) == 2
    ci = (REPO / ".ci" / "run").read_text("utf-8").splitlines()
    assert commands[0] in ci and commands[1] in ci


def test_the_readme_main_command_sends_the_example_newsletter():
    main = readme_commands()[0]
    assert "mailer send nyhetsbrev-2026-12" in main and "pip install -e ." in main


def test_the_readme_test_command_installs_the_system_packages_before_the_tests():
    test = readme_commands()[1]
    assert test.startswith("sh .ci/debian-packages && python3 -m venv .venv")
    assert test.endswith("python -m pytest -n auto")
    packages = (REPO / ".ci" / "debian-packages").read_text("utf-8")
    for package in (
        "python3-venv",
        "chromium",
        "fonts-dejavu-core",
        "openssl",
        "dovecot-imapd",
        "spamassassin",
        "faketime",
        "postgresql",
    ):
        assert package in packages


def test_the_package_script_does_nothing_once_the_packages_are_there():
    done = subprocess.run(
        ["sh", str(REPO / ".ci" / "debian-packages")], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
