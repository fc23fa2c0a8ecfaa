"""Few commits on the hot path, yet a kill never sends a message twice: see `Journal`."""

from __future__ import annotations

import asyncio
import datetime as dt

from mailer.state import State


class Journal:
    """The hot path's ledger writes (`sending` before an attempt, `sent` after), grouped.

    `sending` is committed before the message goes on the wire. `sent` is committed with the
    connection's next write, or before it waits for anything else, so a connection never
    starts a message while the previous one's outcome is uncommitted: a kill repeats at most
    the messages on the wire. Writes of connections that are ready at the same moment share
    one commit.
    """

    def __init__(self, state: State):
        self.state = state
        self.sending: list[tuple[int, dt.datetime]] = []
        self.sent: list[tuple[int, dt.datetime, str, str]] = []
        self.committed: asyncio.Future[None] | None = None

    def record_sent(self, delivery_id: int, when: dt.datetime, reply: str, message_id: str) -> None:
        self.sent.append((delivery_id, when, reply, message_id))

    async def record_sending(self, delivery_id: int, when: dt.datetime) -> None:
        self.sending.append((delivery_id, when))
        await self.commit()

    async def commit(self) -> None:
        if self.committed is None:
            if not (self.sending or self.sent):
                return
            loop = asyncio.get_running_loop()
            self.committed = loop.create_future()
            loop.call_soon(self.flush)
        await self.committed

    def flush(self) -> None:
        sending, sent, committed = self.sending, self.sent, self.committed
        self.sending, self.sent, self.committed = [], [], None
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
