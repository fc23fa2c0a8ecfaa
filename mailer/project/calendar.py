"""Meeting series → occurrences (dates in local time), with the board's cancellations and moves."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from dateutil import rrule

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
        start = start.replace(tzinfo=tz) if start.tzinfo is None else start.astimezone(tz)
        if not (since <= start.date() <= until or since <= day <= until):
            continue
        out.append(
            Occurrence(
                series,
                day,
                start,
                start + meeting.duration,
                bool(change and change.cancelled),
                change,
            )
        )
    return out


def find(series: str, meeting: Meeting, tz: ZoneInfo, day: dt.date) -> Occurrence | None:
    for occ in occurrences(series, meeting, tz, day, day):
        if occ.day == day:
            return occ
    return None


def send_time(occ: Occurrence, rule: SendRule) -> dt.datetime:
    """When the mailing for an occurrence goes out, in the meeting's local time."""
    day = occ.start.date() - dt.timedelta(days=rule.days_before)
    return dt.datetime.combine(day, rule.at).replace(tzinfo=occ.start.tzinfo)
