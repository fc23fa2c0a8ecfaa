"""The command line: parses arguments, calls the pipeline, prints. Exit 0 ok, 1 a problem, 2 usage."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from mailer.delivery.runner import Runner
    from mailer.project.folder import Project

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Newsletters, meeting invitations and welcomes for a county party organisation.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
_state: dict[str, Any] = {"project": Path(".")}

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
    import sqlite3

    from mailer.errors import UserError

    try:
        yield
    except UserError as exc:
        fail(str(exc))
    except sqlite3.DatabaseError as exc:
        from mailer.state.database import explain

        fail(explain(project().state_dir / "state.db", exc))


def project() -> Project:
    from mailer.project.folder import Project

    return Project(_state["project"].resolve(), warn=warn)


def now_of(proj: Project, now: str | None):  # type: ignore[no-untyped-def]
    from mailer.project.dates import parse_now

    return parse_now(now, proj.tz)


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


@app.callback()
def main_options(
    project_dir: Annotated[
        Path, typer.Option("--project", "-p", help="The organisation's folder.", show_default=".")
    ] = Path("."),
) -> None:
    _state["project"] = project_dir


@app.command()
def check() -> None:
    """Load and validate everything; print counts per role and region; exit 1 listing every problem."""
    from mailer.cli.commands import check as run

    with user_errors():
        problems = run(project(), print, warn)
    if problems:
        for p in problems:
            print(p, file=sys.stderr)
        raise typer.Exit(1)


@app.command()
def recipients(
    audience: Annotated[str | None, typer.Option("--audience", "-a", help="Audience name.")] = None,
    as_json: JsonOpt = False,
    now: NowOpt = None,
) -> None:
    """Who an audience selects (everyone without --audience)."""
    from mailer.cli.commands import recipients as run

    with user_errors(), runner(now) as r:
        run(r, audience, r.now, as_json, print, emit)


@app.command()
def schedule(
    days: Annotated[int, typer.Option("--days", min=0, help="How far ahead to look.")] = 30,
    now: NowOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Mailings still to send: upcoming ones, and overdue ones still worth sending (marked)."""
    from mailer.cli.commands import schedule as run

    with user_errors(), runner(now) as r:
        run(r, days, as_json, print, emit)


@app.command()
def preview(
    mailing: str,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for the files.")] = None,
    as_member: Annotated[str | None, typer.Option("--as", help="Member id to preview as.")] = None,
    to_board: Annotated[
        bool, typer.Option("--to-board", help="Send a marked test copy to the board.")
    ] = False,
    now: NowOpt = None,
) -> None:
    """Render one member's copy (HTML, text, .eml) into a folder and print the paths."""
    from mailer.cli.commands import preview as run

    with user_errors(), runner(now, quiet=True) as r:
        run(r, mailing, out, as_member, to_board, print)


@app.command()
def approve(
    mailing: str,
    by: Annotated[str, typer.Option("--by", help="Who approves (a board member's name).")],
    now: NowOpt = None,
) -> None:
    """Record approval of exactly the content last previewed."""
    from mailer.cli.commands import approve as run

    with user_errors(), runner(now) as r:
        run(r, mailing, by, print)


@app.command()
def send(
    mailing: str,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be sent; send nothing.")
    ] = False,
    now: NowOpt = None,
) -> None:
    """Send a mailing now (a newsletter only when approved); deferred deliveries are retried at once."""
    from mailer.cli.commands import send as run

    with user_errors(), runner(now) as r:
        code = run(r, mailing, dry_run, print, warn)
    raise typer.Exit(code)


@app.command("run-due")
def run_due(now: NowOpt = None) -> None:
    """The cron entry: send everything due now, exactly once."""
    from mailer.cli.commands import run_due as run

    with user_errors(), runner(now) as r:
        code = run(r, print, warn)
    raise typer.Exit(code)


@app.command()
def scheduler() -> None:
    """Run until stopped, sending what falls due (the same work as run-due)."""
    from mailer.cli import progress
    from mailer.cli.commands import run_due
    from mailer.delivery.scheduler import run_forever

    with user_errors():
        run_forever(
            project(),
            lambda runner: run_due(runner, print, warn),
            lambda: progress.for_stream(quiet=False),
            print,
            warn,
        )


@app.command()
def status(mailing: Annotated[str | None, typer.Argument()] = None, as_json: JsonOpt = False) -> None:
    """What the ledger says: sent, deferred, failed, per mailing."""
    from mailer.cli.commands import status as run

    with user_errors(), runner() as r:
        run(r, mailing, as_json, print, emit)


@app.command()
def init(folder: Path) -> None:
    """Start a new organisation's folder with templates, a schedules.yaml and an empty member file."""
    from mailer.cli.commands import init as run

    with user_errors():
        run(folder, print)


@app.command()
def forget(email: str) -> None:
    """Erase one person's data from the state folder now (a member's request)."""
    from mailer.cli.commands import forget as run

    with user_errors(), runner() as r:
        run(r, email, print)


@app.command()
def unsubscribe(
    email: str,
    category: Annotated[
        str, typer.Option("--from", help="A newsletter or meeting series name, or '*'.")
    ] = "*",
) -> None:
    """Stop sending a category (default: everything) to an address."""
    from mailer.cli.commands import unsubscribe as run

    with user_errors(), runner() as r:
        run(r, email, category, print)


@app.command()
def suppressions(as_json: JsonOpt = False) -> None:
    """Addresses that asked not to get mail, and from what."""
    from mailer.cli.commands import suppressions as run

    with user_errors(), runner() as r:
        run(r, as_json, print, emit)


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8080,
) -> None:
    """Run the web endpoint: unsubscribe and RSVP links, and the board's preview and approval."""
    from mailer.web.server import serve as run

    with user_errors():
        run(_state["project"].resolve(), host, port, print, warn)


@app.command()
def attendance(
    series: Annotated[str | None, typer.Argument(help="A meeting series (all when left out).")] = None,
    meeting: Annotated[str | None, typer.Argument(help="With `import`: SERIES@YYYY-MM-DD.")] = None,
    file: Annotated[Path | None, typer.Argument(help="With `import`: a Teams report or a CSV.")] = None,
    last: Annotated[int, typer.Option("--last", min=1, help="How many meetings held to show.")] = 10,
    as_json: JsonOpt = False,
    now: NowOpt = None,
) -> None:
    """Per meeting: invited, yes, no, no answer and who came against the goal, and the trend.

    `mailer attendance import SERIES@YYYY-MM-DD FILE` records who came from a Teams report or a CSV.
    """
    from mailer.cli.commands import attendance as run
    from mailer.cli.commands import attendance_import

    if series == "import":
        if meeting is None or file is None:
            raise typer.BadParameter("write: mailer attendance import SERIES@YYYY-MM-DD FILE")
        with user_errors(), runner(now) as r:
            attendance_import(r, meeting, file, print)
        return
    if meeting is not None:
        raise typer.BadParameter(f"unexpected '{meeting}'; to import, write: mailer attendance import …")
    with user_errors(), runner(now) as r:
        run(r, series, last, as_json, print, emit)


class ReportKind(StrEnum):
    chapters = "chapters"
    meetings = "meetings"
    mailings = "mailings"


@app.command()
def report(
    kind: Annotated[ReportKind, typer.Argument(help="chapters, meetings or mailings.")],
    name: Annotated[str | None, typer.Argument(help="One meeting series or mailing.")] = None,
    as_json: JsonOpt = False,
    html: Annotated[Path | None, typer.Option("--html", help="Write a page with charts here.")] = None,
    now: NowOpt = None,
) -> None:
    """The board's numbers: per chapter and region, per meeting series, per mailing."""
    from mailer.reports.command import report as run

    with user_errors(), runner(now) as r:
        run(r, kind.value, name, as_json, html, print, emit)


consultation_app = typer.Typer(help="Who answered a consultation, and what.", no_args_is_help=True)
app.add_typer(consultation_app, name="consultation")


@consultation_app.command("status")
def consultation_status(consultation: str, as_json: JsonOpt = False, now: NowOpt = None) -> None:
    """Every chapter (or member) of the audience: answered or not, by whom, when, and the answers."""
    from mailer.answers import consultation_report as report

    with user_errors(), runner(now) as r:
        s = report.status(r, consultation)
        emit(s.as_json()) if as_json else print("\n".join(report.lines(s)))


@consultation_app.command("export")
def consultation_export(
    consultation: str,
    out: Annotated[Path, typer.Option("--out", help="The CSV file to write.")],
) -> None:
    """Write the answers as CSV for Excel: one row per chapter, one column per question."""
    from mailer.answers import consultation_report as report

    with user_errors(), runner() as r:
        s = report.status(r, consultation)
        report.write_export(s, out)
        print(f"{out}: {len(s.rows)} rows, {s.answered} answered")


bounces_app = typer.Typer(help="Addresses that bounce or complained, for the register.")
app.add_typer(bounces_app, name="bounces")


@bounces_app.callback(invoke_without_command=True)
def bounces(
    ctx: typer.Context,
    as_json: JsonOpt = False,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Also write the list to this CSV file.")
    ] = None,
) -> None:
    """List the addresses that fail: member, kind, last reason with its code, date and count."""
    if ctx.invoked_subcommand is not None:
        return
    from mailer.bounces.commands import listing

    with user_errors(), runner() as r:
        listing(r, as_json, csv_file, print, emit)


@bounces_app.command("import")
def bounces_import(
    source: Annotated[str, typer.Argument(help="A message file, an mbox, a Maildir, or -")],
) -> None:
    """Read bounce and complaint messages; '-' reads one message from standard input (an MTA pipe)."""
    from mailer.bounces.commands import import_messages

    with user_errors(), runner() as r:
        import_messages(r, source, print, warn)


@bounces_app.command("clear")
def bounces_clear(email: str) -> None:
    """Mail an address again once the register has it right (unsubscribes and complaints stay)."""
    from mailer.bounces.commands import clear

    with user_errors(), runner() as r:
        clear(r, email, print)


@app.command("hash-password")
def hash_password() -> None:
    """Make a password hash for MAILER_BOARD_USERS (asks twice, or reads one line from stdin)."""
    import getpass

    from mailer.cli.commands import hash_password as run

    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            fail("the two passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    with user_errors():
        run(password, print, lambda line: print(line, file=sys.stderr))


def main() -> None:
    from mailer.state.folder import UMASK

    os.umask(UMASK)  # the state folder and what we write for the user are theirs alone
    try:
        app()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
