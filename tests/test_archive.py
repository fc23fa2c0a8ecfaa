"""The web version and the public archive (`/arkiv`) of sent newsletters, over real HTTP."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from conftest import base_env, mailer, small_project
from webapp import SECRET, start_web

from mailer.state.migrations import MIGRATIONS

SEND_AT = (dt.datetime.now(ZoneInfo("Europe/Oslo")) - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
DRAFT = f"""\
---
subject: "Nyhetsbrev: Æ, Ø og Å i emnefeltet"
send_at: {SEND_AT}
---
## Siste nytt

Hei {{{{ member.first_name }}}}! Dette er brødteksten med æøå.
"""
BOARD_ONLY = f"""\
---
subject: "Intern styreinfo"
send_at: {SEND_AT}
audience: styret
---
Hei {{{{ member.first_name }}}}! Budsjettutkastet er fortrolig til styret har behandlet det.
"""

MEMBERS = """\
1,Åse,Ødegård,ase@example.org,Ås,,medlem,2020-01-01,nb
2,Bjørn,Bråten,bjorn@example.org,Bærum,,medlem,2021-05-05,nn
3,Kari,Styre,kari@example.org,Asker,,medlem|fylkesstyremedlem,2019-01-01,nb
"""
NYNORSK = """\
---
subject: "Nyhendebrev: det viktigaste før jul"
---
Hei {{ member.first_name }}! Dette er brødteksten på nynorsk.
"""
PERSONAL = ("Åse", "Ødegård", "ase@example.org", "Bjørn", "Kari", "kari@example.org", "/u/", "/r/")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = small_project(tmp_path / "fylke", MEMBERS)
    (root / "drafts/nyhetsbrev-2026-12.md").write_text(DRAFT, encoding="utf-8")
    (root / "drafts/nyhetsbrev-2026-12.nn.md").write_text(NYNORSK, encoding="utf-8")
    return root


def send(root: Path, smtp, draft: str = "nyhetsbrev-2026-12") -> None:
    env = base_env(**smtp.env())
    assert mailer(root, "preview", draft, env=env).code == 0
    assert mailer(root, "approve", draft, "--by", "Kari Styre", env=env).code == 0
    result = mailer(root, "send", draft, env=env)
    assert result.code == 0, result.err


@pytest.fixture
def web(root):
    server = start_web(root, base_env(MAILER_SECRET=SECRET))
    yield server
    server.stop()


def test_each_message_links_to_its_web_version_in_the_archive(root, smtp, web):
    send(root, smtp)
    message = next(r.message for r in smtp.received if r.rcpt_tos == ["ase@example.org"])
    html = message.get_body(("html",)).get_content()
    link = re.search(r'<a href="([^"]+)">Se nyhetsbrevet i nettleseren</a>', html)
    assert link and link[1] == "https://medlem.testfylket.example/arkiv/nyhetsbrev-2026-12"
    page = httpx.get(web.local(link[1]), timeout=10)
    assert page.status_code == 200
    assert "Dette er brødteksten med æøå." in page.text
    nynorsk = next(r.message for r in smtp.received if r.rcpt_tos == ["bjorn@example.org"])
    nn_link = re.search(
        r'<a href="([^"]+)">Sjå nyhendebrevet i nettlesaren</a>', nynorsk.get_body(("html",)).get_content()
    )
    assert nn_link and nn_link[1] == "https://medlem.testfylket.example/arkiv/nyhetsbrev-2026-12/nn"
    assert httpx.get(web.local(nn_link[1]), timeout=10).status_code == 200


def test_the_archive_lists_sent_issues_with_subject_and_date(root, smtp, web):
    send(root, smtp)
    page = httpx.get(web.url + "/arkiv", timeout=10)
    assert page.status_code == 200
    assert '<a href="/arkiv/nyhetsbrev-2026-12">Nyhetsbrev: Æ, Ø og Å i emnefeltet</a>' in page.text
    assert re.search(r"\d+\. \w+ 20\d\d", page.text), "a Norwegian date"


def test_an_archived_issue_carries_no_personal_data_and_no_tokens(root, smtp, web):
    send(root, smtp)
    for path in ("/arkiv", "/arkiv/nyhetsbrev-2026-12", "/arkiv/nyhetsbrev-2026-12/nn"):
        text = httpx.get(web.url + path, timeout=10).text
        for personal in PERSONAL:
            assert personal not in text, (path, personal)
    page = httpx.get(web.url + "/arkiv/nyhetsbrev-2026-12", timeout=10).text
    assert "Hei medlem!" in page


def test_the_nynorsk_issue_has_its_own_page(root, smtp, web):
    send(root, smtp)
    page = httpx.get(web.url + "/arkiv/nyhetsbrev-2026-12/nn", timeout=10)
    assert page.status_code == 200 and "brødteksten på nynorsk" in page.text


def test_a_newsletter_that_was_never_sent_is_not_found(root, smtp, web):
    assert httpx.get(web.url + "/arkiv/nyhetsbrev-2026-12", timeout=10).status_code == 404
    send(root, smtp)
    assert httpx.get(web.url + "/arkiv/finnes-ikke", timeout=10).status_code == 404
    assert httpx.get(web.url + "/arkiv/nyhetsbrev-2026-12/de", timeout=10).status_code == 404


def test_search_engines_are_asked_not_to_index_the_archive_by_default(root, smtp, web):
    send(root, smtp)
    for path in ("/arkiv", "/arkiv/nyhetsbrev-2026-12"):
        page = httpx.get(web.url + path, timeout=10)
        assert page.headers["x-robots-tag"] == "noindex"
        assert '<meta name="robots" content="noindex">' in page.text


def test_the_archive_may_be_indexed_when_the_schedule_says_so(root, smtp):
    text = (root / "schedules.yaml").read_text("utf-8")
    text = text.replace("  approvals_required: 1\n", "  approvals_required: 1\n  archive_indexed: true\n")
    (root / "schedules.yaml").write_text(text, "utf-8")
    send(root, smtp)
    server = start_web(root, base_env(MAILER_SECRET=SECRET))
    try:
        for path in ("/arkiv", "/arkiv/nyhetsbrev-2026-12"):
            page = httpx.get(server.url + path, timeout=10)
            assert "x-robots-tag" not in page.headers and "noindex" not in page.text
    finally:
        server.stop()


def board_only(root: Path, draft_id: str = "styreinfo-2026-12", front: str = "") -> str:
    text = BOARD_ONLY.replace("audience: styret\n", f"audience: styret\n{front}")
    (root / "drafts" / f"{draft_id}.md").write_text(text, encoding="utf-8")
    (root / "drafts" / f"{draft_id}.nn.md").write_text(NYNORSK, encoding="utf-8")
    return draft_id


def paths(draft_id: str) -> list[str]:
    return [f"/arkiv/{draft_id}", f"/arkiv/{draft_id}/nn", f"/arkiv/{draft_id}/nb"]


def test_a_board_only_newsletter_is_not_reachable_in_the_archive(root, smtp, web):
    draft_id = board_only(root)
    send(root, smtp, draft_id)
    assert {a for r in smtp.received for a in r.rcpt_tos} == {"kari@example.org"}, "sent to the board only"
    listing = httpx.get(web.url + "/arkiv", timeout=10)
    assert (
        listing.status_code == 200 and "Intern styreinfo" not in listing.text and draft_id not in listing.text
    )
    for path in paths(draft_id):
        page = httpx.get(web.url + path, timeout=10)
        assert page.status_code == 404 and "fortrolig" not in page.text, path


def test_a_board_only_newsletter_carries_no_link_to_a_web_version(root, smtp):
    send(root, smtp, board_only(root))
    html = smtp.received[0].message.get_body(("html",)).get_content()
    assert "/arkiv/" not in html and "Se nyhetsbrevet i nettleseren" not in html


def test_archive_true_in_the_front_matter_publishes_a_restricted_newsletter(root, smtp, web):
    draft_id = board_only(root, "styreinfo-offentlig", "archive: true\n")
    send(root, smtp, draft_id)
    assert httpx.get(web.url + f"/arkiv/{draft_id}", timeout=10).status_code == 200


def test_archive_false_keeps_a_members_newsletter_out(root, smtp, web):
    text = (
        (root / "drafts/nyhetsbrev-2026-12.md")
        .read_text("utf-8")
        .replace("---\n## ", "archive: false\n---\n## ")
    )
    (root / "drafts/nyhetsbrev-2026-12.md").write_text(text, encoding="utf-8")
    send(root, smtp)
    assert httpx.get(web.url + "/arkiv/nyhetsbrev-2026-12", timeout=10).status_code == 404
    assert "nyhetsbrev-2026-12" not in httpx.get(web.url + "/arkiv", timeout=10).text


def test_archive_false_in_schedules_yaml_keeps_every_issue_of_that_newsletter_out(root, smtp, web):
    text = (root / "schedules.yaml").read_text("utf-8")
    text = text.replace("    kind: newsletter\n", "    kind: newsletter\n    archive: false\n")
    (root / "schedules.yaml").write_text(text, "utf-8")
    send(root, smtp)
    assert httpx.get(web.url + "/arkiv/nyhetsbrev-2026-12", timeout=10).status_code == 404


def test_check_names_what_will_be_published_and_what_is_kept_out(root):
    board_only(root)
    result = mailer(root, "check", env=base_env())
    assert result.code == 0, result.err
    assert (
        "archive: nyhetsbrev-2026-12 will be published at "
        "https://medlem.testfylket.example/arkiv/nyhetsbrev-2026-12" in result.out
    )
    assert "archive: styreinfo-2026-12 is kept out of the archive (audience styret" in result.out


def test_an_approval_covers_the_decision_to_publish(root, smtp):
    draft_id = board_only(root)
    env = base_env(**smtp.env())
    assert mailer(root, "preview", draft_id, env=env).code == 0
    assert mailer(root, "approve", draft_id, "--by", "Kari Styre", env=env).code == 0
    board_only(root, draft_id, "archive: true\n")
    refused = mailer(root, "send", draft_id, env=env)
    assert refused.code == 1 and smtp.received == []


def test_an_approval_covers_the_sender_name_members_see(root, smtp):
    env = base_env(**smtp.env())
    assert mailer(root, "preview", "nyhetsbrev-2026-12", env=env).code == 0
    assert mailer(root, "approve", "nyhetsbrev-2026-12", "--by", "Kari Styre", env=env).code == 0
    schedule = root / "schedules.yaml"
    text = schedule.read_text("utf-8")
    assert "sender: {name: Testfylket Senterparti," in text
    schedule.write_text(text.replace("sender: {name: Testfylket Senterparti,", "sender: {name: Noen Andre,"))

    refused = mailer(root, "send", "nyhetsbrev-2026-12", env=env)

    assert refused.code == 1 and "changed since it was approved" in refused.err
    assert smtp.received == []


def older_release_state(root: Path, issues: list[str]) -> None:
    """A state file as release 3 left it: every issue sent was archived, whatever its audience."""
    (root / ".mailer").mkdir(mode=0o700)
    db = sqlite3.connect(root / ".mailer" / "state.db")
    for step in MIGRATIONS[:3]:
        db.executescript(step)
    db.execute("PRAGMA user_version = 3")
    for n, mailing_id in enumerate(issues):
        html = f"<html><head></head><body>{mailing_id} fortrolig</body></html>"
        for language in ("nb", "nn"):
            db.execute(
                "INSERT INTO archive VALUES (?, ?, ?, ?, ?)",
                (mailing_id, language, f"2026-11-0{n + 1}T18:00:00+01:00", f"Utgave {mailing_id}", html),
            )
    db.commit()
    db.close()


def test_the_upgrade_withdraws_issues_archived_from_a_restricted_audience(root):
    board_only(root, "styreinfo-2026-11")
    (root / "drafts" / "nyhetsbrev-2026-11.md").write_text(DRAFT, encoding="utf-8")
    older_release_state(root, ["styreinfo-2026-11", "nyhetsbrev-2026-11", "slettet-utkast-2026-10"])
    server = start_web(root, base_env(MAILER_SECRET=SECRET))
    try:
        listing = httpx.get(server.url + "/arkiv", timeout=10).text
        assert "nyhetsbrev-2026-11" in listing
        assert "styreinfo-2026-11" not in listing and "slettet-utkast-2026-10" not in listing
        assert httpx.get(server.url + "/arkiv/nyhetsbrev-2026-11", timeout=10).status_code == 200
        for gone in ("styreinfo-2026-11", "slettet-utkast-2026-10"):
            for path in paths(gone):
                assert httpx.get(server.url + path, timeout=10).status_code == 404, path
    finally:
        server.stop()


def test_an_issue_of_an_older_release_whose_draft_cannot_be_read_stays_hidden_until_it_can(root):
    (root / "drafts" / "nyhetsbrev-2026-11.md").write_text("---\nsubject: [broken\n---\n", encoding="utf-8")
    older_release_state(root, ["nyhetsbrev-2026-11"])
    result = mailer(root, "run-due", env=base_env())
    assert "archive: nyhetsbrev-2026-11 stays hidden until its draft can be read" in result.err
    db = sqlite3.connect(root / ".mailer" / "state.db")
    assert db.execute("SELECT DISTINCT public FROM archive").fetchall() == [(None,)]
    db.close()
