"""The one way a mailing is sent: plan who gets it, then deliver each copy and record it.

`send`, `run-due`, the scheduler and the board's test copy all come through here.
1. Plan: every member of the audience without a ledger row gets a `pending` row, in one
   transaction (the whole audience or nobody). Rows of members who left the export or the
   audience, or who unsubscribed, are dropped.
2. Deliver: the open rows are read back in order, each copy is built, marked `sending`,
   handed to a connection, and marked with its outcome.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mailer import retry
from mailer.errors import UserError
from mailer.ledger import Ledger, OpenDelivery, Planned
from mailer.mailings import Mailing
from mailer.members import Member
from mailer.progress import Progress, Silent
from mailer.ratelimit import Clock, RateLimiter
from mailer.transport import Connection, DeliveryError, Transport

if TYPE_CHECKING:
    from mailer.messages import CompiledMailing, MessageFactory, Outgoing


STOP = threading.Event()
"""Set by the scheduler's signal handler: every delivery ends after the message in flight."""


class MailingStopped(UserError):
    """The send was stopped on purpose (too many permanent failures); nothing was lost."""


@dataclass
class Report:
    """What one run did for one mailing."""

    mailing_id: str
    planned: int = 0
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    dropped: int = 0
    expired: int = 0
    still_open: int = 0
    note: str = ""

    @property
    def anything(self) -> bool:
        return any((self.planned, self.sent, self.deferred, self.failed, self.dropped, self.expired))

    def line(self) -> str:
        parts = [f"{self.sent} sent"]
        for name in ("deferred", "failed", "dropped", "expired"):
            if getattr(self, name):
                parts.append(f"{getattr(self, name)} {name}")
        if self.still_open:
            parts.append(f"{self.still_open} still to send")
        text = f"{self.mailing_id}: " + ", ".join(parts)
        return text + (f" ({self.note})" if self.note else "")


@dataclass
class Recipients:
    """Who a mailing may go to right now: the export's members, filtered for this mailing."""

    members: Callable[[], Iterable[Member]]
    suppressed: Callable[[], dict[str, set[str]]]
    inputs: str
    extra_filter: Callable[[Mailing, Member], bool] | None = None


def inputs_key(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:24]


def plan_key(mailing: Mailing, recipients: Recipients, now: dt.datetime) -> str:
    """What planning depends on: the member files, the schedule, suppressions, the day."""
    return inputs_key(recipients.inputs, mailing.is_open(now), now.date(), mailing.event)


def is_suppressed(suppressed: dict[str, set[str]], category: str, address: str) -> bool:
    return address in suppressed.get(category, ()) or address in suppressed.get("*", ())


def plan(
    ledger: Ledger,
    mailing: Mailing,
    factory: MessageFactory,
    recipients: Recipients,
    now: dt.datetime,
    previous: set[str] | None = None,
) -> tuple[int, int]:
    """Add pending rows for the audience and drop rows nobody should get any more.

    Returns (planned, dropped). Skipped when nothing it depends on changed since last time.
    """
    key = plan_key(mailing, recipients, now)
    if ledger.mailing_inputs(mailing.id) == key:
        return 0, 0
    open_rows = dict(ledger.open_member_ids(mailing.id))
    suppressed = recipients.suppressed()
    in_export: set[str] = set()
    keep: set[str] = set()
    today = now.date()

    def candidates() -> Iterator[Planned]:
        for member in mailing.audience.select(_tracked(recipients.members(), in_export), today):
            if previous is not None and member.id not in previous:
                continue
            if recipients.extra_filter and not recipients.extra_filter(mailing, member):
                continue
            if is_suppressed(suppressed, mailing.category, member.address_key):
                continue
            keep.add(member.id)
            if mailing.is_open(now) or member.id in open_rows:
                factory.check(member)
                yield Planned(member.id, member.address_key, member.to_record())

    planned = ledger.plan(
        mailing.id, mailing.kind, mailing.series, candidates(), now, key, mailing.expires_at
    )
    gone = [m for m in open_rows if m not in in_export]
    left_audience = [m for m in open_rows if m in in_export and m not in keep]
    dropped = ledger.drop_open(mailing.id, gone, now, "no longer in the member list")
    dropped += ledger.drop_open(mailing.id, left_audience, now, "no longer in the audience or unsubscribed")
    return planned, dropped


def _tracked(members: Iterable[Member], seen: set[str]) -> Iterator[Member]:
    for m in members:
        seen.add(m.id)
        yield m


@dataclass
class _Item:
    row: OpenDelivery
    out: Outgoing
    tries: int = 0
    throttles: int = 0


@dataclass
class Delivery:
    """One run of deliveries for one mailing over one transport."""

    ledger: Ledger
    transport: Transport
    factory: MessageFactory
    mailing: Mailing
    sender: str
    clock: Clock
    limiter: RateLimiter
    suppressed: Callable[[], dict[str, set[str]]]
    progress: Progress = field(default_factory=Silent)
    report: Report = field(init=False)
    _queue: asyncio.Queue[_Item | None] = field(init=False)
    _outstanding: int = 0
    _retries: set[asyncio.Task[None]] = field(default_factory=set)
    _stop: str = ""
    _streak: list[int] = field(default_factory=list)
    _pause_until: float = 0.0
    _pause: float = 0.5
    _live_workers: int = 0
    _suppression_version: int = -1
    _suppressed: dict[str, set[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.report = Report(self.mailing.id)

    async def run(self, retry_all_deferred: bool) -> Report:
        rows = self.ledger.open_deliveries(self.mailing.id, self.clock.now(), retry_all_deferred)
        first = next(rows, None)
        if first is None:
            return self._finish()
        connection = await self.transport.connect(self.mailing.id)
        self._queue = asyncio.Queue(maxsize=self.transport.connections * 2)
        self.progress.start(self.mailing.id, self.ledger.count_open(self.mailing.id))
        restore_signals = _stop_on_signals(asyncio.get_running_loop(), self._request_stop)
        workers = [asyncio.create_task(self._worker(connection))]
        workers += [asyncio.create_task(self._worker(None)) for _ in range(self.transport.connections - 1)]
        self._live_workers = len(workers)
        try:
            await self._produce(_chain(first, rows))
            while self._outstanding and self._live_workers:
                await asyncio.sleep(0.02)
            for _ in range(self._live_workers):
                await self._queue.put(None)
            await asyncio.gather(*workers, return_exceptions=True)
        finally:
            for w in workers:
                w.cancel()
            restore_signals()
            self.progress.finish()
        if self._stop.startswith("permanent"):
            raise MailingStopped(self._stop)
        return self._finish()

    def _finish(self) -> Report:
        self.report.still_open = self.ledger.count_open(self.mailing.id)
        if self._stop and not self.report.note:
            self.report.note = self._stop
        elif not self._live_workers and self.report.still_open and not self.report.note:
            self.report.note = "the SMTP server went away; the rest is sent by the next run"
        return self.report

    def _request_stop(self) -> None:
        self._stop = self._stop or "stopped on request; the rest is sent by the next run"

    def _is_suppressed(self, address: str) -> bool:
        version = self.ledger.suppression_version()
        if version != self._suppression_version:
            self._suppression_version, self._suppressed = version, self.suppressed()
        return is_suppressed(self._suppressed, self.mailing.category, address)

    async def _produce(self, rows: Iterator[OpenDelivery]) -> None:
        for row in rows:
            if STOP.is_set():
                self._request_stop()
            if self._stop or not self._live_workers:
                return
            now = self.clock.now()
            if self.mailing.too_late(now):
                self.ledger.mark_final(row.id, "expired", now, "the meeting has started")
                self.report.expired += 1
                self.progress.advance()
                continue
            if self._is_suppressed(row.address):
                self.ledger.mark_final(row.id, "dropped", now, "unsubscribed")
                self.report.dropped += 1
                self.progress.advance()
                continue
            if not await self.limiter.acquire():
                self.report.note = "today's sending limit is reached; the rest goes out tomorrow"
                return
            out = self.factory.build(Member.from_record(row.member))
            self._outstanding += 1
            await self._queue.put(_Item(row, out))

    async def _connect(self) -> Connection | None:
        for delay in (0.0, 1.0, 3.0):
            await asyncio.sleep(delay)
            try:
                return await self.transport.connect(self.mailing.id)
            except UserError:
                continue
        return None

    async def _worker(self, conn: Connection | None) -> None:
        try:
            if conn is None:
                conn = await self._connect()
            while conn is not None:
                item = await self._queue.get()
                if item is None:
                    return
                try:
                    if STOP.is_set():
                        self._request_stop()
                    if not self._stop:
                        conn = await self._attempt(conn, item)
                finally:
                    self._outstanding -= 1
        finally:
            self._live_workers -= 1
            if not self._live_workers:
                while not self._queue.empty():
                    if self._queue.get_nowait() is not None:
                        self._outstanding -= 1
            if conn is not None:
                await conn.close()

    async def _attempt(self, conn: Connection, item: _Item) -> Connection | None:
        loop = asyncio.get_running_loop()
        if self._pause_until > loop.time():
            await asyncio.sleep(self._pause_until - loop.time())
        row = item.row
        self.ledger.mark_sending(row.id, self.clock.now())
        try:
            reply = await conn.send(self.sender, item.out.member.email, item.out.data)
        except DeliveryError as error:
            return await self._failed(conn, item, error)
        self.ledger.mark_sent(row.id, self.clock.now(), reply, item.out.message_id)
        self.report.sent += 1
        self._streak.clear()
        self._pause = max(self._pause / 2, 0.5)
        self.progress.advance()
        return conn

    async def _failed(self, conn: Connection, item: _Item, error: DeliveryError) -> Connection | None:
        now = self.clock.now()
        row = item.row
        if error.outcome == "permanent":
            self.ledger.mark_final(row.id, "failed", now, error.reply)
            self.report.failed += 1
            self.progress.advance()
            self._streak.append(row.id)
            if len(self._streak) >= retry.PERMANENT_STREAK_LIMIT:
                self.ledger.mark_pending(self._streak, now, error.reply)
                self.report.failed -= len(self._streak)
                self._stop = (
                    f"permanent failures: {len(self._streak)} deliveries of {self.mailing.id} in a row "
                    f"were refused (last: {error.reply}); stopped, and those {len(self._streak)} are "
                    "kept as pending for the next run, so nothing is lost"
                )
            return conn
        if error.outcome == "throttled" and item.throttles < retry.THROTTLES_PER_DELIVERY:
            item.throttles += 1
            loop = asyncio.get_running_loop()
            self._pause = min(self._pause * 2, retry.THROTTLE_PAUSE_MAX)
            self._pause_until = max(self._pause_until, loop.time() + self._pause)
            self.ledger.mark_deferred(
                row.id, now, error.reply, now + dt.timedelta(seconds=self._pause), count_attempt=False
            )
            self._retry_later(item, self._pause)
            if error.code == 421:
                await conn.close()
                return await self._connect()
            return conn
        item.tries += 1
        delay = retry.in_run_delay(item.tries)
        if delay is not None and not self._stop:
            self.ledger.mark_deferred(row.id, now, error.reply, now + dt.timedelta(seconds=delay))
            self._retry_later(item, delay)
        else:
            self._defer(item, now, error.reply)
        if error.outcome == "connection" or error.code == 421:
            await conn.close()
            return await self._connect()
        return conn

    def _defer(self, item: _Item, now: dt.datetime, reply: str) -> None:
        row = item.row
        attempts = row.attempts + item.tries
        first = dt.datetime.fromisoformat(row.first_attempt_at) if row.first_attempt_at else now
        retry_at = retry.next_attempt(attempts + len(retry.IN_RUN_DELAYS), now)
        if retry.gives_up(first, self.mailing.retry_lifetime, self.mailing.expires_at, retry_at):
            self.ledger.mark_final(row.id, "expired", now, f"gave up: {reply}")
            self.report.expired += 1
        else:
            self.ledger.mark_deferred(row.id, now, reply, retry_at)
            self.report.deferred += 1
        self.progress.advance()

    def _retry_later(self, item: _Item, delay: float) -> None:
        """Put the item back after `delay`; it stays outstanding, so the run waits for it."""
        self._outstanding += 1

        async def again() -> None:
            await asyncio.sleep(delay)
            if self._stop or not self._live_workers:
                self._outstanding -= 1
                self._defer(item, self.clock.now(), "not retried: the run ended")
                return
            await self._queue.put(item)

        task = asyncio.get_running_loop().create_task(again())
        self._retries.add(task)
        task.add_done_callback(self._retries.discard)


def _chain(first: OpenDelivery, rest: Iterator[OpenDelivery]) -> Iterator[OpenDelivery]:
    yield first
    yield from rest


def _stop_on_signals(loop: asyncio.AbstractEventLoop, stop: Callable[[], None]) -> Callable[[], None]:
    """SIGTERM/SIGINT finish the messages in flight, then end the run."""
    installed = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            pass

    def restore() -> None:
        for sig in installed:
            loop.remove_signal_handler(sig)

    return restore


def check_approval(ledger: Ledger, compiled: CompiledMailing) -> None:
    """A newsletter goes out only with enough approvals of exactly this content."""
    mailing = compiled.mailing
    if not mailing.needs_approval:
        return
    fingerprint = compiled.fingerprint
    approvals = ledger.approvals(mailing.id)
    matching = {by for fp, by, _ in approvals if fp == fingerprint}
    need = mailing.approvals_required
    if len(matching) >= need:
        return
    if approvals and not matching:
        raise UserError(
            f"{mailing.id} changed since it was approved (draft, template or subject; fingerprint "
            f"now {fingerprint}); run `mailer preview {mailing.id}` and approve it again"
        )
    have = f"{len(matching)} of {need} approvals" if matching else "not approved"
    raise UserError(
        f"{mailing.id} is {have}; the board previews it (`mailer preview {mailing.id}`) and "
        f"approves it (`mailer approve {mailing.id} --by NAME`) before it is sent"
    )


def send_test_copies(
    transport: Transport, factory: MessageFactory, mailing: Mailing, members: list[Member], sender: str
) -> int:
    """The board's marked test copy: the same messages, sent outside the ledger."""

    async def go() -> int:
        conn = await transport.connect(f"{mailing.id}.test-copies")
        sent = 0
        try:
            for member in members:
                out = factory.build(member)
                try:
                    await conn.send(sender, member.email, out.data)
                    sent += 1
                except DeliveryError as exc:
                    raise UserError(f"the test copy to {member.email} was refused: {exc.reply}") from None
        finally:
            await conn.close()
        return sent

    return asyncio.run(go())
