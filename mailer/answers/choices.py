"""A member's own choices: what their page shows, and what a POST from it may change.

The rules live here, not in the route: turning a category off is a suppression like any
other, at once; turning one back on is only a request until the member confirms it from a
mail to the address on record (`confirmation`); what an office requires is never turned off
from the page, whatever the POST says; a pause holds back everything optional for 1, 3 or 6
months and ends by the clock. The planner reads the same records (`delivery.choices`).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from mailer.answers import confirmation
from mailer.delivery import notices
from mailer.delivery.runner import Runner
from mailer.project import categories
from mailer.project.members import Member
from mailer.state import requests
from mailer.state.database import transaction
from mailer.state.resubscriptions import Request
from mailer.state.suppressions import EVERYTHING, OPTIONAL, Held

PAUSE_MONTHS = (1, 3, 6)
SOURCE = "preferences"
CONFIRMATIONS_PER_DAY = 3


class Refused(Exception):
    """A POST the page could not have made: nothing is changed. `reason` names the text to show."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason)
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class Line:
    """One category on the member's page."""

    name: str
    required_by: tuple[str, ...]
    """The member's offices that require it, as schedules.yaml spells them (empty: optional)."""
    held: Held | None
    """What stops it now (None: the member gets it)."""
    waiting: Request | None
    """A re-subscription asked for and not confirmed yet."""

    @property
    def on(self) -> bool:
        return self.held is None

    @property
    def can_come_back(self) -> bool:
        return self.held is not None and self.held.liftable


@dataclass(frozen=True)
class View:
    member: Member
    address: str
    lines: list[Line]
    language: str
    chosen_language: str | None
    paused_until: dt.datetime | None
    everything: Held | None
    """'Everything' is held: the member stopped all mail (or the address bounced)."""


def view(runner: Runner, member: Member) -> View:
    state, now = runner.state, runner.now
    address = member.address_key
    held = {h.category: h for h in state.suppressions.of(address)}
    every = held.get(EVERYTHING)
    optional = held.get(OPTIONAL)  # a complaint: every category no office requires
    waiting: dict[str, Request] = {}
    for request in state.resubscriptions.pending(address, now):
        for name in request.categories:
            waiting[name] = request
    lines = [
        Line(
            c.name,
            c.roles,
            held.get(c.name) or every or (None if c.category.required else optional),
            waiting.get(c.name),
        )
        for c in categories.for_member(runner.project.config, member, now.date())
    ]
    choice = state.preferences.of(address)
    chosen = choice.language if choice else None
    paused = choice.paused_until if choice and choice.paused_at(now) else None
    return View(member, address, lines, chosen or member.language, chosen, paused, every)


@dataclass(frozen=True)
class Saved:
    turned_off: list[str]
    asked_back: list[str]
    language_changed: bool
    next_confirmation: dt.datetime | None = None
    """Set when a confirmation was due but the day's were used up: when the next can go."""


def save(runner: Runner, member: Member, shown: list[str], on: list[str], language: str | None) -> Saved:
    """Apply the page's form: categories listed (`shown`), those ticked (`on`), the language."""
    v = view(runner, member)
    lines = {line.name: line for line in v.lines}
    unknown = sorted({*shown, *on} - set(lines))
    if unknown:
        raise Refused("unknown", unknown[0])
    if language not in (None, "nb", "nn"):
        raise Refused("language")
    ticked = set(on)
    off = [n for n in dict.fromkeys(shown) if n not in ticked and lines[n].on]
    required = [n for n in off if lines[n].required_by]
    if required:
        raise Refused("required", required[0])
    back = [n for n in dict.fromkeys([*shown, *on]) if n in ticked and not lines[n].on]
    if any(not lines[n].can_come_back for n in back):
        raise Refused("bounced")
    state, now = runner.state, runner.now
    delivery_id = 0
    wait = None
    with transaction(state.db):
        for name in off:
            state.suppressions.add(v.address, name, now, SOURCE)
        # the form always sends the ticked language: only a change of it is the member's choice
        chosen = language is not None and language != v.language
        changed = chosen and state.preferences.choose_language(v.address, language, now, SOURCE)
        if back:
            taken, wait = state.requests.take(v.address, requests.RESUBSCRIBE, CONFIRMATIONS_PER_DAY, now)
            if taken:
                request = state.resubscriptions.request(v.address, member.id, back, now, SOURCE)
                delivery_id = notices.record(state, confirmation.notice(runner, member, request), now)
    if delivery_id:
        notices.send(runner, [delivery_id])
    return Saved(off, back if not wait else [], bool(changed), wait)


def pause(runner: Runner, member: Member, months: str) -> dt.datetime:
    """Pause everything optional until the start of the day `months` from today; returns that moment."""
    try:
        n = int(months)
    except ValueError:
        raise Refused("months") from None
    if n not in PAUSE_MONTHS:
        raise Refused("months")
    until = dt.datetime.combine(add_months(runner.now.date(), n), dt.time(0), runner.project.tz)
    with transaction(runner.state.db):
        runner.state.preferences.pause(member.address_key, until, runner.now, SOURCE)
    return until


def resume(runner: Runner, member: Member) -> bool:
    with transaction(runner.state.db):
        return runner.state.preferences.resume(member.address_key, runner.now, SOURCE)


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
