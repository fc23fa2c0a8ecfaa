"""What the organiser sees of an event: places, the waiting list, guests, answers, who came.

`status` counts (for `mailer event status` and the board page); `rows` is the participant list
(`mailer event export`, the list Stortinget's security check asks for): one row per person
with a place, then those on the waiting list in order, with their answers.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from mailer.delivery.runner import Runner
from mailer.errors import UserError
from mailer.events import actions
from mailer.events.answers import shown
from mailer.exports import write_csv
from mailer.project.addresses import check_email
from mailer.project.event_config import EventConfig
from mailer.project.event_mailings import event_config
from mailer.state.event_changes import CallOff
from mailer.state.registrations import Registration

STATUS_NAMES = {
    "placed": "har plass",
    "offered": "tilbudt plass",
    "waiting": "venteliste",
    "unconfirmed": "ikke bekreftet",
    "cancelled": "avmeldt",
    "expired": "utløpt",
    "full": "fullt",
    "called_off": "avlyst",
}
REASON_LIMIT = 300
"""A call-off's reason is one line in a mail: a sentence, not a letter."""


@dataclass(frozen=True)
class Row:
    registration: Registration
    position: int | None
    checked_in: bool


@dataclass(frozen=True)
class Status:
    name: str
    cfg: EventConfig
    start: dt.datetime
    counts: dict[str, int]
    rows: list[Row]
    erased: bool
    called_off: CallOff | None = None

    @property
    def taken(self) -> int:
        return self.counts.get("placed", 0) + self.counts.get("offered", 0)

    @property
    def checked_in(self) -> int:
        return sum(1 for r in self.rows if r.checked_in)

    def answers(self) -> dict[str, dict[str, object]]:
        """Per question: how many answered, and for choices and yes-no how many chose what."""
        out: dict[str, dict[str, object]] = {}
        standing = [
            r.registration for r in self.rows if r.registration.status in ("placed", "offered", "waiting")
        ]
        for q in self.cfg.questions:
            given = [r.answers.get(q.id, "") for r in standing if r.answers]
            entry: dict[str, object] = {
                "label": q.label,
                "type": q.type,
                "answered": sum(1 for v in given if v),
            }
            if q.type in ("choice", "yes-no"):
                entry["counts"] = dict(Counter(v for v in given if v))
            out[q.id] = entry
        return out

    def as_json(self) -> dict[str, object]:
        c = self.counts
        return {
            "event": self.name,
            "title": self.cfg.title,
            "start": self.start.isoformat(),
            "capacity": self.cfg.capacity,
            "taken": self.taken,
            "free": None if self.cfg.capacity is None else max(self.cfg.capacity - self.taken, 0),
            "registered": c.get("placed", 0) + c.get("offered", 0) + c.get("waiting", 0),
            **{
                k: c.get(k, 0)
                for k in ("placed", "offered", "waiting", "unconfirmed", "cancelled", "expired")
            },
            "full": c.get("full", 0),
            "checked_in": self.checked_in,
            "answers": self.answers(),
            "erased": self.erased,
            "called_off": self.called_off is not None,
            "called_off_at": self.called_off.at.isoformat() if self.called_off else None,
            "called_off_reason": self.called_off.reason if self.called_off else None,
        }


def status(runner: Runner, name: str) -> Status:
    cfg = event_config(runner.project, name)
    state = runner.state
    regs = state.registrations.of_event(name)
    checked = state.checkins.of_event(name)
    rows = [
        Row(r, state.waitlist.position(r.id) if r.status == "waiting" else None, r.id in checked)
        for r in regs
    ]
    order = {"placed": 0, "offered": 1, "waiting": 2, "unconfirmed": 3}
    rows.sort(key=lambda r: (order.get(r.registration.status, 9), r.position or 0, r.registration.id))
    erased = bool(state.meta.get(f"event-erased:{name}"))
    called_off = state.event_changes.called_off(name)
    start = cfg.starts(runner.project.tz)
    return Status(name, cfg, start, state.registrations.counts(name), rows, erased, called_off)


def lines(s: Status) -> list[str]:
    c = s.as_json()
    places = "no limit" if s.cfg.capacity is None else f"{s.taken} of {s.cfg.capacity} taken"
    out = [f"{s.name}: {s.cfg.title}, {s.start:%Y-%m-%d %H:%M}"]
    if s.called_off is not None:
        why = f": {s.called_off.reason}" if s.called_off.reason else ""
        ended = s.counts.get("called_off", 0)
        at = s.called_off.at.astimezone(s.start.tzinfo)  # stored in UTC; said in the event's time
        out.append(f"CALLED OFF {at:%Y-%m-%d %H:%M}{why} ({ended} registrations ended)")
    out += [
        f"places: {places}; waiting: {c['waiting']}; offered: {c['offered']}; cancelled: {c['cancelled']}; "
        f"unconfirmed guests: {c['unconfirmed']}; expired: {c['expired']}; checked in: {s.checked_in}",
    ]
    for qid, a in s.answers().items():
        counts = a.get("counts")
        detail = ", ".join(f"{v}: {n}" for v, n in sorted(counts.items())) if isinstance(counts, dict) else ""
        out.append(f"  {qid} ({a['label']}): {a['answered']} answered" + (f" ({detail})" if detail else ""))
    if s.erased:
        out.append("answers and names were erased after the event; the counts remain")
    return out


def export(runner: Runner, name: str, path: Path) -> int:
    """The participant list as Norwegian Excel opens it; returns how many rows were written."""
    s = status(runner, name)
    questions = s.cfg.questions
    header = ["Status", "Plass på venteliste", "Navn", "E-post", "Medlemsnummer", "Gjest", "Møtt"]
    header += [q.label for q in questions]
    rows = []
    for row in s.rows:
        r = row.registration
        if r.status not in ("placed", "offered", "waiting"):
            continue
        answers = r.answers or {}
        rows.append(
            [
                STATUS_NAMES.get(r.status, r.status),
                row.position or "",
                r.name,
                r.address,
                "" if r.guest else r.person,
                "ja" if r.guest else "nei",
                "ja" if row.checked_in else "",
                *(shown(q, answers.get(q.id, "")) for q in questions),
            ]
        )
    return write_csv(path, header, rows)


def cancel(runner: Runner, name: str, email: str) -> list[str]:
    """The organiser cancels someone's registration: they get the cancellation (a CANCEL for a
    place), and the place goes to the first in line at once. Returns what to print."""
    event_config(runner.project, name)
    try:
        address = check_email(email.strip()).casefold()
    except ValueError as exc:
        raise UserError(f"'{email}' is not an email address: {exc}") from None
    reg = runner.state.registrations.standing_for_address(name, address)
    if reg is None:
        raise UserError(f"{address} has no registration for {name} that stands; `mailer event status {name}`")
    done = actions.cancel(runner, name, reg.id, by_organiser=True)
    sent = actions.send(runner, done)
    out = [f"cancelled {address}'s registration for {name} (was: {reg.status})"]
    for change in done.result.changes[1:]:
        who = change.registration.address
        out.append(f"{who}: {'offered the place' if change.kind == 'offered' else 'now has a place'}")
    outbox = f" into {runner.outbox} (no SMTP host set: MAILER_SMTP_HOST)" if runner.outbox else ""
    out.append(
        f"{sent.sent} message(s) {'written' if outbox else 'sent'}{outbox}"
        + (
            f", {len(done.delivery_ids) - sent.sent} left for run-due"
            if len(done.delivery_ids) > sent.sent
            else ""
        )
    )
    return out


def check_reason(reason: str) -> str:
    """The reason a board member gives: one line, no control characters, at most REASON_LIMIT."""
    reason = reason.strip()
    if any(ch in reason for ch in "\r\n\u2028\u2029"):
        raise UserError("--reason: one line only; write the reason without line breaks")
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in reason):
        raise UserError("--reason: contains control characters; type the reason as plain text")
    if len(reason) > REASON_LIMIT:
        raise UserError(f"--reason: {len(reason)} characters; write at most {REASON_LIMIT}")
    return reason


def call_off(runner: Runner, name: str, reason: str) -> list[str]:
    """The organiser calls the whole event off: everyone with a place, an offer or a place on
    the list is told (a calendar CANCEL to those with a place). Returns what to print."""
    cfg = event_config(runner.project, name)
    reason = check_reason(reason)
    already = runner.state.event_changes.called_off(name)
    if already is not None:
        at = already.at.astimezone(runner.project.tz)
        return [f"{name} was already called off at {at:%Y-%m-%d %H:%M}; nothing sent"]
    starts = cfg.starts(runner.project.tz)
    if runner.now >= starts:
        raise UserError(f"{name} started at {starts:%Y-%m-%d %H:%M}; it can no longer be called off")
    done = actions.call_off(runner, name, reason)
    if done.outcome == "already":  # another organiser's command won between the two reads
        return [f"{name} was already called off; nothing sent"]
    sent = actions.send(runner, done)
    left = len(done.delivery_ids) - sent.sent
    return [
        f"called off {name}: {len(done.delivery_ids)} people told"
        + (f" ({sent.sent} sent now, {left} left for run-due)" if left else ""),
        "registration is closed; run-due sends no reminder for it",
    ]


def check_in(runner: Runner, name: str, registration_id: int, by: str, undo: bool = False) -> bool:
    """Tick someone off at the door (or take the tick back); only those with a place can be.

    Returns whether anything changed (a second tick changes nothing)."""
    event_config(runner.project, name)
    reg = runner.state.registrations.get(registration_id)
    if undo and reg is not None and reg.event == name:  # a tick is taken back whatever came after
        return runner.state.checkins.undo(registration_id)
    if reg is None or reg.event != name or reg.status != "placed":
        raise UserError(f"registration {registration_id} has no place at {name}")
    return runner.state.checkins.check_in(registration_id, name, by, runner.now)
