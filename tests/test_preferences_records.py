"""What the secretary sees of members' choices, the board's counts, upgrades and erasure.

`mailer preferences`, `mailer suppressions --json`, `mailer report chapters` and `mailer forget`
run as the real command line after members used their page on the real `mailer serve`.
"""

from __future__ import annotations

import json

import pytest
from conftest import mailer, state_rows
from prefs_project import MEETING_DAYS, SECRETARY, confirm, env_for, make_project, post, preferences, token
from test_state import db_rows, v1_project
from webapp import start_web


@pytest.fixture
def root(tmp_path):
    return make_project(tmp_path)


@pytest.fixture
def env(smtp, request):
    """A test that asks for `engine` runs on SQLite and on PostgreSQL: the engine is chosen before
    the environment every command and `mailer serve` get is made."""
    if "engine" in request.fixturenames:
        request.getfixturevalue("engine")
    return env_for(smtp.env())


@pytest.fixture
def server(root, env):
    web = start_web(root, env)
    yield web
    web.stop()


def test_mailer_preferences_shows_one_members_choices_and_their_dated_history(engine, root, env, server):
    path = f"/i/{token('3')}"
    post(server, path, [("shown", "nyhetsbrev"), ("shown", "regionmote-follo"), ("on", "nyhetsbrev")])
    post(server, path, [("action", "pause"), ("months", "3")])
    post(server, path, [("shown", "nyhetsbrev"), ("on", "nyhetsbrev"), ("language", "nn")])

    record = preferences(root, env, "Hilde@Example.org")

    assert record["member_id"] == "3" and record["language"] == {"chosen": "nn", "export": "nb"}
    assert record["paused_until"] is not None
    categories = {c["category"]: c for c in record["categories"]}
    assert categories["regionmote-follo"]["on"] is False
    assert categories["lederforum"]["required_by"] == ["lokallagsleder"]
    assert categories["lederforum"]["receives"] is True, "a pause never holds back what an office requires"
    assert categories["nyhetsbrev"]["receives"] is False, "paused"
    assert [e["action"] for e in record["history"]] == ["unsubscribed", "paused", "language"]
    assert all(e["at"] for e in record["history"])
    text = mailer(root, "preferences", "hilde@example.org", env=env)
    assert text.code == 0 and "language: nn, chosen on the page (the export says nb)" in text.out
    assert "lederforum: on, required (lokallagsleder)" in text.out and "paused until" in text.out


def test_mailer_preferences_without_an_address_lists_everyone_who_chose_something(engine, root, env, server):
    post(server, f"/i/{token('1')}", [("shown", "nyhetsbrev"), ("language", "nn")])
    post(server, f"/i/{token('4')}", [("action", "pause"), ("months", "1")])

    rows = json.loads(mailer(root, "preferences", "--json", env=env).out)

    assert [r["email"] for r in rows] == ["ase@example.org", "per@example.org"]
    assert rows[0]["language"] == "nn" and rows[0]["off"] == ["nyhetsbrev"]
    assert rows[1]["paused_until"] is not None and rows[1]["off"] == []


@pytest.mark.parametrize(
    ("address", "says"),
    [("nobody@example.org", "not in the member export"), ("not-an-address", "is not an email address")],
)
def test_mailer_preferences_of_an_unknown_or_malformed_address_is_one_line_and_exit_1(
    root, env, address, says
):
    result = mailer(root, "preferences", address, env=env)
    assert result.code == 1 and says in result.err and "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_suppressions_json_carries_the_history_and_history_keeps_what_a_confirmation_lifted(
    engine, root, env, smtp, server
):
    assert mailer(root, "unsubscribe", "ase@example.org", "--from", "nyhetsbrev", env=env).code == 0
    assert mailer(root, "unsubscribe", "per@example.org", "--from", "nyhetsbrev", env=env).code == 0
    post(server, f"/i/{token('1')}", [("shown", "nyhetsbrev"), ("on", "nyhetsbrev")])
    [mail] = smtp.handler.to("ase@example.org")
    assert confirm(server, mail).status_code == 200

    rows = json.loads(mailer(root, "suppressions", "--json", env=env).out)
    log = json.loads(mailer(root, "suppressions", "--history", "--json", env=env).out)

    assert [(r["email"], r["category"]) for r in rows] == [("per@example.org", "nyhetsbrev")]
    assert [(e["action"], e["source"]) for e in rows[0]["history"]] == [("unsubscribed", "secretary")]
    ase = [(e["action"], e["source"]) for e in log if e["email"] == "ase@example.org"]
    assert ase == [
        ("unsubscribed", "secretary"),
        ("resubscribe_requested", "preferences"),
        ("resubscribed", "confirmed by mail"),
    ]


def test_report_chapters_counts_members_who_paused_or_turned_categories_off(engine, root, env, server):
    post(server, f"/i/{token('1')}", [("shown", "nyhetsbrev")])
    post(server, f"/i/{token('3')}", [("action", "pause"), ("months", "1")])
    assert mailer(root, "unsubscribe", "bjorn@example.org", env=env).code == 0  # everything: counted apart

    report = json.loads(mailer(root, "report", "chapters", "--json", env=env).out)

    follo = next(r for r in report["regions"]["rows"] if r["region"] == "Follo")
    assert (follo["turned_off"], follo["paused"], follo["unsubscribed"]) == (1, 1, 1)
    aas = next(r for r in report["chapters"]["rows"] if r["chapter"] == "Ås Senterparti")
    assert (aas["turned_off"], aas["paused"]) == (1, 1)


def test_a_state_file_from_before_the_preferences_starts_its_consent_log_with_the_suppressions_it_had(
    tmp_path, smtp
):
    root = v1_project(tmp_path)
    env = env_for(smtp.env())
    assert mailer(root, "status", env=env).code == 0
    rows = db_rows(root, "SELECT address, category, action, source FROM consent_log")
    assert rows == [("tormod.engen.10002@example.org", "*", "unsubscribed", "secretary")]


def test_forget_after_using_the_page_leaves_no_trace_but_the_hashed_suppression_and_its_entry(
    engine, root, env, smtp, server
):
    path = f"/i/{token('1')}"
    post(server, path, [("shown", "nyhetsbrev"), ("shown", "regionmote-follo"), ("on", "regionmote-follo")])
    post(server, path, [("shown", "nyhetsbrev"), ("on", "nyhetsbrev"), ("language", "nn")])
    post(server, path, [("action", "pause"), ("months", "1")])
    post(server, path, [("action", "export")])
    post(server, path, [("action", "report"), ("text", "Etternavnet mitt er Ødegård, ikke Odegard.")])
    assert {r.rcpt_tos[0] for r in smtp.received} == {"ase@example.org", SECRETARY}
    assert mailer(root, "send", f"regionmote-follo@{MEETING_DAYS[0].isoformat()}", env=env).code == 0

    assert mailer(root, "forget", "ase@example.org", env=env).code == 0

    for path in (root / ".mailer").rglob("*"):
        if path.is_file():
            data = path.read_bytes().lower()
            for trace in (b"ase@example.org", "ødegård".encode(), b"odegard"):
                assert trace not in data, (path, trace)
    kept = state_rows(root, "SELECT address, category, action FROM consent_log")
    assert [(str(a).startswith("hash:"), c, x) for a, c, x in kept] == [(True, "nyhetsbrev", "unsubscribed")]
    for table in ("member_preferences", "member_requests", "resubscriptions", "notices"):
        assert state_rows(root, f"SELECT count(*) FROM {table}") == [(0,)], table
