"""`mailer archive [withdraw|publish ID --by NAME]`: what the public archive shows, and taking an
issue off it by hand (or putting it back)."""

from __future__ import annotations

from typing import Annotated

import typer

from mailer.cli.context import JsonOpt, emit, runner, user_errors, warn

archive_app = typer.Typer(
    help="The public archive (/arkiv): every issue and whether it is shown; withdraw or publish one.",
    invoke_without_command=True,
)

IdArg = Annotated[str, typer.Argument(metavar="ID", help="The issue's id, as `mailer archive` lists it.")]
ByOpt = Annotated[
    str | None, typer.Option("--by", help="Who decided it (a board member's name, on one line).")
]


@archive_app.callback()
def listing(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Every archived issue: when sent, languages, published, kept out or withdrawn (when, by whom)."""
    if ctx.invoked_subcommand is not None:
        return
    from mailer.delivery import withdrawals

    with user_errors(), runner() as r:
        found = withdrawals.entries(r.state.archive, r.project, r.now, warn)
        if as_json:
            emit(withdrawals.as_json(found, r.project))
        else:
            print("\n".join(withdrawals.lines(found, r.project, r.now)))


@archive_app.command("withdraw")
def withdraw(mailing: IdArg, by: ByOpt = None) -> None:
    """Take an issue off /arkiv and its pages now, every language; a later run of it keeps it off."""
    from mailer.delivery import withdrawals

    with user_errors(), runner() as r:
        mailing = withdrawals.check_id(mailing)
        name = withdrawals.board_name(by, list(r.project.settings.board_users))
        print(withdrawals.withdraw(r.state.archive, r.project, mailing, name, r.now, warn))


@archive_app.command("publish")
def publish(mailing: IdArg, by: ByOpt = None) -> None:
    """Undo a withdrawal by hand. An issue kept out when it was sent (not for every member) stays out."""
    from mailer.delivery import withdrawals

    with user_errors(), runner() as r:
        mailing = withdrawals.check_id(mailing)
        name = withdrawals.board_name(by, list(r.project.settings.board_users))
        print(withdrawals.publish(r.state.archive, r.project, mailing, name, r.now, warn))
