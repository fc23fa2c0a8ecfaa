"""Claims: several senders share one mailing, and each delivery goes to exactly one of them.

Where the state is shared (PostgreSQL, `db.shared`), a sender claims the open deliveries it
is about to send, a page at a time, with SELECT … FOR UPDATE SKIP LOCKED: two senders asking
at the same moment get different rows. A claim names the sender and holds until a wall-clock
time that the sender pushes forward while it works (`renew`); a sender killed with kill -9
stops renewing, and after `lease` seconds the next sender (or the next run) claims what it
held. Of those, the ones marked `sending` were on the wire and are sent again, as after a
kill with one sender. With SQLite the run lock keeps one sender, and nothing is claimed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress

from mailer.state.connection import SENDER, Connection
from mailer.state.database import stamp, transaction
from mailer.state.deliveries import DUE, Deliveries, OpenDelivery

PAGE = 100


def wall_clock() -> dt.datetime:
    """Claims run on real time, whatever `--now` pretends: they are about processes."""
    return dt.datetime.now(dt.UTC)


class Claims:
    def __init__(self, db: Connection, lease: float, sender: str = SENDER):
        self.db = db
        self.lease = dt.timedelta(seconds=lease)
        self.sender = sender
        self.renewed = wall_clock()

    async def open(
        self, mailing_id: str, now: dt.datetime, retry_all_deferred: bool
    ) -> AsyncIterator[OpenDelivery]:
        """Deliveries to attempt, claimed a page at a time as the sender gets to them.

        The next page is claimed once half of this one is under way: in a thread, on a
        connection of its own (the engine's `twin`), so the event loop never waits for the
        claim's round trip, and a sender holds at most a page and a half that others cannot take."""
        db = self.db.twin() or self.db
        loop = asyncio.get_running_loop()
        pool = ThreadPoolExecutor(1, thread_name_prefix="claims")

        def claim() -> asyncio.Future[list[OpenDelivery]]:
            return loop.run_in_executor(pool, self.claim, mailing_id, now, retry_all_deferred, PAGE, db)

        ahead: asyncio.Future[list[OpenDelivery]] | None = claim()
        try:
            while ahead is not None and (rows := await ahead):
                ahead = None
                for i, row in enumerate(rows):
                    if ahead is None and i >= len(rows) // 2:
                        ahead = claim()  # half-way: early enough, and another sender gets a share
                    yield row
        finally:
            if ahead is not None:
                with suppress(Exception):  # a claim that failed is the run's error already, or none
                    await ahead
            pool.shutdown()
            if db is not self.db:
                db.close()

    def claim(
        self,
        mailing_id: str,
        now: dt.datetime,
        retry_all_deferred: bool,
        limit: int,
        db: Connection | None = None,
    ) -> list[OpenDelivery]:
        """Claim up to `limit` due deliveries nobody holds: never claimed, or claimed by a sender
        that is gone (no longer connected) or whose claim ran out (a machine that vanished)."""
        db = db or self.db
        wall = wall_clock()
        live = db.live_senders()
        with transaction(db):
            # A claim's commit need not wait for the server's disk (the send waits for its own):
            # a crash of the server loses it only if no `sending` mark was committed after it.
            db.relaxed()
            rows = db.execute(
                "UPDATE deliveries SET claimed_by = ?, claimed_until = ? WHERE id IN ("
                f"SELECT id FROM deliveries WHERE mailing_id = ? AND {DUE} AND (claimed_until IS NULL "
                f"OR claimed_until < ? OR claimed_by NOT IN ({', '.join('?' * len(live))})) "
                f"ORDER BY id LIMIT ?{self.db.skip_locked}) "
                "RETURNING id, member_id, address, member, status, attempts, first_attempt_at",
                (
                    self.sender,
                    stamp(wall + self.lease),
                    mailing_id,
                    retry_all_deferred,
                    stamp(now),
                    stamp(wall),
                    *live,
                    limit,
                ),
            ).fetchall()
        self.renewed = wall
        return [OpenDelivery(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6]) for r in sorted(rows)]

    def renew(self, mailing_id: str) -> int:
        """Push this sender's claims forward (they are still being worked on); how many.

        Rows the send's journal is writing at this moment (on a connection of its own) are
        skipped, not waited for: a wait could deadlock with it, and the next renewal, a quarter
        of a lease later, takes them."""
        wall = wall_clock()
        self.renewed = wall
        return self.db.execute(
            "UPDATE deliveries SET claimed_until = ? WHERE id IN (SELECT id FROM deliveries "
            "WHERE mailing_id = ? AND claimed_by = ? AND status IN ('pending', 'sending', 'deferred')"
            f"{self.db.skip_locked})",
            (stamp(wall + self.lease), mailing_id, self.sender),
        ).rowcount

    async def keep(self, mailing_id: str) -> None:
        """While a run works, renew its claims four times a lease (cancelled when it ends)."""
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 4)
            self.renew(mailing_id)

    def release(self, mailing_id: str) -> None:
        """The run ends: what it still holds (deferred, or left by a stop) is free for others now.
        Sent and closed rows keep their claim: nobody claims them again, and not rewriting
        them spares the server a write of every row of the mailing."""
        with suppress(Exception):  # a server gone away drops the claims' use anyway: they run out
            self.db.execute(
                "UPDATE deliveries SET claimed_by = NULL, claimed_until = NULL "
                "WHERE mailing_id = ? AND claimed_by = ? AND status IN ('pending', 'sending', 'deferred')",
                (mailing_id, self.sender),
            )


def to_send(
    claims: Claims | None, deliveries: Deliveries, mailing_id: str, now: dt.datetime, retry_all_deferred: bool
) -> AsyncIterator[OpenDelivery]:
    """What a send works through: claimed a page at a time where senders share the state,
    read from the ledger where one sender has it to itself (SQLite's run lock)."""
    if claims is not None:
        return claims.open(mailing_id, now, retry_all_deferred)
    return _one_by_one(deliveries.open(mailing_id, now, retry_all_deferred))


async def _one_by_one(rows: Iterator[OpenDelivery]) -> AsyncIterator[OpenDelivery]:
    for row in rows:
        yield row
