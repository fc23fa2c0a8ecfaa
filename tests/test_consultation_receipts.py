"""A forwarded consultation link answers for the chapter; the leader whose link it is hears of it.

No confirmation is asked before an answer counts. Instead, after an answer is saved through a
leader's link on the real `mailer serve`, the next `mailer run-due` sends that leader a short
receipt through the real SMTP server, recorded in the ledger like every delivery.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from conftest import base_env, mailer
from consultation_project import ID, form_link, make_project, send_consultation
from webapp import SECRET, start_web

from mailer.delivery.tokens import Signer


@pytest.fixture
def env(smtp) -> dict[str, str]:
    return base_env(MAILER_SECRET=SECRET, **smtp.env())


@pytest.fixture
def sent(tmp_path: Path, env, smtp):
    """The consultation sent to the leaders, `mailer serve` for its form, and each leader's link."""
    project = make_project(tmp_path / "fylke")
    send_consultation(project, env)
    links = {a: form_link(r) for r in smtp.received for a in r.rcpt_tos}
    smtp.received.clear()
    server = start_web(project, env)
    yield project, server, links
    server.stop()


def answer(server, link: str) -> httpx.Response:
    with server.client() as client:
        page = client.get(server.local(link)).text
        form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
        form.update({"q.saker": "Veier og skoler", "q.fylkessak": "Veier", "q.beredskap": "4"})
        return client.post(server.local(link), data=form)


def run_due(project: Path, env: dict[str, str]) -> None:
    result = mailer(project, "run-due", env=env)
    assert result.code == 0, result.err


def test_an_answer_saved_through_a_forwarded_link_sends_its_leader_a_receipt(sent, env, smtp):
    project, server, links = sent
    assert answer(server, links["ase@example.org"]).status_code == 200  # whoever holds Åse's link
    run_due(project, env)
    [receipt] = smtp.received
    assert receipt.rcpt_tos == ["ase@example.org"]
    message = receipt.message
    assert message["Subject"] == "Svaret for Ås Senterparti er lagret"
    text = " ".join(message.get_body(("plain",)).get_content().split())
    assert re.search(r"Svaret for Ås Senterparti på «Høring: saker til lokalvalget» ble lagret \w+dag", text)
    assert "Var det ikke du som svarte?" in text
    purpose, member_id, subject, _ = Signer(SECRET.encode()).verify(form_link(receipt).split("/h/")[1])
    assert (purpose, member_id, subject) == ("h", "1", ID), "a link to see and correct the answer"


def test_the_receipt_is_recorded_in_the_ledger_and_sent_once(sent, env, smtp):
    project, server, links = sent
    answer(server, links["ase@example.org"])
    run_due(project, env)
    run_due(project, env)
    assert len(smtp.received) == 1
    mailings = json.loads(mailer(project, "status", "--json", env=env).out)["mailings"]
    [row] = [m for m in mailings if m["id"].startswith(f"{ID}/kvittering-")]
    assert (row["sent"], row["total"]) == (1, 1)


def test_a_nynorsk_leader_gets_the_receipt_in_nynorsk(sent, env, smtp):
    project, server, links = sent
    answer(server, links["bjorn@example.org"])
    run_due(project, env)
    [receipt] = smtp.received
    assert receipt.rcpt_tos == ["bjorn@example.org"]
    assert receipt.message["Subject"] == "Svaret for Ås Senterparti er lagra"
    assert "vart lagra" in " ".join(receipt.message.get_body(("plain",)).get_content().split())


def test_answers_saved_twice_before_a_run_give_one_receipt(sent, env, smtp):
    project, server, links = sent
    answer(server, links["kari@example.org"])
    answer(server, links["kari@example.org"])
    run_due(project, env)
    assert [r.rcpt_tos for r in smtp.received] == [["kari@example.org"]]


def test_the_form_shows_who_answered_last(sent, env):
    _, server, links = sent
    answer(server, links["ase@example.org"])
    with server.client() as client:
        page = client.get(server.local(links["bjorn@example.org"])).text
    assert "Sist svart av Åse Ødegård" in page


@pytest.mark.skipif(shutil.which("spamassassin") is None, reason="Debian's spamassassin is not installed")
def test_spamassassin_scores_the_receipt_at_zero_or_below(sent, env, smtp):
    project, server, links = sent
    answer(server, links["ase@example.org"])
    run_due(project, env)
    [receipt] = smtp.received
    report = subprocess.run(
        ["spamassassin", "-L", "-t"], input=receipt.data, capture_output=True, timeout=120, check=True
    ).stdout.decode("utf-8", "replace")
    score = re.search(r"X-Spam-Status: \w+, score=(-?[\d.]+)", report)
    assert score and float(score[1]) <= 0, report[report.find("Content analysis") :]
