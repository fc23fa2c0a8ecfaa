"""Attendance: who said they are coming to each meeting, against the goal the plan sets.

The plans want at least 30 at the morning meetings. Invited counts the members a mailing of
the occurrence was sent to (invitation, reminder, update); yes and no are the RSVP answers
from the links in those messages; everyone invited who did not answer is "no answer".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mailer import calendar
from mailer.config import Config, InvitationConfig
from mailer.errors import UserError
from mailer.state import State


@dataclass(frozen=True)
class Occasion:
    """One meeting of a series, as the RSVPs describe it."""

    occurrence: str
    day: dt.date
    invited: int
    yes: int
    no: int
    held: bool
    cancelled: bool

    @property
    def no_answer(self) -> int:
        return max(self.invited - self.yes - self.no, 0)

    def as_json(self, goal: int | None) -> dict[str, object]:
        return {
            "occurrence": self.occurrence,
            "date": self.day.isoformat(),
            "invited": self.invited,
            "yes": self.yes,
            "no": self.no,
            "no_answer": self.no_answer,
            "held": self.held,
            "cancelled": self.cancelled,
            "goal_met": None if goal is None or not self.held or self.cancelled else self.yes >= goal,
        }


@dataclass(frozen=True)
class SeriesAttendance:
    series: str
    title: str
    goal: int | None
    occasions: list[Occasion]

    @property
    def held(self) -> list[Occasion]:
        return [o for o in self.occasions if o.held and not o.cancelled]

    @property
    def trend(self) -> list[int]:
        """Yes answers at the meetings held, oldest first."""
        return [o.yes for o in self.held]

    @property
    def direction(self) -> str:
        """Rising, falling or flat: the newer half of the meetings held against the older half."""
        counts = self.trend
        if len(counts) < 2:
            return "too few meetings"
        half = len(counts) // 2
        older, newer = counts[:half], counts[-half:]
        change = sum(newer) / len(newer) - sum(older) / len(older)
        if abs(change) < 1:
            return "flat"
        return "rising" if change > 0 else "falling"

    @property
    def goal_met(self) -> int | None:
        return None if self.goal is None else sum(1 for o in self.held if o.yes >= self.goal)

    def as_json(self) -> dict[str, object]:
        return {
            "series": self.series,
            "title": self.title,
            "goal": self.goal,
            "occurrences": [o.as_json(self.goal) for o in self.occasions],
            "trend": {
                "yes": self.trend,
                "direction": self.direction,
                "goal_met": self.goal_met,
                "meetings": len(self.held),
            },
        }


def _day(occurrence: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(occurrence.rpartition("@")[2])
    except ValueError:
        return None


def series_attendance(
    state: State, config: Config, series: str, now: dt.datetime, last: int
) -> SeriesAttendance:
    """The last `last` meetings held, and those ahead that invitations went out for."""
    cfg = config.mailings.get(series)
    meeting = cfg.meeting if isinstance(cfg, InvitationConfig) else None
    tz = config.organisation.tz
    occasions = []
    for occurrence, counts in state.rsvps.counts(series).items():
        day = _day(occurrence)
        if day is None:
            continue
        occ = calendar.find(series, meeting, tz, day) if meeting else None
        end = occ.end if occ else dt.datetime.combine(day, dt.time.max, tzinfo=tz)
        occasions.append(
            Occasion(
                occurrence,
                day,
                counts["invited"],
                counts["yes"],
                counts["no"],
                held=end <= now,
                cancelled=bool(occ and occ.cancelled),
            )
        )
    occasions.sort(key=lambda o: o.day)
    held = [o for o in occasions if o.held]
    keep = {o.occurrence for o in held[-last:]} | {o.occurrence for o in occasions if not o.held}
    return SeriesAttendance(
        series,
        meeting.title if meeting else series,
        meeting.attendance_goal if meeting else None,
        [o for o in occasions if o.occurrence in keep],
    )


def attendance(
    state: State, config: Config, series: str | None, now: dt.datetime, last: int = 10
) -> list[SeriesAttendance]:
    """One series, or every meeting series that has sent invitations."""
    if series is not None:
        known = isinstance(config.mailings.get(series), InvitationConfig)
        result = series_attendance(state, config, series, now, last)
        if not known and not result.occasions:
            names = sorted(k for k, m in config.mailings.items() if isinstance(m, InvitationConfig))
            raise UserError(f"'{series}' is not a meeting series; use one of: {', '.join(names)}")
        return [result]
    out = []
    for name, cfg in config.mailings.items():
        if isinstance(cfg, InvitationConfig):
            result = series_attendance(state, config, name, now, last)
            if result.occasions:
                out.append(result)
    return out
