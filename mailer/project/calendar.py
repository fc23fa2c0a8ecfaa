"""Meeting series → occurrences (dates in local time), with the board's cancellations and moves.

A series' time that the clocks skip on one date (02:30 on the night summer time begins) is held
at the moment calendars read it as (RFC 5545 3.3.5: the offset before the change, so 03:30); a
time they pass twice is the first. The occurrence stores that moment, and the mail text and the
calendar entry are both written from it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from dateutil import rrule

from mailer.project import dates
from mailer.project.meeting_config import Meeting, OccurrenceChange, Recurrence, SendRule

_FREQ = {"weekly": (rrule.WEEKLY, 1), "every-other-week": (rrule.WEEKLY, 2), "monthly": (rrule.MONTHLY, 1)}


@dataclass(frozen=True)
class Occurrence:
    """One date of a series; `day` is the planned date and names it even when moved."""

    series: str
    day: dt.date
    start: dt.datetime
    end: dt.datetime
    cancelled: bool
    change: OccurrenceChange | None

    @property
    def id(self) -> str:
        return f"{self.series}@{self.day.isoformat()}"


def _rule(rec: Recurrence) -> rrule.rrule:
    freq, interval = _FREQ[rec.frequency]
    kwargs: dict[str, object] = {"dtstart": dt.datetime.combine(rec.start, dt.time()), "interval": interval}
    if rec.until:
        kwargs["until"] = dt.datetime.combine(rec.until, dt.time())
    if rec.count:
        kwargs["count"] = rec.count
    if rec.frequency == "monthly" and rec.day is not None:
        kwargs["bymonthday"] = rec.day
    elif rec.weekday is not None:
        weekday = rrule.weekday(rec.weekday)
        kwargs["byweekday"] = weekday(rec.week) if rec.frequency == "monthly" and rec.week else weekday
    return rrule.rrule(freq, **kwargs)  # type: ignore[arg-type]


def planned_days(meeting: Meeting, since: dt.date, until: dt.date) -> list[tuple[dt.date, dt.time]]:
    """Planned (date, time) pairs between two dates, inclusive, before any change."""
    if meeting.recurrence is not None:
        rule = _rule(meeting.recurrence)
        lo, hi = dt.datetime.combine(since, dt.time()), dt.datetime.combine(until, dt.time())
        return [(d.date(), meeting.time) for d in rule.between(lo, hi, inc=True)]
    out = []
    for item in meeting.dates or []:
        day, time = (item.date(), item.time()) if isinstance(item, dt.datetime) else (item, meeting.time)
        if since <= day <= until:
            out.append((day, time))
    return sorted(out)


def first_day(meeting: Meeting) -> dt.date | None:
    """The first planned date, or None when the recurrence never fires."""
    if meeting.recurrence is not None:
        first = _rule(meeting.recurrence).after(
            dt.datetime.combine(meeting.recurrence.start, dt.time()), inc=True
        )
        return first.date() if first else None
    days = planned_days(meeting, dt.date.min, dt.date.max)
    return days[0][0] if days else None


def last_day(meeting: Meeting) -> dt.date | None:
    """The last planned date of a series that ends (dates, or a recurrence with until or count)."""
    if meeting.recurrence is not None:
        if meeting.recurrence.until is None and meeting.recurrence.count is None:
            return None
        last = _rule(meeting.recurrence).before(dt.datetime.max)
        return last.date() if last else None
    days = planned_days(meeting, dt.date.min, dt.date.max)
    return days[-1][0] if days else None


def occurrences(
    series: str, meeting: Meeting, tz: ZoneInfo, since: dt.date, until: dt.date
) -> list[Occurrence]:
    """Occurrences whose planned or moved date falls between `since` and `until`."""
    slack = dt.timedelta(days=62)
    out = []
    for day, time in planned_days(meeting, since - slack, until + slack):
        change = meeting.changes.get(day)
        start = dt.datetime.combine(day, time)
        if change and change.start:
            start = change.start
        start = dates.real(start, tz) if start.tzinfo is None else start.astimezone(tz)
        if not (since <= start.date() <= until or since <= day <= until):
            continue
        end = dates.real(start.replace(tzinfo=None) + meeting.duration, tz)  # as the clock on the wall shows
        out.append(Occurrence(series, day, start, end, bool(change and change.cancelled), change))
    return out


def clock_changes(meeting: Meeting, tz: ZoneInfo, since: dt.date, until: dt.date) -> list[str]:
    """A recurrence's dates between `since` and `until` where the clocks skip its time or pass it
    twice, each said the way `mailer check` warns about it (a date the board moved is checked
    where it is written, in `changes`)."""
    if meeting.recurrence is None:
        return []
    out = []
    for day, time in planned_days(meeting, since, until):
        change = meeting.changes.get(day)
        if change and (change.cancelled or change.start):
            continue
        local = dt.datetime.combine(day, time)
        gap = dates.skipped(local, tz)
        if gap:
            out.append(
                f"{gap}: that meeting is held at {dates.real(local, tz):%H:%M}, as calendars read it; "
                "to choose another time, move it in meeting.changes"
            )
        twice = dates.doubled(local, tz)
        if twice:
            out.append(twice)
    return out


def find(series: str, meeting: Meeting, tz: ZoneInfo, day: dt.date) -> Occurrence | None:
    for occ in occurrences(series, meeting, tz, day, day):
        if occ.day == day:
            return occ
    return None


def send_time(occ: Occurrence, rule: SendRule) -> dt.datetime:
    """When the mailing for an occurrence goes out, in the meeting's local time."""
    day = occ.start.date() - dt.timedelta(days=rule.days_before)
    return dates.real(dt.datetime.combine(day, rule.at), occ.start.tzinfo or dt.UTC)
