"""The preference page in Debian's Chromium at 375 px, as a phone shows it, with JavaScript off.

The member ticks and unticks, presses Save, and the next state is what the page and the
records say; nothing on the page sticks out sideways, and every control is big enough to hit.
"""

from __future__ import annotations

import json

import pytest
from browser import chromium, png_size
from conftest import mailer
from playwright.sync_api import expect
from prefs_project import env_for, make_project, token
from test_browser import keep
from webapp import start_web

WIDTH = 375
SIZE = "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
OVERFLOW = (
    "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > "
    f"{WIDTH} + 0.5).map(e => e.tagName)"
)
TARGETS = (
    "[...document.querySelectorAll('button, label')].map(e => { const r = e.getBoundingClientRect(); "
    "return [e.textContent.trim().slice(0, 30), r.width, r.height]; })"
)


@pytest.fixture
def root(tmp_path):
    return make_project(tmp_path)


@pytest.fixture
def env(smtp):
    return env_for(smtp.env())


@pytest.fixture
def server(root, env):
    web = start_web(root, env)
    yield web
    web.stop()


@pytest.fixture
def phone():
    with chromium() as browser:
        page = browser.new_page(
            viewport={"width": WIDTH, "height": 740},
            is_mobile=True,
            device_scale_factor=1,
            java_script_enabled=False,
        )
        yield page


def test_the_page_fits_a_phone_and_every_button_and_choice_is_big_enough_to_press(server, phone, tmp_path):
    phone.goto(f"{server.url}/i/{token('3')}")
    text = phone.evaluate("document.body.innerText")
    assert "Innstillinger for e-post" in text and "fordi du er lokallagsleder" in text
    assert "Last ned mine data" in text and "Noe feil?" in text and "Ta pause" in text
    width, height = phone.evaluate(SIZE)
    png = phone.screenshot(full_page=True)
    keep("preferences-375.png", png, tmp_path)
    assert width <= WIDTH and phone.evaluate(OVERFLOW) == [], "nothing sticks out sideways"
    assert png_size(png) == (width, height)
    for label, w, h in phone.evaluate(TARGETS):
        assert h >= 24 and w >= 40, f"'{label}' is {w:.0f}×{h:.0f} px"


def test_a_member_turns_the_newsletter_off_and_nynorsk_on_with_the_page_alone(root, env, server, phone):
    phone.goto(f"{server.url}/i/{token('1')}")
    phone.uncheck("input[name=on][value=nyhetsbrev]")
    phone.check("input[name=language][value=nn]")
    phone.click("text=Lagre")

    # the page follows the choice; expect() waits for the answer page to load
    expect(phone.locator("body")).to_contain_text("Innstillingar for e-post")
    expect(phone.locator("body")).to_contain_text("Lagra.")
    assert not phone.is_checked("input[name=on][value=nyhetsbrev]")
    record = json.loads(mailer(root, "preferences", "ase@example.org", "--json", env=env).out)
    assert record["language"]["chosen"] == "nn"
    assert [e["action"] for e in record["history"]] == ["unsubscribed", "language"]


def test_the_leaders_required_series_cannot_be_unticked_in_the_browser(root, env, server, phone):
    phone.goto(f"{server.url}/i/{token('3')}")
    box = "input[name=on][value=lederforum]"
    assert phone.is_checked(box) and phone.is_disabled(box)
    phone.uncheck("input[name=on][value=nyhetsbrev]")
    with phone.expect_navigation():  # the saved page has loaded before anything is read
        phone.click("text=Lagre")
    assert phone.is_checked(box)
    rows = json.loads(mailer(root, "suppressions", "--json", env=env).out)
    assert [r["category"] for r in rows] == ["nyhetsbrev"]
