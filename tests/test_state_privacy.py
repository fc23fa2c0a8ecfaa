"""The state folder holds party membership: owner-only files, and erasure that leaves no trace.

Erasure is checked the hard way: every byte of every file under the state folder is read
and searched for the person's address in any letter case, their name and their member id.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from conftest import base_env, mailer, small_project

MEMBERS = """\
m-4711,Gudrun,Fjellheim,Gudrun.Fjellheim@Example.org,Ås,,medlem,2020-01-01,nb
m-4712,Kari,Styre,kari@example.org,Asker,,medlem|fylkesstyremedlem,2019-01-01,nb
"""
DRAFT = """\
---
subject: "Nyhetsbrev desember"
---
Hei {{ member.first_name }} {{ member.last_name }}!
"""
TRACES = ("gudrun.fjellheim@example.org", "gudrun", "fjellheim", "m-4711")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = small_project(tmp_path / "fylke", MEMBERS)
    (root / "drafts" / "nyhetsbrev-2026-12.md").write_text(DRAFT, encoding="utf-8")
    return root


def state_files(root: Path) -> list[Path]:
    return [p for p in (root / ".mailer").rglob("*") if p.is_file()]


def traces(root: Path) -> dict[str, list[str]]:
    """File name → the traces of Gudrun in its bytes (its name included), any letter case."""
    found: dict[str, list[str]] = {}
    for path in state_files(root):
        data = (str(path.relative_to(root)).encode() + b"\0" + path.read_bytes()).lower()
        hits = [t for t in TRACES if t.encode() in data]
        if hits:
            found[str(path.relative_to(root))] = hits
    return found


def send_to_outbox_and_preview_as_gudrun(root: Path) -> None:
    assert mailer(root, "preview", "nyhetsbrev-2026-12", "--as", "m-4711").code == 0
    assert mailer(root, "approve", "nyhetsbrev-2026-12", "--by", "Kari Styre").code == 0
    sent = mailer(root, "send", "nyhetsbrev-2026-12")
    assert sent.code == 0, sent.err


def test_the_outbox_reply_kept_in_the_ledger_names_no_path_of_the_server(root):
    """The reply is stored per delivery and shown to the member in their data ('Last ned mine
    data'): where the state folder lies on the server is none of their business."""
    send_to_outbox_and_preview_as_gudrun(root)

    with sqlite3.connect(root / ".mailer" / "state.db") as db:
        replies = {r[0] for r in db.execute("SELECT last_reply FROM deliveries")}

    assert replies and all(r.startswith("250 written to outbox/nyhetsbrev-2026-12/") for r in replies)
    assert not any(str(root) in r for r in replies)


@pytest.mark.usefixtures("engine")
def test_outbox_file_names_do_not_carry_the_recipient_s_address(root):
    send_to_outbox_and_preview_as_gudrun(root)
    names = [p.name.lower() for p in (root / ".mailer" / "outbox").rglob("*.eml")]
    assert len(names) == 2
    assert not any("gudrun" in n or "kari" in n or "@" in n for n in names)


@pytest.mark.usefixtures("engine")
def test_the_files_show_gudrun_before_she_is_forgotten(root):
    send_to_outbox_and_preview_as_gudrun(root)
    found = traces(root)
    assert any("outbox" in name for name in found) and any("previews" in name for name in found)


@pytest.mark.usefixtures("engine")
def test_forget_leaves_no_trace_of_the_person_in_any_file_of_the_state_folder(root):
    send_to_outbox_and_preview_as_gudrun(root)
    result = mailer(root, "forget", "GUDRUN.fjellheim@example.ORG")
    assert result.code == 0, result.err
    assert traces(root) == {}


@pytest.mark.usefixtures("engine")
def test_forget_keeps_the_other_members_outbox_messages(root):
    send_to_outbox_and_preview_as_gudrun(root)
    assert mailer(root, "forget", "gudrun.fjellheim@example.org").code == 0
    [kept] = list((root / ".mailer" / "outbox").rglob("*.eml"))
    assert b"kari@example.org" in kept.read_bytes()


def run_with_umask(umask: int, *args: object) -> None:
    old = os.umask(umask)
    try:
        result = mailer(*args)  # type: ignore[arg-type]
    finally:
        os.umask(old)
    assert result.code == 0, result.err


def test_under_umask_000_the_state_folder_is_0700_and_every_file_in_it_0600(root):
    run_with_umask(0, root, "preview", "nyhetsbrev-2026-12")
    run_with_umask(0, root, "approve", "nyhetsbrev-2026-12", "--by", "Kari Styre")
    run_with_umask(0, root, "send", "nyhetsbrev-2026-12")
    state = root / ".mailer"
    folders = [state, *(p for p in state.rglob("*") if p.is_dir())]
    files = state_files(root)
    assert {"state.db", "secret", "lock", "preview.eml"} <= {p.name for p in files}
    assert any(p.suffix == ".eml" and "outbox" in p.parts for p in files)
    assert {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in folders if p.stat().st_mode & 0o077} == {}
    assert {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in files if p.stat().st_mode & 0o177} == {}


def test_a_state_folder_left_open_by_an_older_version_is_closed_at_the_next_run(root):
    state = root / ".mailer"
    (state / "previews").mkdir(parents=True)
    state.chmod(0o755)
    (state / "previews").chmod(0o755)
    (state / "previews" / "old.html").write_text("x")
    (state / "previews" / "old.html").chmod(0o644)
    run_with_umask(0o022, root, "status")
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert stat.S_IMODE((state / "previews").stat().st_mode) == 0o700
    assert stat.S_IMODE((state / "previews" / "old.html").stat().st_mode) == 0o600


def test_closing_the_state_folder_does_not_follow_a_link_out_of_it(root, tmp_path):
    """A symbolic link in the state folder is left as it is: chmod would change its target."""
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("not ours")
    outside.chmod(0o644)
    state = root / ".mailer"
    (state / "outbox" / "old").mkdir(parents=True)
    (state / "outbox" / "old" / "a.eml").write_text("x")
    (state / "outbox" / "old" / "a.eml").chmod(0o644)
    (state / "outbox" / "link").symlink_to(outside)
    run_with_umask(0o022, root, "status")
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644
    assert stat.S_IMODE((state / "outbox" / "old").stat().st_mode) == 0o700
    assert stat.S_IMODE((state / "outbox" / "old" / "a.eml").stat().st_mode) == 0o600


@pytest.mark.parametrize("name", [".env", "recipients/members.csv"])
def test_check_warns_when_a_file_with_member_data_or_secrets_is_readable_by_others(root, name):
    path = root / name
    path.touch()
    path.chmod(0o644)
    result = mailer(root, "check")
    assert result.code == 0, result.err
    assert f"warning: {name}: group and others can read it" in result.err


def test_check_is_quiet_about_files_only_the_owner_can_read(root):
    (root / ".env").touch()
    for path in (root / ".env", root / "recipients" / "members.csv"):
        path.chmod(0o600)
    result = mailer(root, "check")
    assert result.code == 0 and "can read it" not in result.err


def test_warnings_about_member_rows_escape_control_characters(root):
    rows = (root / "recipients" / "members.csv").read_text("utf-8")
    rows += "m-9,Ola,Rad,ola@example.org,Narnia\x1b[2J\x07,,medlem,2020-01-01,nb\n"
    (root / "recipients" / "members.csv").write_text(rows, encoding="utf-8")
    result = mailer(root, "recipients", "--json")
    assert result.code == 0
    assert "\x1b" not in result.err and "\x07" not in result.err
    assert "Narnia\\x1b[2J\\x07" in result.err
    assert len(json.loads(result.out)) == 2


def test_a_malformed_board_users_setting_is_one_clear_line(root):
    result = mailer(root, "status", env=base_env(MAILER_BOARD_USERS="{Kari: hash"))
    assert result.code == 1
    assert "MAILER_BOARD_USERS" in result.err and "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1
