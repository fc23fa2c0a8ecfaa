"""Unsubscribes: who asked not to get a category of mail ('*' is everything, '*optional' every
category an office does not require, also those added later: what a complaint stops).

When a person is erased, their unsubscribes stay as a keyed hash (HMAC with the project
secret) of the address in lower case: someone who left and is imported again later is
still not mailed, and no address is kept in clear.

Every suppression is also an entry in the consent log (`consent`), and so is its lifting: only
a re-subscription the person confirmed from their own mailbox lifts one (`lift`), and never a
bounce, which says the address fails rather than what the person wants.

A bounce holds "everything" in the row while it lasts (so nothing, not even a message someone asked
for, goes to a dead address). A person who stops everything meanwhile is recorded in the consent
log only, and `bounces clear` (`lift_bounce`) puts their choice in the row in the bounce's place.
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
OPTIONAL = "*optional"
NOT_LIFTED = ("bounce",)
CARRIED = "as chosen at the member's earlier address, before the export changed it"
UNDER_BOUNCE = "while a bounce suppressed the address; holds from `bounces clear` on"
AGAIN = "again, after asking to come back"


def address_digest(secret: bytes, address: str) -> str:
    return hmac.new(secret, address.casefold().encode(), hashlib.sha256).hexdigest()


@dataclass
class SuppressionList:
    """Category → addresses (and hashes of erased addresses) that are not to get it.

    `paused` holds the addresses whose owners paused everything optional: they get only the
    categories outside `pausable` (what their office requires) until the pause ends. `OPTIONAL`
    (a complaint) holds the same categories back for good, also those added after it.
    """

    secret: bytes = b""
    clear: dict[str, set[str]] = field(default_factory=dict)
    hashed: dict[str, set[str]] = field(default_factory=dict)
    paused: frozenset[str] = frozenset()
    pausable: frozenset[str] = frozenset()
    _digests: dict[str, str] = field(default_factory=dict, repr=False)

    def blocks(self, category: str, address: str) -> bool:
        address = address.casefold()
        optional = category in self.pausable
        scopes = (category, EVERYTHING, OPTIONAL) if optional else (category, EVERYTHING)
        if any(address in self.clear.get(s, ()) for s in scopes):
            return True
        if optional and address in self.paused:
            return True
        if not self.hashed:
            return False
        digest = self._digests.get(address)
        if digest is None:
            digest = self._digests.setdefault(address, address_digest(self.secret, address))
        return any(digest in self.hashed.get(s, ()) for s in scopes)


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
        """Record a suppression; False when the same was held already.

        The person's own choice where a bounce holds the row is news too: it goes in the consent
        log (see the module's doc), and holds once `bounces clear` lifts the bounce. So is saying
        no again after asking to come back, while the row still holds: the log then shows the
        newer choice, and the request's confirmation no longer counts (`resubscriptions`)."""
        address = address.casefold()
        cur = self.db.execute(
            "INSERT INTO suppressions VALUES (?, ?, ?, ?) ON CONFLICT (address, category) DO NOTHING",
            (address, category, stamp(now), source),
        )
        if cur.rowcount == 1:
            self.log.add(address, category, consent.UNSUBSCRIBED, now, source)
            return True
        if source in NOT_LIFTED:
            return False
        if self._bounce_holds(address, category):
            if self._chosen_under_bounce(address, category) is not None:
                return False
            self.log.add(address, category, consent.UNSUBSCRIBED, now, source, UNDER_BOUNCE)
            return True
        if not self._asked_back_since(address, category):
            return False
        self.log.add(address, category, consent.UNSUBSCRIBED, now, source, AGAIN)
        return True

    def _asked_back_since(self, address: str, category: str) -> bool:
        """The log shows a request to come back to what `category` covers after its last
        unsubscribe: saying no again is a newer choice, which voids that request's confirmation.
        (Also when the request was confirmed or ran out meanwhile: logging a true no is harmless,
        missing one is not.)"""
        covered = None if category in (EVERYTHING, OPTIONAL) else [category]
        asked = self.log.last_id(address, consent.REQUESTED, covered)
        return asked > self.log.last_id(address, consent.UNSUBSCRIBED, [category], NOT_LIFTED)

    def carry(self, old: str, new: str, now: dt.datetime) -> int:
        """A member's address changed in the export: what they chose at the old one holds at the
        new one (a bounce does not: it said the old mailbox failed). Logged at the new address."""
        rows = self.db.execute(
            "SELECT category, created_at, source FROM suppressions WHERE address = ? AND source != 'bounce'",
            (old.casefold(),),
        ).fetchall()
        carried = 0
        for category, created_at, source in rows:
            cur = self.db.execute(
                "INSERT INTO suppressions VALUES (?, ?, ?, ?) ON CONFLICT (address, category) DO NOTHING",
                (new.casefold(), category, created_at, source),
            )
            if cur.rowcount == 1:
                carried += 1
                self.log.add(new, category, consent.UNSUBSCRIBED, now, source, CARRIED)
        return carried

    def _bounce_holds(self, address: str, category: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM suppressions WHERE address = ? AND category = ? AND source = 'bounce'",
            (address, category),
        ).fetchone()
        return row is not None

    def _chosen_under_bounce(self, address: str, category: str) -> tuple[str, str] | None:
        """(source, when) of the person's own unsubscribe made while a bounce held the row, if
        one stands: the log since the bounce's entry, up to a re-subscription."""
        chosen = None
        for action, source, at in self.db.execute(
            "SELECT action, source, at FROM consent_log WHERE address = ? AND category = ? ORDER BY id",
            (address, category),
        ).fetchall():
            if action == consent.UNSUBSCRIBED:
                chosen = None if source in NOT_LIFTED else (source, at)
            elif action == consent.RESUBSCRIBED:
                chosen = None
        return chosen

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
        optional = held.get(OPTIONAL)
        covered = any(h is not None and h.liftable for h in (every, optional))
        lifted = []
        for category in wanted:
            h = held.get(category)
            if h is not None and h.liftable:
                self._drop(address, digest, category)
                self.log.add(address, category, consent.RESUBSCRIBED, now, source)
                lifted.append(category)
            elif covered:
                lifted.append(category)
        if optional is not None and optional.liftable and lifted:
            # after a complaint, coming back ends its hold on categories added later; those it
            # named stay off until asked back
            self._drop(address, digest, OPTIONAL)
            self.log.add(address, OPTIONAL, consent.RESUBSCRIBED, now, source, ", ".join(lifted))
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

        Where the person stopped the same themself while the bounce held it, their choice takes
        the row, dated and sourced as they made it. The consent log says what happened, so a
        member's history does not show the bounce as still holding."""
        address = address.casefold()
        categories = [
            c
            for (c,) in self.db.execute(
                "SELECT category FROM suppressions WHERE address = ? AND source = 'bounce'", (address,)
            ).fetchall()
        ]
        for category in categories:
            chosen = self._chosen_under_bounce(address, category)
            if chosen is None:
                self.db.execute(
                    "DELETE FROM suppressions WHERE address = ? AND category = ?", (address, category)
                )
                self.log.add(address, category, consent.BOUNCE_CLEARED, now, "bounces clear")
                continue
            source, since = chosen
            self.db.execute(
                "UPDATE suppressions SET source = ?, created_at = ? WHERE address = ? AND category = ?",
                (source, since, address, category),
            )
            detail = f"still unsubscribed: their own choice ({source}) of {since}"
            self.log.add(address, category, consent.BOUNCE_CLEARED, now, "bounces clear", detail)
        return len(categories)

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
