"""Which new members their chapter has been told about, and when each welcome went out.

A new member is named in exactly one chapter notice: the notice of the day they are first
listed in. Rows are written before the notice is planned, so a rerun rebuilds the same notice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from mailer.state.connection import Connection
from mailer.state.database import transaction


class Newcomers:
    """The `chapter_notices` table, and welcome deliveries read from `deliveries`."""

    def __init__(self, db: Connection):
        self.db = db

    def noted(self) -> dict[str, str]:
        """Member id → the notice that named them."""
        return dict(self.db.execute("SELECT member_id, notice_id FROM chapter_notices"))

    def forget(self, member_id: str) -> None:
        self.db.execute("DELETE FROM chapter_notices WHERE member_id = ?", (member_id,))

    def note(self, notice_id: str, member_ids: Iterable[str], now: dt.datetime) -> None:
        """Name members in a notice; a member already named elsewhere keeps that notice."""
        stamp = now.astimezone(dt.UTC).isoformat(timespec="seconds")
        with transaction(self.db):
            self.db.executemany(
                "INSERT INTO chapter_notices VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                [(m, notice_id, stamp) for m in member_ids],
            )
