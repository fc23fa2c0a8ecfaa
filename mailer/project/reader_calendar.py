"""The reader's own calendar in a newsletter: the meetings each reader is invited to soon.

Who is invited to a series is its audience, so readers fall into groups by the set of
series that invite them; the calendar (and the MJML) is made once per group and language,
never per member. The dates come from the same series as the invitations, and each one
carries the same "Jeg kommer" link, so newsletter and invitations tell the same story.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from mailer.project import calendar
from mailer.project.audiences import Audience
from mailer.project.config import Config
from mailer.project.mailing_config import InvitationConfig
from mailer.project.members import Member

RSVP_PREFIX = "rsvp_yes_url@"


@dataclass(frozen=True)
class Entry:
    """One meeting as the calendar section lists it."""

    occurrence_id: str
    title: str
    start: dt.datetime
    end: dt.datetime
    location: str | None

    @property
    def rsvp_key(self) -> str:
        """The per-member value that holds this reader's "Jeg kommer" link."""
        return RSVP_PREFIX + self.occurrence_id


@dataclass(frozen=True)
class SeriesDates:
    series: str
    audience: Audience
    entries: tuple[Entry, ...]


def planned_from(send_at: dt.datetime, lifetime: dt.timedelta, now: dt.datetime) -> dt.datetime:
    """Where the calendar the board approves begins: at the send time, or, for an issue past its
    lifetime (sent late by hand), at the start of today.

    Each copy then leaves out the meetings held by the time it is built (`entries_for`), so a
    late issue never lists a meeting already held, and an issue previewed, approved and sent on
    the same day keeps the fingerprint the board approved even when a meeting is held in between.
    """
    if now < send_at + lifetime:
        return send_at
    return dt.datetime.combine(now.date(), dt.time(), tzinfo=now.tzinfo)


def upcoming(
    config: Config, since: dt.datetime, weeks: int, audience: Callable[[str], Audience]
) -> tuple[SeriesDates, ...]:
    """Each meeting series' occurrences from `since` to `weeks` later, cancelled ones left out."""
    tz = config.organisation.tz
    until = since + dt.timedelta(weeks=weeks)
    out = []
    for series, cfg in sorted(config.mailings.items()):
        if not isinstance(cfg, InvitationConfig):
            continue
        entries = tuple(
            Entry(occ.id, cfg.meeting.title, occ.start, occ.end, _location(cfg, occ))
            for occ in calendar.occurrences(series, cfg.meeting, tz, since.date(), until.date())
            if not occ.cancelled and since <= occ.start < until
        )
        if entries:
            out.append(SeriesDates(series, audience(cfg.audience), entries))
    return tuple(out)


def _location(cfg: InvitationConfig, occ: calendar.Occurrence) -> str | None:
    if occ.change and occ.change.location:
        return occ.change.location
    return cfg.meeting.location or ("Digitalt" if cfg.meeting.video_url else None)


def group_of(dates: tuple[SeriesDates, ...], member: Member, today: dt.date) -> tuple[str, ...]:
    """The series that invite this member: the key of the calendar they see."""
    return tuple(s.series for s in dates if s.audience.includes(member, today))


def entries_for(
    dates: tuple[SeriesDates, ...], group: tuple[str, ...], since: dt.datetime | None = None
) -> list[Entry]:
    """A group's meetings in order of time, those starting before `since` left out."""
    chosen = [e for s in dates if s.series in group for e in s.entries if since is None or e.start >= since]
    return sorted(chosen, key=lambda e: (e.start, e.occurrence_id))


def digest(dates: tuple[SeriesDates, ...]) -> str:
    """What the board approves about the calendar: which meetings, and who is invited."""
    data = [
        [
            s.series,
            s.audience.name,
            [[e.occurrence_id, e.start.isoformat(), e.title, e.location] for e in s.entries],
        ]
        for s in dates
    ]
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
