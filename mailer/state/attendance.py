"""Who came to each meeting occurrence: members matched from a report, and the rest listed apart.

Rows are keyed by occurrence and member (or by the unmatched name and address), so importing
the same file twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable

from mailer.state.connection import Connection
from mailer.state.database import transaction


def erased_id() -> str:
    """What stands in for an erased member's id: counted still, never linked to anyone."""
    return "erased:" + secrets.token_hex(8)


class Attendance:
    """The attendance tables over the state database."""

    def __init__(self, db: Connection):
        self.db = db

    def record(
        self,
        occurrence: str,
        member_ids: Iterable[str],
        unmatched: Iterable[tuple[str, str]],
        source: str,
        now: dt.datetime,
    ) -> tuple[int, int]:
        """Add who came; returns how many members and unmatched names were new."""
        stamp = now.isoformat()
        with transaction(self.db):
            members = sum(
                self.db.execute(
                    "INSERT INTO attendance VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (occurrence, m, source, stamp),
                ).rowcount
                for m in sorted(member_ids)
            )
            others = sum(
                self.db.execute(
                    "INSERT INTO attendance_unmatched VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (occurrence, name, email.casefold(), source, stamp),
                ).rowcount
                for name, email in unmatched
            )
        return members, others

    def counts(self, series: str) -> dict[str, dict[str, int]]:
        """Occurrence → attended (members), attended without an RSVP answer, unmatched."""
        like = series.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") + "@%"
        out: dict[str, dict[str, int]] = {}
        rows = self.db.execute(
            "SELECT a.occurrence, count(*), sum(CASE WHEN r.member_id IS NULL THEN 1 ELSE 0 END) "
            "FROM attendance a "
            "LEFT JOIN rsvps r ON r.occurrence = a.occurrence AND r.member_id = a.member_id "
            "WHERE a.occurrence LIKE ? ESCAPE '\\' GROUP BY a.occurrence",
            (like,),
        )
        for occurrence, attended, unanswered in rows:
            out[occurrence] = {"attended": attended, "attended_unanswered": unanswered, "unmatched": 0}
        for occurrence, n in self.db.execute(
            "SELECT occurrence, count(*) FROM attendance_unmatched WHERE occurrence LIKE ? ESCAPE '\\' "
            "GROUP BY occurrence",
            (like,),
        ):
            out.setdefault(occurrence, {"attended": 0, "attended_unanswered": 0, "unmatched": 0})
            out[occurrence]["unmatched"] = n
        return out

    def forget(self, member_id: str) -> None:
        """A member erased from the ledger: who came stays counted, no longer whom."""
        self.db.execute("UPDATE attendance SET member_id = ? WHERE member_id = ?", (erased_id(), member_id))

    def unmatched(self, occurrence: str) -> list[tuple[str, str]]:
        return self.db.execute(
            "SELECT name, email FROM attendance_unmatched WHERE occurrence = ? ORDER BY name", (occurrence,)
        ).fetchall()
