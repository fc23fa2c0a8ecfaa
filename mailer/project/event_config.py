"""An event with places (`events:` in schedules.yaml): a meeting people sign up for, with questions.

A medlemstreff på Stortinget, a course, a theme meeting or a webinar: an invitation to an
audience like a meeting series, plus a number of places, an optional waiting list, questions
asked on the form (Stortinget's security check wants each visitor's date of birth), and a
date after which the answers are erased. Times are local to the organisation's time zone; one
the clocks skip is refused when schedules.yaml is loaded, one they pass twice is the first.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from pydantic import Field, PositiveInt, ValidationInfo, field_validator, model_validator

from mailer.project.config_base import ConfigModel, Mailbox, one_line, parse_date, parse_local_datetime
from mailer.project.dates import real
from mailer.project.meeting_config import SendRule

ID = re.compile(r"[a-z0-9][a-z0-9_-]*")
QUESTION_ID = re.compile(r"[a-z0-9][a-z0-9_]*")
RESERVED_QUESTION_IDS = {"csrf", "name", "email", "first_name", "last_name", "action", "website"}
QUESTION_TYPES = ("text", "date", "choice", "yes-no")
NOTICE_TEMPLATES = {
    "confirmation": "event-confirmation",
    "waiting": "event-waiting",
    "offer": "event-offer",
    "cancelled": "event-cancelled",
    "guest": "event-guest",
    "reminder": "event-reminder",
    "changed": "event-changed",
    "called-off": "event-called-off",
}
"""The messages to one registrant, each a template (with a nynorsk version) in templates/."""
DEFAULT_SUBJECT = "Invitasjon: {{ event.title }} {{ event.start|date }}"


def _local(value: Any, what: str) -> dt.datetime:
    """A local date and time; an offset would make the time zone two places to look."""
    parsed = parse_local_datetime(value)
    if parsed.tzinfo is not None:
        raise ValueError(f"write {what} as local time without an offset, e.g. 2027-05-26T17:00")
    return parsed


class Question(ConfigModel):
    """One question on the registration form; its id is its column in the export."""

    id: str
    label: str
    type: Literal["text", "date", "choice", "yes-no"] = "text"
    required: bool = False
    choices: list[str] = Field(default_factory=list)
    max_length: PositiveInt = 500

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not QUESTION_ID.fullmatch(v):
            raise ValueError(f"question id '{v}' may only use a-z, 0-9 and _ (it names a column)")
        if v in RESERVED_QUESTION_IDS:
            raise ValueError(f"question id '{v}' is taken by the form itself; choose another")
        return v

    @field_validator("label")
    @classmethod
    def _label(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("the label is empty; write the question as members should read it")
        return one_line(v.strip(), "the label")

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, v: Any) -> Any:
        if v not in QUESTION_TYPES:
            raise ValueError(f"unknown type '{v}'; use one of: {', '.join(QUESTION_TYPES)}")
        return v

    @model_validator(mode="after")
    def _choices(self) -> Question:
        if self.type == "choice":
            if len(self.choices) < 2:
                raise ValueError("a choice question needs at least two choices")
            if len(set(self.choices)) != len(self.choices):
                raise ValueError("a choice is listed twice")
            if any(not str(c).strip() or "\n" in str(c) for c in self.choices):
                raise ValueError("every choice is one non-empty line")
        elif self.choices:
            raise ValueError(f"choices belong to choice questions, not to {self.type}")
        return self


class EventConfig(ConfigModel):
    title: str
    description: str = ""
    start: dt.datetime
    end: dt.datetime
    location: str | None = None
    online: bool = False
    join_url: str | None = None
    organiser: Mailbox | None = None
    audience: str | None = None
    capacity: int | None = None
    waitlist: bool = False
    waitlist_offer_hours: PositiveInt | None = None
    open_to: Literal["members", "public"] = "members"
    registration_closes: dt.datetime | None = None
    questions: list[Question] = Field(default_factory=list)
    invite: SendRule | None = None
    reminder: SendRule | None = None
    forget_after_days: int = Field(30, ge=0)
    template: str = "event-invitation"
    subject: str = DEFAULT_SUBJECT

    @field_validator("title")
    @classmethod
    def _title(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("the title is empty")
        return one_line(v.strip(), "the title")

    @field_validator("start", "end", mode="before")
    @classmethod
    def _times(cls, v: Any) -> dt.datetime:
        return _local(v, "the time")

    @field_validator("end")
    @classmethod
    def _after_start(cls, v: dt.datetime, info: ValidationInfo) -> dt.datetime:
        start = info.data.get("start")
        if start is not None and v <= start:
            raise ValueError(f"the end ({v:%Y-%m-%d %H:%M}) is not after the start ({start:%Y-%m-%d %H:%M})")
        return v

    @field_validator("registration_closes", mode="before")
    @classmethod
    def _closes(cls, v: Any) -> dt.datetime | None:
        """A date closes at the end of that day, as a consultation's deadline does."""
        if v is None:
            return None
        text = str(v).strip()
        if len(text) <= 10:
            return dt.datetime.combine(parse_date(text) + dt.timedelta(days=1), dt.time(0))
        return _local(text, "registration_closes")

    @field_validator("registration_closes")
    @classmethod
    def _before_start(cls, v: dt.datetime | None, info: ValidationInfo) -> dt.datetime | None:
        start = info.data.get("start")
        if v is not None and start is not None and v > start:
            when = (
                f"the end of {v.date() - dt.timedelta(days=1)}"
                if v.time() == dt.time(0)
                else f"{v:%Y-%m-%d %H:%M}"
            )
            raise ValueError(
                f"registration closes ({when}) after the event starts ({start:%Y-%m-%d %H:%M}); "
                "close it before the event begins"
            )
        return v

    @field_validator("waitlist_offer_hours")
    @classmethod
    def _offers_need_a_list(cls, v: int | None, info: ValidationInfo) -> int | None:
        if v is not None and not info.data.get("waitlist"):
            raise ValueError("offers are made from the waiting list: add waitlist: true")
        return v

    @field_validator("questions")
    @classmethod
    def _unique_ids(cls, v: list[Question]) -> list[Question]:
        ids = [q.id for q in v]
        for twice in sorted({i for i in ids if ids.count(i) > 1}):
            raise ValueError(f"the question id '{twice}' is used twice; each id names one column")
        return v

    @field_validator("capacity")
    @classmethod
    def _capacity(cls, v: int | None) -> int | None:
        if v is not None and v < 1:
            raise ValueError(f"capacity must be at least 1 (leave it out for no limit), not {v}")
        return v

    @field_validator("join_url")
    @classmethod
    def _join_url(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"https://\S+", v):
            raise ValueError(f"'{v}' is not an https:// link")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> EventConfig:
        if not self.location and not self.online:
            raise ValueError("location is missing: give one, or online: true with a join_url")
        if self.online and not self.join_url:
            raise ValueError("join_url is missing: an online event needs one (sent only to those registered)")
        if self.waitlist and self.capacity is None:
            raise ValueError("capacity is missing: a waiting list needs a number of places")
        if self.open_to == "members" and not self.audience:
            raise ValueError("audience is missing: a members-only event needs one (who is invited)")
        return self

    # -- in the organisation's time zone ---------------------------------------------------

    def starts(self, tz: dt.tzinfo) -> dt.datetime:
        return real(self.start, tz)

    def ends(self, tz: dt.tzinfo) -> dt.datetime:
        return real(self.end, tz)

    def closes(self, tz: dt.tzinfo) -> dt.datetime:
        """When the form stops taking registrations: `registration_closes`, else the start."""
        return real(self.registration_closes or self.start, tz)

    def invite_rule(self) -> SendRule | None:
        """When the invitation goes out; two weeks ahead at 09:00 unless `invite:` says otherwise."""
        if not self.audience:
            return None
        return self.invite or SendRule(days_before=14, at=dt.time(9, 0))

    def send_time(self, rule: SendRule, tz: dt.tzinfo) -> dt.datetime:
        day = self.start.date() - dt.timedelta(days=rule.days_before)
        return real(dt.datetime.combine(day, rule.at), tz)

    def forget_at(self, tz: dt.tzinfo) -> dt.datetime:
        return self.ends(tz) + dt.timedelta(days=self.forget_after_days)
