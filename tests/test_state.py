"""The state layer: migrations from earlier releases, clear errors, and the member store."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import base_env, copy_example, mailer, small_project, state_rows
from webapp import SECRET, start_web

from mailer.delivery.tokens import Signer
from mailer.state.migrations import MIGRATIONS

pytestmark = pytest.mark.usefixtures("engine")  # every test on SQLite and on PostgreSQL
FIXTURES = Path(__file__).parent / "fixtures"
MEMBERS = (
    "1,Åse,Bjørnstad,ase@example.org,Ås,Ås Senterparti,medlem,2020-01-01,nb\n"
    "2,Øyvind,Dæhli,oyvind@example.org,Bærum,Bærum Senterparti,medlem,2020-01-01,nn\n"
)


def v1_project(tmp_path: Path) -> Path:
    """The example project with the six members and the state file the first release wrote."""
    root = copy_example(tmp_path / "akershus")
    for old in (root / "recipients").iterdir():
        old.unlink()
    (root / "recipients" / "medlemmer.csv").write_bytes((FIXTURES / "state-v1-members.csv").read_bytes())
    (root / ".mailer").mkdir()
    db = sqlite3.connect(root / ".mailer" / "state.db")
    db.executescript((FIXTURES / "state-v1.sql").read_text("utf-8"))
    db.close()
    return root


def db_rows(root: Path, sql: str) -> list[tuple[object, ...]]:
    return state_rows(root, sql)


@pytest.mark.sqlite_only
def test_a_state_file_from_the_first_release_opens_and_upgrades_in_place(tmp_path, smtp):
    root = v1_project(tmp_path)
    env = base_env(**smtp.env())
    result = mailer(root, "status", "--json", env=env)
    assert result.code == 0, result.err
    assert '"sent": 6' in result.out.replace(" ", "").replace('"sent":6', '"sent": 6')
    with sqlite3.connect(root / ".mailer" / "state.db") as db:
        assert db.execute("PRAGMA user_version").fetchall() == [(len(MIGRATIONS),)]
    # what the first release sent, approved and recorded still holds: nothing goes out twice
    assert mailer(root, "preview", "nyhetsbrev-2026-12", env=env).code == 0  # templates changed since
    for name in ("Kari Nordmann", "Per Hansen"):
        assert mailer(root, "approve", "nyhetsbrev-2026-12", "--by", name, env=env).code == 0
    sent = mailer(root, "send", "nyhetsbrev-2026-12", env=env)
    assert sent.code == 0, sent.err
    assert mailer(root, "run-due", "--now", "2026-11-21T09:00", env=env).code == 0
    assert smtp.received == []
    assert db_rows(root, "SELECT address, category FROM suppressions") == [
        ("tormod.engen.10002@example.org", "*")
    ]


@pytest.mark.sqlite_only
def test_a_state_file_from_a_newer_release_is_refused_and_left_unchanged(tmp_path):
    root = v1_project(tmp_path)
    db = sqlite3.connect(root / ".mailer" / "state.db")
    db.execute("PRAGMA user_version = 99")
    db.close()
    before = hashlib.sha256((root / ".mailer" / "state.db").read_bytes()).hexdigest()
    result = mailer(root, "status")
    assert result.code == 1
    assert "version 99" in result.err and "newer release" in result.err
    assert "Traceback" not in result.err and len(result.err.strip().splitlines()) == 1
    assert hashlib.sha256((root / ".mailer" / "state.db").read_bytes()).hexdigest() == before


@pytest.mark.sqlite_only
def test_a_corrupt_state_file_is_one_clear_line_and_exit_1(tmp_path):
    root = small_project(tmp_path / "p", MEMBERS)
    (root / ".mailer").mkdir()
    (root / ".mailer" / "state.db").write_bytes(b"this is not a database, it is a shopping list\n" * 200)
    result = mailer(root, "run-due")
    assert result.code == 1
    assert "state.db" in result.err and "cannot be read" in result.err
    assert "Traceback" not in result.err and len(result.err.strip().splitlines()) == 1


@pytest.mark.sqlite_only
def test_a_state_file_locked_by_another_process_is_one_clear_line_and_exit_1(tmp_path):
    root = small_project(tmp_path / "p", MEMBERS)
    assert mailer(root, "status").code == 0
    holder = sqlite3.connect(root / ".mailer" / "state.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = mailer(root, "unsubscribe", "ase@example.org", env=base_env(MAILER_STATE_WAIT="1"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.code == 1
    assert "locked by another process" in result.err
    assert "Traceback" not in result.err


def imports(root: Path) -> int:
    rows = db_rows(root, "SELECT value FROM meta WHERE key = 'members_imports'")
    return int(rows[0][0]) if rows else 0


def test_an_unchanged_export_is_never_parsed_again_even_when_its_file_is_touched(tmp_path):
    root = small_project(tmp_path / "p", MEMBERS)
    assert mailer(root, "recipients").code == 0
    assert imports(root) == 1
    members = root / "recipients" / "members.csv"
    os.utime(members, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    members.write_bytes(members.read_bytes())
    assert mailer(root, "recipients").code == 0
    assert mailer(root, "check").code == 0
    assert imports(root) == 1


def test_a_changed_row_a_removed_row_and_a_removed_file_reach_the_store(tmp_path):
    root = small_project(tmp_path / "p", MEMBERS)
    extra = root / "recipients" / "more.csv"
    extra.write_text(
        "id,first_name,last_name,email,municipality\n3,Kari,Li,kari@example.org,Asker\n", encoding="utf-8"
    )
    assert mailer(root, "recipients", "--json").out.count("@example.org") == 3
    (root / "recipients" / "members.csv").write_text(
        "id,first_name,last_name,email,municipality\n1,Åse,Bjørnstad,ny-ase@example.org,Ås\n",
        encoding="utf-8",
    )
    out = mailer(root, "recipients", "--json").out
    assert "ny-ase@example.org" in out and "oyvind@example.org" not in out and "kari@example.org" in out
    extra.unlink()
    assert db_rows(root, "SELECT count(*) FROM members") == [(2,)]  # not yet looked at
    assert mailer(root, "recipients").code == 0
    assert db_rows(root, "SELECT id, address FROM members") == [("1", "ny-ase@example.org")]


def test_bad_rows_are_reported_from_the_store_exactly_as_check_reads_them(tmp_path):
    rows = MEMBERS + "3,Uten,Adresse,,Ås\n4,Feil,Kommune,feil@example.org,Atlantis\n"
    root = small_project(tmp_path / "p", rows)
    first = mailer(root, "check")
    second = mailer(root, "check")
    assert first.code == second.code == 1
    assert first.err == second.err
    assert "recipients/members.csv:4: no email address" in first.err
    assert "recipients/members.csv:5: unknown municipality 'Atlantis'" in first.err
    warned = mailer(root, "recipients")
    assert warned.code == 0
    assert "warning: recipients/members.csv:4: no email address; row skipped" in warned.err


def test_a_joined_date_in_the_future_is_judged_on_the_day_the_members_are_read(tmp_path):
    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    root = small_project(
        tmp_path / "p", MEMBERS + f"3,Snart,Medlem,snart@example.org,Ås,,medlem,{future},nb\n"
    )
    result = mailer(root, "check")
    assert (
        f"recipients/members.csv:4: joined date {future} is in the future; the welcome waits for that day "
        "(correct it if wrong)" in result.err
    )


def test_a_member_file_replaced_while_serve_runs_is_seen_by_the_next_request(tmp_path):
    root = small_project(tmp_path / "p", MEMBERS)
    env = base_env(MAILER_SECRET=SECRET)
    server = start_web(root, env)
    try:
        today = dt.date.today().toordinal()
        new = Signer(SECRET.encode()).sign("u", "7", "nyhetsbrev", today)
        with server.client() as client:
            assert client.get(f"/u/{new}").status_code == 404
            (root / "recipients" / "members.csv").write_text(
                "id,first_name,last_name,email,municipality\n7,Ny,Person,ny@example.org,Asker\n",
                encoding="utf-8",
            )
            page = client.get(f"/u/{new}")
            assert page.status_code == 200
            answer = client.post(f"/u/{new}", data={"List-Unsubscribe": "One-Click"})
            assert answer.status_code == 200
    finally:
        server.stop()
    assert db_rows(root, "SELECT address, category FROM suppressions") == [("ny@example.org", "nyhetsbrev")]


def big_export(path: Path, n: int, domain: str) -> None:
    lines = ["id,first_name,last_name,email,municipality"]
    lines += [f"{i},Fornavn{i},Etternavn{i},person{i}@{domain},Asker" for i in range(1, n + 1)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_kill_in_the_middle_of_an_import_leaves_the_previous_members_usable(tmp_path):
    root = small_project(tmp_path / "p", MEMBERS)
    assert mailer(root, "recipients").code == 0
    big_export(root / "recipients" / "members.csv", 60_000, "example.net")
    killed = 0
    for delay in (0.8, 1.2, 1.6, 2.4):
        proc = subprocess.Popen(
            [sys.executable, "-m", "mailer", "--project", str(root), "recipients", "--json"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=base_env(),
        )
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            killed += 1
        proc.wait()
        count = db_rows(root, "SELECT count(*) FROM members")[0][0]
        assert count in (2, 60_000), f"a partial import of {count} members is visible"
        if count == 60_000:
            break
    assert killed >= 1
    after = mailer(root, "recipients", "--json")
    assert after.code == 0
    assert db_rows(root, "SELECT count(*) FROM members") == [(60_000,)]


def test_an_unsubscribe_outlives_erasure_as_a_keyed_hash_and_stops_a_later_import(tmp_path, smtp):
    root = small_project(tmp_path / "p", MEMBERS)
    env = base_env(**smtp.env())
    assert mailer(root, "unsubscribe", "Ase@Example.org", env=env).code == 0
    members = root / "recipients" / "members.csv"
    kept = members.read_text("utf-8")
    members.write_text("".join(line + "\n" for line in kept.splitlines() if "ase@example.org" not in line))
    assert mailer(root, "forget", "ase@example.org", env=env).code == 0
    for path in (root / ".mailer").rglob("*"):
        if path.is_file():
            assert b"ase@example.org" not in path.read_bytes().lower(), path
    members.write_text(kept, encoding="utf-8")  # re-imported from the register later
    (root / "drafts" / "nyhetsbrev-2026-12.md").write_text(
        "---\nsubject: Desember\nsend_at: 2026-12-03T18:00\n---\nHei!\n", encoding="utf-8"
    )
    assert mailer(root, "preview", "nyhetsbrev-2026-12", env=env).code == 0
    assert mailer(root, "approve", "nyhetsbrev-2026-12", "--by", "Kari", env=env).code == 0
    sent = mailer(root, "send", "nyhetsbrev-2026-12", env=env)
    assert sent.code == 0, sent.err
    assert [r.rcpt_tos for r in smtp.received] == [["oyvind@example.org"]]


@pytest.mark.sqlite_only
def test_the_state_folder_and_database_are_the_owners_alone_whatever_the_umask(tmp_path):
    root = small_project(tmp_path / "p", MEMBERS)
    old = os.umask(0)
    try:
        assert mailer(root, "status").code == 0
    finally:
        os.umask(old)
    mode = (root / ".mailer").stat().st_mode & 0o777
    assert mode == 0o700
    assert (root / ".mailer" / "state.db").stat().st_mode & 0o077 == 0
