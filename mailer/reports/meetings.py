"""Meetings per series: invited, answered, who came against the goal, and the trend.

Until who came is recorded (the Teams attendance report), the "yes" answers stand in for it
in the goal and the chart, and the report says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mailer.errors import UserError
from mailer.project import calendar
from mailer.project.config import Config
from mailer.project.mailing_config import InvitationConfig
from mailer.reports.model import Cell, Column, Line, Note, Report, county_total, summed, table
from mailer.state.figures import Figures

YES_STANDS_IN = Note(
    "who came is not recorded yet: the goal and the charts count yes answers",
    "Hvem som møtte er ikke registrert ennå: målet og grafene teller ja-svar.",
)

NO_INVITATIONS = Note(
    "nothing sent yet: no meeting invitation is in the ledger",
    "Ingenting er sendt ennå: loggen har ingen møteinvitasjoner.",
)


@dataclass(frozen=True)
class Meeting:
    """One occurrence of a series, with the counts the ledger holds for it."""

    series: str
    day: dt.date
    state: str  # held, ahead or cancelled
    invited: int
    yes: int
    no: int
    goal: int | None
    attended: int | None  # None: not recorded

    @property
    def occurrence(self) -> str:
        return f"{self.series}@{self.day.isoformat()}"

    @property
    def turnout(self) -> int:
        """Who came when that is recorded, otherwise who said yes."""
        return self.yes if self.attended is None else self.attended


@dataclass(frozen=True)
class Series:
    name: str
    title: str
    goal: int | None
    meetings: list[Meeting]

    @property
    def held(self) -> list[Meeting]:
        return [m for m in self.meetings if m.state == "held"]

    @property
    def last(self) -> Meeting | None:
        return self.held[-1] if self.held else None


def _counts(figures: Figures) -> dict[str, dict[str, int]]:
    """Occurrence id → invited (sent any of its mailings), yes, no."""
    out: dict[str, dict[str, int]] = {}
    for occ, n in figures.invited().items():
        out.setdefault(occ, {"invited": 0, "yes": 0, "no": 0})["invited"] += n
    for occ, answers in figures.answers().items():
        row = out.setdefault(occ, {"invited": 0, "yes": 0, "no": 0})
        for answer in ("yes", "no"):
            row[answer] += answers.get(answer, 0)
    return out


def event_series(config: Config, figures: Figures, now: dt.datetime) -> list[Series]:
    """Each event with places as a series of one meeting: invited, yes (a place), no (cancelled),
    and attended (checked in at the door, once anyone was)."""
    invited = figures.event_invited()
    registrations = figures.registrations()
    came = figures.checked_in()
    out = []
    tz = config.organisation.tz
    for name, cfg in config.events.items():
        if name not in invited and name not in registrations:
            continue
        a = registrations.get(name, {})
        state = "held" if cfg.ends(tz) <= now else "ahead"
        meeting = Meeting(
            name,
            cfg.start.date(),
            state,
            invited.get(name, 0),
            a.get("placed", 0),
            a.get("cancelled", 0),
            None,
            came.get(name),
        )
        out.append(Series(name, cfg.title, None, [meeting]))
    return out


def series_of(config: Config, figures: Figures, now: dt.datetime, came: dict[str, int]) -> list[Series]:
    """Every meeting series with at least one invitation sent, its meetings oldest first."""
    counts = _counts(figures)
    out = []
    for name, cfg in config.mailings.items():
        if not isinstance(cfg, InvitationConfig):
            continue
        goal = cfg.meeting.attendance_goal
        meetings = []
        for occ, c in counts.items():
            series, _, day_text = occ.rpartition("@")
            if series != name:
                continue
            try:
                day = dt.date.fromisoformat(day_text)
            except ValueError:
                continue
            found = calendar.find(name, cfg.meeting, config.organisation.tz, day)
            end = found.end if found else dt.datetime.combine(day, dt.time.max, tzinfo=now.tzinfo)
            state = "cancelled" if found and found.cancelled else "held" if end <= now else "ahead"
            who = came.get(occ)  # None: no report imported for it
            meetings.append(Meeting(name, day, state, c["invited"], c["yes"], c["no"], goal, who))
        if meetings:
            out.append(Series(name, cfg.meeting.title, goal, sorted(meetings, key=lambda m: m.day)))
    return out + event_series(config, figures, now)


def trend(s: Series) -> Cell:
    """The newer half of the meetings held against the older half."""
    counts = [m.turnout for m in s.held]
    if len(counts) < 2:
        return "too few meetings"
    half = len(counts) // 2
    change = sum(counts[-half:]) / half - sum(counts[:half]) / half
    return "flat" if abs(change) < 1 else "rising" if change > 0 else "falling"


def goal_met(s: Series) -> Cell:
    if s.goal is None:
        return None
    return f"{sum(1 for m in s.held if m.turnout >= s.goal)} of {len(s.held)}"


def _last(field: str):  # type: ignore[no-untyped-def]
    return lambda s: None if s.last is None else getattr(s.last, field)


SERIES_COLUMNS: list[Column[Series]] = [
    Column("series", "series", "Møteserie", lambda s: s.name),
    Column("held", "meetings held", "Møter holdt", lambda s: len(s.held)),
    Column("invited", "invited (last)", "Invitert (siste)", _last("invited")),
    Column("answered", "answered (last)", "Svarte (siste)", lambda s: s.last and s.last.yes + s.last.no),
    Column("yes", "yes (last)", "Ja (siste)", _last("yes")),
    Column("attended", "attended (last)", "Møtte (siste)", _last("attended")),
    Column("goal", "goal", "Mål", lambda s: s.goal),
    Column("goal_met", "goal met", "Mål nådd", goal_met),
    Column("trend", "trend", "Utvikling", trend),
]
MEETING_COLUMNS: list[Column[Meeting]] = [
    Column("occurrence", "meeting", "Møte", lambda m: m.occurrence),
    Column("state", "state", "Status", lambda m: m.state),
    Column("invited", "invited", "Invitert", lambda m: m.invited),
    Column("yes", "yes", "Ja", lambda m: m.yes),
    Column("no", "no", "Nei", lambda m: m.no),
    Column("no_answer", "no answer", "Ikke svart", lambda m: max(m.invited - m.yes - m.no, 0)),
    Column("attended", "attended", "Møtte", lambda m: m.attended),
]


@dataclass(frozen=True)
class County:
    """Every series of the report at once."""

    name: str
    series: list[Series]

    @property
    def meetings(self) -> list[Meeting]:
        return [m for s in self.series for m in s.meetings]


def county_goal_met(c: County) -> Cell:
    """Meetings held that reached their series' goal, of those held in series that have one."""
    with_goal = [s for s in c.series if s.goal is not None]
    if not with_goal:
        return None
    met = sum(1 for s in with_goal for m in s.held if m.turnout >= (s.goal or 0))
    return f"{met} of {sum(len(s.held) for s in with_goal)}"


COUNTY_COLUMNS: list[Column[County]] = [
    Column("county", "county", "Fylke", lambda c: c.name),
    Column("series", "series", "Møteserier", lambda c: len(c.series)),
    Column("held", "meetings held", "Møter holdt", lambda c: sum(len(s.held) for s in c.series)),
    *(
        summed(col, lambda c: c.meetings)
        for col in MEETING_COLUMNS
        if col.key in ("invited", "yes", "no", "no_answer", "attended")
    ),
    Column("goal_met", "goal met", "Mål nådd", county_goal_met),
]


def meetings_report(config: Config, figures: Figures, now: dt.datetime, only: str | None = None) -> Report:
    """Every series (or `only` that one), the county's totals, and turnout against the goal per series."""
    if (
        only is not None
        and not isinstance(config.mailings.get(only), InvitationConfig)
        and only not in config.events
    ):
        names = sorted(k for k, m in config.mailings.items() if isinstance(m, InvitationConfig))
        names += sorted(config.events)
        raise UserError(f"no meeting series '{only}' in schedules.yaml; use one of: {', '.join(names)}")
    came = figures.attended()
    series = [s for s in series_of(config, figures, now, came) if only is None or s.name == only]
    stands_in = not came and not any(m.attended is not None for s in series for m in s.meetings)
    measure = "ja-svar" if stands_in else "møtte"
    charts = [
        Line(
            f"{s.title}: {measure} mot målet" if s.goal else f"{s.title}: {measure}",
            [m.day.strftime("%d.%m.%y") for m in s.held],
            [m.turnout for m in s.held],
            s.goal,
        )
        for s in series
        if s.held
    ]
    notes = [YES_STANDS_IN] if stands_in else []
    return Report(
        "meetings",
        "Meetings",
        "Møter",
        now,
        {
            "series": table("Series", "Møteserier", SERIES_COLUMNS, series),
            "meetings": table("Meetings", "Møter", MEETING_COLUMNS, [m for s in series for m in s.meetings]),
            "county": county_total(COUNTY_COLUMNS, County(config.organisation.name, series)),
        },
        charts=charts,
        notes=notes,
        empty=None if series else NO_INVITATIONS,
    )
