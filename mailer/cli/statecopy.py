"""`mailer state copy --to postgresql://…|sqlite`: move a project's state to the other engine."""

from __future__ import annotations

from typing import Annotated

import typer

from mailer.cli.context import runner, user_errors

state_app = typer.Typer(
    help="The project's state: copy it to PostgreSQL or back to SQLite.", no_args_is_help=True
)


@state_app.command("copy")
def copy(
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="postgresql://USER:PASSWORD@HOST:PORT/DATABASE (the organisation's schema there), "
            "or sqlite (the project's .mailer/state.db).",
        ),
    ],
) -> None:
    """Copy the whole state (every table, the secret too) into an empty target; counts are checked."""
    from mailer.errors import UserError
    from mailer.project.settings import database_url_problem
    from mailer.state.copying import copy_state
    from mailer.state.database import Location

    with user_errors(), runner() as r:
        source = r.location()
        wait = r.project.settings.state_wait
        if to == "sqlite":
            target = Location(path=r.project.state_dir / "state.db", wait=wait)
        elif to.startswith(("postgresql://", "postgres://")):
            problem = database_url_problem(to)
            if problem:
                raise UserError(f"--to: {problem}")
            target = Location(url=to, schema=r.project.config.organisation.schema, wait=wait)
        else:
            raise UserError(f"--to {to}: write postgresql://USER:PASSWORD@HOST:PORT/DATABASE or sqlite")
        own_secret = None if r.project.settings.secret is not None else r.secret()
        secret_file = r.project.state_dir / "secret" if target.path else None
        r.close()
        try:
            counts = copy_state(source, target, own_secret, secret_file)
        except UserError as exc:  # the server's advice names the setting; here the URL is --to's
            if not target.url or source.url:
                raise
            raise UserError(str(exc).replace("MAILER_DATABASE_URL", "the --to URL")) from None
        rows = ", ".join(f"{t} {n}" for t, n in counts.items() if n)
        print(f"copied {sum(counts.values())} rows from {source.describe()} to {target.describe()} ({rows})")
        print(
            "row counts checked; now point the project at it: "
            + ("remove MAILER_DATABASE_URL" if target.path else "set MAILER_DATABASE_URL in .env")
        )
