"""Forgetting one person: every row that names them goes; counts and unsubscribes stay, anonymous."""

from __future__ import annotations

from mailer.state import State
from mailer.state.database import transaction


def erase_person(state: State, member_id: str | None, address: str | None) -> int:
    """Delete one person's rows, folding their deliveries into anonymous counts; returns how many."""
    address = address.casefold() if address else None
    db = state.db
    match = "(member_id = ? OR address = ?)"
    args = (member_id, address)
    with transaction(db):
        db.execute(
            "INSERT INTO erased_counts (mailing_id, status, count) "
            f"SELECT mailing_id, status, count(*) FROM deliveries WHERE {match} "
            "GROUP BY mailing_id, status ON CONFLICT (mailing_id, status) "
            "DO UPDATE SET count = count + excluded.count",
            args,
        )
        ids = [r[0] for r in db.execute(f"SELECT id FROM deliveries WHERE {match}", args).fetchall()]
        state.notices.forget(ids)  # what a pending notice to them would have said
        removed = db.execute(f"DELETE FROM deliveries WHERE {match}", args).rowcount
        db.execute(f"DELETE FROM member_register WHERE {match}", args)
        if address:
            state.suppressions.keep_as_hashes(address)  # and the consent log's entries about them
            state.preferences.forget(address)
            state.requests.forget(address)
        state.resubscriptions.forget(address, member_id)
        db.execute(
            "UPDATE rsvps SET member_id = 'erased:' || lower(hex(randomblob(8))) WHERE member_id = ?",
            (member_id,),
        )
        state.members.forget(member_id, address)
        if member_id:
            state.attendance.forget(member_id)
            state.newcomers.forget(member_id)
            state.consultations.forget_member(member_id)
        # a bounce names the address it failed for: the secretary's list forgets it too
        db.execute("DELETE FROM bounce_events WHERE address = ? OR member_id = ?", (address, member_id))
        if address:
            db.execute("DELETE FROM attendance_unmatched WHERE lower(email) = ?", (address,))
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # older page versions live in the WAL
    return removed
