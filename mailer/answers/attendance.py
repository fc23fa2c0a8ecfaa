"""Attendance: who said they are coming to each meeting and who came, against the plan's goal.

The plans want at least 30 at the morning meetings. Invited counts the members a mailing of
the occurrence was sent to (invitation, reminder, update); yes and no are the RSVP answers
from the links in those messages; everyone invited who did not answer is "no answer".
Attended is who came, from an imported report (`mailer attendance import`); where one is
recorded, the goal is measured by it, else by the yes answers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mailer.errors import UserError
from mailer.project import calendar
from mailer.project.config import Config
from mailer.project.mailing_config import InvitationConfig
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
    attended: int | None = None  # None: no report imported
    attended_unanswered: int = 0
    unmatched: int = 0

    @property
    def no_answer(self) -> int:
        return max(self.invited - self.yes - self.no, 0)

    @property
    def measured(self) -> int:
        """What the goal is measured by: who came when known, else who said yes."""
        return self.yes if self.attended is None else self.attended

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
            "attended": self.attended,
            "attended_without_answer": self.attended_unanswered,
            "unmatched": self.unmatched,
            "goal_met": None if goal is None or not self.held or self.cancelled else self.measured >= goal,
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
    def attended_trend(self) -> list[int]:
        """Who came to the meetings held that have a report, oldest first."""
        return [o.attended for o in self.held if o.attended is not None]

    @property
    def direction(self) -> str:
        """Rising, falling or flat: the newer half of the meetings held against the older half.

        Measured by who came when at least two meetings have a report, else by yes answers.
        """
        counts = self.attended_trend if len(self.attended_trend) >= 2 else self.trend
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
        return None if self.goal is None else sum(1 for o in self.held if o.measured >= self.goal)

    def as_json(self) -> dict[str, object]:
        return {
            "series": self.series,
            "title": self.title,
            "goal": self.goal,
            "occurrences": [o.as_json(self.goal) for o in self.occasions],
            "trend": {
                "yes": self.trend,
                "attended": self.attended_trend,
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
    came = state.attendance.counts(series)
    answers = state.rsvps.counts(series)
    for occurrence in came.keys() - answers.keys():
        answers[occurrence] = {"invited": 0, "yes": 0, "no": 0}
    for occurrence, counts in answers.items():
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
                attended=came[occurrence]["attended"] if occurrence in came else None,
                attended_unanswered=came.get(occurrence, {}).get("attended_unanswered", 0),
                unmatched=came.get(occurrence, {}).get("unmatched", 0),
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


CSV_HEADER = (
    "møteserie",
    "møte",
    "dato",
    "invitert",
    "ja",
    "nei",
    "ikke svart",
    "kom",
    "kom uten å svare",
    "gjester",
    "mål",
    "mål nådd",
    "merknad",
)


def csv_rows(results: list[SeriesAttendance]) -> list[list[object]]:
    """One row per meeting, for `mailer attendance --csv` (counts only: no names)."""
    rows: list[list[object]] = []
    for s in results:
        for o in s.occasions:
            met = o.as_json(s.goal)["goal_met"]
            note = "avlyst" if o.cancelled else ("" if o.held else "ikke holdt ennå")
            rows.append(
                [
                    s.series,
                    s.title,
                    o.day.isoformat(),
                    o.invited,
                    o.yes,
                    o.no,
                    o.no_answer,
                    o.attended,
                    o.attended_unanswered if o.attended is not None else None,
                    o.unmatched if o.attended is not None else None,
                    s.goal,
                    None if met is None else ("ja" if met else "nei"),
                    note,
                ]
            )
    return rows
