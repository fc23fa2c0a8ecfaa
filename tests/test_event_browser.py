"""The registration form in a real browser: Debian's Chromium at 375 px, as a phone, JavaScript off.

A member opens the link from the invitation, types the date of birth, presses the button and
reads that they have a place; a guest fills in the public form. Nothing sticks out sideways.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from browser import chromium, png_size
from conftest import base_env
from event_project import EVENT, event_block, links, make_project, run_due, status, wait_for
from playwright.sync_api import expect
from webapp import BOARD_PASSWORD, BOARD_USER, SECRET, board_users, start_web

SIZE = "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
QUESTIONS = (
    "\n      - {id: fodselsdato, label: Fødselsdato (Stortinget krever det), type: date, required: true}"
    "\n      - {id: mat, label: Mat, type: choice, choices: [Kjøtt, Vegetar]}"
    "\n      - {id: buss, label: Vil du ha plass i bussen?, type: yes-no}"
    "\n      - {id: hensyn, label: Allergier eller andre hensyn vi bør vite om, type: text}"
)


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture
def env(smtp) -> dict[str, str]:
    return base_env(
        MAILER_SECRET=SECRET,
        MAILER_WEB_REQUESTS_PER_MINUTE="100000",
        MAILER_BOARD_USERS=board_users(),
        **smtp.env(),
    )


@pytest.fixture
def sent(tmp_path, env, smtp):
    project = make_project(tmp_path / "fylke", event_block(open_to="public", questions=QUESTIONS))
    run_due(project, env)
    server = start_web(project, env)
    yield project, server, links(smtp.received, "/p/")
    server.stop()


def phone(browser):
    return browser.new_page(
        viewport={"width": 375, "height": 800},
        is_mobile=True,
        device_scale_factor=1,
        java_script_enabled=False,
    )


def keep(name: str, png: bytes, tmp_path: Path) -> None:
    folder = Path(os.environ.get("MAILER_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(png)


def fits(page, tmp_path: Path, name: str) -> None:
    width, height = page.evaluate(SIZE)
    png = page.screenshot(full_page=True)
    keep(name, png, tmp_path)
    assert width <= 375, f"{name}: {width} px wide on a 375 px phone"
    assert png_size(png) == (width, height)


def test_a_member_registers_on_a_phone_without_javascript(sent, browser, env, smtp, tmp_path):
    project, server, invitations = sent
    page = phone(browser)

    page.goto(server.local(invitations["ase@example.org"]))
    fits(page, tmp_path, "form-375.png")
    page.fill("input[name='q.fodselsdato']", "17.05.1990")
    page.check("input[name='q.mat'][value='Vegetar']")
    page.check("input[name='q.buss'][value='ja']")
    page.fill("textarea[name='q.hensyn']", "Nøtteallergi")
    page.click("button[type=submit]")

    expect(page.locator("body")).to_contain_text("Du har plass")  # waits for the answer page to load
    fits(page, tmp_path, "placed-375.png")
    wait_for(smtp, 11)
    s = status(project, env)
    assert s["placed"] == 1 and s["answers"]["buss"]["counts"] == {"ja": 1}


def test_a_required_answer_left_out_is_pointed_out_on_the_phone(sent, browser, env, tmp_path):
    project, server, invitations = sent
    page = phone(browser)
    page.goto(server.local(invitations["kari@example.org"]))

    page.fill("input[name='q.fodselsdato']", "31.02.1990")
    page.click("button[type=submit]")

    expect(page.locator("body")).to_contain_text("Skriv datoen som dd.mm.åååå")  # waits for the page
    fits(page, tmp_path, "error-375.png")
    assert status(project, env)["registered"] == 0


def test_a_guest_fills_in_the_public_form_on_a_phone(sent, browser, env, smtp, tmp_path):
    project, server, _ = sent
    page = phone(browser)

    page.goto(f"{server.url}/p/{EVENT}")
    fits(page, tmp_path, "public-375.png")
    page.fill("input[name=name]", "Gry Gjest")
    page.fill("input[name=email]", "gry@example.net")
    page.fill("input[name='q.fodselsdato']", "3.4.1985")
    page.click("button[type=submit]")

    expect(page.locator("body")).to_contain_text("Sjekk e-posten din")  # waits for the answer page to load
    wait_for(smtp, 11)
    assert status(project, env)["unconfirmed"] == 1


def test_the_board_checks_someone_in_at_the_door_from_a_phone(sent, browser, env, smtp, tmp_path):
    import base64

    project, server, invitations = sent
    page = phone(browser)
    page.goto(server.local(invitations["ase@example.org"]))
    page.fill("input[name='q.fodselsdato']", "17.05.1990")
    page.click("button[type=submit]")
    expect(page.locator("body")).to_contain_text("Du har plass")  # registered before the board looks
    login = base64.b64encode(f"{BOARD_USER}:{BOARD_PASSWORD}".encode()).decode()
    board = browser.new_page(
        viewport={"width": 375, "height": 800},
        is_mobile=True,
        extra_http_headers={"Authorization": f"Basic {login}"},
    )

    board.goto(f"{server.url}/board/p/{EVENT}")
    board.click("text=Sjekk inn")

    expect(board.locator("body")).to_contain_text("Angre")  # waits for the answer page to load
    fits(board, tmp_path, "board-375.png")
    assert status(project, env)["checked_in"] == 1
