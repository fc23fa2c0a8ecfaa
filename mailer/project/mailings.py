"""Mailings: one thing to send once (a newsletter issue, a meeting occurrence, the welcome).

Also what a mailing carries along: its meeting (`Event`) or its consultation (`Consultation`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mailer.project import dates
from mailer.project.audiences import Audience
from mailer.project.config_base import Mailbox
from mailer.project.drafts import Question

if TYPE_CHECKING:
    from mailer.project.pictures import PictureRef
    from mailer.project.reader_calendar import SeriesDates

Kind = Literal["newsletter", "invitation", "welcome", "consultation", "event", "notice"]
"""`event`: an event's invitation to its audience; `notice`: a message to one person (delivery.notices)."""
KIND_NAMES: dict[str, str] = {
    "newsletter": "nyhetsbrev",
    "invitation": "invitasjon",
    "welcome": "velkomst",
    "consultation": "høring",
    "event": "arrangement",
    "notice": "beskjed",
}
"""Each kind as the board's pages and reports name it."""
Change = Literal["reminder", "update", "cancel"]


@dataclass(frozen=True)
class Event:
    """One meeting as the calendar invitation describes it."""

    uid: str
    series: str
    occurrence: dt.date
    start: dt.datetime
    end: dt.datetime
    title: str
    organiser: Mailbox
    location: str | None = None
    video_url: str | None = None
    description: str = ""
    agenda: str | None = None
    attachments: tuple[Path, ...] = ()
    cancelled: bool = False
    sequence: int = 0

    def digest_fields(self) -> dict[str, Any]:
        """What attendees see in their calendar: a change here means an update goes out."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "title": self.title,
            "location": self.location,
            "video_url": self.video_url,
            "description": self.description,
            "cancelled": self.cancelled,
        }


@dataclass(frozen=True)
class Consultation:
    """What the form, the reminders and the board's list need to know about one consultation."""

    id: str
    series: str
    questions: tuple[Question, ...]
    deadline: dt.datetime
    answer_per: Literal["chapter", "member"]
    reminder: int | None = None

    def is_open(self, now: dt.datetime) -> bool:
        return now < self.deadline

    def deadline_label(self, language: str = "nb") -> str:
        """'mandag 1. februar' for a deadline given as a date (it closes at midnight after it)."""
        if self.deadline.time() == dt.time(0):
            return dates.long_date((self.deadline - dt.timedelta(days=1)).date(), language)
        return dates.date_and_time(self.deadline, language)

    @property
    def deadline_iso(self) -> str:
        """The last day when given as a date, else the date and time."""
        if self.deadline.time() == dt.time(0):
            return (self.deadline - dt.timedelta(days=1)).date().isoformat() + " (end of day)"
        return f"{self.deadline:%Y-%m-%d %H:%M}"


@dataclass(frozen=True)
class Mailing:
    """What to send, to whom and when; its id is what the ledger promises 'at most once' for."""

    id: str
    kind: Kind
    series: str
    audience: Audience
    template: str
    subject: str
    send_at: dt.datetime
    closes_at: dt.datetime
    expires_at: dt.datetime | None
    retry_lifetime: dt.timedelta
    context: Mapping[str, Any] = field(default_factory=dict)
    markdown_body: str | None = None
    approvals_required: int = 0
    event: Event | None = None
    change: Change | None = None
    new_members_within: int | None = None
    answers: frozenset[str] | None = None  # a reminder's or update's: whose RSVP answer gets it
    consultation: Consultation | None = None
    attachments: tuple[Path, ...] = ()
    pictures: tuple[PictureRef, ...] = ()
    language_versions: Mapping[str, tuple[str, Mapping[str, Any]]] = field(default_factory=dict)
    """A language's own Markdown body and context (a newsletter's nynorsk draft)."""
    pictures_inline: bool = False
    logo: PictureRef | None = None
    calendar: tuple[SeriesDates, ...] = ()
    """The reader's own calendar (newsletters with `calendar: true`): the meetings the board approves."""
    calendar_shown_from: dt.datetime | None = None
    """Meetings of `calendar` that start before this are left out of the copies (held by then)."""
    archive: bool | None = None
    """`archive:` as the draft or schedules.yaml set it (None: decided by the audience)."""

    @property
    def published(self) -> bool:
        """A newsletter goes to the public archive only when it is meant for everyone."""
        if self.kind != "newsletter":
            return False
        return self.archive if self.archive is not None else self.audience.everyone

    @property
    def category(self) -> str:
        """What a member unsubscribes from: the newsletter, or one meeting series."""
        return self.series

    @property
    def needs_approval(self) -> bool:
        return self.approvals_required > 0

    def is_open(self, now: dt.datetime) -> bool:
        """New recipients are still added (the send time has come and the window is open)."""
        return self.send_at <= now < self.closes_at

    def past_lifetime(self, now: dt.datetime) -> bool:
        """A newsletter whose lifetime ended before it went out: run-due no longer sends it."""
        return self.kind == "newsletter" and self.expires_at is None and now >= self.closes_at

    def starting_now(self, now: dt.datetime) -> Mailing:
        """The mailing as sent by hand now: ahead of its planned time, or, for a newsletter past
        its lifetime, as if planned now. The lifetime protects against a stale cron catch-up,
        not against a person typing `mailer send`; the new deliveries' lifetime counts from now."""
        if self.send_at <= now and not self.past_lifetime(now):
            return self
        closes = self.closes_at if self.expires_at else now + (self.closes_at - self.send_at)
        return dataclasses.replace(self, send_at=now, closes_at=closes)

    def too_late(self, now: dt.datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at
