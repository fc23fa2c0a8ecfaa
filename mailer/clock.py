"""The program's one clock: every "now" comes from here, and `--now` sets it.

Planning, the ledger, the web's links and forms, `check` and the scheduler's ticks all ask
`now()`. Set (`mailer --now T COMMAND`, a command's own `--now T`), the clock starts at T
and moves on with real time, so a simulated run or a `mailer --now T serve` ages as a real
one does. Unset, it is the machine's clock (which the tests may move with libfaketime).

What stays on the machine's clock on purpose: timers that measure durations (rate limits,
retries, the scheduler's minute), and the Date header and DKIM timestamp of each message,
which tell the receiving server when the message really left.
"""

from __future__ import annotations

import datetime as dt
import time

from mailer.errors import UserError

FIRST_YEAR, LAST_YEAR = 1970, 9000

_set: tuple[str | dt.datetime, float] | None = None
"""What `--now` said (text until a time zone is known, or a time) and when it was said."""


def parse(text: str, tz: dt.tzinfo) -> dt.datetime:
    """`--now` as given: ISO 8601, in the organisation's time zone unless it has an offset."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"--now '{text}' is not ISO 8601; write e.g. 2026-11-24T07:00") from None
    if not FIRST_YEAR <= value.year <= LAST_YEAR:  # the calendar looks a year and more around it
        raise UserError(
            f"--now '{text}' lies outside the years {FIRST_YEAR}–{LAST_YEAR}; write e.g. 2026-11-24T07:00"
        )
    if value.tzinfo is not None:
        return value.astimezone(tz)
    from mailer.project.dates import skipped

    gap = skipped(value, tz)
    if gap:  # taken as it stood, the time would carry the offset of neither side of the change
        raise UserError(f"--now '{text}': {gap}; write a time that exists, or give its offset")
    return value.replace(tzinfo=tz)


def set_now(when: str | dt.datetime) -> None:
    """The clock reads `when` now and moves on with real time; text starts at its first reading,
    when the organisation's time zone is known."""
    global _set
    _set = (when, time.monotonic())


def reset() -> None:
    global _set
    _set = None


def is_set() -> bool:
    return _set is not None


def now(tz: dt.tzinfo) -> dt.datetime:
    """The time now in `tz`: the set time moved on by the real time since, else the machine's."""
    global _set
    if _set is None:
        return dt.datetime.now(tz)
    when, since = _set
    if isinstance(when, str):
        _set = (parse(when, tz), time.monotonic())
        return _set[0]  # type: ignore[return-value]
    return (when + dt.timedelta(seconds=time.monotonic() - since)).astimezone(tz)


def start(text: str | None, tz: dt.tzinfo) -> dt.datetime:
    """The time a command runs at: its own `--now` exactly (which then sets the clock), else `now()`."""
    if text is None:
        return now(tz)
    when = parse(text, tz)
    set_now(when)
    return when
