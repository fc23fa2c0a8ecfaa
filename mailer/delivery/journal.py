"""Few commits on the hot path, yet a kill never sends a message twice: see `Journal`."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

from mailer.state import State

GROUP_WINDOW = 0.002
"""Seconds a commit may wait for the writes of other connections (when some are still busy)."""


class Journal:
    """The hot path's ledger writes (`sending` before an attempt, `sent` after), grouped.

    `sending` is committed before the message goes on the wire. `sent` is committed with the
    connection's next write, or before it waits for anything else, so a connection never
    starts a message while the previous one's outcome is uncommitted: a kill repeats at most
    the messages on the wire. Writes of connections ready at the same moment share one commit;
    when commit requests come closer together than half of `GROUP_WINDOW` (a fast server, many
    connections), a commit also waits up to the window for the others, going as soon as every
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
        self._waiting = 0
        self._timer: asyncio.TimerHandle | None = None
        self._gap = 1.0
        """Moving average of the seconds between commit requests."""
        self._last = 0.0

    def record_sent(self, delivery_id: int, when: dt.datetime, reply: str, message_id: str) -> None:
        self.sent.append((delivery_id, when, reply, message_id))

    async def record_sending(self, delivery_id: int, when: dt.datetime) -> None:
        self.sending.append((delivery_id, when))
        await self.commit()

    async def commit(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._gap += (min(now - self._last, 1.0) - self._gap) / 8
        self._last = now
        if self.committed is None:
            if not (self.sending or self.sent):
                return
            self.committed = loop.create_future()
            self._waiting = 0
            # Waiting pays only when others ask often enough to join: a slow relay is not delayed.
            self._timer = loop.call_later(GROUP_WINDOW if self._gap < GROUP_WINDOW / 2 else 0, self.flush)
        committed = self.committed
        self._waiting += 1
        if self._waiting >= self.peers() and self._timer is not None:
            self._timer.cancel()
            self._timer = None
            loop.call_soon(self.flush)
        await committed

    def flush(self) -> None:
        sending, sent, committed = self.sending, self.sent, self.committed
        self.sending, self.sent, self.committed = [], [], None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        try:
            if sending or sent:
                self.state.deliveries.record_attempts(sending, sent)
        except Exception as exc:
            if committed is None or committed.done():
                raise
            committed.set_exception(exc)
        else:
            if committed is not None and not committed.done():
                committed.set_result(None)
