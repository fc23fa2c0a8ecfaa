"""The consent log: every unsubscribe, re-subscription request and confirmation, and every choice, dated.

Suppressions say what holds now; the log says how it came to be, so the secretary can show
when and how a member said no, and when they asked to come back and confirmed it from their
own mailbox. When a person is erased, the entries that record the suppressions which stay (as
a keyed hash of the address) stay under that hash too, as their evidence; every other entry goes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from mailer.state.connection import Connection
from mailer.state.database import stamp

UNSUBSCRIBED = "unsubscribed"
REQUESTED = "resubscribe_requested"
RESUBSCRIBED = "resubscribed"
PAUSED = "paused"
RESUMED = "resumed"
LANGUAGE = "language"
BOUNCE_CLEARED = "bounce_cleared"
"""`mailer bounces clear` lifted the suppression a bounce caused (not a choice of the person)."""
KEPT_AFTER_ERASURE = (UNSUBSCRIBED,)
HASHED = "hash:"


@dataclass(frozen=True)
class Entry:
    id: int
    address: str
    """The address in lower case, or `hash:…` for a person erased since."""
    category: str
    action: str
    source: str
    at: str
    detail: str

    def as_json(self) -> dict[str, str]:
        return {
            "at": self.at,
            "email": "(erased)" if self.address.startswith(HASHED) else self.address,
            "category": self.category,
            "action": self.action,
            "source": self.source,
            "detail": self.detail,
        }


class ConsentLog:
    def __init__(self, db: Connection):
        self.db = db

    def add(
        self, address: str, category: str, action: str, now: dt.datetime, source: str, detail: str = ""
    ) -> None:
        self.db.execute(
            "INSERT INTO consent_log (address, category, action, source, at, detail) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (address.casefold(), category, action, source, stamp(now), detail),
        )

    def of(self, address: str, digest: str) -> list[Entry]:
        """One address's entries, also those kept under its hash from before an erasure."""
        return self._select("WHERE address IN (?, ?)", (address.casefold(), HASHED + digest))

    def all(self) -> list[Entry]:
        return self._select("", ())

    def latest_id(self) -> int:
        return int(self.db.execute("SELECT coalesce(max(id), 0) FROM consent_log").fetchone()[0])

    def last_id(
        self,
        address: str,
        action: str,
        categories: Sequence[str] | None = None,
        not_from: Sequence[str] = (),
        after: str = "",
    ) -> int:
        """The newest entry of `action` at the address (0: none), for one of `categories` (None:
        any), from no source in `not_from`, made after the time `after` (a stamp) if given.

        Ids, not times, say which of two entries is newer: both may fall in the same second."""
        where, args = ["address = ?", "action = ?"], [address.casefold(), action]
        if categories is not None:
            where.append(f"category IN ({', '.join('?' for _ in categories) or 'NULL'})")
            args += categories
        if not_from:
            where.append(f"source NOT IN ({', '.join('?' for _ in not_from)})")
            args += not_from
        if after:
            where.append("at > ?")
            args.append(after)
        row = self.db.execute(
            f"SELECT coalesce(max(id), 0) FROM consent_log WHERE {' AND '.join(where)}", tuple(args)
        ).fetchone()
        return int(row[0])

    def entry_id(self, address: str, category: str, action: str, detail: str) -> int | None:
        """The first entry of `action` for the category at the address that says `detail`."""
        row = self.db.execute(
            "SELECT min(id) FROM consent_log "
            "WHERE address = ? AND category = ? AND action = ? AND detail = ?",
            (address.casefold(), category, action, detail),
        ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def _select(self, where: str, args: tuple[str, ...]) -> list[Entry]:
        rows = self.db.execute(
            f"SELECT id, address, category, action, source, at, detail FROM consent_log {where} ORDER BY id",
            args,
        ).fetchall()
        return [Entry(*row) for row in rows]

    def keep_as_hashes(self, address: str, digest: str, held: list[str]) -> None:
        """An erased person's entries behind the suppressions still `held` (under the hash) stay
        under the hash, as their evidence; every other entry goes. Runs inside the erasure."""
        address = address.casefold()
        actions = ", ".join("?" for _ in KEPT_AFTER_ERASURE)
        categories = ", ".join("?" for _ in held) or "NULL"
        self.db.execute(
            f"UPDATE consent_log SET address = ? WHERE address = ? AND action IN ({actions}) "
            f"AND category IN ({categories})",
            (HASHED + digest, address, *KEPT_AFTER_ERASURE, *held),
        )
        self.db.execute("DELETE FROM consent_log WHERE address = ?", (address,))
