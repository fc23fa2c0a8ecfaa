"""Calendar parts every client accepts: both icalendar and the stricter `ical` parse each kind."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import icalendar
import pytest
from ical.calendar_stream import IcsCalendarStream
from meeting_project import meeting_project, send_every_kind

OSLO = ZoneInfo("Europe/Oslo")


def calendar_bytes(received) -> bytes:
    [part] = [p for p in received.message.walk() if p.get_content_type() == "text/calendar"]
    return part.get_payload(decode=True)


@pytest.fixture
def every_kind(tmp_path, smtp):
    return send_every_kind(meeting_project(tmp_path / "fylke"), smtp)


def test_every_kind_of_calendar_part_was_sent(every_kind):
    kinds = {key.split()[0] for key in every_kind}
    assert kinds == {
        "morgenmote@2026-11-24",
        "morgenmote@2026-11-24/update-1",
        "morgenmote@2026-11-24/reminder",
        "morgenmote@2026-11-24/cancel",
    }


def test_the_strict_parser_accepts_every_part_with_oslo_times(every_kind):
    for key, got in every_kind.items():
        cal = IcsCalendarStream.calendar_from_ics(calendar_bytes(got).decode())
        [event] = cal.events
        assert [tz.tz_id for tz in cal.timezones] == ["Europe/Oslo"], key
        assert str(event.dtstart.tzinfo) == "Europe/Oslo", key
        assert event.dtstart.astimezone(OSLO).date() == dt.date(2026, 11, 24), key


def test_icalendar_reads_every_part_with_tzid_europe_oslo(every_kind):
    for key, got in every_kind.items():
        cal = icalendar.Calendar.from_ical(calendar_bytes(got))
        [event] = cal.walk("VEVENT")
        assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Europe/Oslo"], key
        assert event["DTSTART"].params["TZID"] == "Europe/Oslo", key
        assert event["DTEND"].params["TZID"] == "Europe/Oslo", key


def test_every_line_ends_in_crlf_including_the_last(every_kind):
    for key, got in every_kind.items():
        data = calendar_bytes(got)
        assert data.endswith(b"END:VCALENDAR\r\n"), key
        assert b"\n" not in data.replace(b"\r\n", b""), key


def test_the_uid_is_the_occurrences_and_the_sequence_only_grows(every_kind):
    order = ["", "/update-1", "/reminder", "/cancel"]
    for address in ("ase@example.org", "bjorn@example.org"):
        events = [
            icalendar.Calendar.from_ical(
                calendar_bytes(every_kind[f"morgenmote@2026-11-24{suffix} {address}"])
            ).walk("VEVENT")[0]
            for suffix in order
        ]
        assert {str(e["UID"]) for e in events} == {"morgenmote-2026-11-24@testfylket.example"}
        sequences = [int(e["SEQUENCE"]) for e in events]
        assert sequences == sorted(sequences) and sequences[-1] > sequences[0]


def test_the_cancellation_keeps_the_time_it_announced(every_kind):
    got = every_kind["morgenmote@2026-11-24/cancel ase@example.org"]
    cal = IcsCalendarStream.calendar_from_ics(calendar_bytes(got).decode())
    assert cal.events[0].dtstart == dt.datetime(2026, 11, 24, 9, 0, tzinfo=OSLO)
    assert cal.events[0].status == "CANCELLED"
