"""The board's preview in a real browser: Debian's Chromium, driven by Playwright, at two widths.

Most members read on a phone, so the test loads what members get at 375 px (as a phone: a
mobile viewport) and at 1200 px, reads the text and the page size from the page itself and
takes a full-page screenshot. Chromium is required: without it this fails, it does not skip.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from browser import chromium, png_size
from conftest import base_env
from webapp import BOARD_PASSWORD, BOARD_USER, SECRET, board_users, start_web

HEADLINE = "Budsjettet i fylkestinget"  # the first heading of the example's December newsletter
SIZE = "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
CONTENT_HEIGHT = (  # where the last element ends, however tall the window
    "Math.ceil(Math.max(...[...document.body.querySelectorAll('*')]"
    ".map(e => e.getBoundingClientRect().bottom + window.scrollY)))"
)


@pytest.fixture
def server(example):
    env = base_env(MAILER_SECRET=SECRET, MAILER_BOARD_USERS=board_users())
    web = start_web(example, env)
    yield web
    web.stop()


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def login() -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{BOARD_USER}:{BOARD_PASSWORD}".encode()).decode()}


def keep(name: str, png: bytes, tmp_path: Path) -> Path:
    """Screenshots go to the test's folder, or to $MAILER_SCREENSHOTS when set (to look at them)."""
    folder = Path(os.environ.get("MAILER_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(png)
    return folder / name


@pytest.mark.parametrize(("width", "mobile"), [(375, True), (1200, False)])
def test_the_newsletter_as_members_get_it_fits_the_screen_and_shows_its_headline(
    server, browser, tmp_path, width, mobile
):
    page = browser.new_page(
        viewport={"width": width, "height": 800},
        is_mobile=mobile,
        device_scale_factor=1,
        extra_http_headers=login(),
    )
    page.goto(f"{server.url}/board/html/nb/nyhetsbrev-2026-12")
    assert HEADLINE in page.evaluate("document.body.innerText")
    headline = page.evaluate(
        "(() => { const h = [...document.querySelectorAll('h1, h2')].find(e => e.textContent.includes("
        f"'{HEADLINE}')); const r = h.getBoundingClientRect(); return [r.left, r.right, r.height]; }})()"
    )
    scroll_width, height = page.evaluate(SIZE)
    content = page.evaluate(CONTENT_HEIGHT)
    png = page.screenshot(full_page=True)
    keep(f"newsletter-{width}.png", png, tmp_path)
    assert scroll_width <= width, "nothing sticks out sideways: no horizontal scrolling on a phone"
    assert headline[0] >= 0 and headline[1] <= width and 10 < headline[2] < 80
    assert png_size(png) == (scroll_width, height)
    if mobile:
        assert 700 < content < 6000, f"a phone page {content} px tall"
        assert headline[0] < 60, "on a phone the text uses the screen's width"
    else:
        assert 400 < content < 3000, f"a desktop page {content} px tall"
        assert headline[0] > 250, "on a desktop the 600 px column sits in the middle"


def test_the_board_page_shows_the_phone_and_desktop_previews_whole_and_flags_no_overflow(
    server, browser, tmp_path
):
    page = browser.new_page(
        viewport={"width": 1600, "height": 1000}, device_scale_factor=1, extra_http_headers=login()
    )
    page.goto(f"{server.url}/board/m/nyhetsbrev-2026-12")
    frames = page.evaluate(
        "[...document.querySelectorAll('iframe.preview')].map(f => [f.width, f.dataset.contentWidth, "
        "f.dataset.contentHeight, f.getBoundingClientRect().height, f.closest('figure').className, "
        f"f.contentDocument.body.innerText.includes('{HEADLINE}')])"
    )
    png = page.screenshot(full_page=True)
    keep("board-preview.png", png, tmp_path)
    assert [f[0] for f in frames] == ["1200", "375"]
    for width, content_width, content_height, shown_height, figure, has_headline in frames:
        assert has_headline
        assert int(content_width) <= int(width) and "overflow" not in figure
        assert int(content_height) > 400 and abs(shown_height - (int(content_height) + 2)) <= 2, (
            "each frame is as tall as the mailing, so the board sees all of it"
        )
    phone, desktop = int(frames[1][2]), int(frames[0][2])
    assert phone > desktop, "the same text is taller in the narrow phone column"
    assert "Fingeravtrykk" in page.evaluate("document.body.innerText")
