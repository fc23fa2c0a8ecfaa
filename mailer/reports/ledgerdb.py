"""Read-only SQL over the state database, for reports: a report never writes or creates state.

A report asks whether a table exists before reading it, so the columns that need records
other parts of mailer keep (attendance, bounces, answers) show "not recorded" until then.
"""

from __future__ import annotations

import sqlite3
from functools import cached_property
from pathlib import Path
from typing import Any


class LedgerReader:
    """The state database (`state.db`) opened read-only; a missing file reads as empty."""

    def __init__(self, path: Path):
        self.path = path
        self.db: sqlite3.Connection | None = None
        self._cache: dict[tuple[str, tuple[Any, ...]], list[tuple[Any, ...]]] = {}
        if path.is_file():
            self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)

    def close(self) -> None:
        if self.db is not None:
            self.db.close()

    @cached_property
    def _columns(self) -> dict[str, set[str]]:
        if self.db is None:
            return {}
        names = [r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {n: {r[1] for r in self.db.execute(f'PRAGMA table_info("{n}")')} for n in names}

    def has(self, table: str, *columns: str) -> bool:
        """Whether `table` exists with all of `columns`."""
        return table in self._columns and set(columns) <= self._columns[table]

    def rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """The rows of a query, read once per reader (column functions ask again per row)."""
        if self.db is None:
            return []
        if (sql, args) not in self._cache:
            self._cache[sql, args] = self.db.execute(sql, args).fetchall()
        return self._cache[sql, args]
