"""README's first command shows what the product does: the example newsletter in the outbox has the
organisation's logo, a picture, a button, a divider, an article teaser and the reader's calendar,
in bokmål and in nynorsk, and stays light.

The commands are read from README itself. Every one of them gets the same `--now` (just after the
draft's `send_at`, when it has one), so the test does not depend on the day it runs.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import shlex
import shutil
import subprocess
from email.message import EmailMessage
from pathlib import Path

import pytest
from browser import chromium
from conftest import REPO, base_env, copy_example, mailer
from PIL import Image
from test_readme import readme_commands

from mailer.project.drafts import read_draft

DRAFT = "nyhetsbrev-2026-12"
BASE = "https://medlem.akershus-sp.example"
PICTURE_ALT = {
    "nb": "Tegning av et rødt gårdshus på et snødekt jorde en vinterkveld",
    "nn": "Teikning av eit raudt gardshus på eit snødekt jorde ein vinterkveld",
}
COMING = {"nb": "Jeg kommer", "nn": "Eg kjem"}


def clock(root: Path) -> list[str]:
    """`--now` a few minutes after the draft's send_at, or nothing when the draft has none."""
    draft = read_draft(root / "drafts" / f"{DRAFT}.md", f"drafts/{DRAFT}.md")
    send_at = draft.front.send_at
    if not isinstance(send_at, dt.datetime):
        return []
    return ["--now", (send_at + dt.timedelta(minutes=5)).isoformat(timespec="minutes")]


def mailer_steps() -> list[list[str]]:
    """The `mailer …` parts of README's first command, in order."""
    return [
        shlex.split(part)[1:] for part in readme_commands()[0].split(" && ") if part.startswith("mailer ")
    ]


@pytest.fixture(scope="module")
def sent(tmp_path_factory) -> tuple[Path, dict[str, list[EmailMessage]]]:
    """The example project after README's first command; the outbox's messages by language."""
    root = copy_example(tmp_path_factory.mktemp("readme") / "akershus")
    now = clock(root)
    steps = mailer_steps()
    assert [s[0] for s in steps] == ["preview", "approve", "approve", "send"]
    for step in steps:
        result = mailer(root, *step, *now, env=base_env())
        assert result.code == 0, f"mailer {' '.join(step)}: {result.err}"
    by_language: dict[str, list[EmailMessage]] = {"nb": [], "nn": []}
    for path in sorted((root / ".mailer" / "outbox" / DRAFT).glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        text = msg.get_body(("plain",)).get_content()
        by_language["nn" if "nyhendebrevet" in text else "nb"].append(msg)
    return root, by_language


def html_of(msg: EmailMessage) -> str:
    return msg.get_body(("html",)).get_content()


def hosted(root: Path, html: str, alt: str) -> Image.Image:
    """The picture an <img> with this alt text shows, as `mailer serve` will publish it."""
    found = re.search(rf'<img [^>]*alt="{re.escape(alt)}"[^>]*>', html)
    assert found, f"no picture with alt text {alt!r}"
    src = re.search(r'src="([^"]+)"', found[0])
    assert src and src[1].startswith(f"{BASE}/bilder/"), found[0]
    return Image.open(root / ".mailer" / "pictures" / src[1].rsplit("/", 1)[1])


def test_every_member_gets_the_newsletter_in_their_language(sent):
    _, by_language = sent
    assert len(by_language["nb"]) + len(by_language["nn"]) == 340
    assert by_language["nn"] and by_language["nb"]
    for msg in by_language["nn"]:
        assert msg["Subject"].startswith("Nyhendebrev desember")


@pytest.mark.parametrize("language", ["nb", "nn"])
def test_each_message_shows_the_organisation_s_logo_in_its_header(sent, language):
    root, by_language = sent
    for msg in by_language[language]:
        logo = hosted(root, html_of(msg), "Akershus Senterparti")
        assert logo.size == (400, 100)
    assert '<div style="background:#1f6b3a' in html_of(by_language[language][0]), "the green of the look"


@pytest.mark.parametrize("language", ["nb", "nn"])
def test_each_message_shows_the_drawn_picture_with_its_caption(sent, language):
    root, by_language = sent
    for msg in by_language[language]:
        html = html_of(msg)
        assert hosted(root, html, PICTURE_ALT[language]).size == (1104, 560)
        assert '<p class="caption"' in html and "Vinterkveld på Romerike" in html


@pytest.mark.parametrize("language", ["nb", "nn"])
def test_each_message_has_a_button_a_divider_and_an_article_teaser(sent, language):
    _, by_language = sent
    label = {"nb": "Meld deg på valgkampkurset", "nn": "Meld deg på valkampkurset"}[language]
    for msg in by_language[language]:
        html = html_of(msg)
        assert re.search(rf'<a class="button" href="{BASE}/kurs"[^>]*>{label}</a>', html)
        assert html.count("<hr ") == 2
        assert html.count('<div class="teaser"') == 1


@pytest.mark.parametrize("language", ["nb", "nn"])
def test_readers_invited_to_meetings_see_their_calendar_not_a_hand_written_one(sent, language):
    _, by_language = sent
    with_calendar = [m for m in by_language[language] if 'class="calendar' in html_of(m)]
    assert with_calendar, "the reader's calendar (calendar: true)"
    for msg in with_calendar:
        section = html_of(msg).split('class="calendar', 1)[1]
        assert "<h2>Kalenderen</h2>" in section
        assert re.search(rf'<a href="{BASE}/r/[^"]+">{COMING[language]}</a>', section)
    for msg in by_language[language]:
        assert "bortsett fra 29. desember" not in html_of(msg), "the old hand-written paragraph"


def test_the_pictures_and_the_messages_stay_light(sent):
    root, by_language = sent
    for picture in (REPO / "drafts" / "bilder").iterdir():
        assert picture.stat().st_size < 40_000, picture.name
    for picture in (root / ".mailer" / "pictures").iterdir():
        assert picture.stat().st_size < 40_000, picture.name
    sizes = [len(m.as_bytes()) for ms in by_language.values() for m in ms]
    assert max(sizes) < 40_000 and sum(sizes) < 10_000_000


def test_the_preview_readme_opens_shows_every_picture_from_disk(sent):
    root, _ = sent
    index = root / ".mailer" / "previews" / DRAFT / "index.html"
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1700, "height": 1000})
        page.goto(index.as_uri(), wait_until="load")
        frames = [f for f in page.frames if f != page.main_frame]
        shown = [f.evaluate("[...document.images].map(i => [i.alt, i.naturalWidth])") for f in frames]
    assert len(shown) == 2, "desktop and phone"
    for images in shown:
        assert [alt for alt, _ in images] == [
            "Akershus Senterparti",
            PICTURE_ALT["nb"],
            "Tegning av et møterom med et langt bord og en skjerm",
        ]
        assert all(width > 0 for _, width in images), images


def test_the_preview_html_is_the_member_s_copy_with_hosted_pictures(sent):
    root, _ = sent
    html = (root / ".mailer" / "previews" / DRAFT / "preview.html").read_text("utf-8")
    assert re.search(rf'<img [^>]*src="{BASE}/bilder/[0-9a-f]{{20}}\.png"', html)


@pytest.mark.skipif(shutil.which("spamassassin") is None, reason="Debian's spamassassin is not installed")
@pytest.mark.parametrize("language", ["nb", "nn"])
def test_spamassassin_scores_the_example_newsletter_at_zero_or_below(sent, language):
    _, by_language = sent
    report = subprocess.run(
        ["spamassassin", "-L", "-t"],
        input=by_language[language][0].as_bytes(),
        capture_output=True,
        timeout=120,
        check=True,
    ).stdout.decode("utf-8", "replace")
    score = re.search(r"X-Spam-Status: \w+, score=(-?[\d.]+)", report)
    assert score and float(score[1]) <= 0, report[report.find("Content analysis") :]
