"""Fixtures: a real SMTP server (aiosmtpd on 127.0.0.1), project folders, the CLI as a process."""

from __future__ import annotations

import atexit
import email
import email.policy
import errno
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session
from forkserver import ForkServer
from pgserver import PgServer, remove_cluster, start_cluster
from ports import free_port

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_PARTS = ("schedules.yaml", "templates", "recipients", "drafts", "agenda")


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]


@dataclass
class Handler:
    """Records every accepted message; `reply` can answer differently per message."""

    received: list[Received] = field(default_factory=list)
    reject: dict[str, str] = field(default_factory=dict)
    data_reply: Callable[[int, Envelope], str | None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    attempts: int = 0

    async def handle_RCPT(self, server, session: Session, envelope: Envelope, address: str, options):
        if address.lower() in self.reject:
            return self.reject[address.lower()]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session: Session, envelope: Envelope):
        with self.lock:
            self.attempts += 1
            n = self.attempts
        if self.data_reply:
            reply = self.data_reply(n, envelope)
            if reply:
                return reply
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address.lower() in (a.lower() for a in r.rcpt_tos)]


@dataclass
class SMTPServer:
    handler: Handler
    port: int
    controller: Controller

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def env(self) -> dict[str, str]:
        return {
            "MAILER_SMTP_HOST": "127.0.0.1",
            "MAILER_SMTP_PORT": str(self.port),
            "MAILER_SMTP_SECURITY": "none",
        }


@contextmanager
def running_smtp(handler: Handler) -> Iterator[SMTPServer]:
    """aiosmtpd on a free port of 127.0.0.1, answering through `handler`, until the block ends.

    Another process may take the port between `free_port` and the bind (other xdist workers
    start servers too): then another port is tried."""
    for attempt in range(5):
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, decode_data=False)
        try:
            controller.start()
            break
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or attempt == 4:
                raise
    try:
        yield SMTPServer(handler, port, controller)
    finally:
        controller.stop()


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    """A real SMTP server on 127.0.0.1 that accepts everything and keeps what it got."""
    with running_smtp(Handler()) as server:
        yield server


def copy_example(dest: Path) -> Path:
    """The repo's example project, copied so a test can change it."""
    dest.mkdir(parents=True, exist_ok=True)
    for part in EXAMPLE_PARTS:
        src = REPO / part
        if src.is_dir():
            shutil.copytree(src, dest / part, symlinks=False)
        else:
            shutil.copy(src, dest / part)
    return dest


@pytest.fixture
def example(tmp_path: Path) -> Path:
    return copy_example(tmp_path / "akershus")


@dataclass
class Result:
    code: int
    out: str
    err: str


DATABASE_ENV: dict[str, str] = {}
"""Set by the `engine` fixture while a test runs on PostgreSQL: every command gets it."""


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILER_")}
    env.update(DATABASE_ENV)
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A PostgreSQL cluster of this test session (one per xdist worker), removed at the end."""
    server = start_cluster(free_port())
    try:
        yield server
    finally:
        remove_cluster(server)


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """MAILER_DATABASE_URL of a new, empty database of its own."""
    return pg_server.url(pg_server.new_database())


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Iterator[str]:
    """Runs a test once with the state in SQLite and once in PostgreSQL (a database of its own).

    A test marked `sqlite_only` is about the file itself; test_postgres.py has its counterpart.
    """
    if request.param == "sqlite":
        yield "sqlite"
        return
    if request.node.get_closest_marker("sqlite_only"):
        pytest.skip("about the SQLite file; test_postgres.py covers the server")
    DATABASE_ENV["MAILER_DATABASE_URL"] = request.getfixturevalue("pg_url")
    try:
        yield "postgresql"
    finally:
        DATABASE_ENV.clear()


def state_rows(project: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Rows of the project's state, wherever the current engine keeps it (`?` placeholders)."""
    from mailer.project.folder import Project
    from mailer.state.database import Location, connect

    url = DATABASE_ENV.get("MAILER_DATABASE_URL")
    if url:
        schema = Project(project).config.organisation.schema
        db = connect(Location(url=url, schema=schema))
    else:
        db = connect(project / ".mailer" / "state.db")
    try:
        return [tuple(r) for r in db.execute(sql, params).fetchall()]
    finally:
        db.close()


_fork_server: list[ForkServer] = []


def fork_server() -> ForkServer | None:
    """This worker's fork server (tests/forkserver.py), started at the first command."""
    if os.environ.get("MAILER_TEST_FORKSERVER") == "0":
        return None
    if not _fork_server:
        _fork_server.append(ForkServer())
        atexit.register(_fork_server[0].stop)
    return _fork_server[0]


def mailer(project: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Result:
    """Run the real command line in a process of its own (forked from a server that has
    imported mailer, see tests/forkserver.py, or started as `python -m mailer`)."""
    env = env if env is not None else base_env()
    argv = ["--project", str(project), *args]
    server = fork_server()
    if server is not None and server.forks(env):
        return Result(*server.run(argv, env, timeout))
    proc = subprocess.run(
        [sys.executable, "-m", "mailer", *argv], capture_output=True, text=True, env=env, timeout=timeout
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def approve_and_preview(project: Path, mailing: str, env: dict[str, str] | None = None) -> None:
    assert mailer(project, "preview", mailing, env=env).code == 0
    for name in ("Kari Nordmann", "Per Hansen"):
        r = mailer(project, "approve", mailing, "--by", name, env=env)
        assert r.code == 0, r.err


MEMBERS_HEADER = "id,first_name,last_name,email,municipality,chapter,roles,joined,language\n"


def small_project(root: Path, members: str, schedules_extra: str = "", approvals: int = 1) -> Path:
    """A minimal project: the example templates, a tiny schedule, the given member rows."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "templates", root / "templates")
    (root / "recipients").mkdir()
    (root / "recipients" / "members.csv").write_text(MEMBERS_HEADER + members, encoding="utf-8")
    (root / "drafts").mkdir()
    (root / "schedules.yaml").write_text(
        SMALL_SCHEDULE.format(approvals=approvals) + schedules_extra, encoding="utf-8"
    )
    return root


SMALL_SCHEDULE = """\
organisation:
  name: Testfylket Senterparti
  sender: {{name: Testfylket Senterparti, email: post@testfylket.example}}
  reply_to: {{name: Fylkessekretær, email: sekretaer@testfylket.example}}
  timezone: Europe/Oslo
  base_url: https://medlem.testfylket.example
  board_audience: styret
  approvals_required: {approvals}
roles: [medlem, tillitsvalgt, lokallagsleder, fylkesstyremedlem, ordfører]
regions:
  Follo: [Ås, Nordre Follo]
  Vestregionen: [Bærum, Asker]
audiences:
  alle: {{}}
  styret: {{roles: [fylkesstyremedlem]}}
  follo: {{regions: [Follo]}}
  tillitsvalgte: {{roles: [tillitsvalgt, lokallagsleder]}}
mailings:
  nyhetsbrev:
    kind: newsletter
    template: newsletter
    audience: alle
"""

WELCOME = """\
  velkommen:
    kind: welcome
    template: welcome
    audience: alle
    subject: "Velkommen som medlem, {{ member.first_name }}!"
    window_days: 30
    at: "10:00"
"""
"""A welcome to every new member, for `small_project`'s schedules_extra."""

DRAFT = """\
---
subject: "Nyhetsbrev: Æ, Ø og Å i emnefeltet"
send_at: 2026-12-03T18:00
---
## Siste nytt

Hei {{ member.first_name }}! Dette er brødteksten med æøå.
"""
