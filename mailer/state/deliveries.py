"""Deliveries: one row per (mailing, person), written before an attempt and after it.

A delivery is `pending` when planned, `sending` just before its SMTP transaction and then
`sent`, `deferred`, `failed`, `dropped` or `expired`. A `sending` row found by the next run
is retried, so a crash can at most repeat the messages that were on the wire.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from mailer.state.connection import Connection, batched
from mailer.state.database import like_containing, stamp, transaction, unstamp

OPEN_STATES = ("pending", "sending", "deferred")
FINAL_STATES = ("sent", "failed", "dropped", "expired")
PLAN_ROWS = 250  # deliveries a planning statement writes (one each: 10,000 cost PostgreSQL 0.4 s more)
PLAN = "INSERT INTO deliveries (mailing_id, member_id, address, member, status, created_at, updated_at)"
PLANNED = "(?, ?, ?, ?, 'pending', ?, ?)"
GONE = ("no longer in the member list", "no longer in the audience or unsubscribed")  # `delivery.plan`'s
LEFT = "FROM deliveries WHERE mailing_id = ? AND status = 'dropped' AND last_reply IN (?, ?)"
BACK = "UPDATE deliveries SET status = 'pending', last_reply = NULL, address = ?, member = ?, updated_at = ?"
_json = functools.partial(json.dumps, ensure_ascii=False)
DUE = "status IN ('pending', 'sending', 'deferred') AND (status != 'deferred' OR ? OR next_attempt_at <= ?)"


@dataclass(frozen=True)
class Planned:
    """A delivery about to be written as pending."""

    member_id: str
    address: str
    member: dict[str, object]


@dataclass(frozen=True)
class OpenDelivery:
    id: int
    member_id: str
    address: str
    member: dict[str, object]
    status: str
    attempts: int
    first_attempt_at: str | None


class Deliveries:
    def __init__(self, db: Connection):
        self.db = db
        self.planned_again: dict[str, int] = {}  # mailing → rows its last `plan` reopened

    # -- planning ------------------------------------------------------------------

    def inputs(self, mailing_id: str) -> str | None:
        """What the last planning of a mailing depended on (to skip planning when unchanged)."""
        row = self.db.execute("SELECT planned_inputs FROM mailings WHERE id = ?", (mailing_id,)).fetchone()
        return row[0] if row else None

    def plan(
        self,
        mailing_id: str,
        kind: str,
        series: str,
        rows: Iterable[Planned],
        now: dt.datetime,
        inputs: str,
        expires_at: dt.datetime | None,
    ) -> int | None:
        """Write pending deliveries for everyone not yet planned: the whole audience or, on any
        error or crash, none of it; a row dropped as GONE is pending again, its attempts kept, if
        its member is back. None, with `rows` unread, when another sender planned from the same
        `inputs` while this one waited for the mailing's row."""
        ts = stamp(now)
        with transaction(self.db):
            self.db.execute(
                "INSERT INTO mailings (id, kind, series, first_planned_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at",
                (mailing_id, kind, series, ts, stamp(expires_at) if expires_at else None),
            )
            if self.inputs(mailing_id) == inputs:  # the row is ours now: read after the other's commit
                return None
            ids = self.db.execute(f"SELECT member_id {LEFT}", (mailing_id, *GONE))
            gone = {r[0] for r in ids}
            back: list[tuple[object, ...]] = []
            written = []
            for chunk in batched(rows, PLAN_ROWS):  # counted at the end: one is written as the next is built
                planned = [(mailing_id, r.member_id, r.address, _json(r.member), ts, ts) for r in chunk]
                back += [(p[2], p[3], ts, p[1], mailing_id, *GONE) for p in planned if p[1] in gone]
                insert = f"{PLAN} VALUES {', '.join([PLANNED] * len(chunk))} ON CONFLICT DO NOTHING"
                written.append(self.db.execute(insert, [x for p in planned for x in p]))
            sql = f"{BACK} WHERE member_id = ? AND id IN (SELECT id {LEFT})"
            again = self.db.executemany(sql, back).rowcount if back else 0
            self.db.execute("UPDATE mailings SET planned_inputs = ? WHERE id = ?", (inputs, mailing_id))
            self.planned_again[mailing_id] = again
            return sum(w.rowcount for w in written) + again

    def open(self, mailing_id: str, now: dt.datetime, retry_all_deferred: bool) -> Iterator[OpenDelivery]:
        """Deliveries still to attempt, in the order they were planned, read page by page."""
        last, ts = 0, stamp(now)
        while True:
            rows = self.db.execute(
                "SELECT id, member_id, address, member, status, attempts, first_attempt_at "
                f"FROM deliveries WHERE mailing_id = ? AND id > ? AND {DUE} ORDER BY id LIMIT 500",
                (mailing_id, last, retry_all_deferred, ts),
            ).fetchall()
            if not rows:
                return
            for row in rows:
                yield OpenDelivery(row[0], row[1], row[2], json.loads(row[3]), row[4], row[5], row[6])
            last = rows[-1][0]

    def member_ids(self, mailing_id: str) -> list[str]:
        rows = self.db.execute("SELECT member_id FROM deliveries WHERE mailing_id = ?", (mailing_id,))
        return [r[0] for r in rows]

    def has_work(self, mailing_id: str, now: dt.datetime, retry_all_deferred: bool) -> bool:
        sql = f"SELECT 1 FROM deliveries WHERE mailing_id = ? AND {DUE} LIMIT 1"
        return self.db.execute(sql, (mailing_id, retry_all_deferred, stamp(now))).fetchone() is not None

    def open_count_in_language(self, mailing_id: str, language: str) -> int:
        rows = self.db.execute(
            "SELECT member FROM deliveries WHERE mailing_id = ? AND status IN ('pending', 'sending', "
            "'deferred')",
            (mailing_id,),
        )
        return sum(1 for (member,) in rows if json.loads(member).get("language") == language)

    def count_open(self, mailing_id: str) -> int:
        return self.db.execute(
            "SELECT count(*) FROM deliveries WHERE mailing_id = ? AND status IN "
            "('pending', 'sending', 'deferred')",
            (mailing_id,),
        ).fetchone()[0]

    def count_due(self, mailing_id: str, now: dt.datetime, retry_all_deferred: bool) -> int:
        """How many deliveries `open` would return now (the size of a run)."""
        sql = f"SELECT count(*) FROM deliveries WHERE mailing_id = ? AND {DUE}"
        return self.db.execute(sql, (mailing_id, retry_all_deferred, stamp(now))).fetchone()[0]

    def mailings_with_work(self, now: dt.datetime) -> list[str]:
        """Mailings with deliveries that are pending, interrupted, or deferred and due again."""
        rows = self.db.execute(
            "SELECT DISTINCT mailing_id FROM deliveries WHERE status IN ('pending', 'sending', 'deferred') "
            "AND (status != 'deferred' OR next_attempt_at <= ?) ORDER BY mailing_id",
            (stamp(now),),
        ).fetchall()
        return [r[0] for r in rows]

    def open_members(self, mailing_id: str) -> list[tuple[str, str]]:
        """(member id, address) of the deliveries still open."""
        return self.db.execute(
            "SELECT member_id, address FROM deliveries WHERE mailing_id = ? AND status IN "
            "('pending', 'sending', 'deferred')",
            (mailing_id,),
        ).fetchall()

    # -- one delivery --------------------------------------------------------------

    def mark_deferred(
        self,
        delivery_id: int,
        now: dt.datetime,
        reply: str,
        next_attempt: dt.datetime,
        count_attempt: bool = True,
    ) -> None:
        self.db.execute(
            "UPDATE deliveries SET status = 'deferred', updated_at = ?, last_reply = ?, "
            "next_attempt_at = ?, attempts = attempts - ? WHERE id = ?",
            (stamp(now), reply, stamp(next_attempt), 0 if count_attempt else 1, delivery_id),
        )

    def mark_final(self, delivery_id: int, status: str, now: dt.datetime, reply: str) -> None:
        if status not in FINAL_STATES:
            raise ValueError(f"not a final state: {status}")
        self.db.execute(
            "UPDATE deliveries SET status = ?, updated_at = ?, last_reply = ?, next_attempt_at = NULL "
            "WHERE id = ?",
            (status, stamp(now), reply, delivery_id),
        )

    def mark_pending(self, delivery_ids: Iterable[int], now: dt.datetime, reply: str) -> None:
        """Put deliveries back as never attempted (their failure was the mailing's, not theirs)."""
        self.db.executemany(
            "UPDATE deliveries SET status = 'pending', "
            "attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, "
            "updated_at = ?, last_reply = ? WHERE id = ?",
            ((stamp(now), reply, i) for i in delivery_ids),
        )

    def drop_open(self, mailing_id: str, member_ids: Iterable[str], now: dt.datetime, reason: str) -> int:
        ts = stamp(now)
        return self.db.executemany(
            "UPDATE deliveries SET status = 'dropped', updated_at = ?, last_reply = ?, "
            "next_attempt_at = NULL WHERE mailing_id = ? AND member_id = ? AND status IN "
            "('pending', 'sending', 'deferred')",
            ((ts, reason, mailing_id, m) for m in member_ids),
        ).rowcount

    def expire_open(
        self, mailing_id: str, now: dt.datetime, meeting_started: bool, attempted_before: dt.datetime
    ) -> int:
        """End open deliveries past their lifetime (or all, once the meeting started); how many."""
        ts, n = stamp(now), 0
        if meeting_started:
            n += self.db.execute(
                "UPDATE deliveries SET status = 'expired', updated_at = ?, next_attempt_at = NULL, "
                "last_reply = 'expired: the meeting started before it could be sent' || "
                "coalesce(' (last: ' || last_reply || ')', '') "
                "WHERE mailing_id = ? AND status IN ('pending', 'sending', 'deferred')",
                (ts, mailing_id),
            ).rowcount
        n += self.db.execute(
            "UPDATE deliveries SET status = 'expired', updated_at = ?, next_attempt_at = NULL, "
            "last_reply = 'expired: its lifetime ended before it could be sent' || "
            "coalesce(' (last: ' || last_reply || ')', '') "
            "WHERE mailing_id = ? AND status IN ('pending', 'sending', 'deferred') "
            "AND coalesce(first_attempt_at, created_at) < ?",
            (ts, mailing_id, stamp(attempted_before)),
        ).rowcount
        return n

    def mark_bounced(self, delivery_id: int, reply: str) -> None:
        """A sent message came back: the delivery says so (only a sent one)."""
        self.db.execute(
            "UPDATE deliveries SET status = 'bounced', last_reply = ? WHERE id = ? AND status = 'sent'",
            (reply[:500], delivery_id),
        )

    def refused(self, mailing_id: str) -> list[tuple[int, str, str, str | None]]:
        """(id, member id, address, reply) of the deliveries of a mailing that failed."""
        return self.db.execute(
            "SELECT id, member_id, address, last_reply FROM deliveries WHERE mailing_id = ? "
            "AND status = 'failed' AND address IS NOT NULL",
            (mailing_id,),
        ).fetchall()

    def sent_at(self, mailing_id: str) -> dict[str, dt.datetime]:
        """Member id → when the mailing reached them."""
        rows = self.db.execute(
            "SELECT member_id, updated_at FROM deliveries WHERE mailing_id = ? AND status = 'sent'",
            (mailing_id,),
        )
        return {member_id: dt.datetime.fromisoformat(at) for member_id, at in rows}

    # -- counts ------------------------------------------------------------------------

    def sent_count(self, since: dt.datetime) -> int:
        return self.db.execute(
            "SELECT count(*) FROM deliveries WHERE status = 'sent' AND updated_at >= ?",
            (stamp(since),),
        ).fetchone()[0]

    def sent_times(self, since: dt.datetime) -> list[dt.datetime]:
        rows = self.db.execute(
            "SELECT updated_at FROM deliveries WHERE status = 'sent' AND updated_at >= ?",
            (stamp(since),),
        ).fetchall()
        return [dt.datetime.fromisoformat(r[0]) for r in rows]

    def status_counts(self, mailing_id: str | None = None) -> dict[str, dict[str, int]]:
        """Mailing → status → count, including the counts kept for erased members."""
        where, args = ("WHERE mailing_id = ?", (mailing_id,)) if mailing_id else ("", ())
        out: dict[str, dict[str, int]] = {}
        for mid, status, n in self.db.execute(
            f"SELECT mailing_id, status, count(*) FROM deliveries {where} GROUP BY mailing_id, status",
            args,
        ):
            out.setdefault(mid, {})[status] = n
        for mid, status, n in self.db.execute(
            f"SELECT mailing_id, status, count FROM erased_counts {where}", args
        ):
            out.setdefault(mid, {})
            out[mid][status] = out[mid].get(status, 0) + n
        return out

    def problems(self, mailing_id: str | None) -> list[dict[str, object]]:
        """Deliveries that are deferred, failed or expired, for `mailer status`."""
        where, args = ("AND mailing_id = ?", (mailing_id,)) if mailing_id else ("", ())
        rows = self.db.execute(
            "SELECT mailing_id, member_id, address, status, attempts, next_attempt_at, last_reply "
            f"FROM deliveries WHERE status IN ('deferred', 'failed', 'expired') {where} "
            "ORDER BY mailing_id, id",
            args,
        ).fetchall()
        keys = ("mailing", "member_id", "email", "status", "attempts", "next_attempt_at", "reply")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def member_statuses(self, mailing_id: str) -> dict[str, str]:
        """Member id → status of every delivery of a mailing (to explain a run's numbers)."""
        rows = self.db.execute("SELECT member_id, status FROM deliveries WHERE mailing_id = ?", (mailing_id,))
        return {r[0]: r[1] for r in rows.fetchall()}

    def first_expired_at(self, mailing_id: str) -> dt.datetime | None:
        row = self.db.execute(
            "SELECT min(updated_at) FROM deliveries WHERE mailing_id = ? AND status = 'expired'",
            (mailing_id,),
        ).fetchone()
        return unstamp(row[0]) if row else None

    def first_planned_at(self, mailing_id: str) -> dt.datetime | None:
        """When the ledger first planned a mailing (a late newsletter's calendar starts that day)."""
        row = self.db.execute("SELECT first_planned_at FROM mailings WHERE id = ?", (mailing_id,)).fetchone()
        return unstamp(row[0]) if row else None

    def planned_mailings(self, ids: Sequence[str]) -> set[str]:
        """Which of these mailings the ledger has planned (sent, or at least begun)."""
        found: set[str] = set()
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            rows = self.db.execute(
                f"SELECT id FROM mailings WHERE id IN ({', '.join('?' * len(chunk))})", tuple(chunk)
            )
            found |= {r[0] for r in rows.fetchall()}
        return found

    def last_activity(self) -> dt.datetime | None:
        """The last time any delivery changed: when the ledger was last at work."""
        row = self.db.execute("SELECT max(updated_at) FROM deliveries").fetchone()
        return unstamp(row[0]) if row else None

    def expire_closed(self, now: dt.datetime) -> list[tuple[str, str, dt.datetime, int]]:
        """End open deliveries of mailings closed for good (the meeting started, the deadline
        passed), from the ledger alone, so that even a mailing no longer in the schedule (a
        year-old backup) stops waiting. Returns (mailing, kind, closed at, how many) per mailing."""
        ts = stamp(now)
        closed = self.db.execute(
            "SELECT m.id, m.kind, m.expires_at, count(*) FROM mailings m JOIN deliveries d "
            "ON d.mailing_id = m.id WHERE m.expires_at IS NOT NULL AND m.expires_at <= ? "
            "AND d.status IN ('pending', 'sending', 'deferred') GROUP BY m.id, m.kind, m.expires_at "
            "ORDER BY m.expires_at, m.id",
            (ts,),
        ).fetchall()
        out = []
        with transaction(self.db):
            for mailing_id, kind, expires_at, _ in closed:
                why = "the meeting started" if kind == "invitation" else "its deadline passed"
                cursor = self.db.execute(
                    "UPDATE deliveries SET status = 'expired', updated_at = ?, next_attempt_at = NULL, "
                    "last_reply = ? || coalesce(' (last: ' || last_reply || ')', '') "
                    "WHERE mailing_id = ? AND status IN ('pending', 'sending', 'deferred')",
                    (ts, f"expired: {why} before it could be sent", mailing_id),
                )
                out.append((mailing_id, kind, unstamp(expires_at), cursor.rowcount))
        return out  # type: ignore[return-value]

    def invited_per_occurrence(self, like: str) -> dict[str, int]:
        """Occurrence (`series@YYYY-MM-DD`) → members sent any of its mailings (invitation,
        reminder, updates), erased members' counts included; for mailing ids LIKE `like`."""
        members: dict[str, set[str]] = {}
        for mailing_id, member_id in self.db.execute(
            "SELECT DISTINCT mailing_id, member_id FROM deliveries WHERE status = 'sent' "
            "AND mailing_id LIKE ? ESCAPE '\\'",
            (like,),
        ):
            members.setdefault(mailing_id.split("/", 1)[0], set()).add(member_id)
        out = {occurrence: len(ids) for occurrence, ids in members.items()}
        for mailing_id, n in self.db.execute(
            "SELECT mailing_id, count FROM erased_counts WHERE status = 'sent' AND mailing_id LIKE ? "
            "ESCAPE '\\' AND mailing_id NOT LIKE '%/%'",
            (like,),
        ):
            out[mailing_id] = out.get(mailing_id, 0) + n
        return out

    def recipients_of_occurrence(self, occurrence_id: str, except_mailing: str) -> set[str]:
        """Members sent any mailing of one meeting occurrence (invitation, reminder, updates)."""
        rows = self.db.execute(
            "SELECT DISTINCT member_id FROM deliveries WHERE status = 'sent' AND mailing_id != ? "
            "AND (mailing_id = ? OR mailing_id LIKE ? ESCAPE '\\')",
            (except_mailing, occurrence_id, occurrence_id.replace("_", "\\_") + "/%"),
        ).fetchall()
        return {r[0] for r in rows}

    # -- what comes back --------------------------------------------------------------------

    def sent_row(self, delivery_id: int) -> tuple[int, str, str, str] | None:
        """(id, member id, address, mailing id) of a delivery that has an address."""
        return self.db.execute(
            "SELECT id, member_id, address, mailing_id FROM deliveries WHERE id = ? AND address IS NOT NULL",
            (delivery_id,),
        ).fetchone()

    def by_message_ids(self, message_ids: Sequence[str]) -> list[tuple[int, str, str, str]]:
        """(id, member id, address, mailing id) of the sent deliveries whose Message-ID is listed."""
        if not message_ids:
            return []
        marks = ", ".join("?" for _ in message_ids)
        return self.db.execute(
            "SELECT id, member_id, address, mailing_id FROM deliveries WHERE message_id IS NOT NULL "
            f"AND message_id IN ({marks}) AND address IS NOT NULL AND status IN ('sent', 'bounced') "
            "ORDER BY id",
            tuple(message_ids),
        ).fetchall()

    def member_records(self, member_id: str | None, address: str | None) -> list[str]:
        """The member snapshots the ledger keeps of one person (for erasure to know their name)."""
        rows = self.db.execute(
            "SELECT DISTINCT member FROM deliveries WHERE member_id = ? OR address = ?", (member_id, address)
        )
        return [r[0] for r in rows if r[0]]

    def forget_in_plans(self, member_id: str) -> None:
        """Planning keys may list member ids (notices, follow-ups): they go; the next run plans again."""
        self.db.execute(
            "UPDATE mailings SET planned_inputs = NULL WHERE planned_inputs LIKE ? ESCAPE '\\'",
            (like_containing(repr(member_id)),),
        )
