"""What a member asked for on their page that sends a message: their data, a note to the secretary.

Each is counted per address so that a button pressed fifty times sends one message: the data
export at most once in 24 hours, a note to the secretary a few times a day.
"""

from __future__ import annotations

import datetime as dt

from mailer.state.connection import Connection
from mailer.state.database import stamp, unstamp

WINDOW = dt.timedelta(hours=24)
EXPORT = "data-export"
REPORT = "report-error"
RESUBSCRIBE = "resubscribe"
KINDS = (EXPORT, REPORT, RESUBSCRIBE)


class MemberRequests:
    def __init__(self, db: Connection):
        self.db = db

    def take(self, address: str, kind: str, per_day: int, now: dt.datetime) -> tuple[int, dt.datetime | None]:
        """Record one request if the window has room: (its id, None); else (0, when there is room).

        Call it inside the transaction that records the message it sends: the lock lets one
        press at a time count what is in the window (SQLite's BEGIN IMMEDIATE does by itself,
        PostgreSQL's READ COMMITTED would let two read the same count), so fifty presses at the
        same moment record exactly `per_day` of them.
        """
        if kind not in KINDS:
            raise ValueError(f"not a request: {kind}")
        address = address.casefold()
        self.db.lock("member_requests")
        rows = self.db.execute(
            "SELECT requested_at FROM member_requests WHERE address = ? AND kind = ? AND requested_at > ? "
            "ORDER BY requested_at",
            (address, kind, stamp(now - WINDOW)),
        ).fetchall()
        if len(rows) >= per_day:
            first = unstamp(rows[len(rows) - per_day][0])
            assert first is not None
            return 0, (first + WINDOW).astimezone(now.tzinfo)
        row = self.db.execute(
            "INSERT INTO member_requests (address, kind, requested_at) VALUES (?, ?, ?) RETURNING id",
            (address, kind, stamp(now)),
        ).fetchone()
        return int(row[0]), None

    def last(self, address: str, kind: str) -> dt.datetime | None:
        row = self.db.execute(
            "SELECT max(requested_at) FROM member_requests WHERE address = ? AND kind = ?",
            (address.casefold(), kind),
        ).fetchone()
        return unstamp(row[0]) if row else None

    def forget(self, address: str) -> None:
        self.db.execute("DELETE FROM member_requests WHERE address = ?", (address.casefold(),))
