"""Few commits on the hot path, yet a kill never sends a message twice: see `Journal`."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from mailer.state import State
from mailer.state.attempts import record_attempts
from mailer.state.connection import Connection

GROUP_WINDOW = 0.002
"""Seconds a commit may wait for the writes of other connections (when some are still busy)."""
IN_FLIGHT = 1
"""Commits under way at once where they wait for a server (a connection and a thread each).
One: a commit runs while the message's envelope is on its way (see `sending`), so it is rarely
waited for, and a second one under way only split the groups (10,000 messages on PostgreSQL:
7,160 statements with two, 5,000 with one, and a fifth more CPU for the server)."""

Sending = list[tuple[int, dt.datetime]]
Sent = list[tuple[int, dt.datetime, str, str]]


class Journal:
    """The hot path's ledger writes (`sending` before an attempt, `sent` after), grouped.

    `sending` is committed before the message goes on the wire. `sent` is committed with the
    connection's next write, or before it waits for anything else, so a connection never
    starts a message while the previous one's outcome is uncommitted: a kill repeats at most
    the messages on the wire. Writes of connections ready at the same moment share one commit.

    Where a commit waits for a server (PostgreSQL: a round trip and the flush of its disk),
    `open` moves the commits to threads with connections of their own (the engine's `twin`),
    so the event loop keeps the other SMTP connections busy meanwhile. Up to `IN_FLIGHT`
    commits are under way at once (the server flushes them together); marks that arrive while
    every connection is busy go into the next one (group commit). A commit counts as done only
    once every commit started before it is done too, so `commit` covers all of the caller's
    marks, wherever they went. A failed commit fails every later one of the run: the run ends,
    and what the ledger says is still true (the next run repeats at most what was on the wire).

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
        self.sending: Sending = []
        self.sent: Sent = []
        self.committed: asyncio.Future[None] | None = None
        """The next commit, which covers the marks in `sending` and `sent`."""
        self._started = 0
        self._done = 0
        """Every commit up to this number has landed, and its callers were told."""
        self._under_way: dict[int, asyncio.Future[None]] = {}
        self._landed: dict[int, BaseException | None] = {}
        self._work: dict[int, Future[BaseException | None]] = {}
        self._failed: BaseException | None = None
        self._idle: list[Connection] = []
        self._twins: list[Connection] = []
        self._thread: ThreadPoolExecutor | None = None
        self._waiting = 0
        self._timer: asyncio.TimerHandle | None = None
        self._gap = 1.0
        """Moving average of the seconds between commit requests."""
        self._asked = 0.0

    def open(self) -> None:
        """From now on, commit in threads on connections of their own, where the engine has them."""
        for _ in range(IN_FLIGHT):
            db = self.state.db.twin()
            if db is None:
                return
            self._twins.append(db)
            self._idle.append(db)
        self._thread = ThreadPoolExecutor(IN_FLIGHT, thread_name_prefix="journal")

    def close(self) -> None:
        """Write what is left (`flush`), then let the threads and their connections go."""
        try:
            self.flush()
        finally:
            if self._thread is not None:
                self._thread.shutdown()
            for db in self._twins:
                db.close()
            self._thread, self._twins, self._idle = None, [], []

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
            if self._idle or self._thread is None:  # else it starts when a connection is free
                # Waiting pays only when others ask often enough to join: a slow relay is not delayed.
                wait = self._thread is None and self._gap < GROUP_WINDOW / 2
                self._timer = loop.call_later(GROUP_WINDOW if wait else 0, self._start)
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
        if committed is None or (self._thread is not None and not self._idle):
            return
        sending, sent = self.sending, self.sent
        self.sending, self.sent, self.committed = [], [], None
        if self._thread is None:
            _settle(committed, _write(self.state.db, sending, sent))
            return
        self._started += 1
        number, ledger = self._started, self._idle.pop()
        self._under_way[number] = committed
        loop = asyncio.get_running_loop()
        self._work[number] = work = self._thread.submit(_write, ledger, sending, sent)
        work.add_done_callback(lambda _: loop.call_soon_threadsafe(self._land, number, ledger))

    def _land(self, number: int, ledger: Connection) -> None:
        """A commit is done (on the event loop): tell the callers of every commit done in order."""
        work = self._work.pop(number, None)
        if work is None:
            return  # `flush` saw to it
        self._idle.append(ledger)
        self._landed[number] = work.result()
        self._tell()
        if self._failed is not None:
            if self.committed is not None:  # its marks stay for the last `flush`
                waiting, self.committed = self.committed, None
                _settle(waiting, self._failed)
        elif self.committed is not None:
            self._start()

    def _tell(self) -> None:
        while self._done + 1 in self._landed:
            self._done += 1
            error = self._landed.pop(self._done)
            self._failed = self._failed or error
            _settle(self._under_way.pop(self._done), self._failed)

    def flush(self) -> None:
        """Commit every mark now, on this thread, after the commits under way (the run's end).

        An error goes to the callers waiting for the commit, or is raised if nobody waits."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        raised: BaseException | None = None
        for number, work in sorted(self._work.items()):
            self._landed[number] = error = work.result()
            if error is not None and self._under_way[number].done():
                raised = raised or error
        self._work.clear()
        self._tell()
        sending, sent, committed = self.sending, self.sent, self.committed
        self.sending, self.sent, self.committed = [], [], None
        ledger = self._twins[0] if self._twins else self.state.db
        error = _write(ledger, sending, sent) if sending or sent else None
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
