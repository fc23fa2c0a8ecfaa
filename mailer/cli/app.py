"""The command line: parses arguments, calls the pipeline, prints. Exit 0 ok, 1 a problem, 2 usage."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from mailer.cli import answers, archive, events, statecopy
from mailer.cli.context import JsonOpt, NowOpt, emit, fail, global_options, project, runner, user_errors, warn

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Newsletters, meeting invitations and welcomes for a county party organisation.",
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def main_options(
    project_dir: Annotated[
        Path, typer.Option("--project", "-p", help="The organisation's folder.", show_default=".")
    ] = Path("."),
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            help="Run as of this time (ISO 8601, local unless offset); the clock moves on from it.",
        ),
    ] = None,
) -> None:
    global_options["project"] = project_dir
    if now is not None:
        import datetime as dt

        from mailer import clock

        with user_errors():
            clock.parse(now, dt.UTC)  # a wrong value is one line now, not at first use
        clock.set_now(now)


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
    days: Annotated[int, typer.Option("--days", help="How far ahead to look (0 to 3650).")] = 30,
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
    as_json: JsonOpt = False,
) -> None:
    """Send a mailing now (a newsletter only when approved); deferred deliveries are retried at once.

    A newsletter past its lifetime is sent too (you asked; run-due would not). A meeting that has
    started or a consultation past its deadline is refused: nobody could use the mail.
    """
    from mailer.cli.deliver import send as run

    with user_errors(), runner(now, quiet=as_json) as r:
        code = run(r, mailing, dry_run, as_json, print, emit)
    raise typer.Exit(code)


@app.command("run-due")
def run_due(now: NowOpt = None, as_json: JsonOpt = False) -> None:
    """The cron entry: send everything due now, exactly once."""
    from mailer.cli.deliver import run_due as run

    with user_errors(), runner(now, quiet=as_json) as r:
        code = run(r, as_json, print, warn, emit)
    raise typer.Exit(code)


@app.command()
def scheduler() -> None:
    """Run until stopped, sending what falls due (the same work as run-due)."""
    from mailer.cli import progress
    from mailer.cli.deliver import run_due
    from mailer.delivery.scheduler import run_forever

    with user_errors():
        run_forever(
            project(),
            lambda runner: run_due(runner, False, print, warn, emit),
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
def forget(
    email: str,
    member: Annotated[
        str | None,
        typer.Option(
            "--member", metavar="ID", help="Of an address several members share: erase only this one."
        ),
    ] = None,
) -> None:
    """Erase one person's data from the state folder now (a member's request)."""
    from mailer.cli.people import forget as run

    with user_errors(), runner() as r:
        run(r, email, print, member)


@app.command()
def unsubscribe(
    email: str,
    category: Annotated[
        str, typer.Option("--from", help="A newsletter or meeting series name, or '*'.")
    ] = "*",
) -> None:
    """Stop sending a category (default: everything) to an address."""
    from mailer.cli.people import unsubscribe as run

    with user_errors(), runner() as r:
        run(r, email, category, print)


@app.command()
def suppressions(
    as_json: JsonOpt = False,
    history: Annotated[
        bool, typer.Option("--history", help="The whole consent log, lifted suppressions too.")
    ] = False,
) -> None:
    """Addresses that asked not to get mail, and from what (each with its dated history)."""
    from mailer.cli.preferences import suppressions as run

    with user_errors(), runner() as r:
        run(r, history, as_json, print, emit)


@app.command()
def preferences(
    email: Annotated[
        str | None, typer.Argument(help="One member's address (everyone when left out).")
    ] = None,
    as_json: JsonOpt = False,
    now: NowOpt = None,
) -> None:
    """What members chose on their page: categories, language, pause, and the consent log."""
    from mailer.cli.preferences import preferences as run

    with user_errors(), runner(now) as r:
        run(r, email, as_json, print, emit)


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8080,
) -> None:
    """Run the web endpoint: unsubscribe and RSVP links, and the board's preview and approval."""
    from mailer.web.server import serve as run

    with user_errors():
        run(global_options["project"].resolve(), host, port, print, warn)


app.command()(answers.attendance)
app.command()(answers.report)
app.add_typer(answers.consultation_app, name="consultation")
app.add_typer(answers.bounces_app, name="bounces")
app.add_typer(events.event_app, name="event")
app.add_typer(statecopy.state_app, name="state")
app.add_typer(archive.archive_app, name="archive")


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
    from mailer import UMASK  # not from mailer.state: `--help` need not load the state layer

    os.umask(UMASK)  # the state folder and what we write for the user are theirs alone
    try:
        app()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
