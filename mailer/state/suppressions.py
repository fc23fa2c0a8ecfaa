"""Unsubscribes: who asked not to get a category of mail ('*' is everything).

When a person is erased, their unsubscribes stay as a keyed hash (HMAC with the project
secret) of the address in lower case: someone who left and is imported again later is
still not mailed, and no address is kept in clear.

Every suppression is also an entry in the consent log (`consent`), and so is its lifting: only
a re-subscription the person confirmed from their own mailbox lifts one (`lift`), and never a
bounce, which says the address fails rather than what the person wants.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass, field

from mailer.state import consent
from mailer.state.connection import Connection
from mailer.state.consent import ConsentLog
from mailer.state.database import stamp

EVERYTHING = "*"
NOT_LIFTED = ("bounce",)


def address_digest(secret: bytes, address: str) -> str:
    return hmac.new(secret, address.casefold().encode(), hashlib.sha256).hexdigest()


@dataclass
class SuppressionList:
    """Category → addresses (and hashes of erased addresses) that are not to get it.

    `paused` holds the addresses whose owners paused everything optional: they get only the
    categories outside `pausable` (what their office requires) until the pause ends.
    """

    secret: bytes = b""
    clear: dict[str, set[str]] = field(default_factory=dict)
    hashed: dict[str, set[str]] = field(default_factory=dict)
    paused: frozenset[str] = frozenset()
    pausable: frozenset[str] = frozenset()
    _digests: dict[str, str] = field(default_factory=dict, repr=False)

    def blocks(self, category: str, address: str) -> bool:
        address = address.casefold()
        if address in self.clear.get(category, ()) or address in self.clear.get(EVERYTHING, ()):
            return True
        if address in self.paused and category in self.pausable:
            return True
        if not self.hashed:
            return False
        digest = self._digests.get(address)
        if digest is None:
            digest = self._digests.setdefault(address, address_digest(self.secret, address))
        return digest in self.hashed.get(category, ()) or digest in self.hashed.get(EVERYTHING, ())


@dataclass(frozen=True)
class Held:
    """One suppression of one address, in clear or kept as a hash since an erasure."""

    category: str
    since: str
    source: str
    hashed: bool

    @property
    def liftable(self) -> bool:
        return self.source not in NOT_LIFTED


class Suppressions:
    def __init__(self, db: Connection, secret: bytes):
        self.db = db
        self.secret = secret
        self.log = ConsentLog(db)

    def add(self, address: str, category: str, now: dt.datetime, source: str) -> bool:
        cur = self.db.execute(
            "INSERT INTO suppressions VALUES (?, ?, ?, ?) ON CONFLICT (address, category) DO NOTHING",
            (address.casefold(), category, stamp(now), source),
        )
        if cur.rowcount == 1:
            self.log.add(address, category, consent.UNSUBSCRIBED, now, source)
        return cur.rowcount == 1

    def of(self, address: str) -> list[Held]:
        """What is held against one address now, in clear and under its hash."""
        address = address.casefold()
        clear = self.db.execute(
            "SELECT category, created_at, source FROM suppressions WHERE address = ?", (address,)
        ).fetchall()
        hashed = self.db.execute(
            "SELECT category, created_at FROM suppression_hashes WHERE digest = ?",
            (address_digest(self.secret, address),),
        ).fetchall()
        held = [Held(c, t, s, False) for c, t, s in clear]
        held += [Held(c, t, "erased", True) for c, t in hashed if c not in {h.category for h in held}]
        return sorted(held, key=lambda h: (h.since, h.category))

    def lift(
        self, address: str, wanted: list[str], others: list[str], now: dt.datetime, source: str
    ) -> list[str]:
        """A confirmed re-subscription: the person gets `wanted` again; returns what was lifted.

        "Everything" becomes one suppression per category in `others` (the categories not asked
        back), each dated as it was, so coming back to the newsletter leaves the rest as chosen.
        A bounce is never lifted here. Runs inside the caller's transaction.
        """
        self.db.lock("suppressions")  # what is held, read and rewritten by one process at a time
        address = address.casefold()
        digest = address_digest(self.secret, address)
        held = {h.category: h for h in self.of(address)}
        every = held.get(EVERYTHING)
        if every is not None and every.liftable:
            for category in others:
                if category not in held and category not in wanted:
                    self._hold(address, digest, category, every)
            self._drop(address, digest, EVERYTHING)
            self.log.add(address, EVERYTHING, consent.RESUBSCRIBED, now, source, ", ".join(wanted))
        lifted = []
        for category in wanted:
            h = held.get(category)
            if h is not None and h.liftable:
                self._drop(address, digest, category)
                self.log.add(address, category, consent.RESUBSCRIBED, now, source)
                lifted.append(category)
            elif every is not None and every.liftable:
                lifted.append(category)
        return lifted

    def _hold(self, address: str, digest: str, category: str, like: Held) -> None:
        if like.hashed:
            self.db.execute(
                "INSERT INTO suppression_hashes (digest, category, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (digest, category) DO NOTHING",
                (digest, category, like.since),
            )
        else:
            self.db.execute(
                "INSERT INTO suppressions VALUES (?, ?, ?, ?) ON CONFLICT (address, category) DO NOTHING",
                (address, category, like.since, like.source),
            )

    def _drop(self, address: str, digest: str, category: str) -> None:
        self.db.execute("DELETE FROM suppressions WHERE address = ? AND category = ?", (address, category))
        self.db.execute(
            "DELETE FROM suppression_hashes WHERE digest = ? AND category = ?", (digest, category)
        )

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
        """Changes whenever a suppression is added or removed, or a member changes a choice
        (every change is an entry in the consent log): to know when to read them again."""
        row = self.db.execute(
            "SELECT count(*), coalesce(max(created_at), ''), "
            "coalesce(sum(length(address) + length(category)), 0), "
            "(SELECT count(*) FROM suppression_hashes), "
            "(SELECT coalesce(max(id), 0) FROM consent_log) FROM suppressions"
        ).fetchone()
        digest = hashlib.sha256(repr(tuple(str(v) for v in row)).encode()).hexdigest()
        return int(digest[:15], 16)

    def lift_bounce(self, address: str, now: dt.datetime) -> int:
        """`bounces clear`: the suppression a bounce caused goes (an unsubscribe stays); how many.

        The consent log says so, so a member's history does not show the bounce as still holding."""
        address = address.casefold()
        categories = [
            c
            for (c,) in self.db.execute(
                "SELECT category FROM suppressions WHERE address = ? AND source = 'bounce'", (address,)
            ).fetchall()
        ]
        lifted = self.db.execute(
            "DELETE FROM suppressions WHERE address = ? AND source = 'bounce'", (address,)
        ).rowcount
        for category in categories:
            self.log.add(address, category, consent.BOUNCE_CLEARED, now, "bounces clear")
        return lifted

    def keep_as_hashes(self, address: str) -> None:
        """Replace an erased person's unsubscribes by keyed hashes (inside the erasure's transaction)."""
        address = address.casefold()
        digest = address_digest(self.secret, address)
        self.db.execute(
            "INSERT INTO suppression_hashes (digest, category, created_at) "
            "SELECT ?, category, created_at FROM suppressions WHERE address = ? "
            "ON CONFLICT (digest, category) DO NOTHING",
            (digest, address),
        )
        self.db.execute("DELETE FROM suppressions WHERE address = ?", (address,))
        held = self.db.execute("SELECT category FROM suppression_hashes WHERE digest = ?", (digest,))
        self.log.keep_as_hashes(address, digest, [c for (c,) in held.fetchall()])
