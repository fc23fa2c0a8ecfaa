"""Few commits on the hot path, yet a kill never sends a message twice: see `Journal`."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from mailer.state import State
from mailer.state.connection import Connection
from mailer.state.deliveries import Deliveries

GROUP_WINDOW = 0.002
"""Seconds a commit may wait for the writes of other connections (when some are still busy)."""


class Journal:
    """The hot path's ledger writes (`sending` before an attempt, `sent` after), grouped.

    `sending` is committed before the message goes on the wire. `sent` is committed with the
    connection's next write, or before it waits for anything else, so a connection never
    starts a message while the previous one's outcome is uncommitted: a kill repeats at most
    the messages on the wire. Writes of connections ready at the same moment share one commit.

    Where a commit waits for a server (PostgreSQL: a round trip and the flush of its disk),
    `open` moves the commits to a thread with a connection of its own (the engine's `twin`),
    so the event loop keeps the other SMTP connections busy meanwhile. One commit is under way
    at a time; marks added meanwhile go into the next one, which starts as soon as it lands
    (group commit), and `commit` waits for the commit under way too when the caller's marks
    may be in it. A failed commit fails every later one of the run: the run ends, and what the
    ledger says is still true (the next run repeats at most what was on the wire).

    Where a commit is cheap (SQLite, no twin), it is made on the event loop: when commit
    requests come closer together than half of `GROUP_WINDOW` (a fast server, many
    connections), a commit waits up to the window for the others, going as soon as every
    connection `peers` counts is waiting for it. A commit's fixed cost (about 30 µs of CPU) is
    larger than a message's two marks, and a connection that waits a millisecond is not missed
    while the others keep the server busy; against a slow relay nothing waits.
    """

    def __init__(self, state: State, peers: Callable[[], int] = lambda: 1):
        self.state = state
        self.peers = peers
        self.sending: list[tuple[int, dt.datetime]] = []
        self.sent: list[tuple[int, dt.datetime, str, str]] = []
        self.committed: asyncio.Future[None] | None = None
        """The next commit, which covers the marks in `sending` and `sent`."""
        self._flying: asyncio.Future[None] | None = None
        """The commit under way in the thread (its marks are no longer in the lists)."""
        self._work: Future[BaseException | None] | None = None
        self._failed: BaseException | None = None
        self._ledger = state.deliveries
        self._db: Connection | None = None
        self._thread: ThreadPoolExecutor | None = None
        self._waiting = 0
        self._timer: asyncio.TimerHandle | None = None
        self._gap = 1.0
        """Moving average of the seconds between commit requests."""
        self._last = 0.0

    def open(self) -> None:
        """From now on, commit in a thread on a connection of its own, where the engine has one."""
        db = self.state.db.twin()
        if db is not None:
            self._db, self._ledger = db, Deliveries(db)
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="journal")

    def close(self) -> None:
        """Write what is left (`flush`), then let the thread and its connection go."""
        try:
            self.flush()
        finally:
            if self._thread is not None:
                self._thread.shutdown()
            if self._db is not None:
                self._db.close()
            self._thread, self._db, self._ledger = None, None, self.state.deliveries

    def record_sent(self, delivery_id: int, when: dt.datetime, reply: str, message_id: str) -> None:
        self.sent.append((delivery_id, when, reply, message_id))

    async def record_sending(self, delivery_id: int, when: dt.datetime) -> None:
        self.sending.append((delivery_id, when))
        await self.commit()

    async def commit(self) -> None:
        """Returns once every mark added so far is committed; raises what a commit raised."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._gap += (min(now - self._last, 1.0) - self._gap) / 8
        self._last = now
        if self._failed is not None:
            raise self._failed
        if self.committed is None:
            if not (self.sending or self.sent):
                if self._flying is not None:
                    await self._flying  # the caller's marks may be in it
                return
            self.committed = loop.create_future()
            self._waiting = 0
            if self._flying is None:  # else it starts when the one under way lands
                # Waiting pays only when others ask often enough to join: a slow relay is not delayed.
                wait = self._thread is None and self._gap < GROUP_WINDOW / 2
                self._timer = loop.call_later(GROUP_WINDOW if wait else 0, self._start)
        committed = self.committed
        self._waiting += 1
        if self._waiting >= self.peers() and self._timer is not None:
            self._timer.cancel()
            self._timer = None
            loop.call_soon(self._start)
        await committed

    def _start(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        committed = self.committed
        if committed is None or self._flying is not None:
            return
        sending, sent = self.sending, self.sent
        self.sending, self.sent, self.committed = [], [], None
        if self._thread is None:
            _settle(committed, self._write(sending, sent))
            return
        loop = asyncio.get_running_loop()
        self._flying = committed
        self._work = work = self._thread.submit(self._write, sending, sent)
        work.add_done_callback(lambda _: loop.call_soon_threadsafe(self._landed, work))

    def _write(
        self, sending: list[tuple[int, dt.datetime]], sent: list[tuple[int, dt.datetime, str, str]]
    ) -> BaseException | None:
        try:
            self._ledger.record_attempts(sending, sent)
        except Exception as exc:
            return exc
        return None

    def _landed(self, work: Future[BaseException | None]) -> None:
        """The commit under way is done (on the event loop): tell its callers, start the next."""
        if work is not self._work:
            return  # `flush` saw to it
        error = work.result()
        committed, self._flying, self._work = self._flying, None, None
        if committed is not None:
            _settle(committed, error)
        if error is not None:
            self._failed = error
            if self.committed is not None:  # its marks stay for the last `flush`
                waiting, self.committed = self.committed, None
                _settle(waiting, error)
        elif self.committed is not None:
            self._start()

    def flush(self) -> None:
        """Commit every mark now, on this thread, after the commit under way (the run's end).

        An error goes to the callers waiting for the commit, or is raised if nobody waits."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        work, flying = self._work, self._flying
        self._work = self._flying = None
        raised: BaseException | None = None
        if work is not None and flying is not None:
            error = work.result()
            if error is not None and flying.done():
                raised = error
            _settle(flying, error)
        sending, sent, committed = self.sending, self.sent, self.committed
        self.sending, self.sent, self.committed = [], [], None
        error = self._write(sending, sent) if sending or sent else None
        if error is not None and (committed is None or committed.done()):
            raised = raised or error
        if committed is not None:
            _settle(committed, error)
        if raised is not None:
            raise raised


def _settle(committed: asyncio.Future[None], error: BaseException | None) -> None:
    if committed.done():  # its callers were cancelled
        return
    if error is None:
        committed.set_result(None)
    else:
        committed.set_exception(error)
