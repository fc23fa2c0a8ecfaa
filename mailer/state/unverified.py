"""Bounces and complaints that prove nothing: recorded for the secretary, never acted on.

The bounce address is public, so anyone can send a report naming any address. A report
that carries neither a valid VERP token nor a Message-ID of ours sent to the address it
names is kept here with the address it claims and why it was not believed. It suppresses
nobody and changes no delivery; `mailer bounces` lists it so a person can look. Rows older
than KEEP_DAYS go, and erasure removes every row that names the person.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from mailer.state.connection import Connection
from mailer.state.database import like_containing, stamp

KEEP_DAYS = 90


@dataclass(frozen=True)
class Claim:
    """What an unverified message claims: an address, a kind, a status and a reason."""

    address: str
    kind: str
    status: str | None
    reason: str
    why: str
    source: str
    message_key: str | None = None


@dataclass(frozen=True)
class Claimed:
    """One line of the unverified list: an address, its latest claim, and how many."""

    address: str
    kind: str
    status: str | None
    reason: str
    why: str
    last_at: str
    count: int


class Unverified:
    """The `unverified_bounces` table over the state database's connection."""

    def __init__(self, db: Connection):
        self.db = db

    def add(self, claim: Claim, now: dt.datetime) -> None:
        self.db.execute(
            "INSERT INTO unverified_bounces (address, kind, status, reason, why, source, message_key, "
            "received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                claim.address.casefold(),
                claim.kind,
                claim.status,
                claim.reason,
                claim.why,
                claim.source,
                claim.message_key,
                stamp(now),
            ),
        )

    def listing(self) -> list[Claimed]:
        """Per claimed address: the latest claim and the count, latest first."""
        rows = self.db.execute(
            "SELECT address, kind, status, reason, why, received_at, id FROM unverified_bounces "
            "ORDER BY received_at DESC, id DESC"
        ).fetchall()
        out: dict[str, Claimed] = {}
        counts: dict[str, int] = {}
        for address, kind, status, reason, why, at, _ in rows:
            counts[address] = counts.get(address, 0) + 1
            out.setdefault(address, Claimed(address, kind, status, reason, why, at, 0))
        return [dataclasses.replace(c, count=counts[a]) for a, c in out.items()]

    def clear(self, address: str) -> int:
        """The secretary has looked at an address: its unverified claims go."""
        return self.db.execute(
            "DELETE FROM unverified_bounces WHERE address = ?", (address.casefold(),)
        ).rowcount

    def expire(self, now: dt.datetime) -> int:
        cutoff = stamp(now - dt.timedelta(days=KEEP_DAYS))
        return self.db.execute("DELETE FROM unverified_bounces WHERE received_at < ?", (cutoff,)).rowcount

    def forget(self, address: str) -> None:
        """Erasure: every claim about the address, or quoting it in its reason."""
        address = address.casefold()
        self.db.execute(
            "DELETE FROM unverified_bounces WHERE address = ? OR lower(reason) LIKE ? ESCAPE '\\'",
            (address, like_containing(address)),
        )
