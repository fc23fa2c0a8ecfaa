"""The tests' fork server answers as `python -m mailer` does: same output, same exit code.

tests/forkserver.py saves the suite each command's imports; these checks hold it to the
ordinary start for commands that succeed, fail with a one-line error, or print help, and
show that a command that outlives its timeout is killed, as `subprocess.run` does.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest
from conftest import base_env, copy_example, fork_server, free_port

COMMANDS = [
    ("--help",),
    ("check",),
    ("send", "no-such-mailing"),
    ("--now", "not-a-time", "check"),
    ("preview", "nyhetsbrev-2026-12"),
    ("bounces", "import", "missing-file.eml"),
]


@pytest.fixture
def server():
    forks = fork_server()
    if forks is None:
        pytest.skip("MAILER_TEST_FORKSERVER=0: every command starts the ordinary way")
    return forks


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a))
def test_a_forked_command_answers_as_the_ordinary_start_does(tmp_path, server, args):
    results = []
    for how in ("ordinary", "forked"):
        project = copy_example(tmp_path / how)
        argv = ["--project", str(project), *args]
        env = base_env()
        if how == "forked":
            assert server.forks(env)
            code, out, err = server.run(argv, env, timeout=60)
        else:
            proc = subprocess.run(
                [sys.executable, "-m", "mailer", *argv], capture_output=True, text=True, env=env, timeout=60
            )
            code, out, err = proc.returncode, proc.stdout, proc.stderr
        results.append((code, out.replace(str(project), "PROJECT"), err.replace(str(project), "PROJECT")))
    assert results[0] == results[1]


def test_an_environment_that_changes_how_python_starts_is_not_forked(server):
    assert not server.forks(base_env(LD_PRELOAD="/usr/lib/libsomething.so"))
    assert not server.forks(base_env(PYTHONIOENCODING="latin-1"))
    assert server.forks(base_env(MAILER_SMTP_PORT="2525"))


def test_a_command_past_its_timeout_is_killed(tmp_path, server):
    project = copy_example(tmp_path / "akershus")
    for _ in range(5):  # another process may take the port first: serve then ends at once
        port = free_port()
        argv = ["--project", str(project), "serve", "--port", str(port)]
        try:
            code, _, err = server.run(argv, base_env(), timeout=5)
        except subprocess.TimeoutExpired:
            break
        assert "is the port in use?" in err, (code, err)
    else:
        raise AssertionError("no free port in five tries")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"`mailer serve` still listens on {port} after its timeout")


def test_a_server_that_died_is_started_again_before_the_next_command(tmp_path, server):
    project = copy_example(tmp_path / "akershus")
    server.process.kill()
    server.process.wait(10)
    code, out, err = server.run(["--project", str(project), "check"], base_env(), timeout=60)
    assert code == 0, err
    assert "Traceback" not in err and "members" in out
    assert server.process.poll() is None
