"""What `run-due` does for events, besides sending their invitations (ordinary mailings).

Each run: offers that ran out pass to the next in line, and places freed by a larger capacity
or a `mailer forget` go to those waiting; a change of the event's time or place in
schedules.yaml is announced to those with a place or an offer (once per change); guests who
never confirmed their address are expired and forgotten; at the reminder's time every
registrant placed by then is reminded (with the join link), once; and `forget_after_days`
after the event its answers and its guests are erased, leaving only the counts. An event
called off gets no reminder and moves no places; only its erasure is still due.
"""

from __future__ import annotations

import datetime as dt

from mailer.delivery import notices
from mailer.delivery.report import Report
from mailer.delivery.runner import Runner
from mailer.errors import UserError
from mailer.events import actions, messages
from mailer.events.places import Change, Places, Result
from mailer.state.database import transaction
from mailer.state.erasure import clean_up, erase_event, erase_person
from mailer.state.folder import erase_files


def run(runner: Runner) -> tuple[list[Report], list[str]]:
    """Every event's due work; returns what was sent and the problems (one line each)."""
    ids: list[int] = []
    errors: list[str] = []
    forgotten = expire_guests(runner)
    for name in runner.project.config.events:
        try:
            if runner.state.event_changes.called_off(name) is None:
                ids += actions.apply(runner, name, lambda p: _moved(p, runner.now)).delivery_ids
                ids += actions.announce_changes(runner, name).delivery_ids
                ids += remind(runner, name)
            erase_after(runner, name)
        except UserError as exc:
            errors.append(f"event {name}: {exc}")
    report = notices.send(runner, ids, quota_wait=None)
    report.mailing_id = "events"
    if forgotten:  # no mail was lost: their one mail stays counted as it ended (sent, mostly)
        report.note = "; ".join(filter(None, (report.note, lapsed_guests(forgotten))))
    return ([report] if report.anything or forgotten else []), errors


def lapsed_guests(n: int) -> str:
    """What a secretary reads of guests erased for never confirming: not "dropped", no mail was."""
    if n == 1:
        return "1 unconfirmed guest registration lapsed and was erased"
    return f"{n} unconfirmed guest registrations lapsed and were erased"


def _moved(places: Places, now: dt.datetime) -> Result:
    return Result("placed", None, places.lapse(now) + places.fill(now))


def expire_guests(runner: Runner) -> int:
    """Guests who did not confirm within the day: their registration ends and they are forgotten."""
    state = runner.state
    gone = 0
    for reg in state.registrations.unconfirmed_before(runner.now):
        if state.registrations.move(reg.id, "expired", ("unconfirmed",), runner.now):
            forget_guest(runner, reg.person)
            gone += 1
    if gone:
        clean_up(state)
    return gone


def forget_guest(runner: Runner, person: str) -> None:
    """A guest erased by the id made up for them, never by address: anyone can type anyone's
    address into a public form, and that must not erase the member who owns it.

    Their mail goes from the ledger and from the outbox (found by its X-Mailer-Mailing header).
    """
    state = runner.state
    mailings = state.notices.mailings_of(person)
    erase_person(state, person, None, clean=False)  # the caller cleans once for every guest
    erase_files(runner.project.state_dir, [f"x-mailer-mailing: {m}\r\n" for m in mailings])


def remind(runner: Runner, name: str) -> list[int]:
    """At the reminder's time, one reminder to each registrant placed before it: once per
    event, and once more if the event moves after it (the new time has its own reminder)."""
    cfg = runner.project.config.events[name]
    tz = runner.project.tz
    if cfg.reminder is None:
        return []
    at = cfg.send_time(cfg.reminder, tz)
    key = f"event-reminded:{name}"
    state = runner.state
    if not at <= runner.now < cfg.starts(tz) or state.meta.get(key) == at.isoformat():
        return []
    runner.member_store()
    with transaction(state.db):
        ids = [
            notices.record(state, messages.notice(runner, name, cfg, Change("reminder", reg)), runner.now)
            for reg in state.registrations.of_event(name, ("placed",))
            if reg.placed_at is None or reg.placed_at < at
        ]
        state.meta.set(key, at.isoformat())
    return ids


def erase_after(runner: Runner, name: str) -> None:
    """`forget_after_days` after the event: answers and guests go, the counts stay."""
    cfg = runner.project.config.events[name]
    key = f"event-erased:{name}"
    state = runner.state
    if runner.now < cfg.forget_at(runner.project.tz) or state.meta.get(key):
        return
    guests = erase_event(state, name)
    for person, _address in guests:
        forget_guest(runner, person)
    if guests:
        clean_up(state)
    state.meta.set(key, runner.now.isoformat())
