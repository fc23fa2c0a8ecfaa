"""Taking a published issue off the archive by hand (`mailer archive withdraw`), putting it back
(`mailer archive publish`), and the listing (`mailer archive`), over the real command line, a
real SMTP server and a real `mailer serve`."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import httpx
import pytest
from conftest import base_env, mailer, small_project, state_rows
from test_archive import DRAFT, MEMBERS, NYNORSK, board_only, older_release_state, paths, send
from webapp import SECRET, board_users, start_web

from mailer.state import State
from mailer.state.archive import Issue
from mailer.state.migrations import MIGRATIONS

ISSUE = "nyhetsbrev-2026-12"  # the issue test_archive's `send` sends
NEWCOMER = "4,Nils,Nyvik,nils@example.org,Ås,,medlem,2021-05-05,nn\n"
ARCHIVE_ROWS = "SELECT mailing_id, language, public, withdrawn_at, withdrawn_by FROM archive ORDER BY 1, 2"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = small_project(tmp_path / "fylke", MEMBERS)
    (root / "drafts" / f"{ISSUE}.md").write_text(DRAFT, encoding="utf-8")
    (root / "drafts" / f"{ISSUE}.nn.md").write_text(NYNORSK, encoding="utf-8")
    return root


@pytest.fixture
def web(root):
    server = start_web(root, base_env(MAILER_SECRET=SECRET))
    yield server
    server.stop()


def archive(root: Path, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return mailer(root, "archive", *args, env=env or base_env())


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def shown(web, draft: str = ISSUE) -> dict[str, int | bool]:
    """What a reader of the web sees of an issue: each page's status, and whether /arkiv lists it."""
    seen: dict[str, int | bool] = {p: httpx.get(web.url + p, timeout=10).status_code for p in paths(draft)}
    seen["listed"] = f"/arkiv/{draft}" in httpx.get(web.url + "/arkiv", timeout=10).text
    return seen


PUBLISHED = {f"/arkiv/{ISSUE}": 200, f"/arkiv/{ISSUE}/nn": 200, f"/arkiv/{ISSUE}/nb": 200, "listed": True}
HIDDEN = {f"/arkiv/{ISSUE}": 404, f"/arkiv/{ISSUE}/nn": 404, f"/arkiv/{ISSUE}/nb": 404, "listed": False}


# -- withdrawing and publishing -------------------------------------------------------------------


@pytest.mark.usefixtures("engine")
def test_a_withdrawn_issue_leaves_the_list_and_its_pages_answer_404_in_both_languages(root, smtp, web):
    send(root, smtp)
    assert shown(web) == PUBLISHED

    result = archive(root, "withdraw", ISSUE, "--by", "Kari Styre")

    assert result.code == 0, result.err
    assert f"{ISSUE} withdrawn by Kari Styre" in result.out
    assert shown(web) == HIDDEN
    unknown = httpx.get(web.url + "/arkiv/finnes-ikke", timeout=10)
    page = httpx.get(web.url + f"/arkiv/{ISSUE}", timeout=10)
    assert page.text == unknown.text, "a withdrawn issue looks like one that never was"


@pytest.mark.usefixtures("engine")
def test_a_withdrawal_survives_a_retry_of_the_same_issue(root, smtp, web):
    down = {"bjorn@example.org"}
    smtp.handler.data_reply = lambda n, envelope: (
        "450 4.2.1 mailbox busy" if down & set(envelope.rcpt_tos) else None
    )
    send(root, smtp)
    assert not smtp.handler.to("bjorn@example.org"), "his copy waits for the next run"
    assert archive(root, "withdraw", ISSUE, "--by", "Kari Styre").code == 0
    down.clear()

    retry = mailer(root, "send", ISSUE, env=base_env(**smtp.env()))

    assert retry.code == 0, retry.err
    assert smtp.handler.to("bjorn@example.org"), "his copy went out, and the issue was archived again"
    assert shown(web) == HIDDEN


@pytest.mark.usefixtures("engine")
def test_a_withdrawal_survives_sending_the_same_issue_again_to_a_new_member(root, smtp, web):
    send(root, smtp)
    assert archive(root, "withdraw", ISSUE, "--by", "Kari Styre").code == 0
    export = root / "recipients" / "members.csv"
    export.write_text(export.read_text("utf-8") + NEWCOMER, encoding="utf-8")

    again = mailer(root, "send", ISSUE, env=base_env(**smtp.env()))

    assert again.code == 0, again.err
    assert smtp.handler.to("nils@example.org")
    assert shown(web) == HIDDEN
    rows = state_rows(root, ARCHIVE_ROWS)
    assert [(r[0], r[1], r[2], r[4]) for r in rows] == [
        (ISSUE, "nb", 1, "Kari Styre"),
        (ISSUE, "nn", 1, "Kari Styre"),
    ], "the decision to publish is made again; the withdrawal stays"


def test_a_language_first_archived_after_the_withdrawal_is_withdrawn_with_the_others(tmp_path):
    """Every issue is archived in each language the program writes (nb, nn) when first sent; a
    language a later release adds would come in on a later run, and the withdrawal covers it."""
    state = State(tmp_path / "state.db", b"k" * 32)
    sent = dt.datetime(2026, 12, 1, 18, tzinfo=dt.UTC)
    state.archive.record(Issue(ISSUE, "nb", sent, "Nyhetsbrev", "<html></html>", public=True))
    state.archive.withdraw(ISSUE, "Kari Styre", sent + dt.timedelta(days=1))

    state.archive.record(Issue(ISSUE, "se", sent + dt.timedelta(days=2), "Oðasreive", "<html></html>", True))

    assert state.archive.get(ISSUE, "se") is None and state.archive.issues("se") == []
    assert state.archive.entry(ISSUE).withdrawn_by == "Kari Styre"  # type: ignore[union-attr]
    state.close()


@pytest.mark.usefixtures("engine")
def test_publish_puts_a_withdrawn_issue_back_in_both_languages(root, smtp, web):
    send(root, smtp)
    assert archive(root, "withdraw", ISSUE, "--by", "Kari Styre").code == 0

    result = archive(root, "publish", ISSUE, "--by", "Per Styre")

    assert result.code == 0, result.err
    assert f"{ISSUE} published again by Per Styre" in result.out
    assert "https://medlem.testfylket.example/arkiv/nyhetsbrev-2026-12" in result.out
    assert shown(web) == PUBLISHED


@pytest.mark.usefixtures("engine")
def test_publish_refuses_an_issue_kept_out_because_its_audience_is_not_every_member(root, smtp, web):
    draft = board_only(root)
    send(root, smtp, draft)
    before = state_rows(root, ARCHIVE_ROWS)

    result = archive(root, "publish", draft, "--by", "Kari Styre")

    assert result.code == 1
    line = one_line(result.err)
    assert "cannot be published" in line and "kept out" in line and "audience styret" in line
    assert state_rows(root, ARCHIVE_ROWS) == before
    assert {p: httpx.get(web.url + p, timeout=10).status_code for p in paths(draft)} == dict.fromkeys(
        paths(draft), 404
    )


def test_withdrawing_an_issue_that_was_never_published_changes_nothing(root, smtp):
    draft = board_only(root)
    send(root, smtp, draft)
    before = state_rows(root, ARCHIVE_ROWS)

    result = archive(root, "withdraw", draft, "--by", "Kari Styre")

    assert result.code == 0, result.err
    assert "is not published" in result.out and "nothing to withdraw" in result.out
    assert state_rows(root, ARCHIVE_ROWS) == before


def test_withdrawing_twice_says_so_keeps_the_first_record_and_exits_0(root, smtp):
    send(root, smtp)
    assert archive(root, "withdraw", ISSUE, "--by", "Kari Styre").code == 0
    before = state_rows(root, ARCHIVE_ROWS)

    again = archive(root, "withdraw", ISSUE, "--by", "Per Styre")

    assert again.code == 0, again.err
    assert "was already withdrawn on" in again.out and "by Kari Styre; nothing changed" in again.out
    assert state_rows(root, ARCHIVE_ROWS) == before


def test_publishing_an_issue_that_is_published_changes_nothing(root, smtp):
    send(root, smtp)
    before = state_rows(root, ARCHIVE_ROWS)
    result = archive(root, "publish", ISSUE, "--by", "Kari Styre")
    assert result.code == 0 and "is published already" in result.out
    assert state_rows(root, ARCHIVE_ROWS) == before


# -- the listing ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("engine")
def test_the_listing_shows_each_issue_with_its_date_languages_and_state(root, smtp):
    send(root, smtp)
    (root / "drafts" / "nyhetsbrev-2026-11.md").write_text(DRAFT, encoding="utf-8")
    send(root, smtp, "nyhetsbrev-2026-11")
    send(root, smtp, board_only(root))
    assert archive(root, "withdraw", "nyhetsbrev-2026-11", "--by", "Kari Styre").code == 0

    result = archive(root)

    assert result.code == 0, result.err
    lines = {ln.split()[0]: ln for ln in result.out.splitlines()}
    assert "nb, nn" in lines[ISSUE] and " sent 20" in lines[ISSUE]
    assert "published: https://medlem.testfylket.example/arkiv/nyhetsbrev-2026-12" in lines[ISSUE]
    assert "kept out when sent (audience styret does not select every member)" in lines["styreinfo-2026-12"]
    assert "withdrawn by hand on 20" in lines["nyhetsbrev-2026-11"]
    assert lines["nyhetsbrev-2026-11"].endswith("by Kari Styre")
    assert "3 issues in the archive: 1 published, 1 kept out, 1 withdrawn" in result.out


def test_the_listing_says_when_and_by_whom_an_issue_was_published_again(root, smtp):
    send(root, smtp)
    assert archive(root, "withdraw", ISSUE, "--by", "Kari Styre").code == 0
    assert archive(root, "publish", ISSUE, "--by", "Per Styre").code == 0

    listed = json.loads(archive(root, "--json").out)

    assert [(i["id"], i["state"], i["languages"], i["withdrawn_by"]) for i in listed] == [
        (ISSUE, "published", ["nb", "nn"], None)
    ]
    assert listed[0]["published_again_by"] == "Per Styre" and listed[0]["published_again_at"]
    assert "(published again on 20" in archive(root).out


def test_the_listing_names_an_issue_of_an_older_release_that_waits_for_its_draft(root):
    (root / "drafts" / "nyhetsbrev-2026-11.md").write_text("---\nsubject: [broken\n---\n", encoding="utf-8")
    older_release_state(root, ["nyhetsbrev-2026-11"])

    result = archive(root)

    assert result.code == 0, result.err
    assert "hidden: archived by an older release, waiting until its draft can be read" in result.out
    assert "archive: nyhetsbrev-2026-11 stays hidden until its draft can be read" in result.err
    assert "1 issue in the archive: 1 undecided" in result.out


def test_an_empty_archive_says_so(root):
    result = archive(root)
    assert result.code == 0 and result.out.strip() == "the archive is empty: no newsletter has been sent yet"


# -- what is refused ----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["withdraw", "publish"])
def test_an_unknown_issue_is_one_line_naming_the_issues_there_are(root, smtp, command):
    send(root, smtp)
    result = archive(root, command, "nyhetsbrev-2099-01", "--by", "Kari Styre")
    assert result.code == 1
    line = one_line(result.err)
    assert "nyhetsbrev-2099-01 is not in the archive" in line
    assert ISSUE in line and "run `mailer archive` to list them" in line


@pytest.mark.parametrize(
    "bad", ["../state", "nyhetsbrev-2026-12/nn", "..", "/etc/passwd", "nyhetsbrev\x1b[2J-2026-12", "a\nb", ""]
)
def test_an_id_with_path_or_control_characters_is_refused_and_nothing_changes(root, smtp, bad):
    send(root, smtp)
    before = state_rows(root, ARCHIVE_ROWS)
    result = archive(root, "withdraw", bad, "--by", "Kari Styre")
    assert result.code == 1
    line = one_line(result.err)
    assert "is not an issue id" in line and "`mailer archive`" in line and "\x1b" not in line
    assert state_rows(root, ARCHIVE_ROWS) == before


@pytest.mark.parametrize("by", [None, "", "   "])
def test_a_missing_or_empty_by_is_refused_and_nothing_changes(root, smtp, by):
    send(root, smtp)
    before = state_rows(root, ARCHIVE_ROWS)
    result = archive(root, "withdraw", ISSUE, *(() if by is None else ("--by", by)))
    assert result.code == 1
    assert "--by needs the name of the board member" in one_line(result.err)
    assert state_rows(root, ARCHIVE_ROWS) == before


@pytest.mark.parametrize("by", ["Kari\nStyre", "Kari\rStyre", "Kari\x1b[31mStyre", "Kari\u202eStyre"])
def test_a_by_with_a_line_break_or_control_character_is_refused_and_nothing_changes(root, smtp, by):
    send(root, smtp)
    before = state_rows(root, ARCHIVE_ROWS)
    result = archive(root, "withdraw", ISSUE, "--by", by)
    assert result.code == 1
    assert "--by must be a name on one line" in one_line(result.err)
    assert state_rows(root, ARCHIVE_ROWS) == before


def test_by_names_a_board_user_when_the_board_is_set(root, smtp):
    send(root, smtp)
    env = base_env(MAILER_BOARD_USERS=board_users())
    refused = archive(root, "withdraw", ISSUE, "--by", "Ola Utenfor", env=env)
    assert refused.code == 1 and "is not one of the board users" in one_line(refused.err)
    taken = archive(root, "withdraw", ISSUE, "--by", "kari  styre", env=env)
    assert taken.code == 0 and "withdrawn by Kari Styre" in taken.out


# -- the state ---------------------------------------------------------------------------------------


def test_a_state_file_of_the_release_before_upgrades_and_keeps_its_issues_published(root):
    (root / ".mailer").mkdir(mode=0o700)
    db = sqlite3.connect(root / ".mailer" / "state.db")
    for step in MIGRATIONS[:10]:
        db.executescript(step)
    db.execute("PRAGMA user_version = 10")
    db.execute(
        "INSERT INTO archive VALUES (?, 'nb', '2026-11-01T18:00:00+01:00', 'Utgave', '<html></html>', 1)",
        ("nyhetsbrev-2026-11",),
    )
    db.commit()
    db.close()

    result = archive(root, "--json")

    assert result.code == 0, result.err
    assert [(i["id"], i["state"]) for i in json.loads(result.out)] == [("nyhetsbrev-2026-11", "published")]
    assert archive(root, "withdraw", "nyhetsbrev-2026-11", "--by", "Kari Styre").code == 0


def test_forget_keeps_the_withdrawal_but_not_the_name_of_the_board_member_who_made_it(root, smtp):
    send(root, smtp)
    assert archive(root, "withdraw", ISSUE, "--by", "Kari Styre").code == 0
    export = root / "recipients" / "members.csv"
    export.write_text(
        "".join(ln for ln in export.read_text("utf-8").splitlines(True) if "kari@" not in ln), "utf-8"
    )

    assert mailer(root, "forget", "kari@example.org").code == 0

    rows = state_rows(root, ARCHIVE_ROWS)
    assert all(r[3] and r[4] and "Kari" not in r[4] for r in rows), rows
    assert json.loads(archive(root, "--json").out)[0]["state"] == "withdrawn"
