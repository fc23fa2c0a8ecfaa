"""Every form that checks where a POST came from, submitted by Debian's Chromium itself.

A page sent with `Referrer-Policy: no-referrer` makes Chromium post its own forms with
`Origin: null`, which the same-site check must refuse (another site's form looks the same).
So each page that carries such a form sends `same-origin` instead; these tests press the real
button in a real browser, where an HTTP client that sends no Origin at all would pass anyway.
The preference page (/i/, /c/) has its own in test_preferences_browser.py.
"""

from __future__ import annotations

import json

import pytest
from browser import chromium
from conftest import base_env, state_rows
from consultation_project import form_link, make_project, send_consultation
from webapp import BOARD_PASSWORD, BOARD_USER, SECRET, board_users, start_web


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def test_a_leader_answers_the_consultation_form_by_pressing_send_in_chromium(tmp_path, smtp, browser):
    project = make_project(tmp_path / "fylke")
    env = base_env(MAILER_SECRET=SECRET, **smtp.env())
    send_consultation(project, env)
    [mail] = smtp.handler.to("kari@example.org")
    server = start_web(project, env)
    try:
        page = browser.new_page(java_script_enabled=False)
        page.goto(server.local(form_link(mail)))
        page.fill("textarea[name='q.saker']", "Veiene i Bærum")
        page.check("input[name='q.fylkessak'][value='Skoler']")
        with page.expect_navigation():  # the answer page has loaded before it is read
            page.click("button[type=submit]")
        text = page.evaluate("document.body.innerText")
    finally:
        server.stop()

    assert "Skjemaet kom ikke fra denne siden" not in text
    [(member_id, answers)] = state_rows(project, "SELECT member_id, answers FROM consultation_answers")
    assert member_id == "3" and json.loads(str(answers))["saker"] == "Veiene i Bærum"


def test_a_board_member_approves_with_the_button_in_chromium(example, browser):
    env = base_env(MAILER_SECRET=SECRET, MAILER_BOARD_USERS=board_users())
    server = start_web(example, env)
    try:
        context = browser.new_context(http_credentials={"username": BOARD_USER, "password": BOARD_PASSWORD})
        page = context.new_page()
        page.goto(f"{server.url}/board/m/nyhetsbrev-2026-12")
        with page.expect_navigation():  # the answer page has loaded before it is read
            page.click("text=Godkjenn innholdet med fingeravtrykk")
        text = page.evaluate("document.body.innerText")
        context.close()
    finally:
        server.stop()

    assert "Skjemaet kom ikke fra denne siden" not in text
    assert "Godkjenningen din er registrert" in text
    assert state_rows(example, "SELECT mailing_id, approved_by FROM approvals") == [
        ("nyhetsbrev-2026-12", BOARD_USER)
    ]
