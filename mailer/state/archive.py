"""The archive: the public copy of each newsletter issue sent, one row per language.

Only text without personal data is stored (see `delivery/archiving.py`), and only an issue meant
for everyone is published: `public` is decided when the issue is sent (an audience of every
member, or `archive: true`). Issues archived before that rule existed carry no decision (NULL)
and stay hidden until their draft is judged again (`delivery/archiving.review`); an issue whose
draft is gone or restricted is withdrawn. Safe by default: only `public = 1` is ever shown.
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
    public: bool = False


class Archive:
    """Issues sent; the first send fixes the date, a later run of the same issue keeps it."""

    def __init__(self, db: Connection):
        self.db = db

    def record(self, issue: Issue) -> None:
        self.db.execute(
            "INSERT INTO archive (mailing_id, language, sent_at, subject, html, public) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (mailing_id, language) "
            "DO UPDATE SET subject = excluded.subject, html = excluded.html, public = excluded.public",
            (
                issue.mailing_id,
                issue.language,
                issue.sent_at.isoformat(),
                issue.subject,
                issue.html,
                int(issue.public),
            ),
        )

    def issues(self, language: str = "nb") -> list[Issue]:
        """Every published issue in one language, newest first."""
        rows = self.db.execute(
            "SELECT mailing_id, language, sent_at, subject, '', public FROM archive "
            "WHERE language = ? AND public = 1 ORDER BY sent_at DESC, mailing_id",
            (language,),
        ).fetchall()
        return [_issue(r) for r in rows]

    def get(self, mailing_id: str, language: str = "nb") -> Issue | None:
        """A published issue; a withdrawn or undecided one is not found."""
        row = self.db.execute(
            "SELECT mailing_id, language, sent_at, subject, html, public FROM archive "
            "WHERE mailing_id = ? AND language = ? AND public = 1",
            (mailing_id, language),
        ).fetchone()
        return _issue(row) if row else None

    def undecided(self) -> list[str]:
        """Issues archived before publishing was decided per issue (hidden until judged)."""
        rows = self.db.execute("SELECT DISTINCT mailing_id FROM archive WHERE public IS NULL ORDER BY 1")
        return [r[0] for r in rows]

    def decide(self, mailing_id: str, public: bool) -> None:
        self.db.execute(
            "UPDATE archive SET public = ? WHERE mailing_id = ? AND public IS NULL", (int(public), mailing_id)
        )

    def sent_ids(self) -> set[str]:
        """Every issue in the archive, published or not."""
        return {r[0] for r in self.db.execute("SELECT DISTINCT mailing_id FROM archive")}


def _issue(row: tuple[str, str, str, str, str, int]) -> Issue:
    return Issue(row[0], row[1], dt.datetime.fromisoformat(row[2]), row[3], row[4], bool(row[5]))
