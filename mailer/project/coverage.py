"""Audiences that select nobody, series with no dates left, times the clocks pass twice: a
mailing that silently goes to no one, never again, or at a time nobody wrote, is worse than an
error.

`mailer check` warns about each such mailing, and the board's test copy explains what to set
up when there is no board, because an empty board audience otherwise passes unnoticed until a
board meeting's invitation reaches nobody.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from mailer.project import calendar, dates
from mailer.project.audiences import audience
from mailer.project.config import Config, local_times
from mailer.project.drafts import Draft
from mailer.project.mailing_config import InvitationConfig, WelcomeConfig
from mailer.project.members import Member


@dataclass(frozen=True)
class EmptyAudience:
    """One mailing whose audience selects no member today."""

    mailing: str
    audience: str
    roles: tuple[str, ...]
    kind: str = "mailing"

    def __str__(self) -> str:
        who = f" (roles: {', '.join(self.roles)})" if self.roles else ""
        return (
            f"{self.kind} '{self.mailing}': audience '{self.audience}'{who} selects nobody in the member "
            "export; nothing would be sent"
        )


def empty_audiences(config: Config, members: Iterable[Member], today: dt.date) -> list[EmptyAudience]:
    """Every mailing in schedules.yaml, and every event still ahead that invites an audience,
    whose audience selects no member on `today`."""
    people = list(members)
    used: dict[str, bool] = {}
    out = []
    named = [("mailing", name, m.audience) for name, m in config.mailings.items()]
    named += [("event", name, e.audience) for name, e in config.events.items() if e.start.date() >= today]
    for kind, name, wanted in named:
        if wanted is None or wanted not in config.audiences:
            continue
        if wanted not in used:
            chosen = audience(config, wanted)
            used[wanted] = any(chosen.includes(m, today) for m in people)
        if not used[wanted]:
            out.append(EmptyAudience(name, wanted, tuple(config.audiences[wanted].roles), kind))
    return out


AHEAD = dt.timedelta(days=400)
"""How far ahead a series' dates are looked at for clock changes (as far as mailings are planned)."""


def exhausted_series(config: Config, where: str, now: dt.datetime) -> list[str]:
    """Meeting series whose every date lies behind `now`: they will never invite anyone again."""
    out = []
    for name, mailing in config.mailings.items():
        if not isinstance(mailing, InvitationConfig):
            continue
        last = calendar.last_day(mailing.meeting)
        if last is None:
            continue
        held = calendar.occurrences(name, mailing.meeting, config.organisation.tz, last, last)
        if all(occ.start <= now for occ in held):
            out.append(
                f"{where}: mailings.{name}: every date lies in the past (last {last}); add the next dates"
            )
    return out


def clock_changes(config: Config, now: dt.datetime, drafts: Iterable[Draft] = ()) -> list[str]:
    """Times ahead that the clocks pass twice (the earlier is used), in schedules.yaml and the
    drafts' `send_at`, and dates on which the clocks skip a series' time or a welcome's (it is
    held later, as calendars read it). A fixed time they skip never gets here: loading
    schedules.yaml, or building a draft's mailing, refuses it."""
    tz, where = config.organisation.tz, config.locator()
    out = [twice for draft in drafts if (twice := draft.clock_change(tz, now))]
    for loc, key, local in local_times(config):
        twice = dates.doubled_ahead(local, tz, now)
        if twice:
            out.append(f"{where(loc)}: {key}: {twice}")
    for name, mailing in config.mailings.items():
        if isinstance(mailing, WelcomeConfig):
            loc = ("mailings", name, "at")
            held = "that day's welcomes go out at"
            for note in dates.daily_changes(mailing.at, tz, now, (now + AHEAD).date(), held):
                out.append(f"{where(loc)}: {'.'.join(loc)}: {note}")
        if isinstance(mailing, InvitationConfig):
            loc = ("mailings", name, "meeting", "time")
            for note in calendar.clock_changes(mailing.meeting, tz, now.date(), (now + AHEAD).date()):
                out.append(f"{where(loc)}: {'.'.join(loc)}: {note}")
    return out


def no_board(config: Config) -> str:
    """What to configure when the board audience selects nobody."""
    name = config.organisation.board_audience
    roles = config.audiences[name].roles if name in config.audiences else []
    give = (
        f"give the board members the role {' or '.join(repr(r) for r in roles)} in the member export "
        "(recipients/)"
        if roles
        else "make that audience select the board members"
    )
    return (
        f"the board audience '{name}' selects nobody: {give}, or set organisation.board_audience "
        "in schedules.yaml to an audience that selects them"
    )
