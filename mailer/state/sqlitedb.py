"""The embedded engine: the state in one SQLite file (`.mailer/state.db`), in WAL mode.

WAL keeps the file valid through a kill -9; `secure_delete` overwrites what an erasure
deletes, and the erasure then VACUUMs the file (`after_erasure`). The schema version is
`PRAGMA user_version`. The run lock in the state folder keeps one sender at a time, so
deliveries need no claims here (`shared` is False).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from mailer.errors import UserError
from mailer.state.connection import SENDER

ERASURE_WAIT = 5.0
"""Seconds an erasure's checkpoint waits for a reader (a web request) to let go of old pages."""


class SqliteDatabase:
    """A `Connection` over one sqlite3 connection in autocommit mode."""

    engine = "sqlite"
    shared = False
    skip_locked = ""  # one writer at a time: nothing to skip

    def __init__(self, raw: sqlite3.Connection, path: Path):
        self.raw = raw
        self.path = path
        self.where = str(path)
        self.depth = 0
        # bound once: the send path calls these thousands of times a second
        self.execute = raw.execute
        self.executemany = raw.executemany

    def begin(self) -> None:
        self.raw.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.raw.execute("COMMIT")

    def rollback(self) -> None:
        self.raw.execute("ROLLBACK")

    def lock(self, name: str) -> None:
        """BEGIN IMMEDIATE already admits one writer at a time."""

    def relaxed(self) -> None:
        """A commit here never waits for the disk (WAL with synchronous=NORMAL)."""

    def version(self) -> int:
        return int(self.raw.execute("PRAGMA user_version").fetchone()[0])

    def set_version(self, number: int) -> None:
        self.raw.execute(f"PRAGMA user_version = {int(number)}")

    def prepare_schema(self) -> None:
        """Nothing to create: the file is the schema's home."""

    def ddl(self, statement: str) -> str:
        return statement

    def after_erasure(self, tables: Iterable[str]) -> None:
        """Write the file anew from the rows that stay, then empty the WAL.

        secure_delete zeroes a cell when it is deleted, but not the copies SQLite leaves behind
        when it moves cells between pages: a page rebuilt with fewer cells keeps the old bytes in
        its unused space, so an erased address could still be read from the file. VACUUM writes
        every page from the live rows; its temporary copy stays in memory, not in /var/tmp. The
        checkpoint then writes the new pages over the old ones and truncates the WAL, where older
        page versions lived on. Inside a transaction nothing is done: its caller cleans after it.
        """
        if self.depth:
            return
        self.raw.execute("PRAGMA temp_store=MEMORY")
        self.raw.execute("VACUUM")
        pending = self._unfinished()
        if checkpoint(self.raw, ERASURE_WAIT):
            pending.unlink(missing_ok=True)
        else:
            os.close(os.open(pending, os.O_WRONLY | os.O_CREAT, 0o600))

    def erasure_pending(self) -> bool:
        """Whether older page versions of an erasure are still in the WAL: another process read
        the file all along, so the checkpoint could not write over them. The next opening of the
        file (a cron run-due, a minute later) tries again (`open_file`)."""
        return self._unfinished().exists()

    def _unfinished(self) -> Path:
        return self.path.with_name(self.path.name + "-erasing")

    def renumber(self, tables: Iterable[str]) -> None:
        """An INTEGER PRIMARY KEY goes on from the largest one by itself."""

    def twin(self) -> None:
        """None: one sender holds the file (the run lock), so nothing needs claiming ahead."""

    async def loop_ledger(self) -> None:
        """None: a commit here costs tens of microseconds (WAL, synchronous=NORMAL, no flush of
        the disk), less than a second connection's, and two writers would only queue for the
        file's one write lock; the send commits on the event loop itself."""

    def live_senders(self) -> list[str]:
        return [SENDER]

    def tables(self) -> list[str]:
        rows = self.raw.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
        return [r[0] for r in rows]

    def columns(self, table: str) -> list[str]:
        return [r[1] for r in self.raw.execute(f'PRAGMA table_info("{table}")')]

    def close(self) -> None:
        self.raw.close()


def checkpoint(raw: sqlite3.Connection, wait: float) -> bool:
    """Write the WAL into the file and empty it, waiting up to `wait` seconds for readers of
    older pages to let go; False if one still holds them."""
    before = raw.execute("PRAGMA busy_timeout").fetchone()[0]
    raw.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
    try:
        return raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
    finally:
        raw.execute(f"PRAGMA busy_timeout={int(before)}")


def private_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        p = path.with_name(path.name + suffix)
        try:
            if p.stat().st_mode & 0o077:
                p.chmod(0o600)
        except FileNotFoundError:
            pass


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def open_file(path: Path, wait: float, newest: int) -> SqliteDatabase:
    """Open (creating) the file; a file from a newer release is refused before anything is written.

    `wait` is how many seconds to wait for another process that holds the database.
    """
    if not path.exists():
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    raw = sqlite3.connect(path, isolation_level=None, timeout=wait, check_same_thread=False)
    # SQLite's own lower() knows only A-Z; PostgreSQL's knows Å. An erasure looks for an address
    # inside texts (a bounce's reason) with lower(…) LIKE, and must find 'ÅSE@…' on both engines.
    raw.create_function("lower", 1, _lower, deterministic=True)
    db = SqliteDatabase(raw, path)
    try:
        raw.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
        version = db.version()
        if version > newest:
            raise UserError(
                f"{path}: the state database is version {version}, written by a newer release of mailer "
                f"(this one reads up to version {newest}); upgrade mailer, nothing was changed"
            )
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("PRAGMA synchronous=NORMAL")
        raw.execute("PRAGMA secure_delete=ON")  # erased members leave no trace in free pages
        if db.erasure_pending() and checkpoint(raw, 0):
            db._unfinished().unlink(missing_ok=True)
    except BaseException:
        raw.close()
        raise
    return db


def explain(path: Path | str, exc: sqlite3.DatabaseError) -> str:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return f"{path}: the state database is locked by another process; wait for it to finish and try again"
    return (
        f"{path}: the state database cannot be read ({text}); restore it from a backup "
        "or move it away to start a new ledger"
    )
