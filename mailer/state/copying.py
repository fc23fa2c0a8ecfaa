"""`mailer state copy`: a project's whole state from one engine to the other, checked row by row count.

The target is opened (and migrated) like any state, must hold no rows at all, and is filled in
one transaction: a failure leaves it empty. Afterwards the rows of each table are counted on
both sides; a difference rolls everything back. The secret moves too: it signs the links in
mail already sent and keys the hashes of erased people's unsubscribes, so a new one would
break both. PostgreSQL keeps it in `meta`; SQLite in the state folder's `secret` file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from mailer.errors import UserError
from mailer.state.connection import Connection
from mailer.state.database import Location, connect, transaction

SECRET_KEY = "secret"
CHUNK = 2000


def _count(db: Connection, table: str) -> int:
    return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def _rows(db: Connection, table: str, columns: list[str], skip_secret: bool) -> Iterator[tuple[object, ...]]:
    for row in db.execute(f"SELECT {', '.join(columns)} FROM {table}"):
        if skip_secret and table == "meta" and row[columns.index("key")] == SECRET_KEY:
            continue
        yield tuple(row)


def copy_state(
    source: Location, target: Location, secret: bytes | None, secret_file: Path | None
) -> dict[str, int]:
    """Copy every table; returns table → rows. `secret` is the source's own (None: MAILER_SECRET
    is set, nothing to move); `secret_file` is where a SQLite target keeps it."""
    if source.describe() == target.describe():
        raise UserError(f"--to names where the state already is ({source.describe()}); nothing was copied")
    src = connect(source)
    try:
        dst = connect(target)
        try:
            return _copy(src, dst, secret, secret_file)
        finally:
            dst.close()
    finally:
        src.close()


def _copy(src: Connection, dst: Connection, secret: bytes | None, secret_file: Path | None) -> dict[str, int]:
    tables = src.tables()
    missing = sorted(set(tables) - set(dst.tables()))
    if missing:
        raise UserError(
            f"{dst.where}: has no table {', '.join(missing)}; upgrade mailer there, nothing was copied"
        )
    full = {t: n for t in dst.tables() if (n := _count(dst, t))}
    if full:
        held = ", ".join(f"{t} ({n} rows)" for t, n in sorted(full.items()))
        raise UserError(
            f"{dst.where}: already holds a state ({held}); copy only into an empty one, nothing was copied"
        )
    if secret is not None and secret_file is not None:
        _check_secret_file(secret_file, secret)
    counts: dict[str, int] = {}
    with transaction(dst):
        for table in tables:
            wanted = set(dst.columns(table))
            columns = [c for c in src.columns(table) if c in wanted]
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            batch: list[tuple[object, ...]] = []
            for row in _rows(src, table, columns, skip_secret=True):
                batch.append(row)
                if len(batch) >= CHUNK:
                    dst.executemany(sql, batch)
                    batch = []
            if batch:
                dst.executemany(sql, batch)
            counts[table] = _count(dst, table)
        expected = {t: _count(src, t) for t in tables}
        if src.engine == "postgresql" and expected.get("meta") and _has_secret(src):
            expected["meta"] -= 1
        wrong = {t: (expected[t], counts[t]) for t in tables if expected[t] != counts[t]}
        if wrong:
            what = ", ".join(f"{t}: {a} there, {b} here" for t, (a, b) in wrong.items())
            raise UserError(f"the row counts differ ({what}); nothing was copied, report this as a bug")
        dst.renumber(tables)
        if secret is not None and secret_file is None:
            dst.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (SECRET_KEY, secret.decode()))
    if secret is not None and secret_file is not None:
        _write_secret_file(secret_file, secret)
    return counts


def _has_secret(db: Connection) -> bool:
    return db.execute("SELECT 1 FROM meta WHERE key = ?", (SECRET_KEY,)).fetchone() is not None


def _check_secret_file(path: Path, secret: bytes) -> None:
    if path.is_file() and path.read_bytes().strip() != secret:
        raise UserError(
            f"{path} holds another secret than the state being copied; links in mail already sent "
            "would stop working: move that file away first, nothing was copied"
        )


def _write_secret_file(path: Path, secret: bytes) -> None:
    if path.is_file():
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(secret)
