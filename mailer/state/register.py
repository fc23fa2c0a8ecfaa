"""The member register as the ledger saw it: when each member was first seen, and who left."""

from __future__ import annotations

import datetime as dt

from mailer.state.connection import Connection
from mailer.state.database import stamp, transaction


class Register:
    def __init__(self, db: Connection):
        self.db = db

    def sync(self, now: dt.datetime) -> None:
        """Everyone in the member store is present now; the others are marked gone.

        Read straight from the `members` table, in two statements: no member is decoded.
        """
        ts = stamp(now)
        with transaction(self.db):
            self.db.execute(
                "INSERT INTO member_register (member_id, address, first_seen, last_seen, gone_since) "
                "SELECT id, address, ?, ?, NULL FROM members WHERE true ON CONFLICT (member_id) "
                "DO UPDATE SET address = excluded.address, last_seen = excluded.last_seen, gone_since = NULL",
                (ts, ts),
            )
            self.db.execute(
                "UPDATE member_register SET gone_since = ? WHERE gone_since IS NULL AND member_id "
                "NOT IN (SELECT id FROM members)",
                (ts,),
            )

    def address_changes(self) -> list[tuple[str, str, str]]:
        """(member id, address the register knew, address the member store holds now) of each
        member whose address the last import changed; read before `sync` records the new one."""
        return self.db.execute(
            "SELECT r.member_id, r.address, m.address FROM member_register r JOIN members m "
            "ON m.id = r.member_id WHERE r.address IS NOT NULL AND r.address <> m.address"
        ).fetchall()

    def seen_by(self, ts: str) -> bool:
        """Whether any member was seen at or before `ts` (a stamp)."""
        row = self.db.execute("SELECT 1 FROM member_register WHERE first_seen <= ? LIMIT 1", (ts,)).fetchone()
        return row is not None

    def earliest(self) -> str | None:
        return self.db.execute("SELECT min(first_seen) FROM member_register").fetchone()[0]

    def first_seen(self, member_id: str) -> str | None:
        row = self.db.execute(
            "SELECT first_seen FROM member_register WHERE member_id = ?", (member_id,)
        ).fetchone()
        return row[0] if row else None

    def gone_before(self, cutoff: dt.datetime) -> list[tuple[str, str]]:
        return self.db.execute(
            "SELECT member_id, address FROM member_register WHERE gone_since IS NOT NULL AND gone_since <= ?",
            (stamp(cutoff),),
        ).fetchall()

    def member_ids_for(self, address: str) -> list[str]:
        rows = self.db.execute(
            "SELECT member_id FROM member_register WHERE address = ? UNION "
            "SELECT member_id FROM deliveries WHERE address = ? UNION "
            "SELECT id FROM members WHERE address = ?",
            (address.casefold(),) * 3,
        ).fetchall()
        return [r[0] for r in rows]

    def address_of(self, member_id: str) -> str | None:
        """The last address the ledger knew for a member (who may have left the export since)."""
        row = (
            self.db.execute(
                "SELECT address FROM member_register WHERE member_id = ? AND address IS NOT NULL",
                (member_id,),
            ).fetchone()
            or self.db.execute(
                "SELECT address FROM deliveries WHERE member_id = ? AND address IS NOT NULL "
                "ORDER BY id DESC LIMIT 1",
                (member_id,),
            ).fetchone()
        )
        return row[0] if row else None
