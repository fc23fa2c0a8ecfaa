"""Everything the state holds about one person, read for their own copy (GDPR Art. 15).

The counterpart of `erasure`: what that deletes, this reads. Rows are found by the member's
id and by their address (in lower case), as erasure finds them. Message contents are not
kept, so a delivery is what was sent, when, and what became of it.
"""

from __future__ import annotations

import json
from typing import Any

from mailer.state.connection import Connection


class PersonalData:
    def __init__(self, db: Connection):
        self.db = db

    def _rows(self, sql: str, args: tuple[Any, ...], keys: tuple[str, ...]) -> list[dict[str, Any]]:
        return [dict(zip(keys, row, strict=True)) for row in self.db.execute(sql, args).fetchall()]

    def deliveries(self, member_id: str, address: str) -> list[dict[str, Any]]:
        return self._rows(
            "SELECT mailing_id, status, created_at, updated_at, attempts, last_reply FROM deliveries "
            "WHERE member_id = ? OR address = ? ORDER BY id",
            (member_id, address.casefold()),
            ("mailing", "status", "planned_at", "updated_at", "attempts", "last_reply"),
        )

    def rsvps(self, member_id: str) -> list[dict[str, Any]]:
        return self._rows(
            "SELECT occurrence, answer, answered_at FROM rsvps WHERE member_id = ? ORDER BY answered_at",
            (member_id,),
            ("meeting", "answer", "answered_at"),
        )

    def attendance(self, member_id: str) -> list[dict[str, Any]]:
        return self._rows(
            "SELECT occurrence, source, recorded_at FROM attendance WHERE member_id = ? ORDER BY occurrence",
            (member_id,),
            ("meeting", "source", "recorded_at"),
        )

    def consultation_answers(self, member_id: str) -> list[dict[str, Any]]:
        """Every version of a consultation answer this member saved (signed by them)."""
        rows = self._rows(
            "SELECT consultation, unit, answered_at, answers, stands FROM consultation_answers "
            "WHERE member_id = ? ORDER BY id",
            (member_id,),
            ("consultation", "answered_for", "answered_at", "answers", "stands"),
        )
        for row in rows:
            row["answers"] = json.loads(row["answers"])
            row["stands"] = bool(row["stands"])
        return rows

    def bounces(self, member_id: str, address: str) -> list[dict[str, Any]]:
        return self._rows(
            "SELECT kind, status, reason, received_at, cleared_at FROM bounce_events "
            "WHERE address = ? OR member_id = ? ORDER BY id",
            (address.casefold(), member_id),
            ("kind", "status", "reason", "received_at", "cleared_at"),
        )

    def registrations(self, member_id: str) -> list[dict[str, Any]]:
        """Event registrations (a guest's are under their made-up id, never found by an address)."""
        rows = self._rows(
            "SELECT event, status, created_at, placed_at, answers FROM registrations WHERE person = ? "
            "ORDER BY id",
            (member_id,),
            ("event", "status", "registered_at", "placed_at", "answers"),
        )
        for row in rows:
            row["answers"] = json.loads(row["answers"]) if row["answers"] else None
        return rows
