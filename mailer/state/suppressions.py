"""Unsubscribes: who asked not to get a category of mail ('*' is everything).

When a person is erased, their unsubscribes stay as a keyed hash (HMAC with the project
secret) of the address in lower case: someone who left and is imported again later is
still not mailed, and no address is kept in clear.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass, field

from mailer.state.connection import Connection
from mailer.state.database import stamp

EVERYTHING = "*"


def address_digest(secret: bytes, address: str) -> str:
    return hmac.new(secret, address.casefold().encode(), hashlib.sha256).hexdigest()


@dataclass
class SuppressionList:
    """Category → addresses (and hashes of erased addresses) that are not to get it."""

    secret: bytes = b""
    clear: dict[str, set[str]] = field(default_factory=dict)
    hashed: dict[str, set[str]] = field(default_factory=dict)
    _digests: dict[str, str] = field(default_factory=dict, repr=False)

    def blocks(self, category: str, address: str) -> bool:
        address = address.casefold()
        if address in self.clear.get(category, ()) or address in self.clear.get(EVERYTHING, ()):
            return True
        if not self.hashed:
            return False
        digest = self._digests.get(address)
        if digest is None:
            digest = self._digests.setdefault(address, address_digest(self.secret, address))
        return digest in self.hashed.get(category, ()) or digest in self.hashed.get(EVERYTHING, ())


class Suppressions:
    def __init__(self, db: Connection, secret: bytes):
        self.db = db
        self.secret = secret

    def add(self, address: str, category: str, now: dt.datetime, source: str) -> bool:
        cur = self.db.execute(
            "INSERT INTO suppressions VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (address.casefold(), category, stamp(now), source),
        )
        return cur.rowcount == 1

    def current(self) -> SuppressionList:
        out = SuppressionList(self.secret)
        for address, category in self.db.execute("SELECT address, category FROM suppressions"):
            out.clear.setdefault(category, set()).add(address)
        for digest, category in self.db.execute("SELECT digest, category FROM suppression_hashes"):
            out.hashed.setdefault(category, set()).add(digest)
        return out

    def rows(self) -> list[tuple[str, str, str, str]]:
        return self.db.execute(
            "SELECT address, category, created_at, source FROM suppressions ORDER BY created_at"
        ).fetchall()

    def version(self) -> int:
        """Changes whenever a suppression is added or removed (to know when to read them again)."""
        row = self.db.execute(
            "SELECT count(*), coalesce(max(created_at), ''), "
            "coalesce(sum(length(address) + length(category)), 0), "
            "(SELECT count(*) FROM suppression_hashes) FROM suppressions"
        ).fetchone()
        digest = hashlib.sha256(repr(tuple(str(v) for v in row)).encode()).hexdigest()
        return int(digest[:15], 16)

    def lift_bounce(self, address: str) -> int:
        """`bounces clear`: the suppression a bounce caused goes (an unsubscribe stays); how many."""
        return self.db.execute(
            "DELETE FROM suppressions WHERE address = ? AND source = 'bounce'", (address.casefold(),)
        ).rowcount

    def keep_as_hashes(self, address: str) -> None:
        """Replace an erased person's unsubscribes by keyed hashes (inside the erasure's transaction)."""
        address = address.casefold()
        digest = address_digest(self.secret, address)
        self.db.execute(
            "INSERT INTO suppression_hashes (digest, category, created_at) "
            "SELECT ?, category, created_at FROM suppressions WHERE address = ? ON CONFLICT DO NOTHING",
            (digest, address),
        )
        self.db.execute("DELETE FROM suppressions WHERE address = ?", (address,))
