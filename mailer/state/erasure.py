"""Forgetting one person: every row that names them goes; counts and unsubscribes stay, anonymous.

Each record kind forgets in its own module (`forget`); this module calls them all in one
transaction. A new kind of record keyed by a member id, an address or a name must be added
here: tests/test_erasure.py fills every table of the state database and fails, naming the
table, when a person's id, address or name is left in one after erasure.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from mailer.state import State
from mailer.state.database import like_containing, transaction
from mailer.state.traces import Needles, address_forms


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
    "archive",
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


@dataclass(frozen=True)
class Person:
    """One person to erase, as the state knows them, read before anything is deleted."""

    member_id: str | None
    addresses: tuple[str, ...]
    """Every address the state knew for them: an address changed in the export leaves the old
    one in the ledger, the unsubscribes and the consent log."""
    names: tuple[tuple[str, str], ...]
    """(first name, last name) as the member store and the ledger knew them."""

    @property
    def spoken_names(self) -> set[str]:
        """Full names as they are written in the records (one word when only one part is known)."""
        return {" ".join(p for p in name if p) for name in self.names}

    def needles(self) -> Needles:
        """What names the person in a file: each address (also with its domain in IDNA form),
        and a name only with its first and last name together (see `Needles`)."""
        texts = {form for a in self.addresses for form in address_forms(a)}
        full = [(first, last) for first, last in self.names if first and last]
        written = [f"{first} {last}" for first, last in full] + [f"{last}, {first}" for first, last in full]
        return Needles.of(texts, written)


def identify(state: State, member_id: str | None, address: str | None) -> Person:
    """The person by member id and address, with every address and name the state knew for them.

    Other addresses are looked for only under a member id the member export gave (one the
    register knows): a guest's id came with an address anyone could type into a public form,
    and that must not erase the member who owns it. An old address that another member holds
    now is theirs: only the rows under this person's id go.
    """
    address = address.casefold() if address else None
    addresses = [address] if address else []
    if member_id and _is_member(state, member_id):
        for other in sorted(_addresses_of(state, member_id) - set(addresses)):
            if not _held_by_another(state, other, member_id):
                addresses.append(other)
    return Person(member_id, tuple(addresses), tuple(sorted(_names(state, member_id, addresses))))


def erase_person(state: State, member_id: str | None, address: str | None, clean: bool = True) -> int:
    """Delete one person's rows, folding their deliveries into anonymous counts; returns how many."""
    return erase_identified(state, identify(state, member_id, address), clean)


def erase_identified(state: State, person: Person, clean: bool = True) -> int:
    """Delete the rows of a person `identify` found, under each of their addresses.

    `clean` then clears what the engine keeps of the old rows (`clean_up`); erasing many people
    at once passes False and cleans once at the end.
    """
    with transaction(state.db):
        removed = sum(
            _erase_rows(state, person.member_id, address, person.spoken_names)
            for address in person.addresses or (None,)
        )
    if clean:
        clean_up(state)
    return removed


def _erase_rows(state: State, member_id: str | None, address: str | None, names: set[str]) -> int:
    db = state.db
    match = "(member_id = ? OR address = ?)"
    args = (member_id, address)
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
    state.archive.forget(names, anonymous)  # a withdrawal by hand names a board member
    state.event_changes.forget(names, address)  # a call-off's reason naming them
    return removed


def _is_member(state: State, member_id: str) -> bool:
    db = state.db
    return bool(
        db.execute("SELECT 1 FROM member_register WHERE member_id = ?", (member_id,)).fetchone()
        or db.execute("SELECT 1 FROM members WHERE id = ?", (member_id,)).fetchone()
    )


def _addresses_of(state: State, member_id: str) -> set[str]:
    rows = state.db.execute(
        "SELECT address FROM member_register WHERE member_id = ? UNION "
        "SELECT address FROM members WHERE id = ? UNION "
        "SELECT address FROM deliveries WHERE member_id = ? UNION "
        "SELECT address FROM bounce_events WHERE member_id = ? UNION "
        "SELECT address FROM resubscriptions WHERE member_id = ? UNION "
        "SELECT address FROM registrations WHERE person = ?",
        (member_id,) * 6,
    ).fetchall()
    return {str(r[0]).casefold() for r in rows if r[0]}


def _held_by_another(state: State, address: str, member_id: str) -> bool:
    db = state.db
    return bool(
        db.execute("SELECT 1 FROM members WHERE address = ? AND id != ?", (address, member_id)).fetchone()
        or db.execute(
            "SELECT 1 FROM member_register WHERE address = ? AND member_id != ?", (address, member_id)
        ).fetchone()
    )


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


def _names(state: State, member_id: str | None, addresses: list[str]) -> set[tuple[str, str]]:
    """The person's (first, last) names as the member store and the ledger knew them."""
    records: list[str] = []
    for address in addresses or [None]:
        records += state.members.records(member_id, address)
        records += state.deliveries.member_records(member_id, address)
    names: set[tuple[str, str]] = set()
    for record in records:
        try:
            data = json.loads(record)
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        first, last = (str(data.get(k) or "").strip() for k in ("first_name", "last_name"))
        if first or last:
            names.add((first, last))
    return names
