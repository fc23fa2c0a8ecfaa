"""Quotas per minute, hour and day: the windows count what earlier runs sent, from the ledger."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from zoneinfo import ZoneInfo

from mailer.delivery.ratelimit import Clock, RateLimiter

OSLO = ZoneInfo("Europe/Oslo")
NOW = dt.datetime(2026, 12, 3, 18, 0, tzinfo=OSLO)


def limiter(per_minute=None, per_hour=None, per_day=None, sent=(), start=NOW) -> RateLimiter:
    sent = list(sent)
    return RateLimiter(
        per_minute, per_hour, per_day,
        sent_times=lambda since: [t for t in sent if t >= since],
        sent_count=lambda since: sum(1 for t in sent if t >= since),
        clock=Clock(start),
    )  # fmt: skip


def test_a_full_minute_window_waits_until_the_oldest_message_is_a_minute_old():
    rl = limiter(per_minute=3, sent=[NOW - dt.timedelta(seconds=s) for s in (50, 20, 10)])
    wait = rl._wait(time.monotonic())
    assert 9 <= wait <= 11


def test_a_minute_window_with_room_does_not_wait():
    rl = limiter(per_minute=3, sent=[NOW - dt.timedelta(seconds=s) for s in (90, 50, 20)])
    assert rl._wait(time.monotonic()) <= 0, "the message 90 s ago is outside the window"
    assert asyncio.run(rl.acquire()) is True
    assert 9 <= rl._wait(time.monotonic()) <= 11, "now three in the minute: wait for the one 50 s old"


def test_the_hour_window_counts_messages_sent_by_earlier_runs():
    rl = limiter(per_hour=5, sent=[NOW - dt.timedelta(minutes=m) for m in (40, 30, 20, 10, 5)])
    assert 19 * 60 <= rl._wait(time.monotonic()) <= 20 * 60 + 1


def test_the_daily_cap_stops_the_run_and_the_next_day_has_room_again():
    sent_today = [NOW.replace(hour=h) for h in (9, 10, 11)]
    rl = limiter(per_day=4, sent=sent_today)
    assert asyncio.run(rl.acquire()) is True
    assert asyncio.run(rl.acquire()) is False
    tomorrow = limiter(per_day=4, sent=sent_today, start=NOW + dt.timedelta(days=1))
    assert asyncio.run(tomorrow.acquire()) is True
