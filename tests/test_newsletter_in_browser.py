"""The newsletter as members see it: Debian's Chromium (Playwright) at 375 px and 1200 px,
light and dark, with its pictures and logo fetched from `mailer serve` over HTTP."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from conftest import base_env, mailer, small_project
from PIL import Image
from webapp import SECRET, WebServer, start_web

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Debian's chromium is not installed")

MEMBERS = "1,Åse,Ødegård,ase@example.org,Ås,,medlem,2020-01-01,nb\n"
DRAFT = """\
---
subject: Nyhetsbrev desember
preheader: Budsjettet, lokalvalget og møtene før jul.
---
## Fylkestinget

![Fylkestinget i møte](bilder/fylkesting.jpg "Fylkestinget vedtok budsjettet for 2027")

Hei {{ member.first_name }}! Fylkestinget vedtok budsjettet for 2027, med flere bussavganger.

**[Meld deg på kurset](https://medlem.testfylket.example/kurs)**

---

![Kart over lokallagene](bilder/kart.png) **Nye lokallag.** To nye lokallag er stiftet i høst. [Les mer](https://medlem.testfylket.example/lokallag)
"""
LOOK = "  logo: grafikk/logo.png\n"


@pytest.fixture(scope="module")
def html_and_web(tmp_path_factory) -> Iterator[tuple[str, WebServer]]:
    root = small_project(tmp_path_factory.mktemp("browser") / "fylke", MEMBERS)
    (root / "drafts/bilder").mkdir()
    Image.linear_gradient("L").resize((2400, 1600)).convert("RGB").save(root / "drafts/bilder/fylkesting.jpg")
    Image.new("RGB", (800, 600), (40, 90, 160)).save(root / "drafts/bilder/kart.png")
    (root / "grafikk").mkdir()
    Image.new("RGB", (800, 200), (255, 255, 255)).save(root / "grafikk/logo.png")
    text = (
        (root / "schedules.yaml")
        .read_text("utf-8")
        .replace("  approvals_required: 1\n", "  approvals_required: 1\n" + LOOK)
    )
    (root / "schedules.yaml").write_text(text, "utf-8")
    (root / "drafts/nyhetsbrev-2026-12.md").write_text(DRAFT, encoding="utf-8")
    out = root / "preview"
    result = mailer(root, "preview", "nyhetsbrev-2026-12", "--out", str(out))
    assert result.code == 0, result.err
    server = start_web(root, base_env(MAILER_SECRET=SECRET))
    try:
        yield (out / "preview.html").read_text("utf-8"), server
    finally:
        server.stop()


def render(html: str, web: WebServer, width: int, scheme: str = "light") -> dict:
    """Load the message in Chromium; the organisation's address is answered by `mailer serve`."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)

            def from_serve(route) -> None:  # type: ignore[no-untyped-def]
                route.fulfill(response=route.fetch(url=web.local(route.request.url)))

            page.route("https://medlem.testfylket.example/**", from_serve)
            page.set_content(html, wait_until="load")
            return page.evaluate(MEASURE)
        finally:
            browser.close()


MEASURE = """() => {
  const box = (el) => {
    const r = el.getBoundingClientRect();
    return {x: r.x, y: r.y, w: r.width, h: r.height};
  };
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).slice(0, 4).map(Number);
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || c[3] > 0) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const paragraph = [...document.querySelectorAll('p')].find(p => p.textContent.includes('bussavganger'));
  const teaser = document.querySelector('.teaser');
  return {
    pageWidth: document.documentElement.scrollWidth,
    images: [...document.images].map(i => ({alt: i.alt, loaded: i.complete && i.naturalWidth > 0,
                                             natural: i.naturalWidth, ...box(i)})),
    teaserImage: box(teaser.children[0]), teaserText: box(teaser.children[1]),
    button: box(document.querySelector('a.button')),
    text: rgb(getComputedStyle(paragraph).color).slice(0, 3), behind: background(paragraph),
  };
}"""


def contrast(a: list[float], b: list[float]) -> float:
    def luminance(c: list[float]) -> float:
        parts = [v / 255 for v in c]
        lin = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in parts]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("width", [375, 1200])
def test_every_picture_loads_from_mailer_serve_and_fits_the_screen(html_and_web, width):
    html, web = html_and_web
    seen = render(html, web, width)
    assert len(seen["images"]) == 3
    for image in seen["images"]:
        assert image["loaded"], image
        assert image["x"] >= 0 and image["x"] + image["w"] <= width, image
    assert seen["pageWidth"] <= width, "nothing scrolls sideways"
    photo = next(i for i in seen["images"] if i["alt"] == "Fylkestinget i møte")
    assert photo["natural"] == 1200
    assert photo["w"] <= (600 if width == 1200 else width)


def test_on_a_phone_the_teaser_text_goes_below_its_picture(html_and_web):
    seen = render(*html_and_web, 375)
    assert seen["teaserText"]["y"] >= seen["teaserImage"]["y"] + seen["teaserImage"]["h"]


def test_on_a_wide_screen_the_teaser_text_sits_beside_its_picture(html_and_web):
    seen = render(*html_and_web, 1200)
    assert seen["teaserText"]["x"] >= seen["teaserImage"]["x"] + seen["teaserImage"]["w"]
    assert abs(seen["teaserText"]["y"] - seen["teaserImage"]["y"]) < 5


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [375, 1200])
def test_body_text_stays_readable_in_light_and_dark_mode(html_and_web, width, scheme):
    seen = render(*html_and_web, width, scheme)
    assert contrast(seen["text"], seen["behind"]) >= 4.5, seen
    assert (sum(seen["behind"]) < 150) == (scheme == "dark"), "dark mode turns the page dark"
    assert seen["button"]["w"] > 100 and seen["button"]["h"] >= 40, "the button is a tappable size"
