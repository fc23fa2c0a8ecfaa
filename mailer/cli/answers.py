"""The commands about what comes back: attendance, the board's reports, consultations and bounces."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from mailer.cli.context import JsonOpt, NowOpt, emit, runner, user_errors, warn


def attendance(
    series: Annotated[str | None, typer.Argument(help="A meeting series (all when left out).")] = None,
    meeting: Annotated[str | None, typer.Argument(help="With `import`: SERIES@YYYY-MM-DD.")] = None,
    file: Annotated[Path | None, typer.Argument(help="With `import`: a Teams report or a CSV.")] = None,
    last: Annotated[int, typer.Option("--last", min=1, help="How many meetings held to show.")] = 10,
    as_json: JsonOpt = False,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Also write one row per meeting to this CSV file.")
    ] = None,
    now: NowOpt = None,
) -> None:
    """Per meeting: invited, yes, no, no answer and who came against the goal, and the trend.

    `mailer attendance import SERIES@YYYY-MM-DD FILE` records who came from a Teams report or a CSV.
    """
    from mailer.cli.attendance import attendance as run
    from mailer.cli.attendance import attendance_import

    if series == "import":
        if meeting is None or file is None:
            raise typer.BadParameter("write: mailer attendance import SERIES@YYYY-MM-DD FILE")
        with user_errors(), runner(now) as r:
            attendance_import(r, meeting, file, print)
        return
    if meeting is not None:
        raise typer.BadParameter(f"unexpected '{meeting}'; to import, write: mailer attendance import …")
    with user_errors(), runner(now) as r:
        run(r, series, last, as_json, print, emit, csv_file)


class ReportKind(StrEnum):
    chapters = "chapters"
    meetings = "meetings"
    mailings = "mailings"


def report(
    kind: Annotated[ReportKind, typer.Argument(help="chapters, meetings or mailings.")],
    name: Annotated[str | None, typer.Argument(help="One meeting series or mailing.")] = None,
    as_json: JsonOpt = False,
    html: Annotated[Path | None, typer.Option("--html", help="Write a page with charts here.")] = None,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Also write the report's tables to this CSV file.")
    ] = None,
    now: NowOpt = None,
) -> None:
    """The board's numbers: per chapter and region, per meeting series, per mailing."""
    from mailer.reports.command import report as run

    with user_errors(), runner(now) as r:
        run(
            r.project,
            r.state.figures,
            r.members,
            r.now,
            kind.value,
            name,
            as_json,
            html,
            print,
            emit,
            csv_file,
        )


consultation_app = typer.Typer(help="Who answered a consultation, and what.", no_args_is_help=True)


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
