"""The member store: the export read once into an indexed table, re-read only when it changes.

Every command and every web request looks members up here instead of parsing the CSV
files. An import is keyed by the files' content (and the schedule, which decides roles and
regions), so an unchanged export is never parsed again; a cheap key of names, sizes and
modification times avoids even hashing the files when nothing was touched. An import is one
transaction: a crash halfway leaves the previous members in place.

Joined dates in the future depend on the day, not on the file, so they are judged when
members are read, not when they are imported.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from mailer.project.members import Member, RowProblem, future_joined
from mailer.state.connection import Connection
from mailer.state.database import transaction
from mailer.state.meta import Meta

CONTENT_KEY = "members_content"
STAT_KEY = "members_stat"
IMPORTS = "members_imports"
LATEST_JOINED = "members_latest_joined"


def stat_key(paths: Iterable[Path]) -> str:
    parts = []
    for path in paths:
        st = os.stat(path)
        parts.append((str(path), st.st_size, st.st_mtime_ns, st.st_ino))
    return repr(parts)


def content_key(paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()


class MemberStore:
    def __init__(self, db: Connection):
        self.db = db
        self.meta = Meta(db)
        self._confirmed: str | None = None
        """The quick key this connection last found imported: the web asks at every click."""

    @property
    def confirmed(self) -> str | None:
        """The quick key (`stat_key`) of the inputs last found imported through this connection."""
        return self._confirmed

    @property
    def key(self) -> str | None:
        """The content key of the export last imported (what planning depends on)."""
        return self.meta.get(CONTENT_KEY)

    def refresh(
        self, inputs: list[Path], read: Callable[[], tuple[Iterable[Member], list[RowProblem]]]
    ) -> bool:
        """Import the export again if `inputs` (member files and schedule) changed; True if it did.

        `read` returns the members (streamed) and the list the reader fills with row problems.
        """
        quick = stat_key(inputs)
        if quick == self._confirmed:
            return False
        if self.meta.get(STAT_KEY) == quick and self.key is not None:
            self._confirmed = quick
            return False
        full = content_key(inputs)
        if self.key == full:
            self.meta.set(STAT_KEY, quick)
            self._confirmed = quick
            return False
        members, problems = read()
        with transaction(self.db):
            self.db.lock("members")  # several senders: one imports, the others find it done
            if self.key == full:
                self.meta.set(STAT_KEY, quick)
                return False
            self.db.execute("DELETE FROM members")
            self.db.execute("DELETE FROM member_problems")
            found: list[tuple[int, str, str, int]] = []
            latest: list[str] = []
            rows = _rows(members, problems, found, latest)
            self.db.executemany("INSERT INTO members VALUES (?, ?, ?, ?)", rows)
            self.db.executemany("INSERT INTO member_problems VALUES (?, ?, ?, ?)", found)
            self.meta.set(LATEST_JOINED, max(latest, default=""))
            self.meta.set(CONTENT_KEY, full)
            self.meta.set(STAT_KEY, quick)
            self.meta.set(IMPORTS, str(int(self.meta.get(IMPORTS) or 0) + 1))
        self._confirmed = quick
        return True

    # -- reading ---------------------------------------------------------------------------

    def all(self, today: dt.date) -> Iterator[Member]:
        """Every valid member in the export's order, read page by page (memory stays flat)."""
        last = 0
        while True:
            rows = self.db.execute(
                "SELECT position, record FROM members WHERE position > ? ORDER BY position LIMIT 2000",
                (last,),
            ).fetchall()
            if not rows:
                return
            for _, record in rows:
                yield _member(record, today)
            last = rows[-1][0]

    def get(self, member_id: str, today: dt.date) -> Member | None:
        row = self.db.execute("SELECT record FROM members WHERE id = ?", (member_id,)).fetchone()
        return _member(row[0], today) if row else None

    def count(self) -> int:
        return self.db.execute("SELECT count(*) FROM members").fetchone()[0]

    def problems(self, today: dt.date) -> list[RowProblem]:
        """Row problems as the reader found them, with joined dates that lie after `today`."""
        found: list[tuple[float, RowProblem]] = [
            (pos, RowProblem(where, message, bool(skipped)))
            for pos, where, message, skipped in self.db.execute(
                "SELECT position, place, message, skipped FROM member_problems"
            )
        ]
        iso = today.isoformat()
        latest = self.meta.get(LATEST_JOINED)
        if latest is None or latest > iso:  # only then is any joined date in the future
            for pos, record in self.db.execute("SELECT position, record FROM members ORDER BY position"):
                rec = json.loads(record)
                joined = rec.get("joined")
                if joined is not None and joined > iso:
                    message = future_joined(joined)
                    found.append((pos - 0.5, RowProblem(rec.get("source"), message, skipped=False)))
        return [p for _, p in sorted(found, key=lambda item: item[0])]

    def records(self, member_id: str | None, address: str | None) -> list[str]:
        rows = self.db.execute("SELECT record FROM members WHERE id = ? OR address = ?", (member_id, address))
        return [r[0] for r in rows]

    def forget(self, member_id: str | None, address: str | None) -> None:
        """Remove one person (erasure); the next command imports the export again.

        A long-running `serve` imports again only when the files change: until then its
        clicks find the person gone, as they should.
        """
        self._confirmed = None
        self.db.execute("DELETE FROM members WHERE id = ? OR address = ?", (member_id, address))
        self.db.execute("DELETE FROM member_problems")  # their messages may quote the address
        self.db.execute("DELETE FROM meta WHERE key IN (?, ?, ?)", (CONTENT_KEY, STAT_KEY, LATEST_JOINED))


def _rows(
    members: Iterable[Member],
    problems: list[RowProblem],
    found: list[tuple[int, str, str, int]],
    latest: list[str],
) -> Iterator[tuple[int, str, str, str]]:
    """Members and the problems the reader found before each, numbered in the export's order."""
    position = 0

    def collect() -> None:
        nonlocal position
        while len(found) < len(problems):
            p = problems[len(found)]
            position += 1
            found.append((position, p.where, p.message, int(p.skipped)))

    for member in members:
        collect()
        position += 1
        record = member.to_record()
        record["source"] = member.source
        joined = record.get("joined")
        if isinstance(joined, str) and (not latest or joined > latest[0]):
            latest[:] = [joined]
        yield position, member.id, member.address_key, json.dumps(record, ensure_ascii=False)
    collect()


def _member(record: str, today: dt.date) -> Member:
    rec = json.loads(record)
    joined = rec.get("joined")
    if joined is not None and joined > today.isoformat():
        rec["joined"], rec["joined_unreadable"] = None, True
    return Member.from_record(rec)
