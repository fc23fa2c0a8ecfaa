"""A meeting's calendar and send rules: the largest part of an invitation, apart from the other kinds."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, PositiveInt, field_validator, model_validator

from mailer.errors import UserError
from mailer.project.config_base import (
    WEEKDAYS,
    ConfigModel,
    Mailbox,
    parse_date,
    parse_duration,
    parse_local_datetime,
    parse_time,
)


class Recurrence(ConfigModel):
    frequency: Literal["weekly", "every-other-week", "monthly"]
    start: Annotated[dt.date, Field()]
    weekday: int | None = None
    day: int | None = Field(None, ge=1, le=31)
    week: int | None = None
    until: dt.date | None = None
    count: PositiveInt | None = None

    @field_validator("start", "until", mode="before")
    @classmethod
    def _dates(cls, v: Any) -> Any:
        return None if v is None else parse_date(v)

    @field_validator("weekday", mode="before")
    @classmethod
    def _weekday(cls, v: Any) -> int | None:
        if v is None:
            return None
        key = str(v).strip().casefold()
        if key not in WEEKDAYS:
            raise ValueError(f"'{v}' is not a weekday; write e.g. tuesday or tirsdag")
        return WEEKDAYS[key]

    @field_validator("week")
    @classmethod
    def _week(cls, v: int | None) -> int | None:
        if v is not None and v not in (1, 2, 3, 4, -1):
            raise ValueError("week must be 1, 2, 3, 4 or -1 (the last)")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Recurrence:
        if self.until is not None and self.until < self.start:
            raise ValueError(f"until ({self.until}) is before start ({self.start})")
        if self.frequency in ("weekly", "every-other-week") and self.weekday is None:
            raise ValueError(f"a {self.frequency} recurrence needs a weekday")
        if self.frequency == "monthly":
            if (self.day is None) == (self.week is None):
                raise ValueError("a monthly recurrence needs either day (1-31) or week + weekday")
            if self.week is not None and self.weekday is None:
                raise ValueError("a monthly recurrence by week needs a weekday")
        return self


def _local(value: Any) -> dt.datetime:
    """A meeting's local date and time; an offset would make the time zone two places to look."""
    text = str(value).strip()
    parsed = parse_local_datetime(text)
    if parsed.tzinfo is not None:
        raise ValueError(
            f"'{text}' has a UTC offset; write the local time without an offset, "
            f"e.g. {parsed.replace(tzinfo=None):%Y-%m-%dT%H:%M}"
        )
    return parsed


class OccurrenceChange(ConfigModel):
    """What the board changed for one date of a series."""

    cancelled: bool = False
    start: dt.datetime | None = None
    location: str | None = None
    agenda: str | None = None
    attachments: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, v: Any) -> Any:
        if v == "cancelled":
            return {"cancelled": True}
        if not isinstance(v, dict):
            written = "nothing is written" if v is None else f"'{v}' is not a change"
            raise ValueError(
                f"{written}; write cancelled, or a map of what changes "
                "(cancelled: true, start, location, agenda, attachments)"
            )
        return v

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, v: Any) -> Any:
        return None if v is None else _local(v)


class SendRule(ConfigModel):
    days_before: int = Field(ge=0)
    at: dt.time

    @field_validator("at", mode="before")
    @classmethod
    def _at(cls, v: Any) -> dt.time:
        return parse_time(v)


ANSWERS = ("yes", "no", "unanswered")


def _answers(values: Any) -> list[str]:
    """YAML reads a bare yes/no as true/false; both spellings mean the answer."""
    if not isinstance(values, list):
        values = [values]
    out = []
    for v in values:
        answer = {True: "yes", False: "no"}.get(v, v) if isinstance(v, bool) else str(v).strip().lower()
        if answer not in ANSWERS:
            raise ValueError(f"unknown answer '{v}'; use yes, no or unanswered")
        out.append(answer)
    if not out:
        raise ValueError("name at least one answer: yes, no or unanswered")
    return out


class ReminderRule(SendRule):
    """A reminder's time, and the answers whose members get it."""

    to: list[str] = Field(default_factory=lambda: ["yes", "unanswered"])

    @field_validator("to", mode="before")
    @classmethod
    def _to(cls, v: Any) -> list[str]:
        return _answers(v)


class UpdateRule(ConfigModel):
    """The answers whose members are told that a meeting changed (a cancellation goes to all)."""

    to: list[str] = Field(default_factory=lambda: ["yes", "unanswered"])

    @field_validator("to", mode="before")
    @classmethod
    def _to(cls, v: Any) -> list[str]:
        return _answers(v)


class Meeting(ConfigModel):
    title: str
    description: str = ""
    location: str | None = None
    video_url: str | None = None
    time: dt.time
    duration: dt.timedelta
    organiser: Mailbox | None = None
    recurrence: Recurrence | None = None
    dates: list[dt.datetime | dt.date] | None = None
    changes: dict[dt.date, OccurrenceChange] = Field(default_factory=dict)
    agenda: str | None = None
    attachments: list[str] = Field(default_factory=list)
    attendance_goal: PositiveInt | None = None

    @field_validator("time", mode="before")
    @classmethod
    def _time(cls, v: Any) -> dt.time:
        return parse_time(v)

    @field_validator("duration", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> dt.timedelta:
        duration = parse_duration(v)
        if duration <= dt.timedelta(0):
            raise ValueError("must be longer than zero")
        return duration

    @field_validator("dates", mode="before")
    @classmethod
    def _dates(cls, v: Any) -> Any:
        if v is None:
            return None
        if not isinstance(v, list):
            raise ValueError("must be a list of dates")
        return [_local(item) if len(str(item).strip()) > 10 else parse_date(item) for item in v]

    @field_validator("changes", mode="before")
    @classmethod
    def _change_keys(cls, v: Any) -> Any:
        """Checked here for a clear message; left as text so that an error names the date as written."""
        if not isinstance(v, dict):
            return v
        return {parse_date(k).isoformat(): c for k, c in v.items()}

    @field_validator("video_url")
    @classmethod
    def _video(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"https://\S+$", v):
            raise ValueError(f"'{v}' is not an https:// link")
        return v

    @model_validator(mode="after")
    def _one_calendar(self) -> Meeting:
        if (self.recurrence is None) == (self.dates is None):
            raise ValueError("give either a recurrence or a list of dates")
        if self.dates is not None:
            days = [d.date() if isinstance(d, dt.datetime) else d for d in self.dates]
            if not days:
                raise ValueError("the list of dates is empty")
            if len(set(days)) != len(days):
                raise ValueError("the list of dates names the same day twice")
        if not self.location and not self.video_url:
            raise ValueError("give a location, a video_url or both")
        return self


def agenda_text(root: Path, text: str | None) -> str | None:
    """An agenda's Markdown: written in schedules.yaml, or a file in the project it names."""
    if not text:
        return None
    path = root / text
    if text.endswith(".md") and path.is_file():
        try:
            return path.read_text("utf-8-sig")
        except UnicodeDecodeError:
            raise UserError(f"{text}: not UTF-8 text; save it as UTF-8") from None
    return text
