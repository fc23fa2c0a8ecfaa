"""The one small interface every record module speaks to, whatever the engine underneath.

A record module calls `db.execute(sql, params)` (a cursor with `fetchone`, `fetchall`,
iteration and `rowcount`) and `db.executemany(sql, rows)`, with `?` placeholders, and wraps
several writes in `with transaction(db):` (see `database`). It never asks which engine it
has: the SQL it writes runs on SQLite and on PostgreSQL alike (see the README's rules for
new SQL). The few things that do differ live on the connection:

- `shared`: several processes (machines) may send from this database at once, so a sender
  claims deliveries before it sends them (PostgreSQL); with SQLite the run lock in the state
  folder keeps one sender, and nothing needs claiming.
- `lock(name)`: inside a transaction, waits until no other transaction holds `name` (a
  PostgreSQL advisory lock; SQLite's BEGIN IMMEDIATE already lets one writer in at a time).
- `after_erasure(tables)`: what the engine keeps of deleted rows goes (the WAL of SQLite,
  dead tuples of PostgreSQL).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, Protocol

Params = Sequence[Any]
SENDER = secrets.token_hex(6)
"""This process as a sender that claims deliveries (each process is one sender)."""


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class LoopLedger(Protocol):
    async def write(self, statements: list[tuple[str, list[object]]]) -> None:
        """The statements (`?` placeholders), committed together."""
        ...

    async def close(self) -> None: ...


class Connection(Protocol):
    engine: str
    """'sqlite' or 'postgresql': for messages and the copy command, never for choosing SQL."""
    shared: bool
    where: str
    """Where the state is, for messages: the file, or the server, database and schema."""
    depth: int
    """How many `transaction` blocks are open (an inner one joins the outer)."""
    skip_locked: str
    """What ends a SELECT that claims rows: ' FOR UPDATE SKIP LOCKED' where several senders
    may claim at once (PostgreSQL), '' where one writer at a time is all there is (SQLite)."""

    def execute(self, sql: str, params: Params = ()) -> Cursor: ...

    def executemany(self, sql: str, rows: Iterable[Params]) -> Cursor: ...

    def begin(self) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def lock(self, name: str) -> None: ...

    def relaxed(self) -> None:
        """Inside a transaction: its commit need not wait for the disk. Only for writes whose
        loss in a crash of the server loses nothing: a later commit that waits makes them
        durable too (the log is written in order), and without one nothing came of them."""
        ...

    def after_erasure(self, tables: Iterable[str]) -> None: ...

    def erasure_pending(self) -> bool:
        """Whether the engine still keeps older versions of erased rows (another process read
        them all along); the next opening of the state tries again."""
        ...

    def twin(self) -> Connection | None:
        """Another connection to the same state, for a thread that claims the next page of a
        send while this one goes on; None where one connection is all there is (SQLite)."""
        ...

    async def loop_ledger(self) -> LoopLedger | None:
        """Another connection to the same state whose commits wait on the event loop, for the
        send's journal; None where a commit is cheap enough to make where it is asked for."""
        ...

    def live_senders(self) -> list[str]:
        """The senders connected now (their claims hold even past their time), this one included."""
        ...

    def tables(self) -> list[str]: ...

    def columns(self, table: str) -> list[str]: ...

    # -- for the migrations and the copy command (database.py, copying.py) --

    def version(self) -> int: ...

    def set_version(self, number: int) -> None: ...

    def prepare_schema(self) -> None: ...

    def ddl(self, statement: str) -> str: ...

    def renumber(self, tables: Iterable[str]) -> None: ...

    def close(self) -> None: ...


def batched(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Lists of `size` rows (the last one shorter), read from `rows` as they are needed."""
    it = iter(rows)
    while batch := list(islice(it, size)):
        yield batch
