"""Check-ins at the door: who of those registered for an event came, ticked off on the board page.

Checked-in registrants count as attended in `mailer report meetings`. A tick can be taken
back (a mistake at the door); ticking twice changes nothing.
"""

from __future__ import annotations

import datetime as dt

from mailer.state.connection import Connection
from mailer.state.database import stamp


class Checkins:
    def __init__(self, db: Connection):
        self.db = db

    def check_in(self, registration_id: int, event: str, by: str, now: dt.datetime) -> bool:
        """True when this is news (not checked in before)."""
        cur = self.db.execute(
            "INSERT INTO checkins (registration_id, event, checked_in_at, checked_in_by) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (registration_id) DO NOTHING",
            (registration_id, event, stamp(now), by),
        )
        return cur.rowcount == 1

    def undo(self, registration_id: int) -> bool:
        return (
            self.db.execute("DELETE FROM checkins WHERE registration_id = ?", (registration_id,)).rowcount
            == 1
        )

    def of_event(self, event: str) -> set[int]:
        rows = self.db.execute("SELECT registration_id FROM checkins WHERE event = ?", (event,))
        return {int(r[0]) for r in rows}

    def counts(self) -> dict[str, int]:
        """Event → how many were checked in."""
        return {e: n for e, n in self.db.execute("SELECT event, count(*) FROM checkins GROUP BY event")}
