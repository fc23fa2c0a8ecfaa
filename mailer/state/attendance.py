"""Who came to each meeting occurrence: members matched from a report, and the rest listed apart.

Rows are keyed by occurrence and member (or by the unmatched name and address), so importing
the same file twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable, Iterable

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

    def forget(self, member_id: str, anonymous: Callable[[], str]) -> None:
        """A member erased from the ledger: who came stays counted, no longer whom."""
        rows = self.db.execute(
            "SELECT occurrence FROM attendance WHERE member_id = ?", (member_id,)
        ).fetchall()
        self.db.executemany(
            "UPDATE attendance SET member_id = ? WHERE occurrence = ? AND member_id = ?",
            [(anonymous(), occurrence, member_id) for (occurrence,) in rows],
        )

    def forget_guest(self, address: str | None, names: Iterable[str], anonymous: Callable[[], str]) -> None:
        """An erased person listed apart by their address, or by every word of their name in any
        order ('Fjellheim, Gudrun (Guest)' is Gudrun Fjellheim): a namesake is anonymised too."""
        wanted = [_words(n) for n in names if _words(n)]
        rows = self.db.execute("SELECT occurrence, name, email FROM attendance_unmatched").fetchall()
        self._anonymise(
            [
                r
                for r in rows
                if (address and r[2].casefold() == address) or any(w <= _words(r[1]) for w in wanted)
            ],
            anonymous,
        )

    def anonymise_guests(self, before: dt.datetime, anonymous: Callable[[], str]) -> int:
        """Retention: guests' names and addresses of meetings recorded before `before` go; the count stays."""
        rows = self.db.execute(
            "SELECT occurrence, name, email FROM attendance_unmatched WHERE recorded_at < ? "
            "AND name NOT LIKE 'erased:%'",
            (before.isoformat(),),
        ).fetchall()
        self._anonymise(rows, anonymous)
        return len(rows)

    def _anonymise(self, rows: list[tuple[str, str, str]], anonymous: Callable[[], str]) -> None:
        self.db.executemany(
            "UPDATE attendance_unmatched SET name = ?, email = '' WHERE occurrence = ? AND name = ? "
            "AND email = ?",
            [(anonymous(), *row) for row in rows],
        )

    def unmatched(self, occurrence: str) -> list[tuple[str, str]]:
        return self.db.execute(
            "SELECT name, email FROM attendance_unmatched WHERE occurrence = ? ORDER BY name", (occurrence,)
        ).fetchall()


def _words(name: str) -> frozenset[str]:
    return frozenset(re.findall(r"\w+", name.casefold()))
