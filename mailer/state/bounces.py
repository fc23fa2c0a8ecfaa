"""Bounces and complaints as records: each event, the messages already read, the soft score.

An event names the address (and the member and delivery when known), its kind (hard, soft,
complaint), the status code and the reason. A bounce message is read once: its Message-ID
(or a digest of its bytes when it has none) is kept, so an mbox imported twice or an IMAP
folder read again counts nothing twice. `bounces clear` marks an address's events cleared,
which also restarts its soft score.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from mailer.state.connection import Connection
from mailer.state.database import like_containing

Kind = Literal["hard", "soft", "complaint"]


def _stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Event:
    """One bounce or complaint about one address."""

    address: str
    kind: Kind
    status: str | None
    reason: str
    source: str
    member_id: str | None = None
    mailing_id: str | None = None
    delivery_id: int | None = None
    message_key: str | None = None


@dataclass(frozen=True)
class Failing:
    """One line of `mailer bounces`: an address that fails, with its latest event."""

    address: str
    member_id: str | None
    kind: str
    status: str | None
    reason: str
    last_at: str
    count: int


class BounceStore:
    """The bounce tables over the state database's connection."""

    def __init__(self, db: Connection):
        self.db = db

    def outcome(self, message_key: str) -> str | None:
        """What reading this message found before, or None when it is new."""
        row = self.db.execute("SELECT outcome FROM bounce_messages WHERE message_key = ?", (message_key,))
        found = row.fetchone()
        return found[0] if found else None

    def mark_read(self, message_key: str, outcome: str, now: dt.datetime) -> None:
        self.db.execute(
            "INSERT INTO bounce_messages (message_key, outcome, read_at) VALUES (?, ?, ?) "
            "ON CONFLICT (message_key) DO NOTHING",
            (message_key, outcome, _stamp(now)),
        )

    def add(self, event: Event, now: dt.datetime) -> bool:
        """Record an event; False when it was recorded before (a refusal seen by an earlier run)."""
        cur = self.db.execute(
            "INSERT INTO bounce_events (address, member_id, mailing_id, delivery_id, kind, status, "
            "reason, source, message_key, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (
                event.address.casefold(),
                event.member_id,
                event.mailing_id,
                event.delivery_id,
                event.kind,
                event.status,
                event.reason[:500],
                event.source,
                event.message_key,
                _stamp(now),
            ),
        )
        return cur.rowcount == 1

    def soft_score(self, address: str, since: dt.datetime) -> int:
        """Soft bounces of an address since `since` that no `bounces clear` has wiped."""
        return self.db.execute(
            "SELECT count(*) FROM bounce_events WHERE address = ? AND kind = 'soft' "
            "AND cleared_at IS NULL AND received_at >= ?",
            (address.casefold(), _stamp(since)),
        ).fetchone()[0]

    def failing(self) -> list[Failing]:
        """Addresses with uncleared events, worst kind first, then the latest first."""
        rows = self.db.execute(
            "SELECT address, count(*), max(received_at) FROM bounce_events WHERE cleared_at IS NULL "
            "GROUP BY address"
        ).fetchall()
        out = []
        for address, count, _ in rows:
            last = self.db.execute(
                "SELECT member_id, kind, status, reason, received_at FROM bounce_events WHERE address = ? "
                "AND cleared_at IS NULL ORDER BY received_at DESC, id DESC LIMIT 1",
                (address,),
            ).fetchone()
            member = self.db.execute(
                "SELECT member_id FROM bounce_events WHERE address = ? AND member_id IS NOT NULL "
                "ORDER BY id DESC LIMIT 1",
                (address,),
            ).fetchone()
            worst = self.db.execute(
                "SELECT kind FROM bounce_events WHERE address = ? AND cleared_at IS NULL",
                (address,),
            ).fetchall()
            kinds = {k for (k,) in worst}
            kind = next(k for k in ("complaint", "hard", "soft") if k in kinds)
            out.append(
                Failing(address, member[0] if member else None, kind, last[2], last[3], last[4], count)
            )
        order = {"complaint": 0, "hard": 1, "soft": 2}
        return sorted(out, key=lambda f: (order[f.kind], f.last_at), reverse=False)

    def clear(self, address: str, now: dt.datetime) -> int:
        """Mark an address's bounces cleared (complaints stay); returns how many."""
        return self.db.execute(
            "UPDATE bounce_events SET cleared_at = ? WHERE address = ? AND cleared_at IS NULL "
            "AND kind IN ('hard', 'soft')",
            (_stamp(now), address.casefold()),
        ).rowcount

    def per_mailing(self) -> dict[str, dict[str, int]]:
        """Mailing id → kind → events, for `mailer status`."""
        out: dict[str, dict[str, int]] = {}
        for mailing_id, kind, n in self.db.execute(
            "SELECT mailing_id, kind, count(*) FROM bounce_events WHERE mailing_id IS NOT NULL "
            "GROUP BY mailing_id, kind"
        ):
            out.setdefault(mailing_id, {})[kind] = n
        return out

    def forget(self, member_id: str | None, address: str | None) -> None:
        """Erasure: every event for the person, or quoting their address in its reason."""
        self.db.execute("DELETE FROM bounce_events WHERE member_id = ?", (member_id,))
        if address:
            self.db.execute(
                "DELETE FROM bounce_events WHERE address = ? OR lower(reason) LIKE ? ESCAPE '\\'",
                (address.casefold(), like_containing(address.casefold())),
            )
