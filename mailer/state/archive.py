"""The archive: the public copy of each newsletter issue sent, one row per language.

Only text without personal data is stored (see `mailer.archiving`), so the archive can be
published as it is and kept after members leave.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mailer.state.connection import Connection


@dataclass(frozen=True)
class Issue:
    mailing_id: str
    language: str
    sent_at: dt.datetime
    subject: str
    html: str


class Archive:
    """Issues sent; the first send fixes the date, a later run of the same issue keeps it."""

    def __init__(self, db: Connection):
        self.db = db

    def record(self, issue: Issue) -> None:
        self.db.execute(
            "INSERT INTO archive (mailing_id, language, sent_at, subject, html) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (mailing_id, language) "
            "DO UPDATE SET subject = excluded.subject, html = excluded.html",
            (issue.mailing_id, issue.language, issue.sent_at.isoformat(), issue.subject, issue.html),
        )

    def issues(self, language: str = "nb") -> list[Issue]:
        """Every issue in one language, newest first."""
        rows = self.db.execute(
            "SELECT mailing_id, language, sent_at, subject, '' FROM archive WHERE language = ? "
            "ORDER BY sent_at DESC, mailing_id",
            (language,),
        ).fetchall()
        return [_issue(r) for r in rows]

    def get(self, mailing_id: str, language: str = "nb") -> Issue | None:
        row = self.db.execute(
            "SELECT mailing_id, language, sent_at, subject, html FROM archive "
            "WHERE mailing_id = ? AND language = ?",
            (mailing_id, language),
        ).fetchone()
        return _issue(row) if row else None


def _issue(row: tuple[str, str, str, str, str]) -> Issue:
    return Issue(row[0], row[1], dt.datetime.fromisoformat(row[2]), row[3], row[4])
