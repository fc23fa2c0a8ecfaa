"""Everything the state holds about one person, read for their own copy (GDPR Art. 15).

The counterpart of `erasure`: what that deletes, this reads. Rows are found by the member's
id and by their address (in lower case), as erasure finds them. Message contents are not
kept, so a delivery is what was sent, when, and what became of it.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any


def _rows(
    db: sqlite3.Connection, sql: str, args: tuple[Any, ...], keys: tuple[str, ...]
) -> list[dict[str, Any]]:
    return [dict(zip(keys, row, strict=True)) for row in db.execute(sql, args).fetchall()]


def deliveries(db: sqlite3.Connection, member_id: str, address: str) -> list[dict[str, Any]]:
    return _rows(
        db,
        "SELECT mailing_id, status, created_at, updated_at, attempts, last_reply FROM deliveries "
        "WHERE member_id = ? OR address = ? ORDER BY id",
        (member_id, address.casefold()),
        ("mailing", "status", "planned_at", "updated_at", "attempts", "last_reply"),
    )


def rsvps(db: sqlite3.Connection, member_id: str) -> list[dict[str, Any]]:
    return _rows(
        db,
        "SELECT occurrence, answer, answered_at FROM rsvps WHERE member_id = ? ORDER BY answered_at",
        (member_id,),
        ("meeting", "answer", "answered_at"),
    )


def attendance(db: sqlite3.Connection, member_id: str) -> list[dict[str, Any]]:
    return _rows(
        db,
        "SELECT occurrence, source, recorded_at FROM attendance WHERE member_id = ? ORDER BY occurrence",
        (member_id,),
        ("meeting", "source", "recorded_at"),
    )


def consultation_answers(db: sqlite3.Connection, member_id: str) -> list[dict[str, Any]]:
    """Every version of a consultation answer this member saved (signed by them)."""
    rows = _rows(
        db,
        "SELECT consultation, unit, answered_at, answers, stands FROM consultation_answers "
        "WHERE member_id = ? ORDER BY id",
        (member_id,),
        ("consultation", "answered_for", "answered_at", "answers", "stands"),
    )
    for row in rows:
        row["answers"] = json.loads(row["answers"])
        row["stands"] = bool(row["stands"])
    return rows


def bounces(db: sqlite3.Connection, member_id: str, address: str) -> list[dict[str, Any]]:
    return _rows(
        db,
        "SELECT kind, status, reason, received_at, cleared_at FROM bounce_events "
        "WHERE address = ? OR member_id = ? ORDER BY id",
        (address.casefold(), member_id),
        ("kind", "status", "reason", "received_at", "cleared_at"),
    )


def registrations(db: sqlite3.Connection, member_id: str) -> list[dict[str, Any]] | None:
    """Event registrations, where this state has them (None: not recorded by this release)."""
    try:
        rows = _rows(
            db,
            "SELECT event, status, created_at, placed_at, answers FROM registrations WHERE person = ? "
            "ORDER BY id",
            (member_id,),
            ("event", "status", "registered_at", "placed_at", "answers"),
        )
    except sqlite3.OperationalError:  # the events' tables come with migration step 5
        return None
    for row in rows:
        row["answers"] = json.loads(row["answers"]) if row["answers"] else None
    return rows
