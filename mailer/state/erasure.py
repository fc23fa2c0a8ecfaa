"""Forgetting one person: every row that names them goes; counts and unsubscribes stay, anonymous."""

from __future__ import annotations

from mailer.state import State
from mailer.state.attendance import erased_id
from mailer.state.database import transaction

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
    with transaction(db):
        db.execute(
            "INSERT INTO erased_counts (mailing_id, status, count) "
            f"SELECT mailing_id, status, count(*) FROM deliveries WHERE {match} "
            "GROUP BY mailing_id, status ON CONFLICT (mailing_id, status) "
            "DO UPDATE SET count = erased_counts.count + excluded.count",
            args,
        )
        removed = db.execute(f"DELETE FROM deliveries WHERE {match}", args).rowcount
        db.execute(f"DELETE FROM member_register WHERE {match}", args)
        if address:
            state.suppressions.keep_as_hashes(address)
        db.execute("UPDATE rsvps SET member_id = ? WHERE member_id = ?", (erased_id(), member_id))
        state.members.forget(member_id, address)
        if member_id:
            state.attendance.forget(member_id)
            state.newcomers.forget(member_id)
            state.consultations.forget_member(member_id)
        # a bounce names the address it failed for: the secretary's list forgets it too
        db.execute("DELETE FROM bounce_events WHERE address = ? OR member_id = ?", (address, member_id))
        if address:
            db.execute("DELETE FROM attendance_unmatched WHERE lower(email) = ?", (address,))
    if clean:
        clean_up(state)
    return removed


def clean_up(state: State) -> None:
    """Older versions of erased rows live in SQLite's WAL, or as dead tuples in PostgreSQL."""
    state.db.after_erasure(TOUCHED)
