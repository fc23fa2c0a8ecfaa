"""README's two fresh-machine commands are the ones CI and users run."""

from __future__ import annotations

import re

from conftest import REPO


def readme_commands() -> list[str]:
    return re.findall(r"```sh\n(python3 -m venv .+?)\n```", (REPO / "README.md").read_text("utf-8"))


def test_ci_runs_exactly_the_readme_test_command():
    commands = readme_commands()
    assert len(commands) == 2
    assert commands[1] in (REPO / ".ci" / "run").read_text("utf-8").splitlines()


def test_the_readme_main_command_sends_the_example_newsletter():
    main = readme_commands()[0]
    assert "mailer send nyhetsbrev-2026-12" in main and "pip install -e ." in main
