"""schedules.yaml: everything the organisation decides, parsed once into typed models."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)

from mailer.errors import ProblemList
from mailer.project.addresses import check_email
from mailer.project.yamlfile import line_of, load_yaml

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


def _parse_duration(value: Any) -> dt.timedelta:
    if isinstance(value, dt.timedelta):
        return value
    if isinstance(value, int):
        return dt.timedelta(minutes=value)
    text = str(value).strip().lower().replace(" ", "")
    match = re.fullmatch(r"(?:(\d+)(?:h|t|timer?|hours?))?(?:(\d+)(?:m|min|minutes?|minutter))?", text)
    if not text or not match or not any(match.groups()):
        raise ValueError(f"'{value}' is not a duration; write e.g. 45m, 1h or 1h30m")
    return dt.timedelta(hours=int(match[1] or 0), minutes=int(match[2] or 0))


def _parse_time(value: Any) -> dt.time:
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


def _parse_date(value: Any) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"'{value}' is not a valid date; write e.g. 2026-12-21") from None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Mailbox(_Model):
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


_HEX = re.compile(r"#[0-9a-fA-F]{6}")


class Colours(_Model):
    """The organisation's colours; every template reads them (a header, buttons, links)."""

    primary: str = "#00843d"
    on_primary: str = "#ffffff"
    background: str = "#f2f4f0"
    text: str = "#1f2a1f"

    @field_validator("primary", "on_primary", "background", "text")
    @classmethod
    def _hex(cls, v: str) -> str:
        if not _HEX.fullmatch(str(v)):
            raise ValueError(f"'{v}' is not a colour; write it as #rrggbb, e.g. #00843d")
        return v


class Organisation(_Model):
    name: str
    sender: Mailbox
    reply_to: Mailbox | None = None
    timezone: str = "Europe/Oslo"
    language: Literal["nb", "nn"] = "nb"
    base_url: str | None = None
    board_audience: str
    approvals_required: PositiveInt = 1
    unsubscribe_email: str | None = None
    address: str = ""
    links: dict[str, str] = Field(default_factory=dict)
    retention_days: PositiveInt = 30
    logo: str | None = None
    archive_indexed: bool = False
    colours: Colours = Colours()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"'{v}' is not a known time zone; use e.g. Europe/Oslo") from None
        return v

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"https?://[^/\s]+", v):
            raise ValueError(f"'{v}' is not a web address; write e.g. https://medlem.example.no")
        return v.rstrip("/") if v else v

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Selection(_Model):
    """Who a rule picks: every listed kind must match (any value within a list)."""

    roles: list[str] = Field(default_factory=list)
    regions: list[str] = Field(default_factory=list)
    municipalities: list[str] = Field(default_factory=list)
    chapters: list[str] = Field(default_factory=list)
    joined_within_days: PositiveInt | None = None


class AudienceConfig(Selection):
    description: str = ""
    exclude: Selection | None = None


class NewsletterConfig(_Model):
    kind: Literal["newsletter"]
    template: str
    audience: str
    subject: str = "{{ draft.subject }}"
    approvals_required: PositiveInt | None = None
    lifetime_hours: PositiveInt = 48
    pictures: Literal["hosted", "inline"] | None = None
    calendar: bool = False
    calendar_weeks: PositiveInt = 4


class Recurrence(_Model):
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
        return None if v is None else _parse_date(v)

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


class OccurrenceChange(_Model):
    """What the board changed for one date of a series."""

    cancelled: bool = False
    start: dt.datetime | None = None
    location: str | None = None
    agenda: str | None = None
    attachments: list[str] = Field(default_factory=list)

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, v: Any) -> Any:
        return None if v is None else parse_local_datetime(v)


class SendRule(_Model):
    days_before: int = Field(ge=0)
    at: dt.time

    @field_validator("at", mode="before")
    @classmethod
    def _at(cls, v: Any) -> dt.time:
        return _parse_time(v)


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


class UpdateRule(_Model):
    """The answers whose members are told that a meeting changed (a cancellation goes to all)."""

    to: list[str] = Field(default_factory=lambda: ["yes", "unanswered"])

    @field_validator("to", mode="before")
    @classmethod
    def _to(cls, v: Any) -> list[str]:
        return _answers(v)


class Meeting(_Model):
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
        return _parse_time(v)

    @field_validator("duration", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> dt.timedelta:
        duration = _parse_duration(v)
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
        out: list[dt.datetime | dt.date] = []
        for item in v:
            text = str(item).strip()
            out.append(parse_local_datetime(text) if len(text) > 10 else _parse_date(text))
        return out

    @field_validator("changes", mode="before")
    @classmethod
    def _change_keys(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            return v
        return {_parse_date(k): ({"cancelled": True} if c == "cancelled" else c) for k, c in v.items()}

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


class InvitationConfig(_Model):
    kind: Literal["invitation"]
    template: str
    audience: str
    subject: str
    meeting: Meeting
    invite: SendRule = SendRule(days_before=3, at=dt.time(9, 0))
    reminder: ReminderRule | None = None
    update: UpdateRule = UpdateRule()


class FollowUpConfig(_Model):
    """The second mail to a new member, some days after the welcome."""

    days_after: PositiveInt = 30
    template: str = "follow-up"
    subject: str = (
        "{% if language == 'nn' %}Korleis går det, {{ member.first_name }}?"
        "{% else %}Hvordan går det, {{ member.first_name }}?{% endif %}"
    )


class ChapterNoticeConfig(_Model):
    """The daily notice to a chapter's leaders naming the new members welcomed that day."""

    template: str = "chapter-notice"
    subject: str = (
        "{% if language == 'nn' %}Nye medlemer i {{ chapter }}"
        "{% else %}Nye medlemmer i {{ chapter }}{% endif %}"
    )
    leader_role: str = "lokallagsleder"


class WelcomeConfig(_Model):
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
        return _parse_time(v)


class ConsultationConfig(_Model):
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

    @field_validator("deadline", mode="before")
    @classmethod
    def _deadline(cls, v: Any) -> Any:
        text = str(v).strip()
        return parse_local_datetime(text) if len(text) > 10 else _parse_date(text)

    def closes_at(self, tz: dt.tzinfo) -> dt.datetime:
        """A date closes at the end of that day in the organisation's time zone."""
        if isinstance(self.deadline, dt.datetime):
            d = self.deadline
            return d.replace(tzinfo=tz) if d.tzinfo is None else d.astimezone(tz)
        return dt.datetime.combine(self.deadline + dt.timedelta(days=1), dt.time(0), tz)


MailingConfig = Annotated[
    NewsletterConfig | InvitationConfig | WelcomeConfig | ConsultationConfig, Field(discriminator="kind")
]


class Config(_Model):
    organisation: Organisation
    roles: list[str]
    regions: dict[str, list[str]]
    audiences: dict[str, AudienceConfig] = Field(default_factory=dict)
    mailings: dict[str, MailingConfig] = Field(default_factory=dict)

    @field_validator("mailings")
    @classmethod
    def _ids(cls, v: dict[str, Any]) -> dict[str, Any]:
        for name in v:
            if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):
                raise ValueError(f"mailing name '{name}' may only use a-z, 0-9, - and _")
        return v

    @property
    def role_names(self) -> set[str]:
        return {normalise_name(r) for r in self.roles}

    @property
    def municipality_regions(self) -> dict[str, str]:
        """Normalised municipality name → region."""
        return {normalise_name(m): region for region, ms in self.regions.items() for m in ms}


def _cross_check(cfg: Config) -> list[tuple[tuple[Any, ...], str]]:
    """Names that must refer to something declared elsewhere in the file."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    roles, regions = cfg.role_names, {normalise_name(r) for r in cfg.regions}
    municipalities = cfg.municipality_regions
    seen: dict[str, str] = {}
    for region, ms in cfg.regions.items():
        for m in ms:
            other = seen.setdefault(normalise_name(m), region)
            if other != region:
                problems.append((("regions", region), f"{m} is also listed under {other}"))
    for name, aud in cfg.audiences.items():
        for sel, path in ((aud, ("audiences", name)), (aud.exclude, ("audiences", name, "exclude"))):
            if sel is None:
                continue
            for role in sel.roles:
                if normalise_name(role) not in roles:
                    problems.append(((*path, "roles"), f"unknown role '{role}'; declare it under roles"))
            for region in sel.regions:
                if normalise_name(region) not in regions:
                    problems.append(((*path, "regions"), f"unknown region '{region}'"))
            for m in sel.municipalities:
                if normalise_name(m) not in municipalities:
                    problems.append(((*path, "municipalities"), f"unknown municipality '{m}'"))
    if cfg.organisation.board_audience not in cfg.audiences:
        problems.append(
            (("organisation", "board_audience"), f"unknown audience '{cfg.organisation.board_audience}'")
        )
    for name, mailing in cfg.mailings.items():
        if mailing.audience not in cfg.audiences:
            problems.append(
                (
                    ("mailings", name, "audience"),
                    f"unknown audience '{mailing.audience}'; "
                    f"choose one of: {', '.join(sorted(cfg.audiences))}",
                )
            )
    return problems


KINDS = ("newsletter", "invitation", "welcome", "consultation")


def _format_loc(loc: tuple[Any, ...], data: Any) -> tuple[Any, ...]:
    """Drop pydantic's union tag (mailings.x.invitation.meeting → mailings.x.meeting)."""
    if len(loc) >= 3 and loc[0] == "mailings" and loc[2] in KINDS:
        return loc[:2] + loc[3:]
    return loc


def parse_config(path: Path, text: str | None = None) -> Config:
    """Load and validate schedules.yaml; every problem is reported with its key path and line."""
    data, nodes = load_yaml(path, text)
    if not isinstance(data, dict):
        raise ProblemList([f"{path}: expected keys organisation, roles, regions, audiences, mailings"])
    problems: list[str] = []

    tree: list[Any] = []

    def where(loc: tuple[Any, ...]) -> str:
        if not tree:
            tree.append(nodes())
        line = line_of(tree[0], loc)
        return f"{path}:{line}" if line else str(path)

    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = _format_loc(tuple(err["loc"]), data)
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key (check the spelling)"
            elif err["type"] == "missing":
                msg = "required key is missing"
            key = ".".join(str(p) for p in loc) or "(top level)"
            problems.append(f"{where(loc)}: {key}: {msg}")
        raise ProblemList(problems) from None
    for loc, msg in _cross_check(cfg):
        problems.append(f"{where(loc)}: {'.'.join(str(p) for p in loc)}: {msg}")
    if problems:
        raise ProblemList(problems)
    return cfg
