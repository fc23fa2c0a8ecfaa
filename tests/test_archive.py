"""The web version and the public archive (`/arkiv`) of sent newsletters, over real HTTP."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from conftest import DRAFT, base_env, mailer, small_project
from webapp import SECRET, start_web

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
    assert "Sjå nyhendebrevet i nettlesaren" in nynorsk.get_body(("html",)).get_content()


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
