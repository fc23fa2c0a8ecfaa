"""Coming back after an unsubscribe: asked for on the preference page, counted once confirmed by mail.

A request names the categories and holds a random nonce; the confirmation link mailed to the
address on record carries it. It counts once, within `HOURS` of the request: so a forwarded
mail or a leaked page link cannot sign anyone up again, and an old confirmation cannot either.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from typing import Literal

from mailer.state import consent
from mailer.state.connection import Connection
from mailer.state.consent import ConsentLog
from mailer.state.database import stamp, transaction, unstamp
from mailer.state.suppressions import Suppressions

HOURS = 48
Outcome = Literal["confirmed", "already", "expired", "unknown"]


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
            self.log.add(address, category, consent.REQUESTED, now, source)
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
        rows = self.db.execute(
            "SELECT nonce FROM resubscriptions WHERE address = ? AND confirmed_at IS NULL AND expires_at > ? "
            "ORDER BY requested_at",
            (address.casefold(), stamp(now)),
        ).fetchall()
        return [r for r in (self.find(n) for (n,) in rows) if r is not None]

    def all_pending(self, now: dt.datetime) -> list[Request]:
        rows = self.db.execute(
            "SELECT nonce FROM resubscriptions WHERE confirmed_at IS NULL AND expires_at > ? "
            "ORDER BY requested_at",
            (stamp(now),),
        ).fetchall()
        return [r for r in (self.find(n) for (n,) in rows) if r is not None]

    def confirm(self, nonce: str, others: list[str], now: dt.datetime) -> tuple[Outcome, list[str]]:
        """Lift the suppressions a request names, once and in time; returns what happened.

        `others` are the categories that exist now (see `Suppressions.lift`). Two clicks at the
        same moment: the lock lets one at a time read the request, so exactly one of them counts
        (and the conditional UPDATE's row count would say so even without it).
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
            marked = self.db.execute(
                "UPDATE resubscriptions SET confirmed_at = ? WHERE nonce = ? AND confirmed_at IS NULL",
                (stamp(now), nonce),
            )
            if marked.rowcount != 1:
                return "already", found.categories
            lifted = self.suppressions.lift(found.address, found.categories, others, now, "confirmed by mail")
        return "confirmed", lifted

    def forget(self, address: str | None, member_id: str | None) -> None:
        self.db.execute(
            "DELETE FROM resubscriptions WHERE address = ? OR member_id = ?",
            (address.casefold() if address else None, member_id),
        )
