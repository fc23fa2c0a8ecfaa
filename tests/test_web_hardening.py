"""`mailer serve` as an attacker finds it: over real HTTP, against the real command.

Paths outside the drafts folder, headers on every answer, redirects that stay on this
server, tokens in one spelling only, no login-name oracle, GETs that change nothing, and
logs without addresses or raw control characters.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import statistics
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from conftest import base_env, mailer, small_project
from webapp import BOARD_PASSWORD, BOARD_USER, SECRET, board_users, start_web

from mailer.delivery.tokens import Signer

TODAY = dt.datetime.now(ZoneInfo("Europe/Oslo")).date()
MEMBERS = """\
1,Åse,Ødegård,ase@example.org,Ås,,"medlem, tillitsvalgt",2020-01-01,nb
3,Kari,Styre,kari@example.org,Asker,,medlem|fylkesstyremedlem,2019-01-01,nb
9,Ugyldig,Adresse,kari.hemmelig@example..org,Ås,,medlem,2020-01-01,nb
"""
DRAFT = """\
---
subject: "Nyhetsbrev desember"
---
Hei {{ member.first_name }}!
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = small_project(tmp_path / "fylke", MEMBERS)
    (root / "drafts" / "nyhetsbrev-2026-12.md").write_text(DRAFT, encoding="utf-8")
    (root / "hemmelig.md").write_text("---\nsubject: HEMMELIG\n---\nHEMMELIG {{ 7 * 6 }}\n", "utf-8")
    return root


@pytest.fixture
def env(smtp) -> dict[str, str]:
    return base_env(MAILER_SECRET=SECRET, MAILER_BOARD_USERS=board_users(), **smtp.env())


@pytest.fixture
def web(root, env):
    started = []

    def start(**extra: str):
        server = start_web(root, {**env, **extra})
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def rows(root: Path, table: str) -> list[tuple[object, ...]]:
    if not (root / ".mailer" / "state.db").exists():
        return []
    db = sqlite3.connect(root / ".mailer" / "state.db")
    try:
        return db.execute(f"SELECT * FROM {table}").fetchall()
    finally:
        db.close()


@pytest.mark.parametrize("page", ["/board/m/{id}", "/board/html/nb/{id}"])
@pytest.mark.parametrize("mailing_id", ["..%2Fhemmelig", "%2E%2E/hemmelig", "{root}/hemmelig"])
def test_a_mailing_id_outside_the_drafts_folder_is_404_and_the_file_is_never_rendered(
    root, web, page, mailing_id
):
    server = web()
    with server.board() as board:
        answer = board.get(page.format(id=mailing_id.format(root=root)))
    assert answer.status_code == 404
    assert "HEMMELIG" not in answer.text and "42" not in answer.text


@pytest.mark.parametrize("page", ["/board/m/{id}", "/board/html/nb/{id}", "/board/h/{id}"])
def test_a_mailing_id_longer_than_a_file_name_may_be_is_404(web, page):
    server = web()
    with server.board() as board:
        answer = board.get(page.format(id="a" * 300))
    assert answer.status_code == 404
    assert "frame-ancestors" in answer.headers["content-security-policy"]


def test_a_fault_of_ours_is_a_500_page_with_the_security_headers_and_no_traceback(root):
    """The real app, with one route that fails as a bug of ours would."""
    import asyncio

    from starlette.routing import Route

    from mailer.web.app import create_app

    def fails(request):
        raise RuntimeError("/srv/hemmelig/sti")

    app = create_app(root)
    app.router.routes.append(Route("/feil", fails))

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.get("/feil")

    answer = asyncio.run(get())

    assert answer.status_code == 500 and "Noe gikk galt" in answer.text
    assert "hemmelig" not in answer.text and "Traceback" not in answer.text
    assert "frame-ancestors" in answer.headers["content-security-policy"]
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["cache-control"] == "no-store"


def test_approving_a_path_outside_the_drafts_folder_is_refused_and_records_nothing(root, web):
    server = web()
    with server.board() as board:
        answer = board.post("/board/approve/..%2Fhemmelig", data={"fingerprint": "x", "csrf": "y"})
    assert answer.status_code in (403, 404)
    assert rows(root, "approvals") == []


@pytest.mark.parametrize("path", ["/finnes-ikke", "/static/nope.js", "/r/x/maybe"])
def test_a_404_carries_the_security_headers(web, path):
    server = web()
    with server.client() as client:
        answer = client.get(path)
    assert answer.status_code == 404
    assert "frame-ancestors" in answer.headers["content-security-policy"]
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_a_413_carries_the_security_headers(web):
    server = web()
    token = Signer(SECRET.encode()).sign("u", "1", "nyhetsbrev", TODAY.toordinal())
    with server.client() as client:
        answer = client.post(f"/u/{token}", content=b"a=" + b"x" * 20_000)
    assert answer.status_code == 413
    assert "frame-ancestors" in answer.headers["content-security-policy"]
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_a_429_carries_the_security_headers(web):
    server = web(MAILER_WEB_REQUESTS_PER_MINUTE="2")
    with server.client() as client:
        answers = [client.get("/") for _ in range(3)]
    assert answers[-1].status_code == 429
    assert "frame-ancestors" in answers[-1].headers["content-security-policy"]
    assert answers[-1].headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(("path", "target"), [("/board/", "/board"), ("//evil.example/", "/evil.example")])
def test_a_trailing_slash_redirects_to_a_path_on_this_server_whatever_the_host_header(web, path, target):
    server = web()
    with server.client() as client:
        answer = client.get(httpx.URL(server.url + path), headers={"Host": "evil.example"})
    assert answer.status_code in (301, 307, 308)
    assert answer.headers["location"] == target


def test_a_token_with_a_character_outside_base64url_is_refused_and_records_nothing(root, web):
    server = web()
    good = Signer(SECRET.encode()).sign("u", "1", "nyhetsbrev", TODAY.toordinal())
    payload, mac = good.split(".")
    with server.client() as client:
        assert client.get(f"/u/{good}").status_code == 200
        answer = client.post(f"/u/{payload}.{mac[:4]}!!!!{mac[4:]}", data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 400
    assert rows(root, "suppressions") == []


def test_looking_at_a_mailing_on_the_board_page_records_nothing(root, web):
    server = web()
    with server.board() as board:
        assert board.get("/board/m/nyhetsbrev-2026-12").status_code == 200
        assert board.get("/board/html/nb/nyhetsbrev-2026-12").status_code == 200
    assert rows(root, "previews") == []


def test_the_approved_notice_shows_only_after_an_approval(web):
    server = web()
    with server.board() as board:
        page = board.get("/board/m/nyhetsbrev-2026-12?approved=1")
    assert page.status_code == 200 and "Godkjenningen din er registrert" not in page.text


def approve_on_the_web(server) -> httpx.Response:
    with server.board() as board:
        page = board.get("/board/m/nyhetsbrev-2026-12").text
        form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page))
        return board.post("/board/approve/nyhetsbrev-2026-12", data=form)


def test_an_approval_on_the_web_records_the_preview_it_approved(root, web):
    server = web()
    assert approve_on_the_web(server).status_code == 303
    [(mailing, fingerprint, _)] = rows(root, "previews")
    [(_, approved, approved_fp, by, _)] = rows(root, "approvals")
    assert (approved, approved_fp, by) == (mailing, fingerprint, BOARD_USER)


def test_the_same_person_approving_on_the_web_and_by_cli_counts_once(root, env, web):
    server = web()
    assert approve_on_the_web(server).status_code == 303
    by_cli = mailer(root, "approve", "nyhetsbrev-2026-12", "--by", "  kari   STYRE ", env=env)
    assert by_cli.code == 0 and "already approved" in by_cli.out
    assert [r[3] for r in rows(root, "approvals")] == [BOARD_USER]


def test_approve_by_a_name_that_is_not_a_board_user_is_refused(root, env):
    assert mailer(root, "preview", "nyhetsbrev-2026-12", env=env).code == 0
    result = mailer(root, "approve", "nyhetsbrev-2026-12", "--by", "Ola Ukjent", env=env)
    assert result.code == 1 and "MAILER_BOARD_USERS" in result.err and "Traceback" not in result.err
    assert rows(root, "approvals") == []


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Kari Nordmann", "kari  nordmann"),
        ("\u00c5se Berg", "a\u030ase berg"),  # Å as one character, then as A and a ring
    ],
    ids=["case-and-spaces", "unicode-form"],
)
def test_without_board_users_two_spellings_of_one_name_count_once(root, first, second):
    env = base_env(MAILER_SECRET=SECRET)
    assert mailer(root, "preview", "nyhetsbrev-2026-12", env=env).code == 0
    assert mailer(root, "approve", "nyhetsbrev-2026-12", "--by", first, env=env).code == 0
    again = mailer(root, "approve", "nyhetsbrev-2026-12", "--by", second, env=env)
    assert again.code == 0 and "already approved" in again.out
    assert [r[3] for r in rows(root, "approvals")] == [first]


def login_seconds(server, name: str, tries: int = 4) -> float:
    times = []
    with server.client(auth=(name, BOARD_PASSWORD + "-feil")) as client:
        for _ in range(tries):
            start = time.perf_counter()
            assert client.get("/board").status_code == 401
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def test_an_unknown_login_name_takes_as_long_to_refuse_as_a_wrong_password(web):
    server = web()
    wrong_password = login_seconds(server, BOARD_USER)
    unknown_name = login_seconds(server, "Ola Ukjent")
    assert unknown_name >= 0.5 * wrong_password, (unknown_name, wrong_password)


def test_the_server_log_shows_no_full_address_and_no_raw_control_character(root, web):
    server = web()
    token = Signer(SECRET.encode()).sign("u", "404", "nyhetsbrev", TODAY.toordinal())
    with server.client() as client:
        assert client.get(f"/u/{token}").status_code == 404  # reads every row: the bad one is logged
    with server.client(auth=("Ola\x1b[2J\x07", "feil")) as client:
        assert client.get("/board").status_code == 401
    server.stop()
    log = server.log.read_text("utf-8", "replace")
    assert "example..org" in log, "the bad row is logged"
    assert "kari.hemmelig@" not in log
    assert "\x1b" not in log and "\x07" not in log


def test_x_forwarded_for_from_an_address_that_is_not_a_configured_proxy_is_ignored(web):
    server = web(MAILER_WEB_REQUESTS_PER_MINUTE="2", MAILER_WEB_TRUSTED_PROXIES="10.9.9.9")
    with server.client() as client:
        codes = [client.get("/", headers={"X-Forwarded-For": f"192.0.2.{i}"}).status_code for i in range(3)]
    assert codes == [200, 200, 429], "every request counts against the real client, 127.0.0.1"
