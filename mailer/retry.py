"""When to try a deferred delivery again: seconds within a run, then a mail server's schedule."""

from __future__ import annotations

import datetime as dt

IN_RUN_DELAYS = (1.0, 3.0, 8.0)
LATER = (5, 10, 20, 40, 60)  # minutes; then every hour until the lifetime ends
THROTTLE_PAUSE_MAX = 30.0
THROTTLES_PER_DELIVERY = 12
PERMANENT_STREAK_LIMIT = 10


def in_run_delay(tries_this_run: int) -> float | None:
    """Seconds to wait before retrying in the same run, or None when later runs take over."""
    return IN_RUN_DELAYS[tries_this_run - 1] if tries_this_run <= len(IN_RUN_DELAYS) else None


def next_attempt(attempts: int, now: dt.datetime) -> dt.datetime:
    """After `attempts` failed tries: 5, 10, 20, 40 minutes, then hourly."""
    index = max(attempts - len(IN_RUN_DELAYS) - 1, 0)
    minutes = LATER[index] if index < len(LATER) else LATER[-1]
    return now + dt.timedelta(minutes=minutes)


def gives_up(
    first_attempt: dt.datetime, lifetime: dt.timedelta, expires: dt.datetime | None, retry_at: dt.datetime
) -> bool:
    """True when the next try would come after the delivery's lifetime (or the meeting's start)."""
    if expires is not None and retry_at >= expires:
        return True
    return retry_at > first_attempt + lifetime
