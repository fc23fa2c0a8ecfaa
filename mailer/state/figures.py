"""The numbers the board's reports read: the ledger and what came back, counted, never written.

Each method is one question a report asks once; the report keeps the answer for all its rows.
"""

from __future__ import annotations

import datetime as dt

from mailer.state.connection import Connection
from mailer.state.database import stamp
from mailer.state.deliveries import Deliveries


class Figures:
    def __init__(self, db: Connection):
        self.db = db

    def stopped_everything(self) -> set[str]:
        """Addresses that asked for no mail at all (an address that bounced asked nothing)."""
        rows = self.db.execute("SELECT address FROM suppressions WHERE category = '*' AND source != 'bounce'")
        return {r[0] for r in rows}

    def stopped_some(self) -> set[str]:
        """Addresses that turned some categories off (a newsletter, a series), not everything."""
        rows = self.db.execute("SELECT DISTINCT address FROM suppressions WHERE category != '*'")
        return {r[0] for r in rows}

    def paused(self, now: dt.datetime) -> set[str]:
        """Addresses whose pause from everything optional runs at `now`."""
        rows = self.db.execute("SELECT address FROM member_preferences WHERE paused_until > ?", (stamp(now),))
        return {r[0] for r in rows}

    def bouncing(self) -> set[str]:
        """Addresses with uncleared hard or soft bounces (in lower case)."""
        rows = self.db.execute(
            "SELECT DISTINCT address FROM bounce_events WHERE cleared_at IS NULL AND kind IN ('hard', 'soft')"
        )
        return {str(r[0]).casefold() for r in rows}

    def statuses(self) -> dict[str, dict[str, int]]:
        """Mailing → status → deliveries, erased members' counts included."""
        return Deliveries(self.db).status_counts()

    def mailings(self) -> list[tuple[str, str, str, str]]:
        """(id, kind, series, first planned) of every mailing in the ledger, oldest first."""
        return self.db.execute(
            "SELECT id, kind, series, first_planned_at FROM mailings ORDER BY first_planned_at, id"
        ).fetchall()

    def unsubscribed_after(self) -> dict[str, int]:
        """Mailing → addresses that stopped its series (or everything) after it reached them."""
        rows = self.db.execute(
            "SELECT d.mailing_id, count(DISTINCT s.address) FROM deliveries d "
            "JOIN mailings m ON m.id = d.mailing_id "
            "JOIN suppressions s ON s.address = d.address AND s.category IN ('*', m.series) "
            "AND s.source != 'bounce' "
            "WHERE d.status = 'sent' AND s.created_at >= d.updated_at GROUP BY d.mailing_id"
        )
        return {mailing_id: n for mailing_id, n in rows}

    def invited(self) -> dict[str, int]:
        """Meeting occurrence → members sent any of its mailings."""
        return Deliveries(self.db).invited_per_occurrence("%@%")

    def answers(self) -> dict[str, dict[str, int]]:
        """Meeting occurrence → RSVP answer → how many."""
        out: dict[str, dict[str, int]] = {}
        for occurrence, answer, n in self.db.execute(
            "SELECT occurrence, answer, count(*) FROM rsvps GROUP BY occurrence, answer"
        ):
            out.setdefault(occurrence, {})[answer] = n
        return out

    def attended(self) -> dict[str, int]:
        """Meeting occurrence → members who came (for the meetings whose report was imported)."""
        rows = self.db.execute(
            "SELECT occurrence, count(DISTINCT member_id) FROM attendance GROUP BY occurrence"
        )
        return {occurrence: n for occurrence, n in rows}

    def event_invited(self) -> dict[str, int]:
        """Event with places → members its invitation was sent to (erased members' counts included)."""
        out: dict[str, int] = {}
        for event, n in self.db.execute(
            "SELECT m.series, count(DISTINCT d.member_id) FROM deliveries d JOIN mailings m "
            "ON m.id = d.mailing_id WHERE m.kind = 'event' AND d.status = 'sent' GROUP BY m.series"
        ):
            out[event] = out.get(event, 0) + n
        for event, n in self.db.execute(
            "SELECT m.series, sum(e.count) FROM erased_counts e JOIN mailings m ON m.id = e.mailing_id "
            "WHERE m.kind = 'event' AND e.status = 'sent' GROUP BY m.series"
        ):
            out[event] = out.get(event, 0) + int(n)
        return out

    def registrations(self) -> dict[str, dict[str, int]]:
        """Event → registration status (placed, waiting, cancelled, …) → how many."""
        out: dict[str, dict[str, int]] = {}
        for event, status, n in self.db.execute(
            "SELECT event, status, count(*) FROM registrations GROUP BY event, status"
        ):
            out.setdefault(event, {})[status] = n
        return out

    def checked_in(self) -> dict[str, int]:
        """Event → registrants checked in at the door."""
        return {e: n for e, n in self.db.execute("SELECT event, count(*) FROM checkins GROUP BY event")}
