"""Notices: messages to one person, now (a confirmation, a waiting-list mail, an offer, …).

Each is an ordinary delivery in the ledger (one `mailings` row of kind `notice` and one
`deliveries` row) plus what to say, kept in `notices` until the delivery ends: the template,
the subject, the context and the calendar entry, so any process can build and send it, now
or after a crash. Whoever sends one first claims it with a conditional UPDATE; the row count
says who won, so the web part and `run-due` never both send it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from mailer.state.connection import Connection
from mailer.state.database import like_containing, stamp, transaction

STALE_SENDING = dt.timedelta(minutes=10)
"""A claim older than this belongs to a process that died while sending: another may retake it."""


_EARLIER = (
    "SELECT 1 FROM deliveries e JOIN notices n ON n.delivery_id = e.id JOIN deliveries mine ON mine.id = ? "
    "JOIN mailings m ON m.id = mine.mailing_id WHERE e.member_id = mine.member_id AND n.category = m.series "
    "AND e.id < mine.id AND e.status IN ('pending', 'sending', 'deferred')"
)
"""An earlier notice to the same person about the same thing, still to go (notices rows exist only
while their delivery is open)."""


@dataclass(frozen=True)
class Stored:
    """A notice as the ledger keeps it until it is sent (or given up)."""

    delivery_id: int
    mailing_id: str
    address: str
    category: str
    member: dict[str, object]
    template: str
    subject: str
    context: str
    calendar: str | None
    expires_at: str | None
    attempts: int
    first_attempt_at: str | None


class Notices:
    def __init__(self, db: Connection):
        self.db = db

    def add(
        self,
        key: str,
        category: str,
        member_id: str,
        address: str,
        member: dict[str, object],
        content: tuple[str, str, str, str | None],
        expires_at: dt.datetime | None,
        now: dt.datetime,
    ) -> int:
        """Write a pending delivery and what it says; returns the delivery's id.

        Call it inside the transaction that decided to send it, so the decision and the
        message commit together. Adding the same key for the same person again changes
        nothing and returns the first one's id.
        """
        ts = stamp(now)
        template, subject, context, calendar = content
        self.db.execute(
            "INSERT INTO mailings (id, kind, series, first_planned_at, expires_at) "
            "VALUES (?, 'notice', ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (key, category, ts, stamp(expires_at) if expires_at else None),
        )
        self.db.execute(
            "INSERT INTO deliveries (mailing_id, member_id, address, member, status, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT DO NOTHING",
            (key, member_id, address.casefold(), json.dumps(member, ensure_ascii=False), ts, ts),
        )
        delivery_id = self.db.execute(
            "SELECT id FROM deliveries WHERE mailing_id = ? AND member_id = ?", (key, member_id)
        ).fetchone()[0]
        self.db.execute(
            "INSERT INTO notices (delivery_id, category, template, subject, context, calendar, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (delivery_id) DO NOTHING",
            (
                delivery_id,
                category,
                template,
                subject,
                context,
                calendar,
                stamp(expires_at) if expires_at else None,
            ),
        )
        return int(delivery_id)

    def claim(self, delivery_id: int, now: dt.datetime) -> bool:
        """Take a notice to send it now; False when another process has it, it is done, or an
        earlier notice to the same person about the same thing has not gone yet (a CANCEL must
        never overtake the REQUEST it cancels)."""
        ts = stamp(now)
        cur = self.db.execute(
            "UPDATE deliveries SET status = 'sending', attempts = attempts + 1, updated_at = ?, "
            "first_attempt_at = coalesce(first_attempt_at, ?) WHERE id = ? AND id IN "
            "(SELECT delivery_id FROM notices) AND (status = 'pending' "
            "OR (status = 'deferred' AND next_attempt_at <= ?) OR (status = 'sending' AND updated_at <= ?)) "
            f"AND NOT EXISTS ({_EARLIER})",
            (ts, ts, delivery_id, ts, stamp(now - STALE_SENDING), delivery_id),
        )
        return cur.rowcount == 1

    def next_for(self, delivery_id: int) -> int | None:
        """The next notice still to go to the same person about the same thing, after this one."""
        row = self.db.execute(
            "SELECT d.id FROM deliveries d JOIN notices n ON n.delivery_id = d.id "
            "JOIN deliveries mine ON mine.id = ? JOIN mailings m ON m.id = mine.mailing_id "
            "WHERE d.member_id = mine.member_id AND n.category = m.series AND d.id > mine.id "
            "AND d.status IN ('pending', 'sending', 'deferred') ORDER BY d.id LIMIT 1",
            (delivery_id,),
        ).fetchone()
        return int(row[0]) if row else None

    def get(self, delivery_id: int) -> Stored | None:
        row = self.db.execute(
            "SELECT d.id, d.mailing_id, d.address, n.category, d.member, n.template, n.subject, n.context, "
            "n.calendar, n.expires_at, d.attempts, d.first_attempt_at FROM deliveries d "
            "JOIN notices n ON n.delivery_id = d.id WHERE d.id = ?",
            (delivery_id,),
        ).fetchone()
        if row is None:
            return None
        return Stored(row[0], row[1], row[2], row[3], json.loads(row[4]), *row[5:])

    def due(self, now: dt.datetime) -> list[int]:
        """Notices waiting to be sent: new, deferred and due again, or left `sending` by a dead process."""
        rows = self.db.execute(
            "SELECT d.id FROM deliveries d JOIN notices n ON n.delivery_id = d.id WHERE "
            "d.status = 'pending' OR (d.status = 'deferred' AND d.next_attempt_at <= ?) "
            "OR (d.status = 'sending' AND d.updated_at <= ?) ORDER BY d.id",
            (stamp(now), stamp(now - STALE_SENDING)),
        ).fetchall()
        return [r[0] for r in rows]

    def sent(self, delivery_id: int, now: dt.datetime, reply: str, message_id: str) -> None:
        """Sent: the delivery says so, and what it said is no longer kept."""
        with transaction(self.db):
            self.db.execute(
                "UPDATE deliveries SET status = 'sent', updated_at = ?, last_reply = ?, message_id = ?, "
                "next_attempt_at = NULL WHERE id = ?",
                (stamp(now), reply, message_id, delivery_id),
            )
            self.db.execute("DELETE FROM notices WHERE delivery_id = ?", (delivery_id,))

    def ended(self, delivery_id: int, status: str, now: dt.datetime, reply: str) -> None:
        """Failed or given up (`failed`, `expired`, `dropped`); what it said goes too."""
        with transaction(self.db):
            self.db.execute(
                "UPDATE deliveries SET status = ?, updated_at = ?, last_reply = ?, next_attempt_at = NULL "
                "WHERE id = ?",
                (status, stamp(now), reply, delivery_id),
            )
            self.db.execute("DELETE FROM notices WHERE delivery_id = ?", (delivery_id,))

    def deferred(self, delivery_id: int, now: dt.datetime, reply: str, retry_at: dt.datetime) -> None:
        self.db.execute(
            "UPDATE deliveries SET status = 'deferred', updated_at = ?, last_reply = ?, next_attempt_at = ? "
            "WHERE id = ?",
            (stamp(now), reply, stamp(retry_at), delivery_id),
        )

    def released(self, delivery_id: int, now: dt.datetime, reply: str) -> None:
        """Not attempted after all (no connection, or no room in the quota): pending again."""
        self.db.execute(
            "UPDATE deliveries SET status = 'pending', attempts = attempts - 1, updated_at = ?, "
            "last_reply = ? WHERE id = ? AND status = 'sending'",
            (stamp(now), reply, delivery_id),
        )

    def status(self, delivery_id: int) -> str | None:
        row = self.db.execute("SELECT status FROM deliveries WHERE id = ?", (delivery_id,)).fetchone()
        return row[0] if row else None

    def undeliverable(self, address: str) -> bool:
        """The address bounced hard: even a message someone asked for cannot reach it."""
        row = self.db.execute(
            "SELECT 1 FROM suppressions WHERE address = ? AND category = '*' AND source = 'bounce'",
            (address.casefold(),),
        ).fetchone()
        return row is not None

    def mailing_ids(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT id FROM mailings WHERE kind = 'notice'")}

    def is_notice(self, mailing_id: str) -> bool:
        row = self.db.execute("SELECT kind FROM mailings WHERE id = ?", (mailing_id,)).fetchone()
        return bool(row) and row[0] == "notice"

    def counts_by_category(self) -> dict[str, dict[str, int]]:
        """Category → delivery status → count, over every notice (for `mailer status`)."""
        out: dict[str, dict[str, int]] = {}
        for category, status, n in self.db.execute(
            "SELECT m.series, d.status, count(*) FROM deliveries d JOIN mailings m ON m.id = d.mailing_id "
            "WHERE m.kind = 'notice' GROUP BY m.series, d.status"
        ):
            out.setdefault(category, {})[status] = n
        for category, status, n in self.db.execute(
            "SELECT m.series, e.status, sum(e.count) FROM erased_counts e "
            "JOIN mailings m ON m.id = e.mailing_id WHERE m.kind = 'notice' GROUP BY m.series, e.status"
        ):
            row = out.setdefault(category, {})
            row[status] = row.get(status, 0) + n
        return out

    def sweep(self) -> int:
        """What notices said whose deliveries ended elsewhere (a mailing's lifetime closed them)."""
        return self.db.execute(
            "DELETE FROM notices WHERE delivery_id NOT IN (SELECT id FROM deliveries WHERE status IN "
            "('pending', 'sending', 'deferred'))"
        ).rowcount

    def mailings_of(self, member_id: str) -> list[str]:
        """Every mailing the ledger has for one person (their notices, when they are a guest)."""
        rows = self.db.execute("SELECT DISTINCT mailing_id FROM deliveries WHERE member_id = ?", (member_id,))
        return [r[0] for r in rows]

    def forget(self, delivery_ids: list[int]) -> None:
        """Inside an erasure: what the person's notices said goes with their deliveries."""
        self.db.executemany("DELETE FROM notices WHERE delivery_id = ?", ((i,) for i in delivery_ids))

    def forget_mentions(self, member_id: str | None, address: str | None) -> int:
        """Inside an erasure: a pending notice to someone else that names the person (their
        "Noe feil?" to the secretary) is given up, and what it said goes; returns how many.

        The context is JSON: the person is found by their address anywhere in it, or by their
        id as a `member_id` value (the JSON is searched as text, the same on both engines)."""
        needles = []
        if address:
            needles.append(like_containing(address.casefold()))
        if member_id:
            needles.append(like_containing(json.dumps({"member_id": member_id})[1:-1].casefold()))
        if not needles:
            return 0
        where = " OR ".join("lower(context) LIKE ? ESCAPE '\\'" for _ in needles)
        ids = [r[0] for r in self.db.execute(f"SELECT delivery_id FROM notices WHERE {where}", needles)]
        for delivery_id in ids:
            self.db.execute(
                "UPDATE deliveries SET status = 'dropped', last_reply = ?, next_attempt_at = NULL "
                "WHERE id = ? AND status IN ('pending', 'sending', 'deferred')",
                ("the person it named was erased", delivery_id),
            )
        self.db.executemany("DELETE FROM notices WHERE delivery_id = ?", ((i,) for i in ids))
        return len(ids)
