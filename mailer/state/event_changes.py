"""What each registrant was last told of an event's time and place, and events called off.

A confirmation or an offer tells a person the start, end, location (and, with a place, the
join link); `told` keeps that per registration with the SEQUENCE of their calendar entry, so
`run-due` can see when schedules.yaml now says something else and tell them, once, with the
entry's SEQUENCE raised (RFC 5546). A call-off is one row per event: the first one counts,
and a repeated command finds it there. No row names a person (a registration's id only).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass

from mailer.state.connection import Connection
from mailer.state.database import stamp, unstamp


@dataclass(frozen=True)
class Told:
    fields: dict[str, str | None]
    sequence: int


@dataclass(frozen=True)
class CallOff:
    reason: str
    at: dt.datetime


class EventChanges:
    def __init__(self, db: Connection):
        self.db = db

    def told(self, registration_id: int) -> Told | None:
        row = self.db.execute(
            "SELECT fields, sequence FROM registration_told WHERE registration_id = ?", (registration_id,)
        ).fetchone()
        return Told(json.loads(str(row[0])), int(row[1])) if row else None

    def sequence(self, registration_id: int) -> int:
        """The SEQUENCE of the person's calendar entry as last sent (0 before any change)."""
        found = self.told(registration_id)
        return found.sequence if found else 0

    def tell(
        self,
        registration_id: int,
        event: str,
        fields: dict[str, str | None],
        now: dt.datetime,
        raise_sequence: bool = False,
    ) -> int:
        """Inside the transaction recording the message that tells them: returns its SEQUENCE."""
        bump = 1 if raise_sequence else 0
        self.db.execute(
            "INSERT INTO registration_told (registration_id, event, fields, sequence, told_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (registration_id) DO UPDATE SET fields = excluded.fields, "
            "sequence = registration_told.sequence + ?, told_at = excluded.told_at",
            (registration_id, event, json.dumps(fields, sort_keys=True), bump, stamp(now), bump),
        )
        return self.sequence(registration_id)

    def call_off(self, event: str, reason: str, now: dt.datetime) -> bool:
        """Mark the event called off; False when it already was (nothing more to do)."""
        cur = self.db.execute(
            "INSERT INTO event_calloffs (event, reason, called_off_at) VALUES (?, ?, ?) "
            "ON CONFLICT (event) DO NOTHING",
            (event, reason, stamp(now)),
        )
        return cur.rowcount == 1

    def called_off(self, event: str) -> CallOff | None:
        row = self.db.execute(
            "SELECT reason, called_off_at FROM event_calloffs WHERE event = ?", (event,)
        ).fetchone()
        return CallOff(str(row[0]), unstamp(str(row[1]))) if row else None  # type: ignore[arg-type]

    def erase_event(self, event: str) -> None:
        """After the event (`forget_after_days`): the call-off's reason, a board member's free
        text, goes with the answers; the fact that it was called off stays."""
        self.db.execute("UPDATE event_calloffs SET reason = '' WHERE event = ?", (event,))
        self.db.execute("DELETE FROM registration_told WHERE event = ?", (event,))

    def forget(self, names: Iterable[str], address: str | None) -> None:
        """Inside an erasure: a call-off's reason that names the person (their full name or
        address: "Kari Nordmann er syk") is emptied; the call-off itself stays."""
        needles = {" ".join(n.casefold().split()) for n in names if n.strip()}
        if address:
            needles.add(address.casefold())
        rows = self.db.execute("SELECT event, reason FROM event_calloffs WHERE reason != ''").fetchall()
        for event, reason in rows:
            said = " ".join(str(reason).casefold().split())
            if any(n in said for n in needles):
                self.db.execute("UPDATE event_calloffs SET reason = '' WHERE event = ?", (event,))
