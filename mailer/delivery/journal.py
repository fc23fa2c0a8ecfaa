"""Few commits on the hot path, yet a kill never sends a message twice: see `Journal`."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from contextlib import suppress

from mailer.state import State
from mailer.state.attempts import attempt_statements, record_attempts
from mailer.state.connection import Connection, LoopLedger

GROUP_WINDOW = 0.002
"""SQLite: seconds a commit may wait for the writes of other connections (when some are busy)."""
SPACING = 0.004
"""PostgreSQL: seconds from one commit's start to the next's at the least, unless every
connection is waiting for it. A commit costs the server about 0.4 ms of CPU however few marks
it holds; 10,000 messages on 8 connections took 8,000 to 9,700 commits without a spacing and
a fifth more CPU for this process and the server together. But each connection needs one
commit a message (its `sent` and its next `sending` mark), so it sends at most one message a
spacing: at 8 ms, 8 connections could not pass about 900 messages a second, and that was the
limit of a send to a server that takes more (2026-12-07 13:15-13:36, 10,000 messages, nine
alternating rounds: 4 ms took 0.90-0.95 of the time of 8 ms in eight and 1.15 in one; in
the three counted, 2,700-3,500 commits instead of 1,700-2,200 and a tenth more of the server's
CPU; 2 and 3 ms were no faster than 4). On SQLite the same spacing saved a sixth of this
process's CPU but was slower in three of four alternating pairs (a tenth on average): its
commit runs on the event loop, and each message waited for the timer."""

Sending = list[tuple[int, dt.datetime]]
Sent = list[tuple[int, dt.datetime, str, str]]


class Journal:
    """The hot path's ledger writes (`sending` before an attempt, `sent` after), grouped.

    `sending` is committed before the message goes on the wire. `sent` is committed with the
    connection's next write, or before it waits for anything else, so a connection never
    starts a message while the previous one's outcome is uncommitted: a kill repeats at most
    the messages on the wire. Writes of connections ready at the same moment share one commit.

    Where a commit waits for a server (PostgreSQL: a round trip and the flush of its disk),
    `open` gives the journal a connection of its own that waits on the event loop (the
    engine's `loop_ledger`), so the loop keeps the other SMTP connections busy meanwhile. One
    commit is under way at a time, and the next starts `SPACING` after it at the earliest
    (or once every connection waits for it); marks that arrive meanwhile go into it (group
    commit). A second one under way only split the groups (10,000 messages: 7,160 statements
    against 5,000, and a fifth more CPU for the server). A commit counts as done only once
    every commit started before it is done too, so `commit` covers all of the caller's marks,
    wherever they went. A failed commit fails every later one of the run: the run ends, and
    what the ledger says is still true (the next run repeats at most what was on the wire).

    Where a commit is cheap (SQLite), it is made on the event loop itself: when commit
    requests come closer together than half of `GROUP_WINDOW` (a fast server, many
    connections), a commit waits up to the window for the others, going as soon as every
    connection `peers` counts is waiting for it; against a slow relay nothing waits.
    """

    def __init__(self, state: State, peers: Callable[[], int] = lambda: 1):
        self.state = state
        self.peers = peers
        self.sending: Sending = []
        self.sent: Sent = []
        self.committed: asyncio.Future[None] | None = None
        """The next commit, which covers the marks in `sending` and `sent`."""
        self._started = 0
        self._done = 0
        """Every commit up to this number has landed, and its callers were told."""
        self._under_way: dict[int, asyncio.Future[None]] = {}
        self._landed: dict[int, BaseException | None] = {}
        self._work: dict[int, asyncio.Future[None]] = {}
        self._failed: BaseException | None = None
        self._unheard: BaseException | None = None
        """A failure of a commit whose callers had all gone (cancelled): `close` raises it."""
        self._ledger: LoopLedger | None = None
        self._waiting = 0
        self._timer: asyncio.TimerHandle | None = None
        self._last = float("-inf")
        """When the last commit on the ledger's connection started (the event loop's clock)."""
        self._gap = 1.0
        """Moving average of the seconds between commit requests."""
        self._asked = 0.0

    async def open(self) -> None:
        """From now on, commit on a connection of its own, where the engine has one."""
        self._ledger = await self.state.db.loop_ledger()

    async def close(self) -> None:
        """Write what is left (after the commit under way), then let the connection go.

        An error goes to the callers waiting for the commit, or is raised if nobody waits."""
        try:
            await self._flush()
        finally:
            ledger, self._ledger = self._ledger, None
            if ledger is not None:
                with suppress(Exception):  # a server gone away: the run's error is raised already
                    await ledger.close()

    def record_sent(self, delivery_id: int, when: dt.datetime, reply: str, message_id: str) -> None:
        self.sent.append((delivery_id, when, reply, message_id))

    async def record_sending(self, delivery_id: int, when: dt.datetime) -> None:
        self.sending.append((delivery_id, when))
        await self.commit()

    async def commit(self) -> None:
        """Returns once every mark added so far is committed; raises what a commit raised."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._gap += (min(now - self._asked, 1.0) - self._gap) / 8
        self._asked = now
        if self._failed is not None:
            raise self._failed
        if self.committed is None:
            if not (self.sending or self.sent):
                latest = self._under_way.get(self._started)
                if latest is not None:
                    await asyncio.shield(latest)  # the caller's marks may be in it (or before it)
                return
            self.committed = loop.create_future()
            self._waiting = 0
            if self._ledger is None:
                # Waiting pays only when others ask often enough to join: a slow relay is not delayed.
                wait = self._gap < GROUP_WINDOW / 2
                self._timer = loop.call_later(GROUP_WINDOW if wait else 0, self._start)
            elif not self._work:  # else it starts when the one under way lands
                self._timer = loop.call_later(max(0.0, self._last + SPACING - now), self._start)
        committed = self.committed
        self._waiting += 1
        if self._waiting >= self.peers() and self._timer is not None:
            self._timer.cancel()
            self._timer = None
            loop.call_soon(self._start)
        await asyncio.shield(committed)  # a caller cancelled does not cancel it for the others

    def _start(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        committed = self.committed
        if committed is None or (self._ledger is not None and self._work):
            return
        sending, sent = self.sending, self.sent
        self.sending, self.sent, self.committed = [], [], None
        if self._ledger is None:
            _settle(committed, _write(self.state.db, sending, sent))
            return
        self._last = asyncio.get_running_loop().time()
        self._started += 1
        number = self._started
        self._under_way[number] = committed
        self._work[number] = asyncio.ensure_future(self._commit(number, self._ledger, sending, sent))

    async def _commit(self, number: int, ledger: LoopLedger, sending: Sending, sent: Sent) -> None:
        try:
            await ledger.write(attempt_statements(sending, sent))
        except BaseException as exc:  # cancelled too: it lands, so that `close` is not kept waiting
            self._land(number, exc)
            if not isinstance(exc, Exception):
                raise
        else:
            self._land(number, None)

    def _land(self, number: int, error: BaseException | None) -> None:
        """A commit is done: tell the callers of every commit done in order, start the next."""
        self._work.pop(number, None)
        if error is not None and self._under_way[number].done():
            self._unheard = self._unheard or error
        self._landed[number] = error
        while self._done + 1 in self._landed:
            self._done += 1
            self._failed = self._failed or self._landed.pop(self._done)
            _settle(self._under_way.pop(self._done), self._failed)
        if self._failed is not None:
            if self.committed is not None:  # its marks stay for `close` to try once more
                waiting, self.committed = self.committed, None
                _settle(waiting, self._failed)
        elif self.committed is not None:
            loop = asyncio.get_running_loop()
            wait = self._last + SPACING - loop.time()
            if wait > 0 and self._timer is None:
                self._timer = loop.call_later(wait, self._start)
            elif wait <= 0:
                self._start()

    async def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._work:  # each landing may start the next commit
            await asyncio.wait(list(self._work.values()))
        sending, sent, committed = self.sending, self.sent, self.committed
        self.sending, self.sent, self.committed = [], [], None
        error = None
        if sending or sent:
            if self._ledger is None:
                error = _write(self.state.db, sending, sent)
            else:
                try:
                    await self._ledger.write(attempt_statements(sending, sent))
                except Exception as exc:
                    error = exc
        raised = self._unheard
        if error is not None and (committed is None or committed.done()):
            raised = raised or error
        if committed is not None:
            _settle(committed, error)
        if raised is not None:
            raise raised


def _write(db: Connection, sending: Sending, sent: Sent) -> BaseException | None:
    try:
        record_attempts(db, sending, sent)
    except Exception as exc:
        return exc
    return None


def _settle(committed: asyncio.Future[None], error: BaseException | None) -> None:
    if committed.done():  # its callers were cancelled
        return
    if error is None:
        committed.set_result(None)
    else:
        committed.set_exception(error)
