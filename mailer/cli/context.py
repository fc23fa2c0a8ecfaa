"""What the wiring of every command shares: the chosen folder, the runner, problems as exit codes."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from mailer.delivery.runner import Runner
    from mailer.project.folder import Project


global_options: dict[str, Any] = {"project": Path(".")}

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
NowOpt = Annotated[
    str | None, typer.Option("--now", help="Pretend it is this time (ISO 8601, local unless offset).")
]


def warn(line: str) -> None:
    from mailer.project.textclean import escape_controls

    print(f"warning: {escape_controls(line)}", file=sys.stderr)


def fail(message: str) -> None:
    from mailer.project.textclean import escape_controls

    for line in message.splitlines() or [message]:
        print(f"error: {escape_controls(line)}", file=sys.stderr)
    raise typer.Exit(1)


@contextmanager
def user_errors() -> Iterator[None]:
    """A problem the user can fix becomes one clear line per problem and exit 1, no traceback."""
    from mailer.errors import UserError

    try:
        yield
    except UserError as exc:
        fail(str(exc))
    except Exception as exc:
        from mailer.state.database import explain, is_database_error

        if not is_database_error(exc):
            raise
        fail(explain(None, exc))


def project() -> Project:
    from mailer.project.folder import Project

    return Project(global_options["project"].resolve(), warn=warn)


def now_of(proj: Project, now: str | None):  # type: ignore[no-untyped-def]
    """The time a command runs at: its own `--now` (which sets the clock), else the clock."""
    from mailer import clock

    return clock.start(now, proj.tz)


@contextmanager
def runner(now: str | None = None, quiet: bool = False) -> Iterator[Runner]:
    from mailer.cli import progress
    from mailer.delivery.runner import Runner

    proj = project()
    r = Runner(proj, now_of(proj, now), progress=lambda: progress.for_stream(sys.stderr, quiet))
    try:
        yield r
    finally:
        r.close()


def emit(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
