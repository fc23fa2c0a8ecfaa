"""Calendar invitations (RFC 5545 / iTIP): one VEVENT per occurrence, one ATTENDEE per copy.

The calendar is built once per occurrence with icalendar; each member's copy only adds its
own ATTENDEE line, so no invitee ever sees another.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import icalendar

from mailer.project.mailings import Event

PRODID = "-//mailer//Norwegian county organisation//NO"


def fold(line: str) -> str:
    """Fold a content line at 75 octets without splitting a UTF-8 character (RFC 5545 3.1)."""
    out: list[str] = []
    current, size, limit = [], 0, 75
    for ch in line:
        n = len(ch.encode())
        if size + n > limit:
            out.append("".join(current))
            current, size, limit = [], 0, 74
        current.append(ch)
        size += n
    out.append("".join(current))
    return "\r\n ".join(out) + "\r\n"


def attendee_line(name: str, email: str) -> str:
    cn = name.replace('"', "'").replace("\r", " ").replace("\n", " ") or email
    return fold(
        f'ATTENDEE;CN="{cn}";CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;'
        f"RSVP=TRUE:mailto:{email}"
    )


def calendar_halves(
    event: Event, method: str, now: dt.datetime, description: str, zone: ZoneInfo
) -> tuple[str, str]:
    """The VCALENDAR text split where each copy's ATTENDEE line goes.

    Times are written in the organisation's named zone with its VTIMEZONE: a fixed offset
    (`TZID="UTC+01:00"`, as a time read back from the ledger carries) is refused by strict
    parsers and read as floating time by some clients.
    """
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    ev = icalendar.Event()
    ev.add("uid", event.uid)
    ev.add("dtstamp", now.astimezone(dt.UTC))
    ev.add("dtstart", event.start.astimezone(zone))
    ev.add("dtend", event.end.astimezone(zone))
    ev.add("summary", event.title)
    ev.add("sequence", event.sequence)
    location = ", ".join(p for p in (event.location, event.video_url) if p)
    if location:
        ev.add("location", location)
    if event.video_url:
        ev.add("url", event.video_url)
    if description:
        ev.add("description", description)
    organiser = icalendar.vCalAddress(f"mailto:{event.organiser.email}")
    organiser.params["cn"] = icalendar.vText(event.organiser.name)
    ev.add("organizer", organiser)
    ev.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    ev.add("transp", "OPAQUE")
    cal.add_component(ev)
    year = event.start.year
    cal.add_missing_timezones(first_date=dt.date(year - 1, 1, 1), last_date=dt.date(year + 1, 12, 31))
    text = cal.to_ical().decode()
    marker = "END:VEVENT\r\n"
    cut = text.index(marker)
    return text[:cut], text[cut:]
