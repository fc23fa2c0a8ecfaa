"""The waiting list of an event: the order people joined it, and the offer of a freed place.

First come, first served: a place that frees up goes to the first in line, at once or (with
`waitlist_offer_hours`) as an offer held for them until it expires, as CiviCRM ("Pending from
waitlist") and pretix (a voucher valid N hours) do. Someone who leaves the list, by taking a
place, cancelling or letting an offer lapse, keeps their row with the outcome, for the counts.
"""

from __future__ import annotations

import datetime as dt

from mailer.state.connection import Connection
from mailer.state.database import stamp, unstamp


class Waitlist:
    def __init__(self, db: Connection):
        self.db = db

    def join(self, registration_id: int, event: str, now: dt.datetime) -> None:
        """Last in line. Inside the transaction holding the event (`registrations.hold`), so the
        order is the order of joining even when two register in the same second."""
        last = self.db.execute(
            "SELECT max(place_in_line) FROM waitlist WHERE event = ?", (event,)
        ).fetchone()[0]
        self.db.execute(
            "INSERT INTO waitlist (registration_id, event, joined_at, place_in_line) VALUES (?, ?, ?, ?)",
            (registration_id, event, stamp(now), int(last or 0) + 1),
        )

    def position(self, registration_id: int) -> int | None:
        """1 for the first in line; None when not waiting (any more)."""
        row = self.db.execute(
            "SELECT w.event, w.place_in_line FROM waitlist w "
            "JOIN registrations r ON r.id = w.registration_id "
            "WHERE w.registration_id = ? AND r.status = 'waiting'",
            (registration_id,),
        ).fetchone()
        if row is None:
            return None
        ahead = self.db.execute(
            "SELECT count(*) FROM waitlist w JOIN registrations r ON r.id = w.registration_id "
            "WHERE w.event = ? AND r.status = 'waiting' AND w.place_in_line < ?",
            (row[0], row[1]),
        ).fetchone()[0]
        return int(ahead) + 1

    def first(self, event: str) -> int | None:
        """The registration first in line, if anyone is waiting."""
        row = self.db.execute(
            "SELECT w.registration_id FROM waitlist w JOIN registrations r ON r.id = w.registration_id "
            "WHERE w.event = ? AND r.status = 'waiting' ORDER BY w.place_in_line LIMIT 1",
            (event,),
        ).fetchone()
        return int(row[0]) if row else None

    def waiting(self, event: str) -> int:
        return self.db.execute(
            "SELECT count(*) FROM waitlist w JOIN registrations r ON r.id = w.registration_id "
            "WHERE w.event = ? AND r.status = 'waiting'",
            (event,),
        ).fetchone()[0]

    def offer(self, registration_id: int, now: dt.datetime, expires: dt.datetime) -> None:
        self.db.execute(
            "UPDATE waitlist SET offered_at = ?, offer_expires_at = ? WHERE registration_id = ?",
            (stamp(now), stamp(expires), registration_id),
        )

    def cut_offer(self, registration_id: int, expires: dt.datetime) -> None:
        """An offer's deadline brought forward (the event moved earlier); when it was made stays."""
        self.db.execute(
            "UPDATE waitlist SET offer_expires_at = ? WHERE registration_id = ?",
            (stamp(expires), registration_id),
        )

    def offer_expires(self, registration_id: int) -> dt.datetime | None:
        row = self.db.execute(
            "SELECT offer_expires_at FROM waitlist WHERE registration_id = ?", (registration_id,)
        ).fetchone()
        return unstamp(row[0]) if row else None

    def lapsed(self, now: dt.datetime) -> list[tuple[int, str]]:
        """(registration, event) of offers that ran out unanswered."""
        rows = self.db.execute(
            "SELECT w.registration_id, w.event FROM waitlist w "
            "JOIN registrations r ON r.id = w.registration_id "
            "WHERE r.status = 'offered' AND w.offer_expires_at <= ? ORDER BY w.offer_expires_at",
            (stamp(now),),
        ).fetchall()
        return [(int(r[0]), str(r[1])) for r in rows]

    def leave(self, registration_id: int, outcome: str, now: dt.datetime) -> None:
        self.db.execute(
            "UPDATE waitlist SET left_at = ?, outcome = ? WHERE registration_id = ? AND left_at IS NULL",
            (stamp(now), outcome, registration_id),
        )

    def outcomes(self, event: str) -> dict[str, int]:
        rows = self.db.execute(
            "SELECT coalesce(outcome, 'waiting'), count(*) FROM waitlist WHERE event = ? GROUP BY 1", (event,)
        )
        return {outcome: n for outcome, n in rows}
