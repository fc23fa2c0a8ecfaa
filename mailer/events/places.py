"""Who gets a place: the rules of an event with places, over the state's records.

- A registration gets a place while places remain and nobody is waiting; otherwise it goes
  to the end of the waiting list (or, without a list, is told the event is full).
- A place that frees up (a cancellation, a declined or lapsed offer, a larger capacity) goes to
  the first in line: at once, or with `waitlist_offer_hours` as an offer that holds the place
  for them until it expires (never past the start), then passes to the next, as CiviCRM's
  "Pending from waitlist" and pretix's waiting-list vouchers do.
- A guest's registration holds nothing until they confirm their address; then the same rules
  apply as at that moment.
- Registration closes at `registration_closes` (else the start); places move until the start.
- When schedules.yaml moves the event (start, end, location, join link), each person with a
  place or an offer is told what changed, once, until the event starts (`announce_changes`).
- An event called off (`call_off`) ends every registration that stands and takes no more.

Every method runs inside the caller's transaction (see `actions`), which counts the places and
writes the outcome in one go, so two people taking the last place at once get one place between
them. Each returns the changes it made, for `messages` to tell the people concerned.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from mailer.project.event_config import EventConfig
from mailer.state import State
from mailer.state.registrations import STANDING, TAKING_A_PLACE, Registration

GUEST_CONFIRM_HOURS = 24
ChangeKind = Literal[
    "placed", "promoted", "waiting", "offered", "cancelled", "guest", "reminder", "changed", "called_off"
]
Outcome = Literal[
    "placed",
    "waiting",
    "full",
    "closed",
    "already",
    "unconfirmed",
    "cancelled",
    "not_standing",
    "lapsed",
    "called_off",
]
TOLD = ("start", "end", "location", "join_url")
"""What a change of the event is announced for: when and where, and the join link."""


def what_is_told(cfg: EventConfig, tz: dt.tzinfo, join: bool) -> dict[str, str | None]:
    """The event's time and place as a confirmation (join: with its link) or an offer tells them."""
    return {
        "start": cfg.starts(tz).isoformat(),
        "end": cfg.ends(tz).isoformat(),
        "location": cfg.location,
        "join_url": cfg.join_url if join else None,
    }


@dataclass(frozen=True)
class Who:
    """The person registering: a member (their id) or a guest (an id made up for them)."""

    person: str
    name: str
    address: str
    language: str
    guest: bool = False


@dataclass(frozen=True)
class Change:
    """Something that happened to one registration, which its person is told about."""

    kind: ChangeKind
    registration: Registration
    position: int | None = None
    offer_expires: dt.datetime | None = None
    had_place: bool = False
    by_organiser: bool = False
    was: dict[str, str | None] | None = None
    """For "changed": what they had been told before (`what_is_told`)."""
    reason: str = ""
    """For "called_off": the organiser's reason, one line."""


@dataclass
class Result:
    outcome: Outcome
    registration: Registration | None = None
    changes: list[Change] = field(default_factory=list)


@dataclass(frozen=True)
class Places:
    """One event's places, over the state database."""

    state: State
    name: str
    cfg: EventConfig
    tz: dt.tzinfo

    @property
    def starts(self) -> dt.datetime:
        return self.cfg.starts(self.tz)

    def closed(self, now: dt.datetime) -> bool:
        return now >= self.cfg.closes(self.tz) or self.called_off

    @property
    def called_off(self) -> bool:
        return self.state.event_changes.called_off(self.name) is not None

    def _get(self, registration_id: int) -> Registration:
        found = self.state.registrations.get(registration_id)
        assert found is not None
        return found

    # -- signing up ------------------------------------------------------------------------

    def register(self, who: Who, answers: dict[str, str], now: dt.datetime) -> Result:
        regs = self.state.registrations
        if self.called_off:
            return Result("called_off")
        if self.closed(now):
            return Result("closed")
        mine = regs.latest(self.name, who.person)
        if mine is not None and mine.standing:
            return Result("already", mine)
        if who.guest:
            other = regs.standing_for_address(self.name, who.address)
            if other is not None:
                return Result("already", other)
            confirm_by = now + dt.timedelta(hours=GUEST_CONFIRM_HOURS)
            rid = regs.add(
                self.name,
                who.person,
                True,
                who.name,
                who.address,
                who.language,
                "unconfirmed",
                answers,
                now,
                confirm_by,
            )
            reg = self._get(rid)
            return Result("unconfirmed", reg, [Change("guest", reg)])
        other = regs.standing_for_address(self.name, who.address)
        if other is not None and other.guest:  # the member, on the public form: one place, not two
            if other.status != "unconfirmed":
                return Result("already", other)
            regs.move(other.id, "expired", ("unconfirmed",), now)  # never confirmed: it lapses
        status = self._status_for_newcomer()
        if status == "full":
            return Result("full")
        rid = regs.add(
            self.name, who.person, False, who.name, who.address, who.language, status, answers, now
        )
        return self._seated(rid, status, now)

    def confirm_guest(self, registration_id: int, now: dt.datetime) -> Result:
        """A guest clicked the link in their mail: now their registration counts, as it would now."""
        reg = self.state.registrations.get(registration_id)
        if reg is None or reg.status != "unconfirmed":
            return Result("already" if reg is not None and reg.standing else "not_standing", reg)
        if reg.confirm_by is not None and now >= reg.confirm_by:
            self.state.registrations.move(reg.id, "expired", ("unconfirmed",), now)
            return Result("lapsed", self._get(reg.id))
        if self.closed(now):
            return Result("closed", reg)
        other = self.state.registrations.standing_for_address(self.name, reg.address, besides=reg.id)
        if other is not None and other.status != "unconfirmed":  # the address holds a place already
            self.state.registrations.move(reg.id, "expired", ("unconfirmed",), now)
            return Result("already", other)
        status = self._status_for_newcomer()
        if not self.state.registrations.move(reg.id, status, ("unconfirmed",), now):
            return Result("already", self._get(reg.id))
        if status == "full":
            return Result("full", self._get(reg.id))
        return self._seated(reg.id, status, now)

    def _status_for_newcomer(self) -> str:
        """A place if one is free and nobody waits for it; else the list; else full."""
        capacity = self.cfg.capacity
        if capacity is None:
            return "placed"
        free = self.state.registrations.taken(self.name) < capacity
        if free and not self.state.waitlist.waiting(self.name):
            return "placed"
        return "waiting" if self.cfg.waitlist else "full"

    def _seated(self, registration_id: int, status: str, now: dt.datetime) -> Result:
        if status == "placed":
            reg = self._get(registration_id)
            return Result("placed", reg, [Change("placed", reg)])
        self.state.waitlist.join(registration_id, self.name, now)
        changes = self.fill(now)  # a place may be free while the line moves: the first gets it
        reg = self._get(registration_id)
        if reg.status == "waiting":
            position = self.state.waitlist.position(reg.id)
            changes.append(Change("waiting", reg, position=position))
        outcome = "placed" if reg.status in TAKING_A_PLACE else "waiting"
        return Result(outcome, reg, changes)  # type: ignore[arg-type]

    # -- places that free up -------------------------------------------------------------------

    def fill(self, now: dt.datetime) -> list[Change]:
        """Give free places to those first in line (or offer them), until the event starts."""
        if now >= self.starts or self.called_off:
            return []
        regs, waitlist = self.state.registrations, self.state.waitlist
        changes: list[Change] = []
        capacity = self.cfg.capacity
        while capacity is None or regs.taken(self.name) < capacity:
            first = waitlist.first(self.name)
            if first is None:
                break
            hours = self.cfg.waitlist_offer_hours
            if hours:
                expires = min(now + dt.timedelta(hours=hours), self.starts)
                regs.move(first, "offered", ("waiting",), now)
                waitlist.offer(first, now, expires)
                changes.append(Change("offered", self._get(first), offer_expires=expires))
            else:
                regs.move(first, "placed", ("waiting",), now)
                waitlist.leave(first, "placed", now)
                changes.append(Change("promoted", self._get(first)))
        return changes

    def cancel(self, registration_id: int, now: dt.datetime, by_organiser: bool = False) -> Result:
        """Cancelled by the person (their link) or the organiser; a freed place moves on at once."""
        before = self.state.registrations.get(registration_id)
        if before is None or before.event != self.name:
            return Result("not_standing")
        if not self.state.registrations.move(registration_id, "cancelled", STANDING, now):
            return Result("not_standing", before)
        if before.status in ("waiting", "offered"):
            self.state.waitlist.leave(registration_id, "cancelled", now)
        self.state.checkins.undo(registration_id)  # ticked off early, then not coming after all
        reg = self._get(registration_id)
        changes: list[Change] = []
        if before.status != "unconfirmed":
            had_place = before.status == "placed"
            changes.append(Change("cancelled", reg, had_place=had_place, by_organiser=by_organiser))
        if before.status in TAKING_A_PLACE:
            changes += self.fill(now)
        return Result("cancelled", reg, changes)

    def accept(self, registration_id: int, now: dt.datetime) -> Result:
        """The first in line says yes to an offer: the place is theirs if the offer still stands."""
        reg = self.state.registrations.get(registration_id)
        if reg is None or reg.status != "offered":
            return Result("not_standing", reg)
        expires = self.state.waitlist.offer_expires(registration_id)
        if expires is not None and now >= expires:
            return Result("lapsed", reg, self.lapse(now))
        self.state.registrations.move(registration_id, "placed", ("offered",), now)
        self.state.waitlist.leave(registration_id, "placed", now)
        placed = self._get(registration_id)
        return Result("placed", placed, [Change("promoted", placed)])

    def lapse(self, now: dt.datetime) -> list[Change]:
        """Offers of this event that ran out unanswered end, and their places move on."""
        changes: list[Change] = []
        lapsed = False
        for registration_id, event in self.state.waitlist.lapsed(now):
            if event == self.name and self.state.registrations.move(
                registration_id, "expired", ("offered",), now
            ):
                self.state.waitlist.leave(registration_id, "lapsed", now)
                lapsed = True
        if lapsed:
            changes += self.fill(now)
        return changes

    # -- the event itself changes ---------------------------------------------------------------

    def announce_changes(self, now: dt.datetime) -> list[Change]:
        """Those with a place or an offer who were told another time or place than schedules.yaml
        says now: recorded as told the new one, with their calendar's SEQUENCE raised.

        Someone whose registration predates this record is taken to know the present one. Once the
        event has started (by what they were told, or by what it says now) nothing is announced.
        An offer never outlasts the start, so a start moved earlier cuts open offers short; one
        moved later leaves them as they are (counted from the offer, as its mail said)."""
        if self.called_off:
            return []
        self._cut_offers_at_start()
        if now >= self.starts:
            return []
        changes: list[Change] = []
        told = self.state.event_changes
        for reg in self.state.registrations.of_event(self.name, TAKING_A_PLACE):
            now_told = what_is_told(self.cfg, self.tz, join=reg.status == "placed")
            last = told.told(reg.id)
            if last is None:
                told.tell(reg.id, self.name, now_told, now)
            elif {k: last.fields.get(k) for k in TOLD} != now_told:
                if now >= dt.datetime.fromisoformat(str(last.fields["start"])):
                    continue
                told.tell(reg.id, self.name, now_told, now, raise_sequence=True)
                had_place = reg.status == "placed"
                expires = None if had_place else self.state.waitlist.offer_expires(reg.id)
                changes.append(
                    Change("changed", reg, had_place=had_place, offer_expires=expires, was=last.fields)
                )
        return changes

    def _cut_offers_at_start(self) -> None:
        for reg in self.state.registrations.of_event(self.name, ("offered",)):
            expires = self.state.waitlist.offer_expires(reg.id)
            if expires is not None and expires > self.starts:
                self.state.waitlist.cut_offer(reg.id, self.starts)

    def call_off(self, reason: str, now: dt.datetime) -> Result:
        """The whole event is off: every registration that stands ends, and each person with a
        place, an offer or a place on the list is told (a guest who never confirmed is not)."""
        if not self.state.event_changes.call_off(self.name, reason, now):
            return Result("already")
        regs = self.state.registrations
        changes: list[Change] = []
        for reg in regs.of_event(self.name, STANDING):
            regs.move(reg.id, "called_off", STANDING, now)
            if reg.status in ("waiting", "offered"):
                self.state.waitlist.leave(reg.id, "called_off", now)
            if reg.status != "unconfirmed":
                had_place = reg.status == "placed"
                changes.append(Change("called_off", self._get(reg.id), had_place=had_place, reason=reason))
        return Result("called_off", None, changes)

    def position(self, registration_id: int) -> int | None:
        return self.state.waitlist.position(registration_id)
