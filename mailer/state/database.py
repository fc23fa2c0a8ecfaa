"""The state database (.mailer/state.db): one SQLite connection, its pragmas and its migrations.

SQLite in WAL mode keeps the file valid through a kill -9. The schema carries its version in
`PRAGMA user_version`; `migrations` brings an older file up to date in place, and a file
from a newer release is refused before anything is written.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mailer.errors import UserError
from mailer.state.migrations import MIGRATIONS

VERSION = len(MIGRATIONS)


def stamp(when: dt.datetime) -> str:
    """Timestamps are stored in UTC so that text order is time order."""
    return when.astimezone(dt.UTC).isoformat(timespec="seconds")


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


def _private_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        p = path.with_name(path.name + suffix)
        try:
            if p.stat().st_mode & 0o077:
                p.chmod(0o600)
        except FileNotFoundError:
            pass


def connect(path: Path, wait: float = 30.0) -> sqlite3.Connection:
    """Open (creating or upgrading) the state database; every problem is one clear line.

    `wait` is how many seconds to wait for another process that holds the database.
    """
    private_folder(path.parent)
    if not path.exists():
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    try:
        db = sqlite3.connect(path, isolation_level=None, timeout=wait, check_same_thread=False)
        db.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
        _refuse_newer(db, path)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA secure_delete=ON")  # erased members leave no trace in free pages
        _migrate(db, path)
    except sqlite3.DatabaseError as exc:
        raise UserError(explain(path, exc)) from None
    _private_files(path)
    return db


def explain(path: Path, exc: sqlite3.DatabaseError) -> str:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return f"{path}: the state database is locked by another process; wait for it to finish and try again"
    return (
        f"{path}: the state database cannot be read ({text}); restore it from a backup "
        "or move it away to start a new ledger"
    )


def _refuse_newer(db: sqlite3.Connection, path: Path) -> None:
    """Before anything is written: a file from a newer release stays exactly as it is."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > VERSION:
        db.close()
        raise UserError(
            f"{path}: the state database is version {version}, written by a newer release of mailer "
            f"(this one reads up to version {VERSION}); upgrade mailer, nothing was changed"
        )


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version == VERSION:
        return
    with transaction(db):
        version = db.execute("PRAGMA user_version").fetchone()[0]  # another process may have won
        if version > VERSION:
            raise UserError(f"{path}: the state database was upgraded by a newer release of mailer meanwhile")
        for number, sql in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in _statements(sql):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")


def _statements(sql: str) -> Iterator[str]:
    """Split a migration into statements (executescript would commit the open transaction)."""
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


def forget_old_pages(db: sqlite3.Connection) -> None:
    """After an erasure: older versions of the pages live in the WAL until it is checkpointed."""
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any error: all of it or none of it."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
