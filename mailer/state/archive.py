"""The archive: the public copy of each newsletter issue sent, one row per language.

Only text without personal data is stored (see `delivery/archiving.py`), and only an issue meant
for everyone is published: `public` is decided when the issue is sent (an audience of every
member, or `archive: true`). Issues archived before that rule existed carry no decision (NULL)
and stay hidden until their draft is judged again (`delivery/archiving.review`); an issue whose
draft is gone or restricted is withdrawn. Safe by default: only `public = 1` is ever shown.

The board can also take a published issue down by hand (`withdrawn_at`, `withdrawn_by`; undone
with `published_again_at`, `published_again_by`): a second, separate decision, so a later run of
the same issue, which decides `public` again, never undoes it, and undoing it never publishes
what was kept out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from mailer.state.connection import Connection
from mailer.state.database import stamp, transaction


@dataclass(frozen=True)
class Issue:
    mailing_id: str
    language: str
    sent_at: dt.datetime
    subject: str
    html: str
    public: bool = False


@dataclass(frozen=True)
class Entry:
    """One archived issue as the secretary sees it, whatever its languages and whether it is shown."""

    mailing_id: str
    sent_at: dt.datetime
    languages: tuple[str, ...]
    public: bool | None
    """Decided when sent: meant for everyone (True), kept out (False), not yet judged (None)."""
    withdrawn_at: dt.datetime | None = None
    withdrawn_by: str | None = None
    published_again_at: dt.datetime | None = None
    """When a withdrawal was undone (`mailer archive publish`), and by whom."""
    published_again_by: str | None = None


class Archive:
    """Issues sent; the first send fixes the date, a later run of the same issue keeps it."""

    def __init__(self, db: Connection):
        self.db = db

    def record(self, issue: Issue) -> None:
        """Store one language of an issue; a withdrawal by hand stays, and a language added by a
        later run of a withdrawn issue is withdrawn with the others."""
        with transaction(self.db):
            self.db.lock("archive")
            self.db.execute(
                "INSERT INTO archive (mailing_id, language, sent_at, subject, html, public, "
                "withdrawn_at, withdrawn_by) VALUES (?, ?, ?, ?, ?, ?, "
                "(SELECT max(withdrawn_at) FROM archive WHERE mailing_id = ?), "
                "(SELECT max(withdrawn_by) FROM archive WHERE mailing_id = ?)) "
                "ON CONFLICT (mailing_id, language) "
                "DO UPDATE SET subject = excluded.subject, html = excluded.html, public = excluded.public",
                (
                    issue.mailing_id,
                    issue.language,
                    issue.sent_at.isoformat(),
                    issue.subject,
                    issue.html,
                    int(issue.public),
                    issue.mailing_id,
                    issue.mailing_id,
                ),
            )

    def issues(self, language: str = "nb") -> list[Issue]:
        """Every published issue in one language, newest first."""
        rows = self.db.execute(
            "SELECT mailing_id, language, sent_at, subject, '', public FROM archive "
            "WHERE language = ? AND public = 1 AND withdrawn_at IS NULL ORDER BY sent_at DESC, mailing_id",
            (language,),
        ).fetchall()
        return [_issue(r) for r in rows]

    def get(self, mailing_id: str, language: str = "nb") -> Issue | None:
        """A published issue; a withdrawn, kept out or undecided one is not found."""
        row = self.db.execute(
            "SELECT mailing_id, language, sent_at, subject, html, public FROM archive "
            "WHERE mailing_id = ? AND language = ? AND public = 1 AND withdrawn_at IS NULL",
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

    def entries(self, mailing_id: str | None = None) -> list[Entry]:
        """Every issue in the archive (or the one named), shown or not, newest first."""
        where, args = ("WHERE mailing_id = ? ", (mailing_id,)) if mailing_id is not None else ("", ())
        rows = self.db.execute(
            "SELECT mailing_id, language, sent_at, public, withdrawn_at, withdrawn_by, "
            f"published_again_at, published_again_by FROM archive {where}ORDER BY mailing_id, language",
            args,
        ).fetchall()
        grouped: dict[str, list[_Row]] = {}
        for row in rows:
            grouped.setdefault(row[0], []).append(tuple(row))
        found = [_entry(r) for r in grouped.values()]
        return sorted(found, key=lambda e: (-e.sent_at.timestamp(), e.mailing_id))

    def entry(self, mailing_id: str) -> Entry | None:
        return next(iter(self.entries(mailing_id)), None)

    def withdraw(self, mailing_id: str, by: str, now: dt.datetime) -> bool:
        """Take every language of an issue off the archive; False when it was withdrawn already."""
        with transaction(self.db):
            self.db.lock("archive")
            cur = self.db.execute(
                "UPDATE archive SET withdrawn_at = ?, withdrawn_by = ?, published_again_at = NULL, "
                "published_again_by = NULL WHERE mailing_id = ? AND withdrawn_at IS NULL",
                (stamp(now), by, mailing_id),
            )
        return cur.rowcount > 0

    def publish_again(self, mailing_id: str, by: str, now: dt.datetime) -> bool:
        """Undo a withdrawal by hand (what was kept out when sent stays out); False if there was none."""
        with transaction(self.db):
            self.db.lock("archive")
            cur = self.db.execute(
                "UPDATE archive SET withdrawn_at = NULL, withdrawn_by = NULL, published_again_at = ?, "
                "published_again_by = ? WHERE mailing_id = ? AND withdrawn_at IS NOT NULL",
                (stamp(now), by, mailing_id),
            )
        return cur.rowcount > 0

    def forget(self, names: Iterable[str], anonymous: Callable[[], str]) -> None:
        """An erased board member's withdrawals stay as they are, under a name that is nobody's."""
        keys = {" ".join(n.casefold().split()) for n in names if n.strip()}
        for column in ("withdrawn_by", "published_again_by"):
            rows = self.db.execute(
                f"SELECT DISTINCT mailing_id, {column} FROM archive WHERE {column} IS NOT NULL"
            ).fetchall()
            self.db.executemany(
                f"UPDATE archive SET {column} = ? WHERE mailing_id = ?",
                [(anonymous(), i) for i, by in rows if " ".join(by.casefold().split()) in keys],
            )


def _issue(row: tuple[str, str, str, str, str, int]) -> Issue:
    return Issue(row[0], row[1], dt.datetime.fromisoformat(row[2]), row[3], row[4], bool(row[5]))


_Row = tuple[Any, ...]


def _entry(rows: list[_Row]) -> Entry:
    """One issue from its language rows (which share the withdrawal, and the decision of their
    run): public when any language is, undecided when none is and one waits to be judged."""
    decided = {r[3] for r in rows}
    return Entry(
        rows[0][0],
        min(dt.datetime.fromisoformat(r[2]) for r in rows),
        tuple(r[1] for r in rows),
        True if 1 in decided else None if None in decided else False,
        _when(next((r[4] for r in rows if r[4]), None)),
        next((r[5] for r in rows if r[5]), None),
        _when(next((r[6] for r in rows if r[6]), None)),
        next((r[7] for r in rows if r[7]), None),
    )


def _when(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None
