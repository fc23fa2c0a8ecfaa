"""Local times the clocks skip or pass twice (summer time) in schedules.yaml.

A fixed meeting or event time that does not exist (02:30 on the night summer time begins) is
refused with one line naming its place in the file; one that happens twice (02:30 on the night
it ends) is the earlier, and `mailer check` says so; a series whose time the clocks skip on one
date is held at the time calendars read it as (RFC 5545: 02:30 becomes 03:30), in the mail text
and in the calendar entry alike. Dates count from today, so that the tests hold on any day.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json

import pytest
from conftest import base_env, mailer

SKIPPED_OSLO = "does not exist in Europe/Oslo (clocks go from 02:00 to 03:00): choose another time"
TIME = 'time: "02:30"'
TWICE_OSLO = (
    "happens twice in Europe/Oslo (clocks go back from 03:00 to 02:00): the earlier one (UTC+02:00) is used"
)


def last_sunday(year: int, month: int) -> dt.date:
    end = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    return end - dt.timedelta(days=(end.weekday() - 6) % 7)


def second_sunday_of_march(year: int) -> dt.date:
    first = dt.date(year, 3, 1)
    return first + dt.timedelta(days=(6 - first.weekday()) % 7 + 7)


def next_day(rule) -> dt.date:
    """The first day after today that `rule(year)` names."""
    today = dt.date.today()
    return next(d for d in (rule(today.year), rule(today.year + 1)) if d > today)


def spring() -> dt.date:
    """The next night summer time begins in Europe/Oslo (the last Sunday of March)."""
    return next_day(lambda y: last_sunday(y, 3))


def autumn() -> dt.date:
    """The next night summer time ends in Europe/Oslo (the last Sunday of October)."""
    return next_day(lambda y: last_sunday(y, 10))


@pytest.fixture
def root(example):
    for path in (example / "recipients").iterdir():
        path.chmod(0o600)
    return example


def edit(root, old, new):
    path = root / "schedules.yaml"
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), "utf-8")


def line_of(root, text):
    """The 1-based line of schedules.yaml that starts with `text` (after indentation)."""
    lines = (root / "schedules.yaml").read_text("utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.strip().startswith(text))


def add_meeting(root, calendar: str, time: str = "19:00") -> None:
    """A night meeting for the board, first among the mailings; `calendar` is its dates or recurrence."""
    edit(
        root,
        "\nmailings:\n",
        "\nmailings:\n"
        "  nattmote:\n"
        "    kind: invitation\n"
        "    template: invitation\n"
        "    audience: fylkesstyret\n"
        '    subject: "Nattmøte {{ meeting.start|datetime }}"\n'
        "    meeting:\n"
        "      title: Nattmøte\n"
        "      location: Fylkeskontoret, Lillestrøm\n"
        f'      time: "{time}"\n'
        "      duration: 45m\n"
        f"      {calendar}\n"
        '    invite: {days_before: 14, at: "09:00"}\n',
    )


def add_event(root, start: str, end: str) -> None:
    edit(
        root,
        "\nevents:\n",
        "\nevents:\n"
        "  nattvandring:\n"
        "    title: Nattvandring\n"
        f"    start: {start}\n"
        f"    end: {end}\n"
        "    location: Lillestrøm\n"
        "    audience: alle-medlemmer\n",
    )


def one_line_failure(result, expected: str) -> None:
    assert result.code == 1, (result.out, result.err)
    assert "Traceback" not in result.err
    assert result.err.strip() == expected, result.err


def warnings(result, about: str) -> list[str]:
    return [line for line in result.err.splitlines() if about in line]


def calendar_and_text(root, mailing: str, tmp_path) -> tuple[str, str]:
    """The preview's calendar part and plain text."""
    out = tmp_path / "preview"
    result = mailer(root, "preview", mailing, "--out", str(out))
    assert result.code == 0, result.err
    message = email.message_from_bytes((out / "preview.eml").read_bytes(), policy=email.policy.default)
    parts = {p.get_content_type(): p.get_content() for p in message.walk() if not p.is_multipart()}
    return parts["text/calendar"], parts["text/plain"]


def meeting_starts(root, now: dt.datetime, days: int) -> dict[str, str]:
    result = mailer(
        root, "schedule", "--now", now.isoformat(timespec="minutes"), "--days", str(days), "--json"
    )
    assert result.code == 0, result.err
    return {m["id"]: m["meeting_start"] for m in json.loads(result.out) if m.get("meeting_start")}


@pytest.mark.parametrize(
    "command",
    [["check"], ["schedule"], ["status"], ["recipients"], ["run-due"]],
    ids=["check", "schedule", "status", "recipients", "run-due"],
)
def test_a_meeting_date_at_a_time_the_clocks_skip_is_refused_by_every_command(root, command):
    day = spring()
    add_meeting(root, f'dates: ["{day}T02:30"]')
    line = line_of(root, "dates:")
    expected = f"schedules.yaml:{line}: mailings.nattmote.meeting.dates: 02:30 on {day} {SKIPPED_OSLO}"
    one_line_failure(mailer(root, *command), expected if command == ["check"] else f"error: {expected}")


def test_a_meeting_at_a_time_the_clocks_skip_is_never_sent(root, smtp):
    day = spring()
    add_meeting(root, "dates: [" + str(day) + "]", time="02:30")
    invite = f"{day - dt.timedelta(days=14)}T09:00"
    result = mailer(root, "run-due", "--now", invite, env=base_env(**smtp.env()))
    one_line_failure(
        result,
        f"error: schedules.yaml:{line_of(root, 'dates:')}: mailings.nattmote.meeting.dates: 02:30 on {day} "
        + SKIPPED_OSLO,
    )
    assert smtp.received == []
    assert not (root / ".mailer" / "outbox").exists()


def test_a_moved_meeting_at_a_time_the_clocks_skip_is_refused(root):
    day = spring()
    add_meeting(
        root,
        f"recurrence: {{frequency: weekly, weekday: søndag, start: {day - dt.timedelta(days=28)}}}\n"
        f'      changes:\n        {day}: {{start: "{day}T02:15"}}',
    )
    one_line_failure(
        mailer(root, "check"),
        f"schedules.yaml:{line_of(root, f'{day}:')}: mailings.nattmote.meeting.changes.{day}.start: "
        f"02:15 on {day} {SKIPPED_OSLO}",
    )


def test_an_event_that_starts_at_a_time_the_clocks_skip_is_refused(root):
    day = spring()
    add_event(root, f"{day}T02:30", f"{day}T05:00")
    one_line_failure(
        mailer(root, "check"),
        f"schedules.yaml:{line_of(root, f'start: {day}T02:30')}: events.nattvandring.start: 02:30 on {day} "
        + SKIPPED_OSLO,
    )


def test_an_event_that_ends_at_a_time_the_clocks_skip_is_refused(root):
    day = spring()
    add_event(root, f"{day}T01:00", f"{day}T02:59")
    one_line_failure(
        mailer(root, "check"),
        f"schedules.yaml:{line_of(root, f'end: {day}T02:59')}: events.nattvandring.end: 02:59 on {day} "
        + SKIPPED_OSLO,
    )


def test_a_meeting_at_a_time_that_happens_twice_is_the_earlier_and_check_warns_once(root):
    day = autumn()
    add_meeting(root, f'dates: ["{day}T02:30"]')
    result = mailer(root, "check")
    assert result.code == 0, result.err
    assert warnings(result, "twice") == [
        f"warning: schedules.yaml:{line_of(root, 'dates:')}: mailings.nattmote.meeting.dates: 02:30 on {day} "
        + TWICE_OSLO
    ]
    starts = meeting_starts(root, dt.datetime.combine(day - dt.timedelta(days=20), dt.time(0)), 25)
    assert starts[f"nattmote@{day}"] == f"{day}T02:30:00+02:00"


def test_an_event_at_a_time_that_happens_twice_is_the_earlier_and_check_warns_once(root):
    day = autumn()
    add_event(root, f"{day}T02:30", f"{day}T04:00")
    result = mailer(root, "check")
    assert result.code == 0, result.err
    assert warnings(result, "twice") == [
        f"warning: schedules.yaml:{line_of(root, f'start: {day}T02:30')}: events.nattvandring.start: "
        f"02:30 on {day} {TWICE_OSLO}"
    ]


def test_a_series_held_when_the_clocks_skip_its_time_meets_an_hour_later_in_mail_and_calendar(root, tmp_path):
    day = spring()
    add_meeting(
        root,
        f"recurrence: {{frequency: weekly, weekday: søndag, start: {day - dt.timedelta(days=14)}}}",
        "02:30",
    )
    result = mailer(root, "check")
    assert result.code == 0, result.err
    assert warnings(result, f"on {day} does not exist") == [
        f"warning: schedules.yaml:{line_of(root, TIME)}: mailings.nattmote.meeting.time: 02:30 on "
        f"{day} does not exist in Europe/Oslo (clocks go from 02:00 to 03:00): that meeting is held "
        "at 03:30, as calendars read it; to choose another time, move it in meeting.changes"
    ]
    ics, text = calendar_and_text(root, f"nattmote@{day}", tmp_path)
    stamp = day.strftime("%Y%m%d")
    assert f"DTSTART;TZID=Europe/Oslo:{stamp}T033000" in ics.splitlines()
    assert f"DTEND;TZID=Europe/Oslo:{stamp}T041500" in ics.splitlines()
    assert "kl. 03.30" in text and "kl. 02.30" not in text
    starts = meeting_starts(root, dt.datetime.combine(day - dt.timedelta(days=20), dt.time(0)), 25)
    assert starts[f"nattmote@{day}"] == f"{day}T03:30:00+02:00"
    assert starts[f"nattmote@{day - dt.timedelta(days=7)}"] == f"{day - dt.timedelta(days=7)}T02:30:00+01:00"


def test_a_series_whose_time_happens_twice_on_one_date_is_the_earlier_and_check_warns(root):
    day = autumn()
    add_meeting(
        root,
        f"recurrence: {{frequency: weekly, weekday: søndag, start: {day - dt.timedelta(days=14)}}}",
        "02:30",
    )
    result = mailer(root, "check")
    assert result.code == 0, result.err
    assert warnings(result, "twice") == [
        f"warning: schedules.yaml:{line_of(root, TIME)}: mailings.nattmote.meeting.time: 02:30 on "
        f"{day} {TWICE_OSLO}"
    ]


def test_times_are_checked_in_the_organisations_own_time_zone(root):
    edit(root, "  timezone: Europe/Oslo\n", "  timezone: America/New_York\n")
    oslo, new_york = spring(), next_day(second_sunday_of_march)
    add_meeting(root, f'dates: ["{oslo}T02:30", "{new_york}T02:30"]')
    one_line_failure(
        mailer(root, "check"),
        f"schedules.yaml:{line_of(root, 'dates:')}: mailings.nattmote.meeting.dates: 02:30 on {new_york} "
        "does not exist in America/New_York (clocks go from 02:00 to 03:00): choose another time",
    )
