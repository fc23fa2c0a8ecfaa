"""When to try a deferred delivery again: seconds within a run, then a mail server's schedule.

The run that hits a temporary failure retries it after a few seconds while it lasts. After
that, each later run (cron, the scheduler) makes one attempt when the delivery is due, at
growing distances, until the delivery's lifetime is over; then it is given up (`expired`).
Throttling replies pause the whole send instead, and do not count as attempts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

IN_RUN_DELAYS = (1.0, 2.0, 4.0)
LATER = (5, 10, 20, 40, 60)  # minutes; then every hour until the lifetime ends
THROTTLE_PAUSE_MIN = 0.5
THROTTLE_PAUSE_MAX = 30.0
THROTTLES_PER_DELIVERY = 12
PERMANENT_STREAK_LIMIT = 10


def in_run_delay(tries_this_run: int) -> float | None:
    """Seconds to wait before retrying in the same run, or None when later runs take over."""
    return IN_RUN_DELAYS[tries_this_run - 1] if tries_this_run <= len(IN_RUN_DELAYS) else None


def next_attempt(attempts: int, now: dt.datetime) -> dt.datetime:
    """After `attempts` failed tries in all (the first run's, then one per later run):
    5, 10, 20, 40 minutes, then hourly."""
    later = max(attempts - len(IN_RUN_DELAYS) - 1, 0)
    return now + dt.timedelta(minutes=LATER[min(later, len(LATER) - 1)])


def gives_up(
    first_attempt: dt.datetime, lifetime: dt.timedelta, expires: dt.datetime | None, retry_at: dt.datetime
) -> bool:
    """True when the next try would come after the delivery's lifetime (or the meeting's start)."""
    if expires is not None and retry_at >= expires:
        return True
    return retry_at > first_attempt + lifetime


def outlived(first_attempt: dt.datetime, lifetime: dt.timedelta, now: dt.datetime) -> bool:
    """A delivery tried before whose lifetime ended while no run came by: too late to send."""
    return now > first_attempt + lifetime


@dataclass
class Pause:
    """The server asks us to slow down: every connection pauses, longer if it keeps asking."""

    length: float = THROTTLE_PAUSE_MIN
    until: float = 0.0
    began: float = -1.0

    def slow_down(self, started: float, now: float) -> bool:
        """Pause from `now`; False when the attempt (begun at `started`) was already under way
        when this pause began, so a burst of replies on several connections counts once."""
        if started < self.began:
            return False
        self.began = now
        self.until = max(self.until, now + self.length)
        self.length = min(self.length * 2, THROTTLE_PAUSE_MAX)
        return True

    def eased(self) -> None:
        """A message went through: the next pause is shorter."""
        self.length = max(self.length / 2, THROTTLE_PAUSE_MIN)
