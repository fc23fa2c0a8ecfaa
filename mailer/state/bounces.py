"""Bounces and complaints as records: each event, the messages already read, the soft score.

An event names the address (and the member and delivery when known), its kind (hard, soft,
complaint), the status code and the reason. A bounce message is read once: its Message-ID
(or a digest of its bytes when it has none) is kept, so an mbox imported twice or an IMAP
folder read again counts nothing twice. `bounces clear` marks an address's events cleared,
which also restarts its soft score.

An event is dated when the bounce happened, as far as we can know (`process` takes the report's
Date within the delivery's send time and now), not when it was read: a mailbox read weeks late
must not turn old bounces into a burst. A delivery counts at most one soft bounce: a mail server
that retries one message for days sends a delay warning for it every day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
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
        """Record an event dated `now`; False when it was recorded before (a refusal seen by an
        earlier run, or a soft bounce of a delivery that has one)."""
        if event.kind == "soft" and event.delivery_id is not None:
            counted = self.db.execute(
                "SELECT 1 FROM bounce_events WHERE address = ? AND delivery_id = ? AND kind = 'soft'",
                (event.address.casefold(), event.delivery_id),
            ).fetchone()
            if counted is not None:
                return False
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

    def soft_score(self, address: str, at: dt.datetime, days: int) -> int:
        """The most soft bounces of an address, one per delivery, that no `bounces clear` has
        wiped, within any `days` that hold `at`: the same whatever order the reports are read in."""
        span = dt.timedelta(days=days)
        rows = self.db.execute(
            "SELECT delivery_id, min(received_at) FROM bounce_events WHERE address = ? AND kind = 'soft' "
            "AND cleared_at IS NULL AND received_at >= ? AND received_at <= ? GROUP BY delivery_id",
            (address.casefold(), _stamp(at - span), _stamp(at + span)),
        ).fetchall()
        times = sorted(dt.datetime.fromisoformat(t) for _, t in rows)
        return max(
            (sum(1 for u in times if start <= u <= start + span) for start in times if start <= at),
            default=0,
        )

    def first_tried(self, delivery_id: int) -> dt.datetime | None:
        """When a delivery was first tried: no report about it can be older."""
        row = self.db.execute(
            "SELECT coalesce(first_attempt_at, created_at) FROM deliveries WHERE id = ?", (delivery_id,)
        ).fetchone()
        return dt.datetime.fromisoformat(row[0]) if row and row[0] else None

    def forgotten(self, quoted: Sequence[tuple[str, str]]) -> bool:
        """Whether one of these (Message-ID, series) in the form of ours names a mailing series
        of the ledger while no delivery holds that Message-ID any more (erased, or past retention)."""
        if not quoted:
            return False
        marks = ", ".join("?" for _ in quoted)
        series = {
            r[0]
            for r in self.db.execute(
                f"SELECT DISTINCT series FROM mailings WHERE series IN ({marks})", tuple(s for _, s in quoted)
            )
        }
        ids = [m for m, s in quoted if s in series]
        if not ids:
            return False
        marks = ", ".join("?" for _ in ids)
        held = {
            r[0]
            for r in self.db.execute(
                f"SELECT message_id FROM deliveries WHERE message_id IN ({marks})", tuple(ids)
            )
        }
        return any(m not in held for m in ids)

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
