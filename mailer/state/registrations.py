"""Registrations for events: who signed up, with what answers, and where they stand.

A registration is `unconfirmed` (a guest who has not clicked the link in their mail yet: it
holds no place), `placed`, `waiting` (see `waitlist`), `offered` (a freed place held for them
until they answer), or ended: `cancelled`, `expired` (an offer or a guest's confirmation not
answered in time) or `full` (a guest who confirmed when no place and no list was left).
Places taken are `placed` and `offered`. The rules that move a registration from one to the
other live in `mailer.events`; this module only keeps the records, and every change is a
conditional UPDATE so that two requests cannot both make it.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass

from mailer.state.connection import Connection
from mailer.state.database import stamp, unstamp

STANDING = ("unconfirmed", "placed", "waiting", "offered")
TAKING_A_PLACE = ("placed", "offered")
_COLUMNS = (
    "id, event, person, guest, name, address, language, status, answers, created_at, placed_at, "
    "updated_at, confirm_by"
)


@dataclass(frozen=True)
class Registration:
    id: int
    event: str
    person: str
    guest: bool
    name: str
    address: str
    language: str
    status: str
    answers: dict[str, str] | None
    created_at: dt.datetime
    placed_at: dt.datetime | None
    updated_at: dt.datetime
    confirm_by: dt.datetime | None

    @property
    def standing(self) -> bool:
        return self.status in STANDING


def _registration(row: tuple[object, ...]) -> Registration:
    answers = json.loads(str(row[8])) if row[8] is not None else None
    return Registration(
        int(row[0]),  # type: ignore[call-overload]
        str(row[1]),
        str(row[2]),
        bool(row[3]),
        str(row[4]),
        str(row[5]),
        str(row[6]),
        str(row[7]),
        answers,
        unstamp(str(row[9])),  # type: ignore[arg-type]
        unstamp(row[10]),  # type: ignore[arg-type]
        unstamp(str(row[11])),  # type: ignore[arg-type]
        unstamp(row[12]),  # type: ignore[arg-type]
    )


def new_guest_id() -> str:
    """A guest's id in links and the ledger: made up, so no token ever carries an address."""
    return "guest-" + secrets.token_hex(8)


class Registrations:
    def __init__(self, db: Connection):
        self.db = db

    def hold(self, event: str) -> None:
        """Inside a transaction: wait until no other transaction is deciding this event's places.

        SQLite lets one writer in at a time anyway; on PostgreSQL two transactions counting the
        last place at once would otherwise both see it free."""
        self.db.lock(f"event-places:{event}")

    def add(
        self,
        event: str,
        person: str,
        guest: bool,
        name: str,
        address: str,
        language: str,
        status: str,
        answers: dict[str, str],
        now: dt.datetime,
        confirm_by: dt.datetime | None = None,
    ) -> int:
        """A new registration (inside the caller's transaction, which counted the places first)."""
        ts = stamp(now)
        self.db.execute(
            "INSERT INTO registrations (event, person, guest, name, address, language, status, answers, "
            "created_at, placed_at, updated_at, confirm_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                event,
                person,
                int(guest),
                name,
                address.casefold(),
                language,
                status,
                json.dumps(answers, ensure_ascii=False),
                ts,
                ts if status == "placed" else None,
                ts,
                stamp(confirm_by) if confirm_by else None,
            ),
        )
        row = self.db.execute(
            "SELECT id FROM registrations WHERE event = ? AND person = ? ORDER BY id DESC LIMIT 1",
            (event, person),
        ).fetchone()
        return int(row[0])

    def made_since(self, event: str, person: str, since: dt.datetime) -> int:
        """How many registrations the person made for the event from `since` on."""
        row = self.db.execute(
            "SELECT count(*) FROM registrations WHERE event = ? AND person = ? AND created_at >= ?",
            (event, person, stamp(since)),
        ).fetchone()
        return int(row[0])

    def get(self, registration_id: int) -> Registration | None:
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM registrations WHERE id = ?", (registration_id,)
        ).fetchone()
        return _registration(row) if row else None

    def latest(self, event: str, person: str) -> Registration | None:
        """The person's standing registration, else their last one (to say how it ended)."""
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM registrations WHERE event = ? AND person = ? "
            "ORDER BY CASE WHEN status IN ('unconfirmed', 'placed', 'waiting', 'offered') THEN 0 ELSE 1 END, "
            "id DESC LIMIT 1",
            (event, person),
        ).fetchone()
        return _registration(row) if row else None

    def standing_for_address(self, event: str, address: str, besides: int = 0) -> Registration | None:
        """A standing registration of the address for the event (other than `besides`)."""
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM registrations WHERE event = ? AND address = ? AND status IN "
            "('unconfirmed', 'placed', 'waiting', 'offered') AND id != ? ORDER BY id LIMIT 1",
            (event, address.casefold(), besides),
        ).fetchone()
        return _registration(row) if row else None

    def taken(self, event: str) -> int:
        """Places taken: registrations placed, and places held for an offer."""
        return self.db.execute(
            "SELECT count(*) FROM registrations WHERE event = ? AND status IN ('placed', 'offered')", (event,)
        ).fetchone()[0]

    def move(self, registration_id: int, to: str, came_from: tuple[str, ...], now: dt.datetime) -> bool:
        """Change a registration's status if it is still in one of `came_from`; False if it was not."""
        marks = ",".join("?" for _ in came_from)
        ts = stamp(now)
        cur = self.db.execute(
            f"UPDATE registrations SET status = ?, updated_at = ?, "
            f"placed_at = CASE WHEN ? = 'placed' THEN ? ELSE placed_at END "
            f"WHERE id = ? AND status IN ({marks})",
            (to, ts, to, ts, registration_id, *came_from),
        )
        return cur.rowcount == 1

    def of_event(self, event: str, statuses: tuple[str, ...] | None = None) -> list[Registration]:
        where, args = "event = ?", [event]
        if statuses:
            where += f" AND status IN ({','.join('?' for _ in statuses)})"
            args += list(statuses)
        rows = self.db.execute(f"SELECT {_COLUMNS} FROM registrations WHERE {where} ORDER BY id", args)
        return [_registration(r) for r in rows]

    def counts(self, event: str) -> dict[str, int]:
        rows = self.db.execute(
            "SELECT status, count(*) FROM registrations WHERE event = ? GROUP BY status", (event,)
        )
        return {status: n for status, n in rows}

    def unconfirmed_before(self, now: dt.datetime) -> list[Registration]:
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM registrations WHERE status = 'unconfirmed' AND confirm_by <= ? "
            "ORDER BY id",
            (stamp(now),),
        )
        return [_registration(r) for r in rows]

    def events_with_answers(self) -> list[str]:
        rows = self.db.execute("SELECT DISTINCT event FROM registrations WHERE answers IS NOT NULL")
        return [r[0] for r in rows]

    def erase_event(self, event: str) -> list[tuple[str, str]]:
        """After the event: every answer goes, and who registered; counts by status stay.

        Returns (person, address) of the guests, whose other traces (their mail in the ledger
        and the outbox) the caller erases too.
        """
        guests = self.db.execute(
            "SELECT person, address FROM registrations WHERE event = ? AND guest = 1 AND address != ''",
            (event,),
        ).fetchall()
        self.db.execute(
            "UPDATE registrations SET answers = NULL, name = '', address = '' WHERE event = ?", (event,)
        )
        for person, _ in guests:
            self.db.execute(
                "UPDATE registrations SET person = ? WHERE person = ?",
                ("erased-" + secrets.token_hex(8), person),
            )
        return [(str(p), str(a)) for p, a in guests]

    def forget(self, member_id: str | None, address: str | None) -> None:
        """`mailer forget`: a person's registrations lose their name, address and answers, and a
        standing one is cancelled (its place goes to the next in line at the next run)."""
        rows = self.db.execute(
            "SELECT id FROM registrations WHERE person = ? OR (address = ? AND address != '')",
            (member_id, address.casefold() if address else None),
        ).fetchall()
        for (registration_id,) in rows:
            self.db.execute(
                "UPDATE registrations SET status = CASE WHEN status IN "
                "('unconfirmed', 'placed', 'waiting', 'offered') THEN 'cancelled' ELSE status END, "
                "answers = NULL, name = '', address = '', person = ? WHERE id = ?",
                ("erased-" + secrets.token_hex(8), registration_id),
            )
