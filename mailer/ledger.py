"""The ledger (.mailer/state.db): what happened to every delivery, per person, plus approvals.

Every delivery is written as `pending` before anything is attempted, as `sending` just before
its SMTP transaction, and with its outcome just after. SQLite in WAL mode keeps the file
valid through a kill -9; a `sending` row found by the next run is retried, so a crash can
at most repeat the messages that were on the wire.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    mailing_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    address TEXT,
    member TEXT,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    first_attempt_at TEXT,
    next_attempt_at TEXT,
    last_reply TEXT,
    message_id TEXT,
    UNIQUE (mailing_id, member_id)
);
CREATE UNIQUE INDEX IF NOT EXISTS deliveries_address ON deliveries (mailing_id, address);
-- Partial indexes: a delivery enters the first while it is open and the second once, when sent,
-- so the two writes per message touch few index entries. Queries repeat the WHERE to use them.
CREATE INDEX IF NOT EXISTS deliveries_open ON deliveries (mailing_id)
    WHERE status IN ('pending', 'sending', 'deferred');
CREATE INDEX IF NOT EXISTS deliveries_sent_at ON deliveries (updated_at) WHERE status = 'sent';
CREATE INDEX IF NOT EXISTS deliveries_member ON deliveries (member_id);
CREATE TABLE IF NOT EXISTS mailings (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    series TEXT NOT NULL,
    first_planned_at TEXT NOT NULL,
    planned_inputs TEXT,
    closes_at TEXT,
    expires_at TEXT
);
CREATE TABLE IF NOT EXISTS previews (
    mailing_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    previewed_at TEXT NOT NULL,
    PRIMARY KEY (mailing_id, fingerprint)
);
CREATE TABLE IF NOT EXISTS approvals (
    id INTEGER PRIMARY KEY,
    mailing_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    approved_by TEXT NOT NULL,
    approved_at TEXT NOT NULL,
    UNIQUE (mailing_id, fingerprint, approved_by)
);
CREATE TABLE IF NOT EXISTS suppressions (
    address TEXT NOT NULL,
    category TEXT NOT NULL,
    created_at TEXT NOT NULL,
    source TEXT NOT NULL,
    PRIMARY KEY (address, category)
);
CREATE TABLE IF NOT EXISTS events (
    uid TEXT PRIMARY KEY,
    series TEXT NOT NULL,
    occurrence TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    digest TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    cancelled INTEGER NOT NULL DEFAULT 0,
    announced_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS member_register (
    member_id TEXT PRIMARY KEY,
    address TEXT,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    gone_since TEXT
);
CREATE TABLE IF NOT EXISTS erased_counts (
    mailing_id TEXT NOT NULL,
    status TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (mailing_id, status)
);
CREATE TABLE IF NOT EXISTS rsvps (
    occurrence TEXT NOT NULL,
    member_id TEXT NOT NULL,
    answer TEXT NOT NULL,
    answered_at TEXT NOT NULL,
    PRIMARY KEY (occurrence, member_id)
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

OPEN_STATES = ("pending", "sending", "deferred")
FINAL_STATES = ("sent", "failed", "dropped", "expired")


def stamp(when: dt.datetime) -> str:
    """Timestamps are stored in UTC so that text order is time order."""
    return when.astimezone(dt.UTC).isoformat(timespec="seconds")


def unstamp(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


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


class Ledger:
    """One SQLite connection to the state database; only this module writes SQL."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=30000")
        self.db.execute("PRAGMA secure_delete=ON")  # erased members leave no trace in free pages
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    # -- mailings and planning ------------------------------------------------

    def mailing_inputs(self, mailing_id: str) -> str | None:
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
    ) -> int:
        """Write pending deliveries for everyone not yet in the ledger, in one transaction.

        Either the whole audience is planned or, on any error or crash, none of it.
        """
        ts = stamp(now)
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute(
                "INSERT INTO mailings (id, kind, series, first_planned_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at",
                (mailing_id, kind, series, ts, stamp(expires_at) if expires_at else None),
            )
            marker = self.db.total_changes
            self.db.executemany(
                "INSERT OR IGNORE INTO deliveries "
                "(mailing_id, member_id, address, member, status, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, 'pending', ?, ?)",
                (
                    (mailing_id, r.member_id, r.address, json.dumps(r.member, ensure_ascii=False), ts, ts)
                    for r in rows
                ),
            )
            inserted = self.db.total_changes - marker
            self.db.execute("UPDATE mailings SET planned_inputs = ? WHERE id = ?", (inputs, mailing_id))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return inserted

    def open_deliveries(
        self, mailing_id: str, now: dt.datetime, retry_all_deferred: bool
    ) -> Iterator[OpenDelivery]:
        """Deliveries still to attempt, in the order they were planned, read page by page."""
        last, ts = 0, stamp(now)
        while True:
            rows = self.db.execute(
                "SELECT id, member_id, address, member, status, attempts, first_attempt_at "
                "FROM deliveries WHERE mailing_id = ? AND id > ? AND status IN ('pending', 'sending', "
                "'deferred') AND (status != 'deferred' OR ? OR next_attempt_at <= ?) ORDER BY id LIMIT 500",
                (mailing_id, last, retry_all_deferred, ts),
            ).fetchall()
            if not rows:
                return
            for row in rows:
                yield OpenDelivery(row[0], row[1], row[2], json.loads(row[3]), row[4], row[5], row[6])
            last = rows[-1][0]

    def member_ids_of(self, mailing_id: str) -> list[str]:
        rows = self.db.execute("SELECT member_id FROM deliveries WHERE mailing_id = ?", (mailing_id,))
        return [r[0] for r in rows]

    def has_work(self, mailing_id: str, now: dt.datetime, retry_all_deferred: bool) -> bool:
        return (
            self.db.execute(
                "SELECT 1 FROM deliveries WHERE mailing_id = ? AND status IN ('pending', 'sending', "
                "'deferred') AND (status != 'deferred' OR ? OR next_attempt_at <= ?) LIMIT 1",
                (mailing_id, retry_all_deferred, stamp(now)),
            ).fetchone()
            is not None
        )

    def open_count_in_language(self, mailing_id: str, language: str) -> int:
        return self.db.execute(
            "SELECT count(*) FROM deliveries WHERE mailing_id = ? AND status IN ('pending', 'sending', "
            "'deferred') AND json_extract(member, '$.language') = ?",
            (mailing_id, language),
        ).fetchone()[0]

    def count_open(self, mailing_id: str) -> int:
        return self.db.execute(
            "SELECT count(*) FROM deliveries WHERE mailing_id = ? AND status IN "
            "('pending', 'sending', 'deferred')",
            (mailing_id,),
        ).fetchone()[0]

    def count_due(self, mailing_id: str, now: dt.datetime, retry_all_deferred: bool) -> int:
        """How many deliveries `open_deliveries` would return now (the size of a run)."""
        return self.db.execute(
            "SELECT count(*) FROM deliveries WHERE mailing_id = ? AND status IN ('pending', 'sending', "
            "'deferred') AND (status != 'deferred' OR ? OR next_attempt_at <= ?)",
            (mailing_id, retry_all_deferred, stamp(now)),
        ).fetchone()[0]

    def mailings_with_work(self, now: dt.datetime) -> list[str]:
        """Mailings with deliveries that are pending, interrupted, or deferred and due again."""
        rows = self.db.execute(
            "SELECT DISTINCT mailing_id FROM deliveries WHERE status IN ('pending', 'sending', 'deferred') "
            "AND (status != 'deferred' OR next_attempt_at <= ?) ORDER BY mailing_id",
            (stamp(now),),
        ).fetchall()
        return [r[0] for r in rows]

    # -- one delivery --------------------------------------------------------------

    def record_attempts(
        self, sending: Sequence[tuple[int, dt.datetime]], sent: Sequence[tuple[int, dt.datetime, str, str]]
    ) -> None:
        """Deliveries marked `sending` (just before their attempt) and `sent` (just after), one commit.

        A send with several connections groups the marks that fall due at the same moment
        instead of committing each one (see `sending._Journal`).
        """
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany(
                "UPDATE deliveries SET status = 'sending', attempts = attempts + 1, updated_at = ?1, "
                "first_attempt_at = coalesce(first_attempt_at, ?1) WHERE id = ?2",
                ((stamp(when), delivery_id) for delivery_id, when in sending),
            )
            self.db.executemany(
                "UPDATE deliveries SET status = 'sent', updated_at = ?, last_reply = ?, message_id = ?, "
                "next_attempt_at = NULL WHERE id = ?",
                ((stamp(when), reply, mid, delivery_id) for delivery_id, when, reply, mid in sent),
            )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

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
        assert status in FINAL_STATES
        self.db.execute(
            "UPDATE deliveries SET status = ?, updated_at = ?, last_reply = ?, next_attempt_at = NULL "
            "WHERE id = ?",
            (status, stamp(now), reply, delivery_id),
        )

    def mark_pending(self, delivery_ids: Iterable[int], now: dt.datetime, reply: str) -> None:
        """Put deliveries back as never attempted (their failure was the mailing's, not theirs)."""
        self.db.executemany(
            "UPDATE deliveries SET status = 'pending', attempts = max(attempts - 1, 0), "
            "updated_at = ?, last_reply = ? WHERE id = ?",
            ((stamp(now), reply, i) for i in delivery_ids),
        )

    def drop_open(self, mailing_id: str, member_ids: Iterable[str], now: dt.datetime, reason: str) -> int:
        ts = stamp(now)
        before = self.db.total_changes
        self.db.executemany(
            "UPDATE deliveries SET status = 'dropped', updated_at = ?, last_reply = ?, "
            "next_attempt_at = NULL WHERE mailing_id = ? AND member_id = ? AND status IN "
            "('pending', 'sending', 'deferred')",
            ((ts, reason, mailing_id, m) for m in member_ids),
        )
        return self.db.total_changes - before

    def open_member_ids(self, mailing_id: str) -> list[tuple[str, str]]:
        return self.db.execute(
            "SELECT member_id, address FROM deliveries WHERE mailing_id = ? AND status IN "
            "('pending', 'sending', 'deferred')",
            (mailing_id,),
        ).fetchall()

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

    # -- reporting -------------------------------------------------------------------

    def status_counts(self, mailing_id: str | None = None) -> dict[str, dict[str, int]]:
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

    def problem_deliveries(self, mailing_id: str | None) -> list[dict[str, object]]:
        where, args = ("AND mailing_id = ?", (mailing_id,)) if mailing_id else ("", ())
        rows = self.db.execute(
            "SELECT mailing_id, member_id, address, status, attempts, next_attempt_at, last_reply "
            f"FROM deliveries WHERE status IN ('deferred', 'failed', 'expired') {where} "
            "ORDER BY mailing_id, id",
            args,
        ).fetchall()
        keys = ("mailing", "member_id", "email", "status", "attempts", "next_attempt_at", "reply")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    # -- previews and approvals ------------------------------------------------------

    def record_preview(self, mailing_id: str, fingerprint: str, now: dt.datetime) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO previews VALUES (?, ?, ?)", (mailing_id, fingerprint, stamp(now))
        )

    def was_previewed(self, mailing_id: str, fingerprint: str) -> bool:
        return (
            self.db.execute(
                "SELECT 1 FROM previews WHERE mailing_id = ? AND fingerprint = ?", (mailing_id, fingerprint)
            ).fetchone()
            is not None
        )

    def approve(self, mailing_id: str, fingerprint: str, by: str, now: dt.datetime) -> bool:
        cur = self.db.execute(
            "INSERT OR IGNORE INTO approvals (mailing_id, fingerprint, approved_by, approved_at) "
            "VALUES (?, ?, ?, ?)",
            (mailing_id, fingerprint, by, stamp(now)),
        )
        return cur.rowcount == 1

    def approvals(self, mailing_id: str) -> list[tuple[str, str, str]]:
        """(fingerprint, approved_by, approved_at), oldest first."""
        return self.db.execute(
            "SELECT fingerprint, approved_by, approved_at FROM approvals WHERE mailing_id = ? ORDER BY id",
            (mailing_id,),
        ).fetchall()

    # -- suppressions ------------------------------------------------------------------

    def suppress(self, address: str, category: str, now: dt.datetime, source: str) -> bool:
        cur = self.db.execute(
            "INSERT OR IGNORE INTO suppressions VALUES (?, ?, ?, ?)",
            (address.casefold(), category, stamp(now), source),
        )
        return cur.rowcount == 1

    def suppressed(self) -> dict[str, set[str]]:
        """Category → addresses that asked not to get it ('*' is everything)."""
        out: dict[str, set[str]] = {}
        for address, category in self.db.execute("SELECT address, category FROM suppressions"):
            out.setdefault(category, set()).add(address)
        return out

    def suppression_rows(self) -> list[tuple[str, str, str, str]]:
        return self.db.execute(
            "SELECT address, category, created_at, source FROM suppressions ORDER BY created_at"
        ).fetchall()

    def suppression_version(self) -> int:
        """Changes whenever a suppression is added or removed (to know when to read them again)."""
        row = self.db.execute("SELECT coalesce(max(rowid), 0), count(*) FROM suppressions").fetchone()
        return int(row[0]) * 1_000_003 + int(row[1])

    # -- calendar events ---------------------------------------------------------------

    def announce(
        self,
        uid: str,
        series: str,
        occurrence: str,
        digest: str,
        snapshot: dict[str, object],
        starts_at: dt.datetime,
        now: dt.datetime,
    ) -> None:
        """Remember what an occurrence looked like when its invitation first went out."""
        self.db.execute(
            "INSERT OR IGNORE INTO events (uid, series, occurrence, sequence, digest, snapshot, "
            "starts_at, announced_at) VALUES (?, ?, ?, 0, ?, ?, ?, ?)",
            (
                uid,
                series,
                occurrence,
                digest,
                json.dumps(snapshot, ensure_ascii=False),
                stamp(starts_at),
                stamp(now),
            ),
        )

    def event(self, uid: str) -> dict[str, object] | None:
        row = self.db.execute(
            "SELECT uid, series, occurrence, sequence, digest, snapshot, starts_at, cancelled "
            "FROM events WHERE uid = ?",
            (uid,),
        ).fetchone()
        return _event(row) if row else None

    def events_ahead(self, since: dt.datetime) -> list[dict[str, object]]:
        rows = self.db.execute(
            "SELECT uid, series, occurrence, sequence, digest, snapshot, starts_at, cancelled "
            "FROM events WHERE starts_at >= ? ORDER BY starts_at",
            (stamp(since),),
        ).fetchall()
        return [_event(r) for r in rows]

    def revise_event(
        self, uid: str, digest: str, snapshot: dict[str, object], starts_at: dt.datetime, cancelled: bool
    ) -> int:
        """A changed or cancelled meeting: raise its SEQUENCE; returns the new one."""
        self.db.execute(
            "UPDATE events SET sequence = sequence + 1, digest = ?, snapshot = ?, starts_at = ?, "
            "cancelled = ? WHERE uid = ?",
            (digest, json.dumps(snapshot, ensure_ascii=False), stamp(starts_at), int(cancelled), uid),
        )
        return self.db.execute("SELECT sequence FROM events WHERE uid = ?", (uid,)).fetchone()[0]

    def recipients_of_occurrence(self, occurrence_id: str, except_mailing: str) -> set[str]:
        """Members sent any mailing of one meeting occurrence (invitation, reminder, updates)."""
        rows = self.db.execute(
            "SELECT DISTINCT member_id FROM deliveries WHERE status = 'sent' AND mailing_id != ? "
            "AND (mailing_id = ? OR mailing_id LIKE ? ESCAPE '\\')",
            (except_mailing, occurrence_id, occurrence_id.replace("_", "\\_") + "/%"),
        ).fetchall()
        return {r[0] for r in rows}

    # -- the member register -----------------------------------------------------------

    def sync_register(self, members: Iterable[tuple[str, str]], now: dt.datetime) -> None:
        ts = stamp(now)
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute("CREATE TEMP TABLE IF NOT EXISTS present (member_id TEXT PRIMARY KEY)")
            self.db.execute("DELETE FROM present")
            rows = [(member_id, address, ts, ts) for member_id, address in members]
            self.db.executemany("INSERT OR IGNORE INTO present VALUES (?)", ((r[0],) for r in rows))
            self.db.executemany(
                "INSERT INTO member_register VALUES (?, ?, ?, ?, NULL) ON CONFLICT (member_id) "
                "DO UPDATE SET address = excluded.address, last_seen = excluded.last_seen, gone_since = NULL",
                rows,
            )
            self.db.execute(
                "UPDATE member_register SET gone_since = ? WHERE gone_since IS NULL AND member_id "
                "NOT IN (SELECT member_id FROM present)",
                (ts,),
            )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

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

    def erase_member(self, member_id: str | None, address: str | None) -> int:
        """Delete one person's rows, folding their deliveries into anonymous counts."""
        address = address.casefold() if address else None
        match = "(member_id = ? OR address = ?)"
        args = (member_id, address)
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute(
                "INSERT INTO erased_counts (mailing_id, status, count) "
                f"SELECT mailing_id, status, count(*) FROM deliveries WHERE {match} "
                "GROUP BY mailing_id, status ON CONFLICT (mailing_id, status) "
                "DO UPDATE SET count = count + excluded.count",
                args,
            )
            removed = self.db.execute(f"DELETE FROM deliveries WHERE {match}", args).rowcount
            self.db.execute(f"DELETE FROM member_register WHERE {match}", args)
            self.db.execute("DELETE FROM suppressions WHERE address = ?", (address,))
            self.db.execute(
                "UPDATE rsvps SET member_id = 'erased:' || lower(hex(randomblob(8))) WHERE member_id = ?",
                (member_id,),
            )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # older page versions live in the WAL
        return removed

    def member_ids_for(self, address: str) -> list[str]:
        rows = self.db.execute(
            "SELECT member_id FROM member_register WHERE address = ? UNION "
            "SELECT member_id FROM deliveries WHERE address = ?",
            (address.casefold(), address.casefold()),
        ).fetchall()
        return [r[0] for r in rows]

    # -- RSVPs and attendance ------------------------------------------------------------

    def record_rsvp(self, occurrence: str, member_id: str, answer: str, now: dt.datetime) -> str | None:
        """Keep a member's answer to one meeting (a later answer replaces it); returns the one replaced."""
        assert answer in ("yes", "no")
        self.db.execute("BEGIN IMMEDIATE")
        try:
            before = self.rsvp(occurrence, member_id)
            self.db.execute(
                "INSERT INTO rsvps VALUES (?, ?, ?, ?) ON CONFLICT (occurrence, member_id) "
                "DO UPDATE SET answer = excluded.answer, answered_at = excluded.answered_at",
                (occurrence, member_id, answer, stamp(now)),
            )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return before

    def rsvp(self, occurrence: str, member_id: str) -> str | None:
        row = self.db.execute(
            "SELECT answer FROM rsvps WHERE occurrence = ? AND member_id = ?", (occurrence, member_id)
        ).fetchone()
        return row[0] if row else None

    def attendance(self, series: str) -> dict[str, dict[str, int]]:
        """Occurrence id → invited (members sent any of its mailings), yes, no."""
        like = series.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") + "@%"
        occ = "CASE WHEN instr(mailing_id, '/') > 0 THEN substr(mailing_id, 1, instr(mailing_id, '/') - 1) "
        occ += "ELSE mailing_id END"
        out: dict[str, dict[str, int]] = {}

        def row(occurrence: str) -> dict[str, int]:
            return out.setdefault(occurrence, {"invited": 0, "yes": 0, "no": 0})

        for occurrence, n in self.db.execute(
            f"SELECT {occ} AS o, count(DISTINCT member_id) FROM deliveries WHERE status = 'sent' "
            "AND mailing_id LIKE ? ESCAPE '\\' GROUP BY o",
            (like,),
        ):
            row(occurrence)["invited"] += n
        for mailing_id, n in self.db.execute(
            "SELECT mailing_id, count FROM erased_counts WHERE status = 'sent' AND mailing_id LIKE ? "
            "ESCAPE '\\' AND instr(mailing_id, '/') = 0",
            (like,),
        ):
            row(mailing_id)["invited"] += n
        for occurrence, answer, n in self.db.execute(
            "SELECT occurrence, answer, count(*) FROM rsvps WHERE occurrence LIKE ? ESCAPE '\\' "
            "GROUP BY occurrence, answer",
            (like,),
        ):
            if answer in ("yes", "no"):
                row(occurrence)[answer] += n
        return out

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

    # -- meta ----------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))


def _event(row: tuple[object, ...]) -> dict[str, object]:
    keys = ("uid", "series", "occurrence", "sequence", "digest", "snapshot", "starts_at", "cancelled")
    out = dict(zip(keys, row, strict=True))
    out["snapshot"] = json.loads(str(out["snapshot"]))
    out["cancelled"] = bool(out["cancelled"])
    return out
