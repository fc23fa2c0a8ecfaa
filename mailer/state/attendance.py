"""Who came to each meeting occurrence: members matched from a report, and the rest listed apart.

Rows are keyed by occurrence and member (or by the unmatched name and address), so importing
the same file twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable


class Attendance:
    """The attendance tables over the state database."""

    def __init__(self, db: sqlite3.Connection):
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
        self.db.execute("BEGIN IMMEDIATE")
        try:
            members = sum(
                self.db.execute(
                    "INSERT OR IGNORE INTO attendance VALUES (?, ?, ?, ?)", (occurrence, m, source, stamp)
                ).rowcount
                for m in sorted(member_ids)
            )
            others = sum(
                self.db.execute(
                    "INSERT OR IGNORE INTO attendance_unmatched VALUES (?, ?, ?, ?, ?)",
                    (occurrence, name, email.casefold(), source, stamp),
                ).rowcount
                for name, email in unmatched
            )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return members, others

    def counts(self, series: str) -> dict[str, dict[str, int]]:
        """Occurrence → attended (members), attended without an RSVP answer, unmatched."""
        like = series.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") + "@%"
        out: dict[str, dict[str, int]] = {}
        rows = self.db.execute(
            "SELECT a.occurrence, count(*), sum(r.member_id IS NULL) FROM attendance a "
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
        self.db.execute(
            "UPDATE attendance SET member_id = 'erased:' || lower(hex(randomblob(8))) WHERE member_id = ?",
            (member_id,),
        )

    def unmatched(self, occurrence: str) -> list[tuple[str, str]]:
        return self.db.execute(
            "SELECT name, email FROM attendance_unmatched WHERE occurrence = ? ORDER BY name", (occurrence,)
        ).fetchall()
