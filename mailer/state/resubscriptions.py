"""Coming back after an unsubscribe: asked for on the preference page, counted once confirmed by mail.

A request names the categories and holds a random nonce; the confirmation link mailed to the
address on record carries it. It counts once, within `HOURS` of the request: so a forwarded
mail or a leaked page link cannot sign anyone up again, and an old confirmation cannot either.

Nor can one that a newer choice replaced: a category the person unsubscribed from again after
the request (from it, from everything, or by a complaint; a bounce is no choice) stays off.
The consent log says which came last, by the order of its entries (two may share a second):
each request's entries name it (`DETAIL`). The other categories of the same request still count.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from mailer.state import consent
from mailer.state.connection import Connection
from mailer.state.consent import ConsentLog
from mailer.state.database import stamp, transaction, unstamp
from mailer.state.suppressions import EVERYTHING, NOT_LIFTED, OPTIONAL, Suppressions

HOURS = 48
DETAIL = "request {id}"
Outcome = Literal["confirmed", "already", "expired", "replaced", "unknown"]


@dataclass(frozen=True)
class Request:
    id: int
    nonce: str
    address: str
    member_id: str
    categories: list[str]
    requested_at: dt.datetime
    expires_at: dt.datetime
    confirmed_at: dt.datetime | None


class Resubscriptions:
    def __init__(self, db: Connection, suppressions: Suppressions):
        self.db = db
        self.suppressions = suppressions
        self.log = ConsentLog(db)

    def request(
        self, address: str, member_id: str, categories: list[str], now: dt.datetime, source: str
    ) -> Request:
        """Keep a request and its log entries; inside the transaction that sends its confirmation."""
        nonce = secrets.token_urlsafe(18)
        expires = now + dt.timedelta(hours=HOURS)
        row = self.db.execute(
            "INSERT INTO resubscriptions (nonce, address, member_id, categories, requested_at, "
            "expires_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (nonce, address.casefold(), member_id, json.dumps(categories), stamp(now), stamp(expires)),
        ).fetchone()
        for category in categories:
            self.log.add(address, category, consent.REQUESTED, now, source, DETAIL.format(id=row[0]))
        return Request(int(row[0]), nonce, address.casefold(), member_id, categories, now, expires, None)

    def find(self, nonce: str) -> Request | None:
        row = self.db.execute(
            "SELECT id, nonce, address, member_id, categories, requested_at, expires_at, confirmed_at "
            "FROM resubscriptions WHERE nonce = ?",
            (nonce,),
        ).fetchone()
        if row is None:
            return None
        at, until, done = unstamp(row[5]), unstamp(row[6]), unstamp(row[7])
        assert at is not None and until is not None
        return Request(row[0], row[1], row[2], row[3], json.loads(row[4]), at, until, done)

    def pending(self, address: str, now: dt.datetime) -> list[Request]:
        """Requests still waiting, each with only the categories it still counts for."""
        rows = self.db.execute(
            "SELECT nonce FROM resubscriptions WHERE address = ? AND confirmed_at IS NULL AND expires_at > ? "
            "ORDER BY requested_at",
            (address.casefold(), stamp(now)),
        ).fetchall()
        return self._waiting(n for (n,) in rows)

    def all_pending(self, now: dt.datetime) -> list[Request]:
        rows = self.db.execute(
            "SELECT nonce FROM resubscriptions WHERE confirmed_at IS NULL AND expires_at > ? "
            "ORDER BY requested_at",
            (stamp(now),),
        ).fetchall()
        return self._waiting(n for (n,) in rows)

    def _waiting(self, nonces: Iterable[str]) -> list[Request]:
        found = [r for r in map(self.find, nonces) if r is not None]
        return [dataclasses.replace(r, categories=s) for r in found if (s := self.standing(r))]

    def standing(self, request: Request) -> list[str]:
        """The request's categories that no newer choice replaced (see the module's doc)."""
        return [c for c in request.categories if not self._replaced(request, c)]

    def _replaced(self, request: Request, category: str) -> bool:
        covering = [category, EVERYTHING, OPTIONAL]
        asked = self.log.entry_id(request.address, category, consent.REQUESTED, DETAIL.format(id=request.id))
        if asked is None:  # made before requests named themselves in the log: by the second
            after = stamp(request.requested_at)
            return self.log.last_id(request.address, consent.UNSUBSCRIBED, covering, NOT_LIFTED, after) > 0
        return self.log.last_id(request.address, consent.UNSUBSCRIBED, covering, NOT_LIFTED) > asked

    def confirm(self, nonce: str, others: list[str], now: dt.datetime) -> tuple[Outcome, list[str]]:
        """Lift the suppressions a request names, once and in time; returns what happened and
        the categories it counted for (when "confirmed": those no newer choice replaced).

        `others` are the categories that exist now (see `Suppressions.lift`). Two clicks at the
        same moment: the lock lets one at a time read the request, so exactly one of them counts
        (and the conditional UPDATE's row count would say so even without it). A request that
        every category's newer choice replaced stays unconfirmed: it counts for nothing.
        """
        with transaction(self.db):
            self.db.lock("resubscriptions")
            found = self.find(nonce)
            if found is None:
                return "unknown", []
            if found.confirmed_at is not None:
                return "already", found.categories
            if now >= found.expires_at:
                return "expired", found.categories
            standing = self.standing(found)
            if not standing:
                return "replaced", found.categories
            marked = self.db.execute(
                "UPDATE resubscriptions SET confirmed_at = ? WHERE nonce = ? AND confirmed_at IS NULL",
                (stamp(now), nonce),
            )
            if marked.rowcount != 1:
                return "already", found.categories
            self.suppressions.lift(found.address, standing, others, now, "confirmed by mail")
        return "confirmed", standing

    def forget(self, address: str | None, member_id: str | None) -> None:
        self.db.execute(
            "DELETE FROM resubscriptions WHERE address = ? OR member_id = ?",
            (address.casefold() if address else None, member_id),
        )
