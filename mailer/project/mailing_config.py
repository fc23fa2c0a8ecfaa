"""The kinds of mailing schedules.yaml declares; each kind's settings in one model."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import Field, PositiveInt, field_validator

from mailer.project.config_base import ConfigModel, parse_date, parse_local_datetime, parse_time
from mailer.project.dates import real
from mailer.project.meeting_config import Meeting, ReminderRule, SendRule, UpdateRule


class NewsletterConfig(ConfigModel):
    kind: Literal["newsletter"]
    template: str
    audience: str
    subject: str = "{{ draft.subject }}"
    approvals_required: PositiveInt | None = None
    lifetime_hours: PositiveInt = 48
    pictures: Literal["hosted", "inline"] | None = None
    calendar: bool = False
    calendar_weeks: PositiveInt = 4
    archive: bool | None = None


class InvitationConfig(ConfigModel):
    kind: Literal["invitation"]
    template: str
    audience: str
    subject: str
    meeting: Meeting
    invite: SendRule = SendRule(days_before=3, at=dt.time(9, 0))
    reminder: ReminderRule | None = None
    update: UpdateRule = UpdateRule()


class FollowUpConfig(ConfigModel):
    """The second mail to a new member, some days after the welcome."""

    days_after: PositiveInt = 30
    template: str = "follow-up"
    subject: str = (
        "{% if language == 'nn' %}Korleis går det, {{ member.first_name }}?"
        "{% else %}Hvordan går det, {{ member.first_name }}?{% endif %}"
    )


class ChapterNoticeConfig(ConfigModel):
    """The daily notice to a chapter's leaders naming the new members welcomed that day."""

    template: str = "chapter-notice"
    subject: str = (
        "{% if language == 'nn' %}Nye medlemer i {{ chapter }}"
        "{% else %}Nye medlemmer i {{ chapter }}{% endif %}"
    )
    leader_role: str = "lokallagsleder"


class WelcomeConfig(ConfigModel):
    kind: Literal["welcome"]
    template: str
    audience: str
    subject: str
    window_days: int = 30
    at: dt.time = dt.time(10, 0)
    follow_up: FollowUpConfig | None = None
    chapter_notice: ChapterNoticeConfig | None = None

    @field_validator("window_days")
    @classmethod
    def _positive(cls, v: int) -> int:
        if v <= 0:
            raise ValueError(f"the window must be a positive number of days, not {v}")
        return v

    @field_validator("at", mode="before")
    @classmethod
    def _at(cls, v: Any) -> dt.time:
        return parse_time(v)

    def send_time(self, day: dt.date, tz: dt.tzinfo) -> dt.datetime:
        """When the welcomes (and their notices and follow-ups) of `day` go out: on the night the
        clocks skip `at`, as calendars read it (02:30 becomes 03:30), as a series' meeting does."""
        return real(dt.datetime.combine(day, self.at), tz)


class ReceiptConfig(ConfigModel):
    """The short mail a leader gets when an answer is saved through their link (a forwarded or
    misused link shows up in their own inbox)."""

    template: str = "consultation-receipt"
    subject: str = (
        "{% if language == 'nn' %}Svaret for {{ unit_label }} er lagra"
        "{% else %}Svaret for {{ unit_label }} er lagret{% endif %}"
    )


class ConsultationConfig(ConfigModel):
    """A consultation: one answer per chapter (or member) on a web form, by a deadline."""

    kind: Literal["consultation"]
    template: str = "consultation"
    audience: str
    subject: str = "{{ draft.subject }}"
    answer_per: Literal["chapter", "member"] = "chapter"
    deadline: dt.datetime | dt.date
    reminders: list[SendRule] = Field(default_factory=list)
    attachments: list[str] = Field(default_factory=list)
    approvals_required: PositiveInt | None = None
    receipt: ReceiptConfig | None = ReceiptConfig()

    @field_validator("deadline", mode="before")
    @classmethod
    def _deadline(cls, v: Any) -> Any:
        text = str(v).strip()
        return parse_local_datetime(text) if len(text) > 10 else parse_date(text)

    def closes_at(self, tz: dt.tzinfo) -> dt.datetime:
        """A date closes at the end of that day in the organisation's time zone. A date and time
        the clocks skip never gets here (loading schedules.yaml refuses it); one they pass twice
        is the earlier."""
        if isinstance(self.deadline, dt.datetime):
            d = self.deadline
            return real(d, tz) if d.tzinfo is None else d.astimezone(tz)
        return real(dt.datetime.combine(self.deadline + dt.timedelta(days=1), dt.time(0)), tz)

    def reminders_local(self, tz: dt.tzinfo) -> list[dt.datetime]:
        """Each reminder's date and time (naive, in the organisation's time zone), as written:
        `days_before` the deadline's day, at `at`."""
        day = self.closes_at(tz).date() if isinstance(self.deadline, dt.datetime) else self.deadline
        return [dt.datetime.combine(day - dt.timedelta(days=r.days_before), r.at) for r in self.reminders]


MailingConfig = Annotated[
    NewsletterConfig | InvitationConfig | WelcomeConfig | ConsultationConfig, Field(discriminator="kind")
]
