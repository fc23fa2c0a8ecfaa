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
    the messages on the wire. Writes of connections ready within `GROUP_WINDOW` of each other
    share one commit: the commit goes as soon as every connection `peers` counts is waiting for
    it, or when the window closes. A commit costs more than a message's own ledger rows, and
    a connection that waits a millisecond is not missed while the others keep the server busy.
    """

    def __init__(self, state: State, peers: Callable[[], int] = lambda: 1):
        self.state = state
        self.peers = peers
        self.sending: list[tuple[int, dt.datetime]] = []
        self.sent: list[tuple[int, dt.datetime, str, str]] = []
        self.committed: asyncio.Future[None] | None = None
        self._waiting = 0
        self._timer: asyncio.TimerHandle | None = None

    def record_sent(self, delivery_id: int, when: dt.datetime, reply: str, message_id: str) -> None:
        self.sent.append((delivery_id, when, reply, message_id))

    async def record_sending(self, delivery_id: int, when: dt.datetime) -> None:
        self.sending.append((delivery_id, when))
        await self.commit()

    async def commit(self) -> None:
        loop = asyncio.get_running_loop()
        if self.committed is None:
            if not (self.sending or self.sent):
                return
            self.committed = loop.create_future()
            self._waiting = 0
            self._timer = loop.call_later(GROUP_WINDOW, self.flush)
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
