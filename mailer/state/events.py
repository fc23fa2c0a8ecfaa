"""Calendar events: each announced meeting occurrence as it was sent, with its SEQUENCE."""

from __future__ import annotations

import datetime as dt
import json

from mailer.state.connection import Connection
from mailer.state.database import stamp

_COLUMNS = ("uid", "series", "occurrence", "sequence", "digest", "snapshot", "starts_at", "cancelled")


class Events:
    def __init__(self, db: Connection):
        self.db = db

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
            "INSERT INTO events (uid, series, occurrence, sequence, digest, snapshot, "
            "starts_at, announced_at) VALUES (?, ?, ?, 0, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
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

    def get(self, uid: str) -> dict[str, object] | None:
        row = self.db.execute(f"SELECT {', '.join(_COLUMNS)} FROM events WHERE uid = ?", (uid,)).fetchone()
        return _event(row) if row else None

    def ahead(self, since: dt.datetime) -> list[dict[str, object]]:
        rows = self.db.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM events WHERE starts_at >= ? ORDER BY starts_at",
            (stamp(since),),
        ).fetchall()
        return [_event(r) for r in rows]

    def revise(
        self, uid: str, digest: str, snapshot: dict[str, object], starts_at: dt.datetime, cancelled: bool
    ) -> int:
        """A changed or cancelled meeting: raise its SEQUENCE; returns the new one."""
        self.db.execute(
            "UPDATE events SET sequence = sequence + 1, digest = ?, snapshot = ?, starts_at = ?, "
            "cancelled = ? WHERE uid = ?",
            (digest, json.dumps(snapshot, ensure_ascii=False), stamp(starts_at), int(cancelled), uid),
        )
        return self.db.execute("SELECT sequence FROM events WHERE uid = ?", (uid,)).fetchone()[0]


def _event(row: tuple[object, ...]) -> dict[str, object]:
    out = dict(zip(_COLUMNS, row, strict=True))
    out["snapshot"] = json.loads(str(out["snapshot"]))
    out["cancelled"] = bool(out["cancelled"])
    return out
