"""What all of schedules.yaml's models share, so the organisation and the kinds need not import each other."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from mailer.project.addresses import check_email

WEEKDAYS = {
    "monday": 0,
    "mandag": 0,
    "måndag": 0,
    "tuesday": 1,
    "tirsdag": 1,
    "tysdag": 1,
    "wednesday": 2,
    "onsdag": 2,
    "thursday": 3,
    "torsdag": 3,
    "friday": 4,
    "fredag": 4,
    "saturday": 5,
    "lørdag": 5,
    "laurdag": 5,
    "sunday": 6,
    "søndag": 6,
    "sundag": 6,
}


def normalise_name(value: str) -> str:
    """Role, region and municipality names compare without case and spacing differences."""
    return re.sub(r"[\s_-]+", "-", value.strip().casefold())


def parse_duration(value: Any) -> dt.timedelta:
    if isinstance(value, dt.timedelta):
        return value
    if isinstance(value, int):
        return dt.timedelta(minutes=value)
    text = str(value).strip().lower().replace(" ", "")
    match = re.fullmatch(r"(?:(\d+)(?:h|t|timer?|hours?))?(?:(\d+)(?:m|min|minutes?|minutter))?", text)
    if not text or not match or not any(match.groups()):
        raise ValueError(f"'{value}' is not a duration; write e.g. 45m, 1h or 1h30m")
    return dt.timedelta(hours=int(match[1] or 0), minutes=int(match[2] or 0))


def parse_time(value: Any) -> dt.time:
    if isinstance(value, dt.time):
        return value
    match = re.fullmatch(r"(\d{1,2})[:.](\d{2})", str(value).strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f"'{value}' is not a time of day; write e.g. 08:00")
    return dt.time(int(match[1]), int(match[2]))


def parse_local_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    try:
        return dt.datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"'{value}' is not a date and time; write e.g. 2026-12-21T08:00") from None


def one_line(value: str, what: str) -> str:
    """Header-bound text: a line break here would let text become a header of its own."""
    if "\n" in value or "\r" in value:
        raise ValueError(f"{what} must be one line")
    return value


def parse_date(value: Any) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"'{value}' is not a valid date; write e.g. 2026-12-21") from None


class ConfigModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Mailbox(ConfigModel):
    name: str
    email: str

    @field_validator("email")
    @classmethod
    def _valid_email(cls, v: str) -> str:
        try:
            return check_email(v)
        except ValueError as exc:
            raise ValueError(f"'{v}' is not a valid email address ({exc})") from None

    @field_validator("name")
    @classmethod
    def _one_line(cls, v: str) -> str:
        return one_line(v, "the name")
