"""A consultation receipt reaches its leader whatever the leader stopped; only a hard bounce holds it.

Whoever holds a forwarded consultation mail can press its one-click unsubscribe before answering
with the leader's link: the receipt is how the leader notices, so an unsubscribe (from
consultations or from everything) must not silence it. An address that bounced hard gets none,
as it gets no other message. Everything runs through the real `mailer serve`, `mailer run-due`
and a real SMTP server.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from conftest import Received, base_env, mailer
from consultation_project import ID, TODAY, form_link, make_project, send_consultation
from webapp import SECRET, start_web, unsubscribe_url

from mailer.delivery.tokens import Signer

RECEIPT = "Svaret for Ås Senterparti er lagret"


@pytest.fixture
def env(smtp) -> dict[str, str]:
    return base_env(MAILER_SECRET=SECRET, **smtp.env())


@pytest.fixture
def sent(tmp_path: Path, env, smtp):
    """The consultation sent to the leaders, `mailer serve` for its form, and each leader's mail."""
    project = make_project(tmp_path / "fylke")
    send_consultation(project, env)
    mails = {a: r for r in smtp.received for a in r.rcpt_tos}
    smtp.received.clear()
    server = start_web(project, env)
    yield project, server, mails
    server.stop()


def answer(server, link: str) -> httpx.Response:
    with server.client() as client:
        page = client.get(server.local(link)).text
        form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
        form.update({"q.saker": "Veier og skoler", "q.fylkessak": "Veier", "q.beredskap": "4"})
        return client.post(server.local(link), data=form)


def unsubscribe(server, mail: Received, data: dict[str, str]) -> None:
    with server.client() as client:
        done = client.post(server.local(unsubscribe_url(mail.message["List-Unsubscribe"])), data=data)
    assert done.status_code == 200


def suppressed(project: Path, env: dict[str, str]) -> list[tuple[str, str, str]]:
    result = mailer(project, "suppressions", "--json", env=env)
    assert result.code == 0, result.err
    return [(r["email"], r["category"], r["source"]) for r in json.loads(result.out)]


def receipts(project: Path, env: dict[str, str]) -> list[tuple[int, int]]:
    result = mailer(project, "status", "--json", env=env)
    assert result.code == 0, result.err
    rows = json.loads(result.out)["mailings"]
    return [(r["sent"], r["total"]) for r in rows if r["id"].startswith(f"{ID}/kvittering-")]


def run_due(project: Path, env: dict[str, str]) -> None:
    result = mailer(project, "run-due", env=env)
    assert result.code == 0, result.err
    assert "Traceback" not in result.err


def test_a_leader_whose_mail_was_unsubscribed_with_one_click_still_gets_the_receipt(sent, env, smtp):
    project, server, mails = sent
    ase = mails["ase@example.org"]
    assert ase.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe(server, ase, {"List-Unsubscribe": "One-Click"})  # whoever holds the forwarded mail
    assert suppressed(project, env) == [("ase@example.org", "horing", "one-click")]
    assert answer(server, form_link(ase)).status_code == 200

    run_due(project, env)

    assert [(r.rcpt_tos, r.message["Subject"]) for r in smtp.received] == [(["ase@example.org"], RECEIPT)]
    assert receipts(project, env) == [(1, 1)]


def test_a_leader_unsubscribed_from_everything_still_gets_the_receipt(sent, env, smtp):
    project, server, mails = sent
    kari = mails["kari@example.org"]
    unsubscribe(server, kari, {"scope": "*"})
    assert suppressed(project, env) == [("kari@example.org", "*", "web")]
    assert answer(server, form_link(kari)).status_code == 200

    run_due(project, env)

    subject = "Svaret for Bærum Senterparti er lagret"
    assert [(r.rcpt_tos, r.message["Subject"]) for r in smtp.received] == [(["kari@example.org"], subject)]
    assert receipts(project, env) == [(1, 1)]


def test_a_leader_whose_address_bounced_hard_gets_no_receipt(tmp_path, env, smtp):
    project = make_project(tmp_path / "fylke")
    smtp.handler.reject["kari@example.org"] = "550 5.1.1 <kari@example.org>: no such user"
    send_consultation(project, env)  # refused at send time: a hard bounce
    assert suppressed(project, env) == [("kari@example.org", "*", "bounce")]
    del smtp.handler.reject["kari@example.org"]
    smtp.received.clear()
    link = (
        f"https://medlem.testfylket.example/h/{Signer(SECRET.encode()).sign('h', '3', ID, TODAY.toordinal())}"
    )
    server = start_web(project, env)
    try:
        assert answer(server, link).status_code == 200
    finally:
        server.stop()

    run_due(project, env)

    assert smtp.received == []
    assert receipts(project, env) == []
