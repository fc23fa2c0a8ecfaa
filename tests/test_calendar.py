"""Occurrences of a meeting series: recurrences, year boundaries, summer time, the board's changes."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

from mailer.project.calendar import occurrences
from mailer.project.meeting_config import Meeting

OSLO = ZoneInfo("Europe/Oslo")


def meeting(**kw) -> Meeting:
    base = {"title": "Møte", "location": "Digitalt", "time": "08:00", "duration": "45m"}
    return Meeting.model_validate({**base, **kw})


def test_every_other_week_across_the_year_boundary_and_summer_time_stays_at_0800_local():
    m = meeting(recurrence={"frequency": "every-other-week", "weekday": "tuesday", "start": "2026-10-13"})
    occ = occurrences("forum", m, OSLO, dt.date(2026, 10, 1), dt.date(2027, 4, 30))
    days = [o.day for o in occ]
    assert days[0] == dt.date(2026, 10, 13)
    assert all((b - a).days == 14 for a, b in itertools.pairwise(days))
    assert dt.date(2026, 12, 22) in days and dt.date(2027, 1, 5) in days
    assert all(o.start.hour == 8 and o.start.minute == 0 and o.start.tzinfo == OSLO for o in occ)
    offsets = {o.day: o.start.utcoffset() for o in occ}
    assert offsets[dt.date(2026, 10, 13)] == dt.timedelta(hours=2)  # summer time
    assert offsets[dt.date(2026, 10, 27)] == dt.timedelta(hours=1)  # after the change on 25 October
    assert offsets[dt.date(2027, 3, 16)] == dt.timedelta(hours=1)
    assert offsets[dt.date(2027, 3, 30)] == dt.timedelta(hours=2)  # after the change on 28 March


def test_weekly_with_an_end_date_and_norwegian_weekday():
    m = meeting(
        recurrence={"frequency": "weekly", "weekday": "mandag", "start": "2026-11-01", "until": "2026-11-30"}
    )
    days = [o.day for o in occurrences("m", m, OSLO, dt.date(2026, 1, 1), dt.date(2027, 12, 31))]
    assert days == [dt.date(2026, 11, d) for d in (2, 9, 16, 23, 30)]


def test_monthly_on_the_first_thursday_and_on_a_day_of_the_month():
    first_thursday = meeting(
        recurrence={"frequency": "monthly", "week": 1, "weekday": "torsdag", "start": "2026-09-01"}
    )
    days = [o.day for o in occurrences("w", first_thursday, OSLO, dt.date(2026, 9, 1), dt.date(2026, 12, 31))]
    assert days == [dt.date(2026, 9, 3), dt.date(2026, 10, 1), dt.date(2026, 11, 5), dt.date(2026, 12, 3)]
    fifteenth = meeting(recurrence={"frequency": "monthly", "day": 15, "start": "2026-09-01", "count": 3})
    days = [o.day for o in occurrences("m", fifteenth, OSLO, dt.date(2026, 1, 1), dt.date(2027, 12, 31))]
    assert days == [dt.date(2026, 9, 15), dt.date(2026, 10, 15), dt.date(2026, 11, 15)]


def test_a_moved_occurrence_keeps_its_id_and_a_cancelled_one_is_marked():
    m = meeting(
        recurrence={
            "frequency": "weekly",
            "weekday": "tuesday",
            "start": "2026-12-01",
            "until": "2026-12-29",
        },
        changes={"2026-12-15": {"start": "2026-12-16T09:00"}, "2026-12-29": "cancelled"},
    )
    occ = {o.id: o for o in occurrences("t", m, OSLO, dt.date(2026, 12, 1), dt.date(2026, 12, 31))}
    moved = occ["t@2026-12-15"]
    assert moved.start == dt.datetime(2026, 12, 16, 9, 0, tzinfo=OSLO)
    assert moved.end - moved.start == dt.timedelta(minutes=45)
    assert occ["t@2026-12-29"].cancelled and not occ["t@2026-12-22"].cancelled


def test_a_date_list_with_times_of_its_own():
    m = meeting(dates=["2026-12-03", "2027-03-11T16:00"], time="17:00", duration="3h")
    occ = occurrences("o", m, OSLO, dt.date(2026, 1, 1), dt.date(2027, 12, 31))
    assert [(o.start.hour, (o.end - o.start).seconds // 3600) for o in occ] == [(17, 3), (16, 3)]
