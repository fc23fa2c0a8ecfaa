"""Dates and times written the Norwegian way, in bokmål or nynorsk (through Babel)."""

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


def parse_now(text: str | None, tz: dt.tzinfo) -> dt.datetime:
    """`--now` as given (ISO 8601, in the organisation's time zone unless it has an offset),
    else the program's clock (see `mailer.clock`)."""
    from mailer import clock

    return clock.now(tz) if text is None else clock.parse(text, tz)
