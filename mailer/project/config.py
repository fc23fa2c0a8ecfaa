"""schedules.yaml: everything the organisation decides, parsed once into typed models."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import Field, PositiveInt, PrivateAttr, ValidationError, field_validator

from mailer.errors import ProblemList
from mailer.project.config_base import (
    WEEKDAYS,
    ConfigModel,
    Mailbox,
    normalise_name,
    one_line,
    parse_local_datetime,
)
from mailer.project.dates import refused
from mailer.project.event_config import EventConfig
from mailer.project.mailing_config import (
    ChapterNoticeConfig,
    ConsultationConfig,
    FollowUpConfig,
    InvitationConfig,
    MailingConfig,
    NewsletterConfig,
    WelcomeConfig,
)
from mailer.project.meeting_config import (
    ANSWERS,
    Meeting,
    OccurrenceChange,
    Recurrence,
    ReminderRule,
    SendRule,
    UpdateRule,
)
from mailer.project.yamlfile import line_of, load_yaml

# The models moved to config_base, meeting_config and mailing_config; old imports from here still work.
__all__ = [
    "ANSWERS",
    "KINDS",
    "WEEKDAYS",
    "AudienceConfig",
    "ChapterNoticeConfig",
    "Colours",
    "Config",
    "ConfigModel",
    "ConsultationConfig",
    "EventConfig",
    "FollowUpConfig",
    "InvitationConfig",
    "Mailbox",
    "MailingConfig",
    "Meeting",
    "NewsletterConfig",
    "OccurrenceChange",
    "Organisation",
    "Recurrence",
    "ReminderRule",
    "Selection",
    "SendRule",
    "UpdateRule",
    "WelcomeConfig",
    "normalise_name",
    "one_line",
    "parse_config",
    "parse_local_datetime",
]

_HEX = re.compile(r"#[0-9a-fA-F]{6}")


class Colours(ConfigModel):
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


_SCHEMA = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_LETTERS = str.maketrans({"æ": "ae", "ø": "o", "å": "aa", "ä": "a", "ö": "o", "ü": "u", "é": "e"})


def is_schema_name(name: str) -> bool:
    return bool(_SCHEMA.fullmatch(name)) and not name.startswith("pg_") and name not in ("public",)


def schema_name(organisation: str) -> str:
    """'Akershus Senterparti' → 'akershus_senterparti': a safe PostgreSQL identifier."""
    text = re.sub(r"[^a-z0-9]+", "_", organisation.casefold().translate(_LETTERS)).strip("_")
    if not text or text[0].isdigit() or text.startswith("pg_"):
        text = "org_" + text
    return text[:63].rstrip("_")


class Organisation(ConfigModel):
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
    database_schema: str | None = None
    """The schema that holds this organisation's state in PostgreSQL (else derived from `name`)."""

    @field_validator("database_schema")
    @classmethod
    def _schema_name(cls, v: str | None) -> str | None:
        if v is not None and not is_schema_name(v):
            raise ValueError(
                f"'{v}' cannot be a schema name; use lower-case letters, digits and _ "
                "(at most 63, not starting with a digit or pg_), e.g. akershus_senterparti"
            )
        return v

    @property
    def schema(self) -> str:
        """Where this organisation's state lives in a shared PostgreSQL database."""
        return self.database_schema or schema_name(self.name)

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


class Selection(ConfigModel):
    """Who a rule picks: every listed kind must match (any value within a list)."""

    roles: list[str] = Field(default_factory=list)
    regions: list[str] = Field(default_factory=list)
    municipalities: list[str] = Field(default_factory=list)
    chapters: list[str] = Field(default_factory=list)
    joined_within_days: PositiveInt | None = None


class AudienceConfig(Selection):
    description: str = ""
    exclude: Selection | None = None


class Config(ConfigModel):
    organisation: Organisation
    roles: list[str]
    regions: dict[str, list[str]]
    audiences: dict[str, AudienceConfig] = Field(default_factory=dict)
    mailings: dict[str, MailingConfig] = Field(default_factory=dict)
    events: dict[str, EventConfig] = Field(default_factory=dict)
    _source: tuple[str, str | bytes] | None = PrivateAttr(None)
    """The file's name as shown, and its text: a warning found after loading names its line."""

    @field_validator("mailings")
    @classmethod
    def _ids(cls, v: dict[str, Any]) -> dict[str, Any]:
        for name in v:
            if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):
                raise ValueError(f"mailing name '{name}' may only use a-z, 0-9, - and _")
        return v

    @field_validator("events")
    @classmethod
    def _event_ids(cls, v: dict[str, Any]) -> dict[str, Any]:
        for name in v:
            if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):
                raise ValueError(f"event name '{name}' may only use a-z, 0-9, - and _ (it is part of links)")
        return v

    def locator(self) -> Callable[[tuple[Any, ...]], str]:
        """`schedules.yaml:LINE` of a key path, as a problem found while loading names it."""
        if self._source is None:
            return lambda loc: "schedules.yaml"
        label, text = self._source
        return _locator(label, load_yaml(Path(label), text)[1])

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
    for name, event in cfg.events.items():
        if name in cfg.mailings:
            problems.append((("events", name), f"'{name}' is also a mailing's name; give the event its own"))
        if event.audience is not None and event.audience not in cfg.audiences:
            problems.append(
                (
                    ("events", name, "audience"),
                    f"unknown audience '{event.audience}'; choose one of: {', '.join(sorted(cfg.audiences))}",
                )
            )
    return problems


def local_times(cfg: Config) -> Iterator[tuple[tuple[Any, ...], str, dt.datetime]]:
    """Every date and time the file fixes (a meeting's dates, a moved meeting's start, an event's
    times, a consultation's deadline): where it is written, its key, and the local
    time (naive, in organisation.timezone). A recurrence's times are not fixed:
    `calendar.clock_changes` reads them date by date, `coverage` a welcome's time of day."""
    for name, mailing in cfg.mailings.items():
        if isinstance(mailing, ConsultationConfig):
            yield from _consultation_times(name, mailing)
        if not isinstance(mailing, InvitationConfig):
            continue
        meeting, base = mailing.meeting, ("mailings", name, "meeting")
        for i, item in enumerate(meeting.dates or []):
            local = item if isinstance(item, dt.datetime) else dt.datetime.combine(item, meeting.time)
            yield (*base, "dates", i), f"mailings.{name}.meeting.dates", local
        for day, change in meeting.changes.items():
            if change.start is not None:
                loc = (*base, "changes", day.isoformat(), "start")
                yield loc, ".".join(loc), change.start
    for name, event in cfg.events.items():
        for field in ("start", "end", "registration_closes"):
            value = getattr(event, field)
            if value is not None:
                yield ("events", name, field), f"events.{name}.{field}", value


def _consultation_times(
    name: str, cfg: ConsultationConfig
) -> Iterator[tuple[tuple[Any, ...], str, dt.datetime]]:
    """The deadline. Its reminders are send times (`at`): one the clocks skip goes out an hour
    later, as a meeting's invitation does."""
    if isinstance(cfg.deadline, dt.datetime) and cfg.deadline.tzinfo is None:
        yield ("mailings", name, "deadline"), f"mailings.{name}.deadline", cfg.deadline


def _skipped_times(cfg: Config) -> list[tuple[tuple[Any, ...], str, str]]:
    """Fixed times the clocks skip (02:30 on the night summer time begins): refused, since reading
    one as some other time would invite members to a time nobody wrote."""
    tz = cfg.organisation.tz
    out = []
    for loc, key, local in local_times(cfg):
        why = refused(local, tz)
        if why:
            out.append((loc, key, why))
    return out


def _locator(path: Path | str, nodes: Callable[[], yaml.Node | None]) -> Callable[[tuple[Any, ...]], str]:
    tree: list[Any] = []

    def where(loc: tuple[Any, ...]) -> str:
        if not tree:
            tree.append(nodes())
        line = line_of(tree[0], loc)
        return f"{path}:{line}" if line else str(path)

    return where


KINDS = ("newsletter", "invitation", "welcome", "consultation")


def _format_loc(loc: tuple[Any, ...], data: Any) -> tuple[Any, ...]:
    """Drop pydantic's union tag (mailings.x.invitation.meeting → mailings.x.meeting)."""
    if len(loc) >= 3 and loc[0] == "mailings" and loc[2] in KINDS:
        return loc[:2] + loc[3:]
    return loc


def parse_config(path: Path, text: str | bytes | None = None) -> Config:
    """Load and validate schedules.yaml; every problem is reported with its key path and line."""
    data, nodes = load_yaml(path, text)
    if not isinstance(data, dict):
        raise ProblemList([f"{path}: expected keys organisation, roles, regions, audiences, mailings"])
    problems: list[str] = []
    where = _locator(path, nodes)
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
    for loc, key, msg in _skipped_times(cfg):
        problems.append(f"{where(loc)}: {key}: {msg}")
    if problems:
        raise ProblemList(problems)
    cfg._source = (str(path), text if text is not None else path.read_bytes())
    return cfg
