"""Erasure reaches every record kind: one person fills every table, then `mailer forget` runs.

The test is generic on purpose. It reads the list of tables from the state database itself,
fails if any table was left empty by the scenario (a record kind added later must be filled
here too), and after `mailer forget` fails naming the table whose rows still hold the
person's member id, address or name; then it greps the raw bytes of every file in the state
folder (state.db and its -wal/-shm, outbox, previews, …) and the web server's log.

The person, Gudrun Fjellheim, is a new member, a chapter leader and on the board: she gets the
newsletter, a welcome (her chapter is told), a meeting invitation she answers, a consultation
she answers per member (and its receipt), approves a newsletter, comes to a meeting (and is
listed once more as a guest), unsubscribes from something, uses her preference page while the
mail server is down (a pause, nynorsk, the newsletter off and asked back, her data, "Noe feil?"
to the secretary: so those messages wait in the ledger with what they say), bounces, and is
named in a forged bounce; her copy is previewed; she registers for a seminar with places
(answering a question, her confirmation still waiting in the ledger) and is checked in at the
door; a course is called off because she is ill (the reason names her). Everything goes
through the real command line and `mailer serve`.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

from bounce_helpers import FIXTURES
from conftest import base_env, mailer, small_project
from prefs_project import post
from webapp import SECRET, board_users, start_web

from mailer.delivery.tokens import Signer

OSLO = ZoneInfo("Europe/Oslo")
NOW = dt.datetime.now(OSLO)
TODAY = NOW.date()
PAST = TODAY - dt.timedelta(days=2)
AHEAD = TODAY + dt.timedelta(days=3)
AN_HOUR_AGO = (NOW - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")

ID, ADDRESS, FIRST, LAST = "m-4711", "Gudrun.Fjellheim@Example.org", "Gudrun", "Fjellheim"
TRACES = (ID, ADDRESS.casefold(), FIRST.casefold(), LAST.casefold())
MEMBERS = f"""\
{ID},{FIRST},{LAST},{ADDRESS},Ås,Ås Senterparti,"medlem, tillitsvalgt, lokallagsleder, fylkesstyremedlem",\
{(TODAY - dt.timedelta(days=1)).isoformat()},nb
m-4712,Kari,Styre,kari@example.org,Asker,Asker Senterparti,medlem|fylkesstyremedlem,2019-01-01,nb
m-4713,Olav,Feil,olav@@example.org,Ås,Ås Senterparti,medlem,2019-01-01,nb
"""
MAILINGS = f"""\
  velkommen:
    kind: welcome
    template: welcome
    audience: alle
    subject: "Velkommen, {{{{ member.first_name }}}}!"
    at: "00:00"
    chapter_notice: {{}}
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
      dates: [{PAST.isoformat()}, {AHEAD.isoformat()}]
  horing:
    kind: consultation
    audience: styret
    answer_per: member
    deadline: {(TODAY + dt.timedelta(days=10)).isoformat()}
"""
NEWSLETTER = f"""\
---
subject: "Desember"
send_at: {AN_HOUR_AGO}
---
Hei {{{{ member.first_name }}}} {{{{ member.last_name }}}}!
"""
CONSULTATION = f"""\
---
subject: "Høring"
mailing: horing
send_at: {AN_HOUR_AGO}
questions:
  - {{id: mening, text: Hva mener du?, kind: text, required: true}}
---
Si din mening.
"""
EVENTS = f"""\
events:
  styreseminar:
    title: Styreseminar
    start: {AHEAD.isoformat()}T18:00
    end: {AHEAD.isoformat()}T20:00
    location: Fylkeskontoret
    audience: styret
    capacity: 1
    waitlist: true
    questions:
      - {{id: fodselsdato, label: Fødselsdato, type: date, required: true}}
    invite: {{days_before: 7, at: "00:00"}}
  sommerkurs:
    title: Sommerkurs
    start: {AHEAD.isoformat()}T10:00
    end: {AHEAD.isoformat()}T16:00
    location: Fylkeskontoret
    open_to: public
"""
ATTENDANCE = f"Navn;E-post\n{FIRST} {LAST};{ADDRESS}\n{LAST}, {FIRST} (Guest);\nUkjent Gjest;\n"


def cli(root: Path, *args: str) -> str:
    result = mailer(root, *args, env=base_env(MAILER_SECRET=SECRET))
    assert result.code == 0, (args, result.err)
    return result.out


def signed(purpose: str, subject: str) -> str:
    return Signer(SECRET.encode()).sign(purpose, ID, subject, TODAY.toordinal())


def tables(root: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every table of the state database and its rows, found by asking the database."""
    db = sqlite3.connect(f"file:{root / '.mailer' / 'state.db'}?mode=ro", uri=True)
    try:
        names = [
            n
            for (n,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {n: db.execute(f'SELECT * FROM "{n}"').fetchall() for n in names}
    finally:
        db.close()


def holding_traces(rows: list[tuple[object, ...]]) -> list[str]:
    text = repr(rows).casefold()
    return [t for t in TRACES if t in text]


def answer_on_the_web(root: Path) -> Path:
    """RSVP yes to the board meeting ahead and answer the consultation, as Gudrun does on her phone."""
    server = start_web(root, base_env(MAILER_SECRET=SECRET))
    try:
        with server.client() as client:
            rsvp = f"/r/{signed('r', f'styremote@{AHEAD.isoformat()}')}/yes"
            assert client.post(rsvp).status_code == 200
            form_url = f"/h/{signed('h', 'horing-2026')}"
            page = client.get(form_url)
            assert page.status_code == 200, page.text
            csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
            answer = {
                "csrf": csrf,
                "based_on": "0",
                "q.mening": f"{FIRST} {LAST} mener at veiene må prioriteres",
            }
            assert client.post(form_url, data=answer).status_code == 200
    finally:
        server.stop()
    return server.log


def use_the_preference_page(root: Path) -> Path:
    """Gudrun chooses on /i/ while no mail server answers: what it would send stays pending."""
    down = {"MAILER_SMTP_HOST": "127.0.0.1", "MAILER_SMTP_PORT": "1", "MAILER_SMTP_SECURITY": "none"}
    server = start_web(root, base_env(MAILER_SECRET=SECRET, **down))
    path = f"/i/{signed('i', '')}"
    forms = [
        [("action", "pause"), ("months", "1")],
        [("action", "save"), ("shown", "nyhetsbrev"), ("language", "nn")],
        [("action", "save"), ("shown", "nyhetsbrev"), ("on", "nyhetsbrev")],  # back: to be confirmed
        [("action", "export")],
        [("action", "report"), ("text", f"Etternavnet mitt er {LAST}, og jeg bor i Ås.")],
    ]
    try:
        for fields in forms:
            assert post(server, path, fields).status_code == 200, fields
    finally:
        server.stop()
    return server.log


def register_for_the_seminar(root: Path) -> Path:
    """Gudrun takes the one place while the SMTP server is down (her confirmation waits in the
    ledger), Kari goes on the waiting list, and the board checks Gudrun in at the door."""
    down = {"MAILER_SMTP_HOST": "127.0.0.1", "MAILER_SMTP_PORT": "1", "MAILER_SMTP_SECURITY": "none"}
    server = start_web(root, base_env(MAILER_SECRET=SECRET, MAILER_BOARD_USERS=board_users(), **down))
    try:
        with server.client() as client:
            for member in (ID, "m-4712"):
                link = f"/p/{Signer(SECRET.encode()).sign('p', member, 'styreseminar', TODAY.toordinal())}"
                csrf = client.get(link).text.split('name="csrf" value="')[1].split('"')[0]
                data = {"csrf": csrf, "action": "register", "q.fodselsdato": "17.05.1970"}
                assert client.post(link, data=data).status_code == 200
        with server.board() as board:
            page = board.get("/board/p/styreseminar").text
            csrf = page.split('name="csrf" value="')[1].split('"')[0]
            answer = board.post("/board/p/styreseminar/checkin", data={"csrf": csrf, "registration": "1"})
            assert answer.status_code == 303
    finally:
        server.stop()
    return server.log


def bounce_for_her_copy(root: Path) -> bytes:
    """A real delivery report for the newsletter Gudrun got, quoting its Message-ID."""
    for path in (root / ".mailer" / "outbox").rglob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if (
            message["To"].addresses[0].addr_spec.casefold() == ADDRESS.casefold()
            and "Desember" in message["Subject"]
        ):
            data = (FIXTURES / "postfix-user-unknown.eml").read_bytes()
            data = data.replace(b"<a1@testfylket.example>", str(message["Message-ID"]).encode())
            return data.replace(b"ase@example.org", ADDRESS.casefold().encode())
    raise AssertionError("no newsletter for Gudrun in the outbox")


def fill_every_record_kind(root: Path, tmp_path: Path) -> Path:
    (root / "drafts" / "nyhetsbrev-2026-12.md").write_text(NEWSLETTER, encoding="utf-8")
    (root / "drafts" / "horing-2026.md").write_text(CONSULTATION, encoding="utf-8")
    for mailing in ("nyhetsbrev-2026-12", "horing-2026"):
        cli(root, "preview", mailing)
        cli(root, "approve", mailing, "--by", f"{FIRST} {LAST}")
        cli(root, "approve", mailing, "--by", "Kari Styre")
    cli(root, "run-due")  # newsletter, consultation, welcome and the chapter's notice
    cli(root, "send", f"styremote@{AHEAD.isoformat()}")
    log = answer_on_the_web(root)
    cli(root, "run-due")  # the consultation receipt
    (tmp_path / "oppmote.csv").write_text(ATTENDANCE, encoding="utf-8")
    cli(root, "attendance", "import", f"styremote@{PAST.isoformat()}", str(tmp_path / "oppmote.csv"))
    cli(root, "preview", "nyhetsbrev-2026-12", "--as", ID)
    cli(root, "unsubscribe", ADDRESS, "--from", "styremote")
    page_log = use_the_preference_page(root)
    (tmp_path / "ekte.eml").write_bytes(bounce_for_her_copy(root))
    assert "1 hard bounces" in cli(root, "bounces", "import", str(tmp_path / "ekte.eml"))
    forged = (
        (FIXTURES / "postfix-user-unknown.eml").read_bytes().replace(b"ase@example.org", ADDRESS.encode())
    )
    (tmp_path / "falsk.eml").write_bytes(forged.replace(b"<2026", b"<forged-2026"))
    assert "1 unverified" in cli(root, "bounces", "import", str(tmp_path / "falsk.eml"))
    seminar_log = register_for_the_seminar(root)
    cli(root, "event", "call-off", "sommerkurs", "--reason", f"{FIRST} {LAST} er syk")  # her name in a reason
    log.write_bytes(log.read_bytes() + page_log.read_bytes() + seminar_log.read_bytes())
    return log


def test_forget_leaves_no_trace_of_the_person_in_any_table_or_file(tmp_path):
    root = small_project(tmp_path / "fylke", MEMBERS, MAILINGS + EVENTS)
    log = fill_every_record_kind(root, tmp_path)
    before = tables(root)

    export = root / "recipients" / "members.csv"
    export.write_text(
        "".join(ln for ln in export.read_text("utf-8").splitlines(True) if ID not in ln), "utf-8"
    )
    assert f"erased {ADDRESS.casefold()}" in cli(root, "forget", ADDRESS.upper())
    after = tables(root)

    empty = [n for n in after if not before.get(n) and not after[n]]
    assert empty == [], "fill these tables in fill_every_record_kind, so erasure is tested on them"
    assert [n for n in before if holding_traces(before[n])], "the scenario put Gudrun into the tables"
    left = {n: holding_traces(rows) for n, rows in after.items() if holding_traces(rows)}
    assert left == {}, "erasure (mailer/state/erasure.py) misses these tables"

    files = [p for p in (root / ".mailer").rglob("*") if p.is_file()] + [log]
    found = {}
    for path in files:
        data = (str(path.relative_to(tmp_path)).encode() + b"\0" + path.read_bytes()).lower()
        hits = [t for t in TRACES if t.encode() in data]
        if hits:
            found[str(path.relative_to(tmp_path))] = hits
    assert found == {}
