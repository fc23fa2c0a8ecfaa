"""The board's pages in `mailer serve` speak Norwegian: states, kinds, labels, and the way around.

The server runs on the real clock, so the project's dates are relative to today.
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
from webapp import BOARD_PASSWORD, BOARD_USER, SECRET, board_users, start_web

OSLO = ZoneInfo("Europe/Oslo")
NOW = dt.datetime.now(OSLO).replace(second=0, microsecond=0)
MEMBERS = """\
1,Åse,Ødegård,ase@example.org,Ås,,"medlem, tillitsvalgt",2020-01-01,nb
2,Bjørn,Bråten,bjorn@example.org,Bærum,,"medlem, tillitsvalgt",2021-05-05,nn
3,Kari,Styre,kari@example.org,Asker,,medlem|fylkesstyremedlem,2019-01-01,nb
"""
DAYS = [(NOW + dt.timedelta(days=d)).date() for d in (10, 20)]
SERIES = f"""\
  styremote:
    kind: invitation
    template: invitation
    audience: styret
    subject: "Styremøte"
    meeting:
      title: Fylkesstyremøte
      location: Fylkeskontoret
      time: "18:00"
      duration: 2h
      dates: [{DAYS[0].isoformat()}, {DAYS[1].isoformat()}]
    invite: {{days_before: 3, at: "09:00"}}
"""
DUE = f"""\
---
subject: Nyhetsbrev som skulle vært sendt
send_at: {(NOW - dt.timedelta(hours=1)).isoformat(timespec="minutes")}
---
Hei {{{{ member.first_name }}}}!
"""
UNDATED = """\
---
subject: Nyhetsbrev uten tidspunkt
---
Hei {{ member.first_name }}!
"""
ENGLISH = re.compile(
    r"\b(due|planned|sending|sent|not approved|no planned time|newsletter|invitation|welcome|"
    r"consultation|nothing sent yet|not recorded|missing)\b"
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = small_project(tmp_path / "fylke", MEMBERS, SERIES)
    (root / "drafts" / "nyhetsbrev-forsinket.md").write_text(DUE, encoding="utf-8")
    (root / "drafts" / "nyhetsbrev-udatert.md").write_text(UNDATED, encoding="utf-8")
    return root


def board_get(root: Path, *paths: str) -> list[str]:
    web = start_web(root, base_env(MAILER_SECRET=SECRET, MAILER_BOARD_USERS=board_users()))
    try:
        with web.board() as board:
            answers = [board.get(path) for path in paths]
    finally:
        web.stop()
    assert [a.status_code for a in answers] == [200] * len(paths)
    return [a.text for a in answers]


def cells(page: str, column: int) -> list[str]:
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", page.split("<tbody>", 1)[1], re.S)
    found = [re.findall(r"<td[^>]*>(.*?)</td>", r, re.S) for r in rows]
    return [html.unescape(re.sub(r"<[^>]+>", " ", c[column])).split("  ")[0].strip() for c in found]


def visible_text(page: str) -> str:
    page = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_the_list_shows_every_state_and_kind_in_norwegian(root):
    sent = mailer(root, "send", f"styremote@{DAYS[0]}", env=base_env())
    assert sent.code == 0, sent.err
    [page] = board_get(root, "/board")
    states = dict(zip(cells(page, 1), cells(page, 4), strict=True))
    assert states == {
        "nyhetsbrev-forsinket": "skal sendes nå, ikke godkjent",
        f"styremote@{DAYS[0]}": "sendt",
        f"styremote@{DAYS[1]}": "planlagt",
        "nyhetsbrev-udatert": "uten planlagt tidspunkt",
    }
    assert set(cells(page, 2)) == {"nyhetsbrev", "invitasjon"}
    assert not ENGLISH.search(visible_text(page)), ENGLISH.search(visible_text(page))


def test_each_board_page_links_to_the_others(root):
    listing, preview, consultations = board_get(root, "/board", "/board/m/nyhetsbrev-udatert", "/board/h")
    for page in (listing, preview, consultations):
        for target in ("/board", "/board/h", "/board/p", "/board/rapporter"):
            assert f'<a href="{target}">' in page, target


def test_the_reports_page_links_back_to_the_board_and_has_no_english(root):
    [page] = board_get(root, "/board/rapporter")
    assert '<a href="/board">&larr; Tilbake til utsendingene</a>' in page
    assert "Ingenting er sendt ennå" in page
    assert not ENGLISH.search(visible_text(page)), ENGLISH.search(visible_text(page))


def test_a_mailing_the_board_cannot_see_is_explained_in_norwegian_first(root):
    web = start_web(root, base_env(MAILER_SECRET=SECRET, MAILER_BOARD_USERS=board_users()))
    try:
        with web.board() as board:
            answer = board.get("/board/m/finnes-ikke")
    finally:
        web.stop()
    assert answer.status_code == 404
    assert "Utsendingen finnes ikke eller kan ikke vises: no mailing" in html.unescape(answer.text)


def test_serve_reads_board_logins_from_env_at_start_and_again_when_it_changes(root):
    users = json.loads(board_users())
    (root / ".env").write_text(f"MAILER_BOARD_USERS='{json.dumps({BOARD_USER: users[BOARD_USER]})}'\n")
    web = start_web(root, base_env(MAILER_SECRET=SECRET))
    try:
        with web.board() as board:
            assert board.get("/board").status_code == 200
        answer = web.client().get("/board")
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"].startswith('Basic realm="mailer board"')
        (root / ".env").write_text(
            f"MAILER_BOARD_USERS='{json.dumps({'Ola Nordmann-Berg': users[BOARD_USER]})}'\n"
        )
        with web.board() as board:
            assert board.get("/board").status_code == 401, "the old login is gone without a restart"
        with web.client(auth=("Ola Nordmann-Berg", BOARD_PASSWORD)) as board:
            assert board.get("/board").status_code == 200
    finally:
        web.stop()
