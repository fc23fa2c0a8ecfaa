"""The board's web part attacked as an outsider, a member with a link and a careless board member.

Each test drives the real `mailer serve` over HTTP: a draft with a mistake must not hide the
board's list, a locked-out login says how long, no password is asked for over plain HTTP
behind the proxy, the preview frames show only the content whose fingerprint the page
carries, and login names that would read wrongly on the page stop `serve` at start.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import base_env, mailer, small_project
from webapp import BOARD_USER, SECRET, board_users, start_web

NOW = dt.datetime.now(ZoneInfo("Europe/Oslo")).replace(second=0, microsecond=0)
MEMBERS = """\
1,Åse,Ødegård,ase@example.org,Ås,,"medlem, tillitsvalgt",2020-01-01,nb
3,Kari,Styre,kari@example.org,Asker,,medlem|fylkesstyremedlem,2019-01-01,nb
"""
GOOD = '---\nsubject: "Nyhetsbrev desember"\n---\nHei {{ member.first_name }}!\n'
LATER = (NOW + dt.timedelta(days=2)).isoformat(timespec="minutes")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = small_project(tmp_path / "fylke", MEMBERS)
    (root / "drafts" / "nyhetsbrev-2026-12.md").write_text(GOOD, encoding="utf-8")
    return root


@pytest.fixture
def web(root):
    started = []

    def start(**extra: str):
        env = base_env(MAILER_SECRET=SECRET, MAILER_BOARD_USERS=board_users(), **extra)
        server = start_web(root, env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_a_draft_with_a_mistake_is_named_and_every_other_mailing_is_still_listed(root, web):
    drafts = root / "drafts"
    (drafts / "nyhetsbrev-nokkel.md").write_text('---\nsubject: "X"\nsendes: i morgen\n---\nHei\n', "utf-8")
    (drafts / "nyhetsbrev-syntaks.md").write_text(
        '---\nsubject: "Y"\n---\nHei {{ member.first_name }!\n', "utf-8"
    )
    dated = f'---\nsubject: "Z"\nsend_at: {LATER}\n---\nHei {{% if %}}\n'
    (drafts / "nyhetsbrev-datert.md").write_text(dated, "utf-8")
    server = web()
    with server.board() as board:
        page = board.get("/board")
    assert page.status_code == 200, text_of(page.text)
    shown = text_of(page.text)
    assert 'href="/board/m/nyhetsbrev-2026-12"' in page.text and "0 av 1" in shown
    assert "drafts/nyhetsbrev-nokkel.md:3: sendes: unknown key" in shown
    for broken in ("nyhetsbrev-syntaks", "nyhetsbrev-datert"):
        row = re.search(rf'<a href="/board/m/{broken}">.*?</tr>', page.text, re.S)
        assert row and "kan ikke vises før feilen er rettet" in row.group(0), broken


def test_a_locked_out_client_is_told_how_long_the_wait_is(web):
    server = web()
    with server.client(auth=(BOARD_USER, "feil passord her")) as wrong:
        assert {wrong.get("/board").status_code for _ in range(10)} == {401}
    with server.board() as board:
        locked = board.get("/board")
    assert locked.status_code == 429
    assert 240 <= int(locked.headers["Retry-After"]) <= 300
    assert "prøv igjen om 5 minutter" in text_of(locked.text)


def test_no_password_is_asked_for_or_taken_over_plain_http_behind_the_proxy(web):
    server = web()
    with server.board() as board:
        plain = board.get("/board", headers={"X-Forwarded-Proto": "http"})
        secure = board.get("/board", headers={"X-Forwarded-Proto": "https"})
    with server.client() as outsider:
        prompt = outsider.get("/board", headers={"X-Forwarded-Proto": "https"})
        no_prompt = outsider.get("/board/m/nyhetsbrev-2026-12", headers={"X-Forwarded-Proto": "http"})
    assert plain.status_code == 403 and "WWW-Authenticate" not in plain.headers
    assert "https://medlem.testfylket.example/board" in text_of(plain.text)
    assert no_prompt.status_code == 403 and "WWW-Authenticate" not in no_prompt.headers
    assert "Hei Ola" not in no_prompt.text
    assert secure.status_code == 200
    assert prompt.status_code == 401 and prompt.headers["WWW-Authenticate"].startswith("Basic")


def test_the_preview_frames_show_only_the_content_whose_fingerprint_the_page_carries(root, web):
    server = web()
    with server.board() as board:
        page = board.get("/board/m/nyhetsbrev-2026-12").text
        frames = set(re.findall(r'<iframe class="preview"[^>]* src="([^"]+)"', page))
        assert len(frames) == 1
        [frame] = frames
        assert "Hei Ola" in board.get(html.unescape(frame)).text
        draft = root / "drafts" / "nyhetsbrev-2026-12.md"
        draft.write_text(GOOD.replace("Hei", "Hallo, her er noe helt annet,"), "utf-8")
        changed = board.get(html.unescape(frame))
    assert changed.status_code == 409, "the frame would show content the page's Approve does not cover"
    assert "helt annet" not in changed.text and "Last siden på nytt" in text_of(changed.text)


@pytest.mark.parametrize(
    ("names", "said"),
    [
        (["Kari Styre", "Ola\u202eNordmann"], "invisible or control character"),
        (["Kari Styre", "Per\u200bHansen"], "invisible or control character"),
        (["Kari Styre", "Per Hansen "], "spaces at its ends"),
        (["Kari Styre", "kari  STYRE"], "one person to the approvals"),
    ],
    ids=["bidi-override", "zero-width-space", "trailing-space", "same-person-twice"],
)
def test_serve_refuses_login_names_that_would_read_wrongly_as_the_approver(root, names, said):
    hashed = json.loads(board_users())[BOARD_USER]
    env = base_env(MAILER_SECRET=SECRET, MAILER_BOARD_USERS=json.dumps(dict.fromkeys(names, hashed)))
    result = mailer(root, "serve", "--port", "1", env=env, timeout=60)
    assert result.code == 1 and said in result.err, result.err
    assert "Traceback" not in result.err and "\u202e" not in result.err and "\u200b" not in result.err


def test_a_failed_login_with_an_unknown_name_does_not_put_that_name_in_the_log(web):
    server = web()
    with server.client(auth=("Passord-i-navnefeltet-123", "")) as client:
        assert client.get("/board").status_code == 401
    with server.client(auth=(BOARD_USER, "feil")) as client:
        assert client.get("/board").status_code == 401
    server.stop()
    log = server.log.read_text("utf-8", "replace")
    assert "board login failed for an unknown name" in log
    assert "Passord-i-navnefeltet-123" not in log
    assert f"board login failed for {BOARD_USER!r}" in log, "a board member's own name is still logged"
