"""`mailer serve` as a subprocess on a free port, with a board login, for tests over real HTTP."""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import httpx
from conftest import free_port, mailer
from ports import listens

SECRET = "test-secret-for-signed-links-0123"
BOARD_USER, BOARD_PASSWORD = "Kari Styre", "riktig hest batteri stift"
CLI_APPROVER = "Per Styre"  # approves with `mailer approve --by`, so must be a board user too


@functools.cache
def board_users() -> str:
    """MAILER_BOARD_USERS with one board member, the hash made by `mailer hash-password`."""
    made = subprocess.run(
        [sys.executable, "-m", "mailer", "hash-password"],
        input=BOARD_PASSWORD + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    return json.dumps({BOARD_USER: made.stdout.strip(), CLI_APPROVER: made.stdout.strip()})


@dataclass
class WebServer:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, follow_redirects=False, timeout=30, **kwargs)  # type: ignore[arg-type]

    def board(self, password: str = BOARD_PASSWORD, **kwargs: object) -> httpx.Client:
        return self.client(auth=(BOARD_USER, password), **kwargs)

    def local(self, public_url: str) -> str:
        """A link from a message (the organisation's base URL) as the proxy would pass it on."""
        parts = urllib.parse.urlsplit(public_url)
        return self.url + parts.path

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_web(project: Path, env: dict[str, str], now: str | None = None) -> WebServer:
    """`mailer serve` on a free port; with `now`, as of that time (`mailer --now T serve`).

    Another process may take the port between `free_port` and the server's bind (other xdist
    workers start servers too): then it is tried again on another port, and a server counts as
    started only once its own process holds the listening socket, so a test never talks to
    someone else's server that took the port."""
    for _ in range(5):
        server = _serve(project, env, now, free_port())
        if server is not None:
            return server
    raise AssertionError("mailer serve found no free port in five tries")


def _serve(project: Path, env: dict[str, str], now: str | None, port: int) -> WebServer | None:
    log = project.parent / f"serve-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mailer",
                "--project",
                str(project),
                *(["--now", now] if now else []),
                "serve",
                "--port",
                str(port),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = WebServer(f"http://127.0.0.1:{port}", proc, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            if "is the port in use?" in log.read_text():
                return None
            raise AssertionError(f"mailer serve exited with {proc.returncode}: {log.read_text()}")
        if listens(proc.pid, port):
            try:
                if httpx.get(server.url + "/healthz", timeout=1).status_code == 200:
                    return server
            except httpx.TransportError:
                pass
        time.sleep(0.1)
    server.stop()
    raise AssertionError(f"mailer serve did not answer within 30 s: {log.read_text()}")


def unsubscribe_url(message_header: str) -> str:
    """The https link out of a List-Unsubscribe header."""
    match = re.search(r"<(https://[^>]+)>", message_header)
    assert match, message_header
    return match.group(1)


def approve_by_cli(project: Path, mailing: str, env: dict[str, str]) -> None:
    assert mailer(project, "preview", mailing, env=env).code == 0
    result = mailer(project, "approve", mailing, "--by", CLI_APPROVER, env=env)
    assert result.code == 0, result.err
