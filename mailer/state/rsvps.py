"""Answers to meeting invitations: one per member and occurrence, the latest one counts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from mailer.state.connection import Connection
from mailer.state.database import stamp, transaction
from mailer.state.deliveries import Deliveries

ANSWERS = ("yes", "no")


class Rsvps:
    def __init__(self, db: Connection):
        self.db = db

    def record(self, occurrence: str, member_id: str, answer: str, now: dt.datetime) -> str | None:
        """Keep a member's answer to one meeting (a later answer replaces it); returns the one replaced."""
        if answer not in ANSWERS:
            raise ValueError(f"not an answer: {answer}")
        with transaction(self.db):
            before = self.answer(occurrence, member_id)
            self.db.execute(
                "INSERT INTO rsvps VALUES (?, ?, ?, ?) ON CONFLICT (occurrence, member_id) "
                "DO UPDATE SET answer = excluded.answer, answered_at = excluded.answered_at",
                (occurrence, member_id, answer, stamp(now)),
            )
        return before

    def answer(self, occurrence: str, member_id: str) -> str | None:
        row = self.db.execute(
            "SELECT answer FROM rsvps WHERE occurrence = ? AND member_id = ?", (occurrence, member_id)
        ).fetchone()
        return row[0] if row else None

    def counts(self, series: str) -> dict[str, dict[str, int]]:
        """Occurrence id → invited (members sent any of its mailings), yes, no."""
        like = series.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") + "@%"
        out: dict[str, dict[str, int]] = {}

        def row(occurrence: str) -> dict[str, int]:
            return out.setdefault(occurrence, {"invited": 0, "yes": 0, "no": 0})

        for occurrence, n in Deliveries(self.db).invited_per_occurrence(like).items():
            row(occurrence)["invited"] += n
        for occurrence, answer, n in self.db.execute(
            "SELECT occurrence, answer, count(*) FROM rsvps WHERE occurrence LIKE ? ESCAPE '\\' "
            "GROUP BY occurrence, answer",
            (like,),
        ):
            if answer in ANSWERS:
                row(occurrence)[answer] += n
        return out

    def forget(self, member_id: str, anonymous: Callable[[], str]) -> None:
        """An erased member's answers stay counted under a key that names nobody."""
        rows = self.db.execute("SELECT occurrence FROM rsvps WHERE member_id = ?", (member_id,)).fetchall()
        self.db.executemany(
            "UPDATE rsvps SET member_id = ? WHERE occurrence = ? AND member_id = ?",
            [(anonymous(), occurrence, member_id) for (occurrence,) in rows],
        )
