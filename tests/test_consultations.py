"""Consultations: sent through a real SMTP server, answered over real HTTP, reminders by `run-due`.

The answers are given on the form `mailer serve` shows at the link in the received message, as
two leaders of one chapter would; the board reads them with `mailer consultation status|export`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import httpx
import pytest
from conftest import base_env, mailer, state_rows
from consultation_project import (
    ID,
    LEADERS,
    REMINDER_1,
    REMINDER_2,
    SEND_AT,
    form_link,
    make_project,
    send_consultation,
)
from ports import free_port
from webapp import SECRET, board_users, start_web

pytestmark = pytest.mark.usefixtures("engine")  # the ledger on SQLite and on PostgreSQL


@pytest.fixture
def env(smtp) -> dict[str, str]:
    return base_env(MAILER_SECRET=SECRET, **smtp.env())


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "fylke")


@pytest.fixture
def web(project, env):
    server = start_web(project, {**env, "MAILER_BOARD_USERS": board_users()})
    yield server
    server.stop()


def fields(page: str) -> dict[str, str]:
    """The hidden fields of the form on a page, as a browser would send them back."""
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))


def answer(web, link: str, **values: str) -> httpx.Response:
    with web.client() as client:
        page = client.get(web.local(link))
        assert page.status_code == 200, page.text
        form = {**fields(page.text), **{f"q.{k}": v for k, v in values.items()}}
        return client.post(web.local(link), data=form)


def status(project: Path, env: dict[str, str], *args: str) -> dict:
    result = mailer(project, "consultation", "status", ID, "--json", *args, env=env)
    assert result.code == 0, result.err
    return json.loads(result.out)


def chapters(project: Path, env: dict[str, str]) -> dict[str, dict]:
    return {c["name"]: c for c in status(project, env)["chapters"]}


def link_of(smtp, address: str) -> str:
    [received] = smtp.handler.to(address)
    return form_link(received)


def test_each_leader_gets_one_message_with_a_personal_form_link_and_no_newsletter_text(project, env, smtp):
    send_consultation(project, env)

    assert {a for r in smtp.received for a in r.rcpt_tos} == LEADERS
    assert len(smtp.received) == 3
    [ase] = smtp.handler.to("ase@example.org")
    message = ase.message
    text = message.get_body(("plain",)).get_content()
    assert "som leder i Ås Senterparti" in text
    assert "nyhetsbrev" not in text.lower() and "Hei Åse" not in text
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/u/" in message["List-Unsubscribe"]
    assert "kari@example.org" not in ase.data.decode() and "bjorn@example.org" not in ase.data.decode()
    assert [p.get_filename() for p in message.iter_attachments()] == ["horingsnotat.pdf"]
    assert form_link(ase) != link_of(smtp, "bjorn@example.org")


def test_a_leader_who_prefers_nynorsk_gets_the_nynorsk_text(project, env, smtp):
    send_consultation(project, env)

    [bjorn] = smtp.handler.to("bjorn@example.org")
    text = bjorn.message.get_body(("plain",)).get_content()
    assert "Du får denne høyringa som leiar i Ås Senterparti" in text


def test_two_leaders_of_one_chapter_answer_one_form_and_the_last_answer_stands(project, env, smtp, web):
    send_consultation(project, env)

    first = answer(web, link_of(smtp, "ase@example.org"), saker="Skole og vei", fylkessak="Skoler")
    assert first.status_code == 200 and "Svaret er registrert" in first.text
    with web.client() as client:
        seen_by_bjorn = client.get(web.local(link_of(smtp, "bjorn@example.org"))).text
    assert "Sist svart av Åse Ødegård" in seen_by_bjorn and "Skole og vei" in seen_by_bjorn
    second = answer(web, link_of(smtp, "bjorn@example.org"), saker="Skule, veg og bu", fylkessak="Veier")
    assert second.status_code == 200

    ås = chapters(project, env)["Ås Senterparti"]
    assert ås["answered"] and ås["by"] == "Bjørn Bråten"
    assert ås["answers"] == {"saker": "Skule, veg og bu", "fylkessak": "Veier", "beredskap": ""}
    assert chapters(project, env)["Bærum Senterparti"]["answered"] is False


def test_two_leaders_answering_from_the_same_page_keep_one_answer_and_lose_neither(project, env, smtp, web):
    send_consultation(project, env)
    links = [web.local(link_of(smtp, a)) for a in ("ase@example.org", "bjorn@example.org")]
    with web.client() as client:
        forms = [fields(client.get(link).text) for link in links]  # both open the empty form
        first = client.post(links[0], data={**forms[0], "q.saker": "Åses svar", "q.fylkessak": "Veier"})
        second = client.post(links[1], data={**forms[1], "q.saker": "Bjørns svar", "q.fylkessak": "Skoler"})

    assert first.status_code == 200
    assert second.status_code == 409 and "Åse Ødegård lagra eit svar" in second.text
    assert "Åses svar" in second.text
    assert chapters(project, env)["Ås Senterparti"]["answers"]["saker"] == "Åses svar"
    saved = [r[0] for r in state_rows(project, "SELECT answers FROM consultation_answers")]
    assert any("Bjørns svar" in s for s in saved) and any("Åses svar" in s for s in saved)


def test_reminders_go_only_to_leaders_of_chapters_that_have_not_answered_each_once(project, env, smtp, web):
    send_consultation(project, env)
    answer(web, link_of(smtp, "ase@example.org"), saker="Vei", fylkessak="Veier")
    smtp.handler.received.clear()

    for _ in range(2):  # cron firing twice sends nothing twice
        assert mailer(project, "run-due", "--now", REMINDER_1, env=env).code == 0
    assert [r.rcpt_tos for r in smtp.received] == [["kari@example.org"]]
    assert smtp.received[0].message["Subject"].startswith("Påminnelse: ")

    assert mailer(project, "run-due", "--now", REMINDER_2, env=env).code == 0
    assert [r.rcpt_tos for r in smtp.received] == [["kari@example.org"]] * 2


def test_a_reminder_deferred_by_the_server_does_not_go_to_a_chapter_that_answered_meanwhile(
    project, env, smtp, web
):
    send_consultation(project, env)
    ase = link_of(smtp, "ase@example.org")
    smtp.handler.received.clear()
    down = {**env, "MAILER_SMTP_PORT": str(free_port())}  # the mail server is down at 09:00
    assert mailer(project, "run-due", "--now", REMINDER_1, env=down).code == 1
    assert smtp.received == []  # every reminder planned, none sent

    answer(web, ase, saker="Vei", fylkessak="Veier")  # Ås answers before the retry
    result = mailer(project, "run-due", "--now", REMINDER_1.replace("09:00", "11:00"), env=env)

    assert result.code == 0, result.err
    assert [r.rcpt_tos for r in smtp.received] == [["kari@example.org"]]


def test_when_several_reminders_are_overdue_only_the_latest_goes_out(project, env, smtp):
    send_consultation(project, env)
    smtp.handler.received.clear()

    result = mailer(project, "run-due", "--now", REMINDER_2.replace("09:00", "15:00"), env=env)

    assert result.code == 0, result.err
    sent = [(r.rcpt_tos[0], r.message["X-Mailer-Mailing"]) for r in smtp.received]
    assert sorted(sent) == sorted((a, f"{ID}/reminder-2") for a in LEADERS)


def test_consultation_and_its_reminders_are_in_the_schedule(project, env):
    result = mailer(project, "schedule", "--json", "--days", "40", "--now", SEND_AT.replace("09:00", "08:00"))

    assert result.code == 0, result.err
    rows = {r["id"]: r for r in json.loads(result.out)}
    assert {ID, f"{ID}/reminder-1", f"{ID}/reminder-2"} <= set(rows)
    assert rows[ID]["kind"] == rows[f"{ID}/reminder-1"]["kind"] == "consultation"
    assert rows[ID]["state"] == "planned, not approved"
    assert rows[f"{ID}/reminder-1"]["send_at"].startswith(REMINDER_1)


def test_status_lists_every_chapter_of_the_audience_with_the_count(project, env, smtp, web):
    send_consultation(project, env)
    answer(web, link_of(smtp, "kari@example.org"), saker="Bru", fylkessak="Tannhelse", beredskap="4")

    data = status(project, env)
    human = mailer(project, "consultation", "status", ID, env=env).out

    assert (data["answered"], data["total"]) == (1, 2)
    assert [c["name"] for c in data["chapters"]] == ["Bærum Senterparti", "Ås Senterparti"]
    assert "1 of 2 chapters answered" in human and "Ås Senterparti: not answered" in human


def test_export_writes_a_semicolon_csv_with_bom_one_row_per_chapter(project, env, smtp, web, tmp_path):
    send_consultation(project, env)
    answer(web, link_of(smtp, "kari@example.org"), saker='=HYPERLINK("x")\nog bru', fylkessak="Skoler")
    out = tmp_path / "svar.csv"

    result = mailer(project, "consultation", "export", ID, "--out", str(out), env=env)

    assert result.code == 0, result.err
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == [
        "lokallag",
        "svart",
        "svart av",
        "tidspunkt",
        "Hvilke saker er viktigst?",
        "Hvilken fylkessak bør vi løfte?",
        "Hvor klare er dere?",
    ]
    by_chapter = {r[0]: r for r in rows[1:]}
    assert set(by_chapter) == {"Bærum Senterparti", "Ås Senterparti"}
    assert by_chapter["Bærum Senterparti"][1:3] == ["ja", "Kari Berg"]
    assert by_chapter["Bærum Senterparti"][4:6] == ['\'=HYPERLINK("x")\nog bru', "Skoler"]
    assert by_chapter["Ås Senterparti"][1] == "nei"


def test_status_of_something_that_is_not_a_consultation_is_one_clear_line(project, env):
    result = mailer(project, "consultation", "status", "nyhetsbrev-finnes-ikke", env=env)

    assert result.code == 1
    expected = "no consultation 'nyhetsbrev-finnes-ikke': there is no drafts/nyhetsbrev-finnes-ikke.md"
    assert result.err.strip() == f"error: {expected}"


def test_the_board_page_shows_each_chapters_answer_and_the_count_answered(project, env, smtp, web):
    send_consultation(project, env)
    answer(web, link_of(smtp, "kari@example.org"), saker="Bru <b>over</b> elva", fylkessak="Skoler")

    with web.board() as board:
        listing = board.get("/board/h")
        page = board.get(f"/board/h/{ID}")
    with web.client() as anonymous:
        refused = anonymous.get(f"/board/h/{ID}")

    assert listing.status_code == 200 and "1 av 2" in listing.text
    assert page.status_code == 200 and "1 av 2 lokallag har svart" in page.text
    assert "Kari Berg" in page.text and "Bru &lt;b&gt;over&lt;/b&gt; elva" in page.text
    assert "Ås Senterparti" in page.text and "Ikke svart" in page.text
    assert "@example.org" not in page.text
    assert refused.status_code == 401


def test_forgetting_a_leader_removes_their_name_from_the_answers_but_keeps_the_chapters_answer(
    project, env, smtp, web
):
    send_consultation(project, env)
    answer(web, link_of(smtp, "kari@example.org"), saker="Bru", fylkessak="Skoler")

    assert mailer(project, "forget", "kari@example.org", env=env).code == 0

    bærum = chapters(project, env)["Bærum Senterparti"]
    assert bærum["by"] == "(slettet)" and bærum["answers"]["saker"] == "Bru"
    rows = state_rows(project, "SELECT * FROM consultation_answers")
    assert not any("Kari" in str(v) for row in rows for v in row)
