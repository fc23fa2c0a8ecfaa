"""Forgetting one person: every row that names them goes; counts and unsubscribes stay, anonymous.

Each record kind forgets in its own module (`forget`); this module calls them all in one
transaction. A new kind of record keyed by a member id, an address or a name must be added
here: tests/test_erasure.py fills every table of the state database and fails, naming the
table, when a person's id, address or name is left in one after erasure.
"""

from __future__ import annotations

import json
import secrets

from mailer.state import State
from mailer.state.database import like_containing, transaction


def anonymous() -> str:
    """A key that stands in for an erased person in a row kept for counting."""
    return "erased:" + secrets.token_hex(8)


# Every table an erasure deletes from or rewrites: the engine clears what it keeps of the old rows.
TOUCHED = (
    "deliveries",
    "erased_counts",
    "member_register",
    "suppressions",
    "suppression_hashes",
    "rsvps",
    "members",
    "member_problems",
    "meta",
    "attendance",
    "attendance_unmatched",
    "chapter_notices",
    "consultation_answers",
    "bounce_events",
    "bounce_messages",
    "unverified_bounces",
    "approvals",
    "mailings",
    "notices",
    "registrations",
    "registration_told",
    "event_calloffs",
    "consent_log",
    "member_preferences",
    "resubscriptions",
    "member_requests",
)


def erase_person(state: State, member_id: str | None, address: str | None, clean: bool = True) -> int:
    """Delete one person's rows, folding their deliveries into anonymous counts; returns how many.

    `clean` then clears what the engine keeps of the old rows (`clean_up`); erasing many people
    at once passes False and cleans once at the end.
    """
    address = address.casefold() if address else None
    db = state.db
    match = "(member_id = ? OR address = ?)"
    args = (member_id, address)
    names = _names(state, member_id, address)
    with transaction(db):
        db.execute(
            "INSERT INTO erased_counts (mailing_id, status, count) "
            f"SELECT mailing_id, status, count(*) FROM deliveries WHERE {match} "
            "GROUP BY mailing_id, status ON CONFLICT (mailing_id, status) "
            "DO UPDATE SET count = erased_counts.count + excluded.count",
            args,
        )
        ids = [r[0] for r in db.execute(f"SELECT id FROM deliveries WHERE {match}", args).fetchall()]
        state.notices.forget(ids)  # what a pending notice to them would have said
        state.notices.forget_mentions(member_id, address)  # and one to the secretary about them
        removed = db.execute(f"DELETE FROM deliveries WHERE {match}", args).rowcount
        db.execute(f"DELETE FROM member_register WHERE {match}", args)
        if address:
            state.suppressions.keep_as_hashes(address)  # and the consent log's entries about them
            state.unverified.forget(address)
            state.preferences.forget(address)
            state.requests.forget(address)
        state.resubscriptions.forget(address, member_id)
        state.members.forget(member_id, address)
        state.registrations.forget(member_id, address)  # standing ones are cancelled: no one to come
        if member_id:
            state.rsvps.forget(member_id, anonymous)
            state.attendance.forget(member_id, anonymous)
            state.newcomers.forget(member_id)
            state.consultations.forget_member(member_id)
            state.deliveries.forget_in_plans(member_id)
        state.bounces.forget(member_id, address)
        state.attendance.forget_guest(address, names, anonymous)
        state.approvals.forget(names, anonymous)
        state.event_changes.forget(names, address)  # a call-off's reason naming them
    if clean:
        clean_up(state)
    return removed


# Where an address stands as a column, or inside a text (a bounce's reason, a notice's context).
_BY_ADDRESS = (
    "member_register",
    "deliveries",
    "members",
    "suppressions",
    "consent_log",
    "member_preferences",
    "member_requests",
    "resubscriptions",
    "registrations",
    "bounce_events",
    "unverified_bounces",
)
_IN_TEXT = (
    ("bounce_events", "reason"),
    ("unverified_bounces", "reason"),
    ("notices", "context"),
    ("event_calloffs", "reason"),
)


def is_known(state: State, address: str) -> bool:
    """Whether the state holds anything about `address`, so that a mistyped erasure request
    is noticed instead of reported as done (a person erased before is no longer known)."""
    address = address.casefold()
    db = state.db
    for table in _BY_ADDRESS:
        if db.execute(f"SELECT 1 FROM {table} WHERE address = ? LIMIT 1", (address,)).fetchone():
            return True
    pattern = like_containing(address)
    for table, column in _IN_TEXT:
        sql = f"SELECT 1 FROM {table} WHERE lower({column}) LIKE ? ESCAPE '\\' LIMIT 1"
        if db.execute(sql, (pattern,)).fetchone():
            return True
    rows = db.execute("SELECT email FROM attendance_unmatched").fetchall()
    return any(str(r[0] or "").casefold() == address for r in rows)


def erase_event(state: State, event: str) -> list[tuple[str, str]]:
    """An event's answers and who registered, after it is over; the counts by status stay.

    Returns (person, address) of its guests, whose mail the caller erases with `erase_person`.
    """
    with transaction(state.db):
        guests = state.registrations.erase_event(event)
        state.event_changes.erase_event(event)
    clean_up(state)
    return guests


def clean_up(state: State) -> None:
    """Older versions of erased rows live in SQLite's WAL, or as dead tuples in PostgreSQL."""
    state.db.after_erasure(TOUCHED)


def _names(state: State, member_id: str | None, address: str | None) -> set[str]:
    """The person's full names as the member store and the ledger knew them (read before deleting)."""
    names: set[str] = set()
    for record in state.members.records(member_id, address) + state.deliveries.member_records(
        member_id, address
    ):
        try:
            data = json.loads(record)
        except ValueError:
            continue
        full = " ".join(str(data.get(k) or "") for k in ("first_name", "last_name")).strip()
        if full:
            names.add(full)
    return names
