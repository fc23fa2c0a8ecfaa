"""What an auditor found after `mailer forget` that the table-by-table erasure did not reach.

SQLite's `secure_delete` zeroes a cell when it is deleted, but not the copies SQLite leaves when
it moves cells between pages: a b-tree page rebuilt with fewer cells keeps the old bytes in its
unused space (between the cell pointers and the cell content). In an audit run through the
real command line and `mailer serve` (340 members, newsletters, event notices), an erased
member's address was still in `state.db` that way, in a page of the `deliveries_address` index,
with no row left naming her. Where SQLite leaves such bytes depends on the order of thousands of
inserts, so the test here puts the stale copy into the unused space of a page itself, as SQLite
would, and checks that the erasure writes the file anew.
"""

from __future__ import annotations

import sqlite3
import struct
from pathlib import Path

from conftest import DRAFT, MEMBERS_HEADER, base_env, mailer, small_project

ADDRESS = "zyxwa.qvorn@example.org"
MEMBERS = (
    f"99042,Zyxwa,Qvorn,{ADDRESS},Ås,Ås Senterparti,medlem,2019-01-01,nb\n"
    "2,Per,Hansen,per@example.org,Asker,Asker Senterparti,medlem,2019-01-01,nb\n"
)
NOW = "2026-12-03T18:05"


def cli(root: Path, *args: str) -> str:
    result = mailer(root, "--now", NOW, *args, env=base_env(MAILER_SECRET="x" * 32))
    assert result.code == 0, (args, result.err)
    return result.out


def leave_a_stale_copy(db_path: Path, index: str, data: bytes) -> None:
    """Write `data` into the unused space of the first leaf page of `index`, as a b-tree
    rebalance leaves a moved cell's old bytes there; the database stays valid."""
    db = sqlite3.connect(db_path)
    try:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        page = db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (index,)).fetchone()[0]
    finally:
        db.close()
    with open(db_path, "r+b") as f:
        while True:
            f.seek((page - 1) * page_size)
            raw = f.read(page_size)
            kind, cells, content = raw[0], *struct.unpack(">HH", raw[3:7])
            if kind == 10:  # an index leaf
                break
            assert kind == 2, kind  # an interior index page: follow its leftmost child
            (page,) = struct.unpack(">I", raw[struct.unpack(">H", raw[12:14])[0] :][:4])
        unused_from = 8 + 2 * cells
        assert content - unused_from > len(data), "no room in the page for the test"
        f.seek((page - 1) * page_size + unused_from + 4)
        f.write(data)
    db = sqlite3.connect(db_path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        db.close()


def sent_to_both(tmp_path: Path) -> Path:
    """A project whose newsletter went to both members (into the outbox)."""
    root = small_project(tmp_path / "fylke", MEMBERS)
    (root / "drafts" / "nyhetsbrev-2026-12.md").write_text(DRAFT, encoding="utf-8")
    cli(root, "preview", "nyhetsbrev-2026-12")
    cli(root, "approve", "nyhetsbrev-2026-12", "--by", "Per Hansen")
    cli(root, "send", "nyhetsbrev-2026-12")
    return root


def test_forget_leaves_no_stale_copy_of_the_address_in_the_sqlite_file(tmp_path):
    root = sent_to_both(tmp_path)
    state_db = root / ".mailer" / "state.db"
    assert not state_db.with_name("state.db-wal").exists(), "every process closed the database"
    leave_a_stale_copy(state_db, "deliveries_address", b"\x02nyhetsbrev-2026-12" + ADDRESS.encode())
    assert ADDRESS.encode() in state_db.read_bytes()

    (root / "recipients" / "members.csv").write_text(MEMBERS_HEADER + MEMBERS.splitlines(True)[1], "utf-8")
    assert f"erased {ADDRESS}" in cli(root, "forget", ADDRESS)

    for path in sorted((root / ".mailer").glob("state.db*")):
        assert ADDRESS.encode() not in path.read_bytes().lower(), path.name
    assert "per@example.org" in repr(
        sqlite3.connect(state_db).execute("SELECT address FROM deliveries").fetchall()
    ), "the rows that stay are still there"


def test_an_erasure_while_another_process_reads_says_so_and_the_next_command_finishes_it(tmp_path):
    root = sent_to_both(tmp_path)
    state_db = root / ".mailer" / "state.db"
    (root / "recipients" / "members.csv").write_text(MEMBERS_HEADER + MEMBERS.splitlines(True)[1], "utf-8")

    reader = sqlite3.connect(state_db, isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 2  # a snapshot held open
    forgot = mailer(root, "--now", NOW, "forget", ADDRESS, env=base_env(MAILER_SECRET="x" * 32))
    assert forgot.code == 0, forgot.err
    assert f"erased {ADDRESS}" in forgot.out
    assert "another process was reading" in forgot.err and "-wal" in forgot.err
    assert state_db.with_name("state.db-erasing").exists()
    reader.execute("COMMIT")
    reader.close()

    cli(root, "status")
    assert not state_db.with_name("state.db-erasing").exists()
    for path in sorted((root / ".mailer").glob("state.db*")):
        assert ADDRESS.encode() not in path.read_bytes().lower(), path.name
