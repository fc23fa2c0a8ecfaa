"""`mailer event status|export|cancel|call-off`: an event's places, its participant list, one
person's cancellation, and calling the whole event off."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mailer.cli.context import JsonOpt, NowOpt, emit, runner, user_errors

event_app = typer.Typer(
    help="Events with places: who registered, the list, cancellations.", no_args_is_help=True
)


@event_app.command("status")
def event_status(event: str, as_json: JsonOpt = False, now: NowOpt = None) -> None:
    """Places taken, waiting, offered, cancelled, unconfirmed guests, and answers per question."""
    from mailer.events import organiser

    with user_errors(), runner(now) as r:
        s = organiser.status(r, event)
        emit(s.as_json()) if as_json else print("\n".join(organiser.lines(s)))


@event_app.command("export")
def event_export(
    event: str,
    out: Annotated[Path, typer.Option("--out", help="The CSV file to write.")],
) -> None:
    """The participant list for Excel (UTF-8 with BOM, ';'): one row per person, with their answers."""
    from mailer.events import organiser

    with user_errors(), runner() as r:
        n = organiser.export(r, event, out)
        print(f"{out}: {n} rows (places first, then the waiting list in order)")


@event_app.command("cancel")
def event_cancel(event: str, email: str, now: NowOpt = None) -> None:
    """Cancel one person's registration (their place goes to the first in line) and tell them."""
    from mailer.events import organiser

    with user_errors(), runner(now) as r:
        for line in organiser.cancel(r, event, email):
            print(line)


@event_app.command("call-off")
def event_call_off(
    event: str,
    reason: Annotated[str, typer.Option("--reason", help="One line for the mail: why it is off.")] = "",
    now: NowOpt = None,
) -> None:
    """Call the whole event off: everyone registered is told (a calendar CANCEL to those with a
    place), registration closes and no reminder goes. Running it again sends nothing."""
    from mailer.events import organiser

    with user_errors(), runner(now) as r:
        for line in organiser.call_off(r, event, reason):
            print(line)
