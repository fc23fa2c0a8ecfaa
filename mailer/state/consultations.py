"""Consultation answers: every version kept, the newest accepted one per chapter (or member) stands.

A leader answers on top of the version the form showed. When someone else saved in between,
the new answer is kept as a version that does not stand, and the form says whose answer
stands: two leaders answering at once never lose a word, and never both "win".
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from mailer.state.connection import Connection
from mailer.state.database import transaction


@dataclass(frozen=True)
class Answer:
    """One saved version of a chapter's (or member's) answer."""

    id: int
    unit: str
    member_id: str
    member_name: str
    answered_at: dt.datetime
    answers: dict[str, str]
    stands: bool


def _answer(row: tuple[object, ...]) -> Answer:
    id_, unit, member_id, name, at, answers, stands = row
    return Answer(
        int(id_),  # type: ignore[call-overload]
        str(unit),
        str(member_id),
        str(name),
        dt.datetime.fromisoformat(str(at)),
        json.loads(str(answers)),
        bool(stands),
    )


ERASED = "(slettet)"
_COLUMNS = "id, unit, member_id, member_name, answered_at, answers, stands"


class Answers:
    """The answers table over the state database's connection."""

    def __init__(self, db: Connection):
        self.db = db

    def current(self, consultation: str, unit: str) -> Answer | None:
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM consultation_answers WHERE consultation = ? AND unit = ? "
            "AND stands = 1 ORDER BY id DESC LIMIT 1",
            (consultation, unit),
        ).fetchone()
        return _answer(row) if row else None

    def record(
        self,
        consultation: str,
        unit: str,
        based_on: int,
        member_id: str,
        member_name: str,
        answers: dict[str, str],
        now: dt.datetime,
    ) -> tuple[bool, Answer]:
        """Save a version; it stands only if it was made on top of the one standing now.

        Returns (stands, the answer standing after this call).
        """
        with transaction(self.db):
            self.db.lock(f"answers:{consultation}:{unit}")  # two leaders at once: one stands
            standing = self.current(consultation, unit)
            # With nothing standing (the first answer, or the one before was erased) any form
            # stands: there is nothing it could overwrite unseen.
            stands = standing is None or standing.id == based_on
            self.db.execute(
                "INSERT INTO consultation_answers (consultation, unit, based_on, member_id, "
                "member_name, answered_at, answers, stands) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    consultation,
                    unit,
                    based_on,
                    member_id,
                    member_name,
                    now.isoformat(timespec="seconds"),
                    json.dumps(answers, ensure_ascii=False),
                    int(stands),
                ),
            )
            after = self.current(consultation, unit)
        assert after is not None
        return stands, after

    def latest_id(self) -> int:
        """Changes with every answer saved: a reminder planned before it is planned again."""
        return int(self.db.execute("SELECT coalesce(max(id), 0) FROM consultation_answers").fetchone()[0])

    def answered_units(self, consultation: str) -> set[str]:
        """Units with an answer; only reads, so it may run inside another transaction (planning)."""
        rows = self.db.execute(
            "SELECT DISTINCT unit FROM consultation_answers WHERE consultation = ? AND stands = 1",
            (consultation,),
        )
        return {r[0] for r in rows}

    def standing(self, consultation: str) -> dict[str, Answer]:
        """Unit → the answer that stands, for the board's list and the reminders."""
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM consultation_answers WHERE consultation = ? AND stands = 1 ORDER BY id",
            (consultation,),
        )
        return {a.unit: a for a in map(_answer, rows)}

    def forget_member(self, member_id: str) -> int:
        """Erasure: answers given for the person (per member) go; on a chapter's answer only the
        name of who gave it goes, and the chapter's answer stays."""
        removed = self.db.execute("DELETE FROM consultation_answers WHERE unit = ?", (member_id,)).rowcount
        cur = self.db.execute(
            "UPDATE consultation_answers SET member_id = '', member_name = ? WHERE member_id = ?",
            (ERASED, member_id),
        )
        return removed + cur.rowcount

    def versions(self, consultation: str, unit: str) -> list[Answer]:
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM consultation_answers WHERE consultation = ? AND unit = ? ORDER BY id",
            (consultation, unit),
        )
        return [_answer(r) for r in rows]

    # -- receipts: the leader whose link saved an answer hears of it ---------------------------

    def awaiting_receipt(self) -> list[tuple[str, Answer]]:
        """(consultation, version) of every saved version whose receipt is not yet decided."""
        rows = self.db.execute(
            f"SELECT consultation, {_COLUMNS} FROM consultation_answers WHERE receipt IS NULL ORDER BY id"
        ).fetchall()
        return [(str(r[0]), _answer(r[1:])) for r in rows]

    def decide_receipt(self, answer_ids: list[int], receipt: str) -> None:
        """`receipt` is the receipt's mailing id, or '-' when none is due."""
        self.db.executemany(
            "UPDATE consultation_answers SET receipt = ? WHERE id = ? AND receipt IS NULL",
            [(receipt, i) for i in answer_ids],
        )

    def by_id(self, answer_id: int) -> tuple[str, Answer] | None:
        row = self.db.execute(
            f"SELECT consultation, {_COLUMNS} FROM consultation_answers WHERE id = ?", (answer_id,)
        ).fetchone()
        return (str(row[0]), _answer(row[1:])) if row else None
