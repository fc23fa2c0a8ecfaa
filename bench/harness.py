"""What the benchmarks share: the counting SMTP server, projects of invented members, and
`mailer` run as a new process, as a user runs it (`send.py`, `cpu.py`)."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fake_members

REPO = Path(__file__).resolve().parent.parent
SINK: list[Sink] = []  # type: ignore[name-defined]
MAILING = "nyhetsbrev-2026-12"
APPROVERS = ("Kari Nordmann", "Per Hansen")

# The real command line, plus one line on stderr with the MJML compilations of the run.
CLI = """\
import atexit, sys
from mailer.render import renderer as render
made = []
init = render.Renderer.__init__
def counting_init(self, *a, **k):
    init(self, *a, **k)
    made.append(self)
render.Renderer.__init__ = counting_init
atexit.register(lambda: print(f"bench: compilations={sum(r.compilations for r in made)}", file=sys.stderr))
sys.argv[0] = "mailer"
from mailer.cli.app import main
main()
"""


# -- the server that only counts -----------------------------------------------------------


@dataclass
class Sink:
    """bench/sink.py in its own process, asked for its count over stdin."""

    process: subprocess.Popen[str]
    port: int

    def ask(self, command: str) -> int:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    @property
    def count(self) -> int:
        return self.ask("count")

    def reset(self) -> None:
        self.ask("reset")

    def stop(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def sending_env(sink: Sink, connections: int) -> dict[str, str]:
    """This process's environment, sending to `sink` over `connections` connections.

    A user's installation keeps its bytecode; this sandbox's PYTHONDONTWRITEBYTECODE would
    make every start-up compile the package again, so it goes, with any MAILER_ setting."""
    skip = ("MAILER_", "PYTHONDONTWRITEBYTECODE")
    return {k: v for k, v in os.environ.items() if not k.startswith(skip)} | {
        "MAILER_SMTP_HOST": "127.0.0.1",
        "MAILER_SMTP_PORT": str(sink.port),
        "MAILER_SMTP_SECURITY": "none",
        "MAILER_POOL_SIZE": str(connections),
    }


def start_sink() -> Sink:
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("sink.py"))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout
    return Sink(process, int(process.stdout.readline()))


# -- a project with N invented members -------------------------------------------------------


def make_project(folder: Path, members: int) -> Path:
    folder.mkdir(parents=True)
    shutil.copy(REPO / "schedules.yaml", folder / "schedules.yaml")
    for part in ("templates", "drafts", "agenda"):
        if (REPO / part).is_dir():
            shutil.copytree(REPO / part, folder / part)
    for draft in (folder / "drafts").glob("*.md"):  # both languages
        due_now(draft)
    (folder / "recipients").mkdir()
    rows = fake_members.members(members, seed=2026, today=dt.date.today())
    fake_members.write(folder / "recipients" / "medlemmer.csv", rows)
    return folder


def due_now(draft: Path) -> None:
    """The example newsletter's `send_at` set to an hour ago, so the bench sends on any day
    (a newsletter's deliveries expire some hours after its `send_at`)."""
    if not draft.is_file():
        return
    oslo = dt.datetime.now(ZoneInfo("Europe/Oslo"))  # the example's time zone
    hour_ago = (oslo - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    text = re.sub(r"(?m)^send_at: .*$", f"send_at: {hour_ago}", draft.read_text("utf-8"), count=1)
    draft.write_text(text, "utf-8")


@dataclass
class Run:
    seconds: float
    code: int
    peak_mb: float
    out: str
    err: str


def command(project: Path, args: tuple[str, ...], counting: bool) -> list[str]:
    if counting:
        return [sys.executable, "-c", CLI, "--project", str(project), *args]
    return [sys.executable, "-m", "mailer", "--project", str(project), *args]


def mailer(project: Path, *args: str, env: dict[str, str], counting: bool = False) -> Run:
    """The command line in a new process: its wall time and output.

    `counting`: with a line on stderr that gives the MJML compilations of the run.
    """
    t0 = time.perf_counter()
    proc = subprocess.run(command(project, args, counting), env=env, capture_output=True, text=True)
    return Run(time.perf_counter() - t0, proc.returncode, 0.0, proc.stdout, proc.stderr)


def check(run: Run, what: str) -> Run:
    if run.code != 0:
        raise SystemExit(f"{what} failed (exit {run.code}):\n{run.err}{run.out}")
    return run


def prepare(project: Path, env: dict[str, str]) -> None:
    """Preview (the board looks) and two approvals."""
    out = project / ".mailer" / "bench-preview"
    check(mailer(project, "preview", MAILING, "--out", str(out), env=env), "preview")
    for name in APPROVERS:
        check(mailer(project, "approve", MAILING, "--by", name, env=env), "approve")


def counted_send(project: Path, env: dict[str, str], what: str, members: int) -> float:
    """Seconds of one `mailer send` of the example, which the server must count in full."""
    sink = SINK[0]
    sink.reset()
    run = check(mailer(project, "send", MAILING, env=env), what)
    if sink.count < members:
        raise SystemExit(f"{what}: the server counted {sink.count} of {members}:\n{run.err}")
    return run.seconds


# -- the state in PostgreSQL ------------------------------------------------------------------


def on_schema(project: Path, schema: str) -> Path:
    """The project's state in its own schema (`organisation.database_schema`)."""
    path = project / "schedules.yaml"
    text = path.read_text("utf-8")
    path.write_text(
        text.replace("organisation:\n", f"organisation:\n  database_schema: {schema}\n", 1), "utf-8"
    )
    return project


def drop_schemas(url: str, schemas: list[str]) -> None:
    """Drop the schemas a bench made, with everything in them."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        for schema in schemas:
            db.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def commits(url: str) -> int:
    """Transactions committed in the database so far (the server's own count, which a
    connection's server process adds to when it ends: give those of the last send a moment)."""
    import psycopg

    time.sleep(0.5)
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("SELECT pg_stat_clear_snapshot()")
        row = db.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    return int(row[0])
