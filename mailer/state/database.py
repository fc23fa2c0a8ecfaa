"""Opening the state: SQLite (the default) or PostgreSQL, the numbered migrations, transactions.

Each engine is a small module (`sqlitedb`, `postgres`) behind one interface (`connection`).
The schema carries its version (SQLite's `PRAGMA user_version`, a one-row table on
PostgreSQL); `migrations` brings an older database up to date in place, each step in one
transaction, and a database from a newer release is refused before anything is written.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from mailer.errors import UserError
from mailer.state.connection import Connection
from mailer.state.migrations import MIGRATIONS

VERSION = len(MIGRATIONS)
_last_opened: list[str] = []


def stamp(when: dt.datetime) -> str:
    """Timestamps are stored in UTC so that text order is time order."""
    return when.astimezone(dt.UTC).isoformat(timespec="seconds")


def stamper() -> Callable[[dt.datetime], str]:
    """`stamp` for many marks within a second or two (one commit of a send): one text per second."""
    texts: dict[int, str] = {}

    def at(when: dt.datetime) -> str:
        second = int(when.timestamp())
        text = texts.get(second)
        if text is None:
            text = texts[second] = stamp(when)
        return text

    return at


def unstamp(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def like_containing(text: str) -> str:
    """A LIKE pattern (with ESCAPE '\\') that matches any text containing `text` as it is."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def private_folder(folder: Path) -> Path:
    """The state folder is the owner's alone (0700), whatever the umask."""
    folder.mkdir(parents=True, exist_ok=True)
    if folder.stat().st_mode & 0o077:
        folder.chmod(0o700)
    return folder


@dataclass(frozen=True)
class Location:
    """Where one project's state lives: a SQLite file, or a schema in a PostgreSQL database."""

    path: Path | None = None
    url: str | None = None
    schema: str | None = None
    wait: float = 30.0
    pool: int = 0
    """PostgreSQL: more than 0 takes connections from a pool of at most this many (the web part)."""
    owner: str | None = None
    """PostgreSQL: the organisation whose schema it is (its name); another is refused."""

    @property
    def engine(self) -> str:
        return "postgresql" if self.url else "sqlite"

    def describe(self) -> str:
        if self.url:
            from mailer.state.postgres_dialect import describe

            return describe(self.url, self.schema or "")
        return str(self.path)


def connect(where: Path | Location, wait: float = 30.0) -> Connection:
    """Open (creating or upgrading) the state; every problem is one clear line (UserError)."""
    location = where if isinstance(where, Location) else Location(path=where, wait=wait)
    _last_opened[:] = [location.describe()]
    if location.url:
        from mailer.state import postgres

        schema = location.schema or ""
        if location.pool:
            pooled = postgres.from_pool(location.url, schema, location.wait, location.pool)
            if pooled is not None:
                return pooled
        pg = postgres.open_database(location.url, schema, location.wait, VERSION)
        try:
            migrate(pg)
            if location.owner:
                _owned_by(pg, location.owner, location.describe())
        except BaseException:
            pg.close()
            raise
        if location.pool:
            postgres.start_pool(location.url, schema, location.wait, location.pool)
        return pg
    from mailer.state import sqlitedb

    assert location.path is not None
    path = location.path
    private_folder(path.parent)
    try:
        db = sqlitedb.open_file(path, location.wait, VERSION)
        try:
            migrate(db)
        except BaseException:
            db.close()
            raise
    except sqlite3.DatabaseError as exc:
        raise UserError(sqlitedb.explain(path, exc)) from None
    sqlitedb.private_files(path)
    return db


def _owned_by(db: Connection, owner: str, where: str) -> None:
    """The schema's organisation is written at its first use; another organisation's project
    (a copied folder, a schema named twice, two names that derive the same schema) is refused
    before it reads or writes a row of it."""
    with transaction(db):
        db.execute(
            "INSERT INTO meta (key, value) VALUES ('organisation', ?) ON CONFLICT DO NOTHING", (owner,)
        )
        row = db.execute("SELECT value FROM meta WHERE key = 'organisation'").fetchone()
    if row[0] != owner:
        raise UserError(
            f"{where}: this schema holds the state of '{row[0]}', not of '{owner}' (organisation.name); "
            "give this organisation a database_schema of its own in schedules.yaml"
        )


def migrate(db: Connection) -> None:
    """Apply the steps the database lacks, all in one transaction; another process may race us."""
    version = db.version()
    if version == VERSION:
        return
    with transaction(db):
        db.lock("migrations")
        db.prepare_schema()
        version = db.version()
        if version > VERSION:
            raise UserError(
                f"{db.where}: the state database was upgraded by a newer release of mailer meanwhile"
            )
        for number, sql in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in statements(sql):
                db.execute(db.ddl(statement))
            db.set_version(number)


def statements(sql: str) -> Iterator[str]:
    """Split a migration into statements (each engine runs them inside one transaction)."""
    buffer = ""
    for line in sql.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                yield buffer.strip()
            buffer = ""
    if buffer.strip():
        yield buffer.strip()


@contextmanager
def transaction(db: Connection) -> Iterator[Connection]:
    """BEGIN … COMMIT, rolled back on any error: all of it or none of it.

    SQLite begins IMMEDIATE (the write lock at once, so two writers never deadlock);
    PostgreSQL begins a READ COMMITTED transaction. A transaction opened inside another
    joins it: the outer one commits.
    """
    if db.depth:
        db.depth += 1
        try:
            yield db
        finally:
            db.depth -= 1
        return
    db.begin()
    db.depth = 1
    try:
        yield db
    except BaseException:
        db.depth = 0
        with suppress(Exception):  # the connection itself is gone: the server rolled back
            db.rollback()
        raise
    db.depth = 0
    db.commit()


def is_database_error(exc: BaseException) -> bool:
    """An error of either engine's driver (the command line turns it into one line)."""
    if isinstance(exc, sqlite3.DatabaseError):
        return True
    import sys

    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(exc, psycopg.Error)


def explain(where: Path | str | None, exc: BaseException) -> str:
    """One line for an error the driver raised, naming where the state is and what to do."""
    if isinstance(exc, sqlite3.DatabaseError):
        from mailer.state.sqlitedb import explain as sqlite_explain

        return sqlite_explain(where or (_last_opened[0] if _last_opened else "state.db"), exc)
    from mailer.state.postgres_dialect import explain as pg_explain

    return pg_explain(_last_opened[0] if _last_opened else str(where), exc)
