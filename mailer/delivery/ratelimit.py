"""Sending within a relay's quota: messages per minute, hour and day."""

from __future__ import annotations

import asyncio
import bisect
import datetime as dt
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Clock:
    """`--now` moving forward with real time, so a simulated run ages like a real one."""

    start: dt.datetime
    _mono: float = field(default_factory=time.monotonic)

    def now(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=time.monotonic() - self._mono)

    def mono(self, when: dt.datetime) -> float:
        return self._mono + (when - self.start).total_seconds()


@dataclass
class RateLimiter:
    """Sliding windows per minute and hour, and a daily cap (a calendar day, local time).

    The windows start with what the ledger says was sent in the last hour and today, so a
    cron job that starts a new process every minute stays inside the same quota.
    """

    per_minute: int | None
    per_hour: int | None
    per_day: int | None
    sent_times: Callable[[dt.datetime], list[dt.datetime]]
    sent_count: Callable[[dt.datetime], int]
    clock: Clock
    _recent: deque[float] = field(default_factory=deque)
    _day: dt.date | None = None
    _today: int = 0

    def __post_init__(self) -> None:
        now = self.clock.now()
        if self.per_minute or self.per_hour:
            self._recent.extend(
                sorted(self.clock.mono(t) for t in self.sent_times(now - dt.timedelta(hours=1)))
            )
        self._new_day(now)

    def _new_day(self, now: dt.datetime) -> None:
        self._day = now.date()
        if self.per_day:
            midnight = dt.datetime.combine(now.date(), dt.time(), tzinfo=now.tzinfo)
            self._today = self.sent_count(midnight)

    @property
    def day_exhausted(self) -> bool:
        return self.per_day is not None and self._today >= self.per_day

    def room_today(self) -> bool:
        """Whether today's quota (a calendar day at `now`) has room for one more message."""
        now = self.clock.now()
        if now.date() != self._day:
            self._new_day(now)
        return not self.day_exhausted

    def _wait(self, t: float) -> float:
        recent = self._recent
        while recent and t - recent[0] >= 3600:
            recent.popleft()
        wait = 0.0
        if self.per_hour and len(recent) >= self.per_hour:
            wait = recent[len(recent) - self.per_hour] + 3600 - t
        if self.per_minute:
            start = bisect.bisect_right(recent, t - 60)
            if len(recent) - start >= self.per_minute:
                wait = max(wait, recent[len(recent) - self.per_minute] + 60 - t)
        return wait

    async def acquire(self) -> bool:
        """Wait for room in the minute and hour windows; False when today's quota is used."""
        if not self.room_today():
            return False
        if self.per_minute or self.per_hour:
            while (wait := self._wait(time.monotonic())) > 0:
                await asyncio.sleep(min(wait, 5.0))
            self._recent.append(time.monotonic())
        self._today += 1
        return True
