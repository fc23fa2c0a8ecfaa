"""The member register as the ledger saw it: who joined, who left, and forgetting those who left.

Each sending run compares the export with the register: a member is *new* when their joined
date is inside the welcome window, or, when the export has no joined date, when they first
appeared in an import after the first one that held members (so a new installation never
welcomes the members it already had, not even after a first import of the header alone). Members
missing from the export are *gone*; after the retention period their personal data is erased
from the state folder, keeping only counts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

from mailer.project.members import Member
from mailer.state import State
from mailer.state.database import stamp
from mailer.state.erasure import anonymous, clean_up, erase_identified, identify
from mailer.state.folder import erase_files
from mailer.state.traces import Needles


def sync(state: State, now: dt.datetime, inputs: str) -> None:
    """Record who is in the member store (the export, imported) now; skipped when it has not changed.

    The register starts with the first import that holds members. A start that saw no member
    (an empty first import, as a state from before this rule may hold) moves to the first
    import that did.
    """
    if state.meta.get("register_inputs") == inputs:
        return
    for _, old, new in state.register.address_changes():  # a member's choices follow them
        state.suppressions.carry(old, new, now)
        state.preferences.carry(old, new, now)
    state.register.sync(now)
    started = state.meta.get("register_started")
    if state.members.count() and (started is None or not state.register.seen_by(started)):
        state.meta.set("register_started", stamp(now) if started is None else state.register.earliest())
    state.meta.set("register_inputs", inputs)


def is_new(state: State, member: Member, window_days: int, today: dt.date) -> bool:
    """Joined within the window; without a joined date, first seen after the first import with members."""
    if member.joined_unreadable:
        return False
    if member.joined is not None:
        return 0 <= (today - member.joined).days <= window_days
    started = state.meta.get("register_started")
    first_seen = state.register.first_seen(member.id)
    if started is None or first_seen is None or first_seen <= started:
        return False
    seen = dt.datetime.fromisoformat(first_seen).date()
    return (today - seen).days <= window_days


def forget_gone(state: State, state_dir: Path, retention_days: int, now: dt.datetime) -> int:
    """Erase members who left the export more than `retention_days` ago; returns how many.

    Guests and names an attendance report listed apart (never members, or not recognised) are
    kept as long: after `retention_days` only their count stays.
    """
    cutoff = now - dt.timedelta(days=retention_days)
    gone = state.register.gone_before(cutoff)
    erase_all(state, state_dir, gone, clean=False)
    guests = state.attendance.anonymise_guests(cutoff, anonymous)
    if gone or guests:  # an anonymised guest's old name is in the file until it is written anew
        clean_up(state)
    return len(gone)


def erase(
    state: State, state_dir: Path, member_id: str | None, address: str | None, clean: bool = True
) -> int:
    """Remove one person's data from the ledger and rendered files; counts stay."""
    return erase_all(state, state_dir, [(member_id, address)], clean)


def erase_all(
    state: State,
    state_dir: Path,
    people: Iterable[tuple[str | None, str | None]],
    clean: bool = True,
) -> int:
    """Remove the data of each (member id, address) from the ledger, and every outbox message
    and preview that names one of them, by any address the state knew for them or by their
    full name; returns the deliveries folded into counts.

    Everyone is identified before anything is deleted (the names come from the rows that go),
    and the files are read once for all of them.
    """
    found = [identify(state, member_id, address) for member_id, address in people]
    removed = sum(erase_identified(state, person, clean=False) for person in found)
    needles = Needles.of()
    for person in found:
        needles |= person.needles()
    erase_files(state_dir, needles)
    if clean and found:
        clean_up(state)
    return removed
