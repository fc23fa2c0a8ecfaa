"""Dates and times written the Norwegian way (through Babel), and local times the clocks skip or
pass twice (summer time), read the way calendars read them."""

from __future__ import annotations

import datetime as dt

from babel.dates import format_date, format_datetime


def long_date(value: dt.date, language: str = "nb") -> str:
    """'tirsdag 24. november' (nynorsk: 'tysdag 24. november')."""
    return format_date(value, "EEEE d. MMMM", locale=language)


def long_date_year(value: dt.date, language: str = "nb") -> str:
    return format_date(value, "EEEE d. MMMM y", locale=language)


def clock(value: dt.datetime | dt.time, language: str = "nb") -> str:
    """'08.00', as Norwegian writes clock times."""
    return f"{value.hour:02d}.{value.minute:02d}"


def date_and_time(value: dt.datetime, language: str = "nb") -> str:
    """'tirsdag 24. november kl. 08.00'."""
    return format_datetime(value, "EEEE d. MMMM 'kl.' HH.mm", tzinfo=value.tzinfo, locale=language)


def date_year_and_time(value: dt.datetime, language: str = "nb") -> str:
    """'onsdag 17. november 2027 kl. 17.00': a list of events that reaches into next year."""
    return format_datetime(value, "EEEE d. MMMM y 'kl.' HH.mm", tzinfo=value.tzinfo, locale=language)


# -- local times the clocks skip or pass twice ----------------------------------------------

_MINUTE = dt.timedelta(minutes=1)
_SEARCH = 48 * 60
"""How far to look for the edge of a clock change, in minutes (the longest known skipped a day)."""


def zone_name(tz: dt.tzinfo) -> str:
    return str(getattr(tz, "key", None) or tz)


def real(local: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """The moment a local date and time names, as calendars read it (RFC 5545 3.3.5): a time the
    clocks skip is read with the offset before the change (02:30 becomes 03:30), a time they
    pass twice is the first of the two (zoneinfo's fold=0). The result's wall time is what mail
    text and calendar entries show, so they agree with the moment stored."""
    return local.replace(tzinfo=tz, fold=0).astimezone(dt.UTC).astimezone(tz)


def _is_skipped(local: dt.datetime, tz: dt.tzinfo) -> bool:
    return real(local, tz).replace(tzinfo=None) != local


def _is_doubled(local: dt.datetime, tz: dt.tzinfo) -> bool:
    first, second = (local.replace(tzinfo=tz, fold=f).utcoffset() for f in (0, 1))
    return first != second and not _is_skipped(local, tz)


def skipped(local: dt.datetime, tz: dt.tzinfo) -> str | None:
    """'02:30 on 2027-03-28 does not exist in Europe/Oslo (clocks go from 02:00 to 03:00)', or
    None when `local` (naive) exists."""
    if not _is_skipped(local, tz):
        return None
    edge = local.replace(second=0, microsecond=0)
    for _ in range(_SEARCH):
        if not _is_skipped(edge - _MINUTE, tz):
            break
        edge -= _MINUTE
    after = real(edge, tz)
    shape = "%H:%M" if after.date() == edge.date() else "%Y-%m-%d %H:%M"
    return (
        f"{local:%H:%M} on {local:%Y-%m-%d} does not exist in {zone_name(tz)} "
        f"(clocks go from {edge:{shape}} to {after:{shape}})"
    )


def doubled(local: dt.datetime, tz: dt.tzinfo) -> str | None:
    """'02:30 on 2027-10-31 happens twice in Europe/Oslo (clocks go back from 03:00 to 02:00):
    the earlier one (UTC+02:00) is used', or None when `local` (naive) happens once."""
    if not _is_doubled(local, tz):
        return None
    edge = local.replace(second=0, microsecond=0) + _MINUTE
    for _ in range(_SEARCH):
        if not _is_doubled(edge, tz):
            break
        edge += _MINUTE
    first, second = local.replace(tzinfo=tz, fold=0), local.replace(tzinfo=tz, fold=1)
    back = (first.utcoffset() or dt.timedelta(0)) - (second.utcoffset() or dt.timedelta(0))
    return (
        f"{local:%H:%M} on {local:%Y-%m-%d} happens twice in {zone_name(tz)} "
        f"(clocks go back from {edge:%H:%M} to {edge - back:%H:%M}): the earlier one "
        f"({_offset(first)}) is used"
    )


def refused(local: dt.datetime, tz: dt.tzinfo) -> str | None:
    """Why a fixed date and time the clocks skip is refused ('02:30 on … does not exist …: choose
    another time'), or None: reading it as some other time would announce a time nobody wrote."""
    gap = skipped(local, tz)
    return f"{gap}: choose another time" if gap else None


def doubled_ahead(local: dt.datetime, tz: dt.tzinfo, now: dt.datetime) -> str | None:
    """`doubled`'s words for a fixed date and time still ahead of `now`, else None."""
    twice = doubled(local, tz)
    return twice if twice and real(local, tz) >= now else None


def daily_changes(at: dt.time, tz: dt.tzinfo, now: dt.datetime, until: dt.date, held: str) -> list[str]:
    """A time of day on the first date after `now` (up to `until`) that the clocks skip (it is
    taken as calendars read it, `real`: '…: `held` 03:30') and on the first they pass it twice:
    each said once, as the same words every year would tell nothing new."""
    out: list[str] = []
    for said in (skipped, doubled):
        for n in range((until - now.date()).days + 1):
            local = dt.datetime.combine(now.date() + dt.timedelta(days=n), at)
            words = said(local, tz) if real(local, tz) >= now else None
            if words:
                out.append(f"{words}: {held} {real(local, tz):%H:%M}" if said is skipped else words)
                break
    return out


def _offset(moment: dt.datetime) -> str:
    total = int((moment.utcoffset() or dt.timedelta(0)).total_seconds()) // 60
    sign = "-" if total < 0 else "+"
    return f"UTC{sign}{abs(total) // 60:02d}:{abs(total) % 60:02d}"
