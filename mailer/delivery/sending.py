"""The one way a mailing is delivered: each copy is built, recorded and handed to a connection.

`send`, `run-due` and the scheduler come through here once the mailing is planned (see
`plan`): the open rows are read back in order, each copy is built, marked `sending`,
handed to a connection, and marked with its outcome.

When things go wrong, nothing is lost and nothing is sent twice: a server that cannot be
reached (or refuses the login) before the first attempt raises TransportUnavailable with
every delivery still pending; a temporary failure is tried again after a few seconds in the
run, then by later runs on `retry`'s schedule until its lifetime ends; a throttling reply
pauses every connection instead of using up tries; a permanent failure is final, but a
streak of them means the mailing itself is refused, so the mailing stops and the streak goes
back to pending; a kill at any moment repeats at most the messages on the wire.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mailer.delivery import retry
from mailer.delivery.journal import Journal
from mailer.delivery.observer import Progress, Silent
from mailer.delivery.plan import is_suppressed
from mailer.delivery.ratelimit import Clock, RateLimiter
from mailer.delivery.report import Report
from mailer.delivery.stopping import STOP, stop_on_signals
from mailer.delivery.transport import Connection, DeliveryError, Transport
from mailer.errors import UserError
from mailer.project.mailings import Mailing
from mailer.project.members import Member
from mailer.state import State
from mailer.state.claims import Claims, to_send
from mailer.state.deliveries import OpenDelivery
from mailer.state.suppressions import SuppressionList

if TYPE_CHECKING:
    from mailer.render.messages import MessageFactory, Outgoing


class MailingStopped(UserError):
    """The send was stopped on purpose (too many permanent failures); nothing was lost."""


DAY_LIMIT_NOTE = "today's sending limit is reached; the rest goes out tomorrow"
WENT_AWAY_NOTE = "the SMTP server went away; the rest is sent by the next run"


@dataclass
class _Item:
    row: OpenDelivery
    out: Outgoing
    retry_in_run: bool
    tries: int = 0
    throttles: int = 0
    reply: str = ""


@dataclass
class Delivery:
    """One run of deliveries for one mailing over one transport.

    A producer reads the open rows in order and builds each copy; one worker per connection
    takes them from a short queue. A delivery counts as outstanding from the moment it is
    queued until it has an outcome in the ledger (a retry waiting to be queued again still
    counts), and the run ends when nothing is outstanding or no connection is left.
    """

    state: State
    transport: Transport
    factory: MessageFactory
    mailing: Mailing
    sender: str
    clock: Clock
    limiter: RateLimiter
    suppressed: Callable[[], SuppressionList]
    progress: Progress = field(default_factory=Silent)
    envelope: Callable[[int, str], str] | None = None
    """The envelope sender per delivery id and its row's address (VERP), when a bounce address is set."""
    claims: Claims | None = None
    """Where several senders share the state: deliveries are claimed before they are sent."""
    report: Report = field(init=False)
    _queue: asyncio.Queue[_Item | None] = field(init=False)
    _changed: asyncio.Event = field(init=False)
    _journal: Journal = field(init=False)
    _outstanding: int = 0
    _retries: dict[asyncio.Task[None], _Item] = field(default_factory=dict)
    _stop: str = ""
    _stopped_by_failures: bool = False
    _streak: list[int] = field(default_factory=list)
    _pause: retry.Pause = field(default_factory=retry.Pause)
    _live_workers: int = 0
    _went_away: bool = False
    _suppression_version: int = -1
    _suppression_checked: float = float("-inf")
    _suppressed: SuppressionList = field(default_factory=SuppressionList)

    def __post_init__(self) -> None:
        self.report = Report(self.mailing.id)
        self._journal = Journal(self.state, lambda: self._live_workers)

    async def run(self, retry_all_deferred: bool) -> Report:
        """Deliver what is due; TransportUnavailable (nothing attempted) if no connection opens."""
        start = self.clock.now()
        total = self.state.deliveries.count_due(self.mailing.id, start, retry_all_deferred)
        if not total:
            return self._finish()
        if not self.limiter.room_today():
            self.report.note = DAY_LIMIT_NOTE
            return self._finish()
        connection = await self.transport.connect(self.mailing.id)
        rows = to_send(self.claims, self.state.deliveries, self.mailing.id, start, retry_all_deferred)
        keeper = asyncio.create_task(self.claims.keep(self.mailing.id)) if self.claims else None
        self._queue = asyncio.Queue(maxsize=self.transport.connections * 2)
        self._changed = asyncio.Event()
        self.progress.start(self.mailing.id, total)
        restore_signals = stop_on_signals(asyncio.get_running_loop(), self._request_stop)
        workers = [asyncio.create_task(self._worker(connection))]
        workers += [asyncio.create_task(self._worker(None)) for _ in range(self.transport.connections - 1)]
        self._live_workers = len(workers)
        try:
            await self._journal.open()
            await self._produce(rows)
            await self._settled()
            for _ in range(self._live_workers):
                self._queue.put_nowait(None)
            results = await asyncio.gather(*workers, return_exceptions=True)
        finally:
            for w in workers:
                w.cancel()
            await rows.aclose()
            await self._journal.close()
            self._abandon_retries()
            if self.claims and keeper:
                keeper.cancel()
                self.claims.release(self.mailing.id)
            restore_signals()
            self.progress.finish()
        for result in results:
            if isinstance(result, BaseException):
                raise result
        if self._stopped_by_failures:
            raise MailingStopped(self._stop)
        return self._finish()

    def _finish(self) -> Report:
        self.report.still_open = self.state.deliveries.count_open(self.mailing.id)
        if self._stop and not self.report.note:
            self.report.note = self._stop
        elif self._went_away and self.report.still_open and not self.report.note:
            self.report.note = WENT_AWAY_NOTE
        self.report.server_lost = self._went_away and bool(self.report.still_open)
        return self.report

    def _request_stop(self, reason: str = "stopped on request; the rest is sent by the next run") -> None:
        self._stop = self._stop or reason
        if hasattr(self, "_changed"):
            self._changed.set()

    def _settle(self) -> None:
        """One outstanding delivery has its outcome (or was left as it was by a stop)."""
        self._outstanding -= 1
        self._changed.set()

    async def _settled(self) -> None:
        while True:
            if self._stop:
                self._abandon_retries()
            if not (self._outstanding and self._live_workers):
                return
            self._changed.clear()
            await self._changed.wait()

    def _is_suppressed(self, address: str) -> bool:
        """Unsubscribes that arrive during the send count from the next second on."""
        t = time.monotonic()
        if t - self._suppression_checked >= 1.0:
            self._suppression_checked = t
            version = self.state.suppressions.version()
            if version != self._suppression_version:
                self._suppression_version, self._suppressed = version, self.suppressed()
        return is_suppressed(self._suppressed, self.mailing.category, address)

    async def _produce(self, rows: AsyncIterator[OpenDelivery]) -> None:
        mailing = self.mailing
        async for row in rows:
            if STOP.is_set():
                self._request_stop()
            if self._stop or not self._live_workers:
                return
            now = self.clock.now()
            if mailing.too_late(now):
                self._close(row.id, "expired", now, "the meeting has started")
                continue
            first = row.first_attempt_at
            if first and retry.outlived(dt.datetime.fromisoformat(first), mailing.retry_lifetime, now):
                self._close(row.id, "expired", now, "gave up: its lifetime ended before it could be sent")
                continue
            if self._is_suppressed(row.address):
                self._close(row.id, "dropped", now, "unsubscribed")
                continue
            if not await self.limiter.acquire():
                self.report.note = DAY_LIMIT_NOTE
                return
            out = self.factory.build(Member.from_record(row.member))
            self._outstanding += 1
            await self._queue.put(_Item(row, out, retry_in_run=row.status != "deferred"))

    def _close(self, delivery_id: int, status: str, now: dt.datetime, reply: str) -> None:
        self.state.deliveries.mark_final(delivery_id, status, now, reply)
        setattr(self.report, status, getattr(self.report, status) + 1)
        self.progress.advance()

    async def _connect(self) -> Connection | None:
        for delay in (0.0, 1.0, 3.0):
            await asyncio.sleep(delay)
            if self._stop:
                return None
            try:
                return await self.transport.connect(self.mailing.id)
            except UserError:
                continue
        return None

    async def _worker(self, conn: Connection | None) -> None:
        told_to_end = False
        try:
            if conn is None:
                conn = await self._connect()
            while conn is not None:
                try:
                    item = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    await self._journal.commit()
                    item = await self._queue.get()
                if item is None:
                    await self._journal.commit()
                    told_to_end = True
                    return
                try:
                    conn = await self._attempt(conn, item)
                finally:
                    self._settle()
        finally:
            self._live_workers -= 1
            if not self._live_workers and not told_to_end:
                self._went_away = True
                while not self._queue.empty():
                    left = self._queue.get_nowait()
                    if left is not None:
                        self._outstanding -= 1
                        if left.tries or left.throttles:
                            self._defer(left, self.clock.now())
            self._changed.set()
            if conn is not None:
                await conn.close()

    def _stopping(self) -> bool:
        if STOP.is_set():
            self._request_stop()
        return bool(self._stop)

    async def _attempt(self, conn: Connection, item: _Item) -> Connection | None:
        loop = asyncio.get_running_loop()
        if self._pause.until > loop.time():
            await self._journal.commit()
            await asyncio.sleep(self._pause.until - loop.time())
        if self._stopping():
            if item.tries or item.throttles:
                self._defer(item, self.clock.now())
            return conn
        row = item.row
        started = loop.time()
        # The `sending` mark (and this connection's last `sent`) commits while the envelope is
        # on its way; the message itself goes only once it has.
        marked = asyncio.ensure_future(self._journal.record_sending(row.id, self.clock.now()))
        try:
            sender = self.envelope(row.id, row.address) if self.envelope else self.sender
            reply = await conn.send(sender, item.out.member.email, item.out.data, ready=marked)
        except DeliveryError as error:
            await marked  # the mark is in the ledger before the outcome that follows it
            return await self._failed(conn, item, error, started)
        finally:
            if not marked.done():
                marked.cancel()
        self._journal.record_sent(row.id, self.clock.now(), reply, item.out.message_id)
        self.report.sent += 1
        self._streak.clear()
        self._pause.eased()
        self.progress.advance()
        return conn

    async def _failed(
        self, conn: Connection, item: _Item, error: DeliveryError, started: float
    ) -> Connection | None:
        now = self.clock.now()
        row = item.row
        item.reply = error.reply
        if error.outcome == "permanent":
            self._refused(item, error, now)
            return conn
        if error.outcome == "throttled" and item.throttles < retry.THROTTLES_PER_DELIVERY:
            item.throttles += 1
            wait = self._slow_down(started)
            self.state.deliveries.mark_deferred(
                row.id, now, error.reply, now + dt.timedelta(seconds=wait), count_attempt=False
            )
            self._retry_later(item, wait)
        else:
            item.tries += 1
            delay = retry.in_run_delay(item.tries) if item.retry_in_run else None
            if delay is not None and not self._stop:
                self.state.deliveries.mark_deferred(
                    row.id, now, error.reply, now + dt.timedelta(seconds=delay)
                )
                self._retry_later(item, delay)
            else:
                self._defer(item, now)
        if error.outcome == "connection" or error.code == 421:
            await conn.close()
            return await self._connect()
        return conn

    def _refused(self, item: _Item, error: DeliveryError, now: dt.datetime) -> None:
        """A permanent failure: final, unless it is one of a streak that says the mailing is broken."""
        row = item.row
        if self._stopped_by_failures:
            self.state.deliveries.mark_pending([row.id], now, error.reply)
            return
        self.state.deliveries.mark_final(row.id, "failed", now, error.reply)
        self.report.failed += 1
        self.progress.advance()
        self._streak.append(row.id)
        if len(self._streak) < retry.PERMANENT_STREAK_LIMIT:
            return
        self.state.deliveries.mark_pending(self._streak, now, error.reply)
        self.report.failed -= len(self._streak)
        self._stopped_by_failures = True
        self._stop = (
            f"{len(self._streak)} deliveries of {self.mailing.id} in a row were refused "
            f"(last: {error.reply}); the mailing is stopped, and those {len(self._streak)} are "
            "pending again, so nothing is lost; fix the cause and send again"
        )
        self._changed.set()

    def _slow_down(self, started: float) -> float:
        """Pause every connection (see `retry.Pause`); the seconds until the pause ends."""
        t = asyncio.get_running_loop().time()
        if self._pause.slow_down(started, t):
            self.report.slowed += 1
        return max(self._pause.until - t, 0.0)

    def _defer(self, item: _Item, now: dt.datetime) -> None:
        """Hand the delivery to later runs, on the growing schedule, or give it up."""
        row = item.row
        reply = item.reply or "not sent"
        attempts = row.attempts + item.tries
        first = dt.datetime.fromisoformat(row.first_attempt_at) if row.first_attempt_at else now
        retry_at = retry.next_attempt(attempts, now)
        if retry.gives_up(first, self.mailing.retry_lifetime, self.mailing.expires_at, retry_at):
            self.state.deliveries.mark_final(row.id, "expired", now, f"gave up: {reply}")
            self.report.expired += 1
        else:
            self.state.deliveries.mark_deferred(row.id, now, reply, retry_at)
            self.report.deferred += 1
        self.progress.advance()

    def _retry_later(self, item: _Item, delay: float) -> None:
        """Queue the item again after `delay`; it stays outstanding, so the run waits for it."""
        self._outstanding += 1

        async def again() -> None:
            await asyncio.sleep(delay)
            if self._stopping() or not self._live_workers:
                del self._retries[task]
                self._defer(item, self.clock.now())
                self._settle()
                return
            await self._queue.put(item)
            del self._retries[task]

        task = asyncio.get_running_loop().create_task(again())
        self._retries[task] = item

    def _abandon_retries(self) -> None:
        """The run ends: deliveries waiting for an in-run retry go to later runs now."""
        for task, item in list(self._retries.items()):
            task.cancel()
            del self._retries[task]
            self._defer(item, self.clock.now())
            self._settle()
