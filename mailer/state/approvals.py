"""Previews and approvals: the board approves exactly the content it has looked at."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from mailer.state.connection import Connection
from mailer.state.database import stamp


class Approvals:
    def __init__(self, db: Connection):
        self.db = db

    def record_preview(self, mailing_id: str, fingerprint: str, now: dt.datetime) -> None:
        self.db.execute(
            "INSERT INTO previews VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (mailing_id, fingerprint, stamp(now)),
        )

    def was_previewed(self, mailing_id: str, fingerprint: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM previews WHERE mailing_id = ? AND fingerprint = ?", (mailing_id, fingerprint)
        ).fetchone()
        return row is not None

    def approve(self, mailing_id: str, fingerprint: str, by: str, now: dt.datetime) -> bool:
        """Record one approval; False when this person had already approved this content."""
        cur = self.db.execute(
            "INSERT INTO approvals (mailing_id, fingerprint, approved_by, approved_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (mailing_id, fingerprint, by, stamp(now)),
        )
        return cur.rowcount == 1

    def of(self, mailing_id: str) -> list[tuple[str, str, str]]:
        """(fingerprint, approved_by, approved_at), oldest first."""
        return self.db.execute(
            "SELECT fingerprint, approved_by, approved_at FROM approvals WHERE mailing_id = ? ORDER BY id",
            (mailing_id,),
        ).fetchall()

    def forget(self, names: Iterable[str], anonymous: Callable[[], str]) -> None:
        """An erased person's approvals stay counted under a name that is nobody's."""
        keys = {" ".join(n.casefold().split()) for n in names if n.strip()}
        rows = self.db.execute("SELECT id, approved_by FROM approvals").fetchall()
        self.db.executemany(
            "UPDATE approvals SET approved_by = ? WHERE id = ?",
            [(anonymous(), i) for i, by in rows if " ".join(by.casefold().split()) in keys],
        )
