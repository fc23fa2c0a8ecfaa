"""Pictures in newsletters: checked, scaled once per mailing, hosted by `mailer serve` or inline."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import time
from pathlib import Path

import httpx
import pytest
from conftest import base_env, mailer, small_project
from PIL import Image, ImageChops, ImageStat
from test_trusted_mail import spamassassin_score
from webapp import SECRET, start_web

MEMBERS = """\
1,Åse,Ødegård,ase@example.org,Ås,,medlem,2020-01-01,nb
2,Bjørn,Bråten,bjorn@example.org,Bærum,,medlem,2021-05-05,nn
3,Kari,Styre,kari@example.org,Asker,,medlem|fylkesstyremedlem,2019-01-01,nb
"""
DRAFT = """\
---
subject: Nyhetsbrev desember
---
## Fylkestinget

![Fylkestinget i møte](bilder/fylkesting.jpg "Fylkestinget vedtok budsjettet for 2027")

Hei {{ member.first_name }}! Det skjer mye før jul.

![Kart over lokallagene](bilder/kart.png)
"""
SRC = re.compile(r'<img src="([^"]+)"')


def photo(path: Path, size: tuple[int, int]) -> None:
    """A picture with detail (a gradient), so that a wrong scaling shows in the pixels."""
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    image = Image.merge("RGB", (image.getchannel(0), image.rotate(90).getchannel(0), image.getchannel(0)))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, quality=95) if path.suffix == ".jpg" else image.save(path)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = small_project(tmp_path / "fylke", MEMBERS)
    photo(root / "drafts/bilder/fylkesting.jpg", (2400, 1600))
    photo(root / "drafts/bilder/kart.png", (800, 600))
    (root / "drafts/nyhetsbrev-2026-12.md").write_text(DRAFT, encoding="utf-8")
    return root


def send(root: Path, smtp, extra: str = "") -> None:
    if extra:
        with open(root / "schedules.yaml", "a", encoding="utf-8") as f:
            f.write(extra)
    env = base_env(**smtp.env())
    assert mailer(root, "preview", "nyhetsbrev-2026-12", env=env).code == 0
    assert mailer(root, "approve", "nyhetsbrev-2026-12", "--by", "Kari Styre", env=env).code == 0
    result = mailer(root, "send", "nyhetsbrev-2026-12", env=env)
    assert result.code == 0, result.err


def html_of(received) -> str:
    return received.message.get_body(("html",)).get_content()


def assert_same_picture(got: bytes, original: Path, width: int) -> None:
    """The received picture is the original scaled to `width`, give or take JPEG's losses."""
    image = Image.open(io.BytesIO(got)).convert("RGB")
    source = Image.open(original).convert("RGB")
    expected = source.resize((width, round(source.height * width / source.width)))
    assert image.size == expected.size
    difference = ImageStat.Stat(ImageChops.difference(image, expected)).mean
    assert max(difference) < 4, difference


def test_hosted_pictures_are_scaled_once_and_fetched_from_mailer_serve(root, smtp):
    send(root, smtp)
    assert len(smtp.received) == 3
    sources = {tuple(SRC.findall(html_of(r))) for r in smtp.received}
    assert len(sources) == 1, "every member's message shows the same two files"
    jpg, png = next(iter(sources))
    assert jpg.startswith("https://medlem.testfylket.example/bilder/") and jpg.endswith(".jpg")
    assert len(list((root / ".mailer/pictures").iterdir())) == 2
    server = start_web(root, base_env(MAILER_SECRET=SECRET))
    try:
        got = {url: httpx.get(server.local(url), timeout=10) for url in (jpg, png)}
    finally:
        server.stop()
    assert all(r.status_code == 200 for r in got.values())
    assert got[jpg].headers["content-type"] == "image/jpeg"
    assert "immutable" in got[jpg].headers["cache-control"]
    assert_same_picture(got[jpg].content, root / "drafts/bilder/fylkesting.jpg", 1200)
    assert_same_picture(got[png].content, root / "drafts/bilder/kart.png", 800)


def test_inline_pictures_travel_in_the_message_as_related_parts(root, smtp):
    send(root, smtp, "    pictures: inline\n")
    msg = smtp.received[0].message
    related = next(p for p in msg.walk() if p.get_content_type() == "multipart/related")
    parts = list(related.iter_parts())
    assert parts[0].get_content_type() == "text/html"
    by_cid = {p["Content-ID"].strip("<>"): p for p in parts[1:]}
    cids = re.findall(r'<img src="cid:([^"]+)"', parts[0].get_content())
    assert sorted(cids) == sorted(by_cid) and len(cids) == 2
    jpg = next(p for p in by_cid.values() if p.get_content_type() == "image/jpeg")
    png = next(p for p in by_cid.values() if p.get_content_type() == "image/png")
    assert_same_picture(jpg.get_content(), root / "drafts/bilder/fylkesting.jpg", 1200)
    assert_same_picture(png.get_content(), root / "drafts/bilder/kart.png", 800)


def test_a_changed_picture_gets_a_new_address_and_voids_the_approval(root, smtp):
    env = base_env(**smtp.env())
    assert mailer(root, "preview", "nyhetsbrev-2026-12", env=env).code == 0
    assert mailer(root, "approve", "nyhetsbrev-2026-12", "--by", "Kari Styre", env=env).code == 0
    before = set((root / ".mailer/pictures").iterdir())
    photo(root / "drafts/bilder/kart.png", (640, 640))
    refused = mailer(root, "send", "nyhetsbrev-2026-12", env=env)
    assert refused.code == 1 and "changed since it was approved" in refused.err
    assert mailer(root, "preview", "nyhetsbrev-2026-12", env=env).code == 0
    after = set((root / ".mailer/pictures").iterdir())
    assert len(after - before) == 1, "the new picture has a name of its own; the old one stays"
    assert smtp.received == []


def test_the_picture_title_becomes_its_caption(root, smtp):
    send(root, smtp)
    html = html_of(smtp.received[0])
    assert 'class="caption"' in html and "Fylkestinget vedtok budsjettet for 2027" in html
    assert 'alt="Fylkestinget i møte"' in html


def test_photo_metadata_is_dropped_when_scaled(root, smtp):
    image = Image.open(root / "drafts/bilder/fylkesting.jpg")
    exif = Image.Exif()
    exif[0x013B] = "Ola Fotograf"  # Artist
    image.save(root / "drafts/bilder/fylkesting.jpg", exif=exif, quality=95)
    send(root, smtp, "    pictures: inline\n")
    jpg = next(p for p in smtp.received[0].message.walk() if p.get_content_type() == "image/jpeg")
    assert b"Ola Fotograf" not in jpg.get_content()
    assert not Image.open(io.BytesIO(jpg.get_content())).getexif()


def test_mailer_serve_answers_404_for_a_picture_it_does_not_have(root):
    server = start_web(root, base_env(MAILER_SECRET=SECRET))
    try:
        missing = httpx.get(server.url + "/bilder/0123456789abcdef0123.jpg", timeout=10)
        outside = httpx.get(server.url + "/bilder/..%2Fstate.db", timeout=10)
    finally:
        server.stop()
    assert missing.status_code == 404 and outside.status_code == 404


BAD = {
    "missing": ("![Bilde](bilder/finnes-ikke.jpg)", "bilder/finnes-ikke.jpg does not exist"),
    "not a picture": ("![Bilde](bilder/tekst.jpg)", "bilder/tekst.jpg is not a picture"),
    "huge": ("![Bilde](bilder/stor.jpg)", "use one under 20 MB"),
    "outside drafts": ("![Bilde](../schedules.yaml)", "../schedules.yaml is outside drafts/"),
    "absolute path": ("![Bilde](/etc/passwd)", "/etc/passwd is not a file in drafts/"),
    "no alt text": ("![](bilder/kart.png)", "has no alt text"),
    "unsupported format": ("![Bilde](bilder/bilde.bmp)", "BMP, which many mail programs cannot show"),
}


@pytest.mark.parametrize("problem", sorted(BAD))
def test_a_bad_picture_is_refused_by_check_and_send_naming_the_draft_and_line(root, smtp, problem):
    markdown, message = BAD[problem]
    (root / "drafts/bilder/tekst.jpg").write_text("ikke et bilde", encoding="utf-8")
    with open(root / "drafts/bilder/stor.jpg", "wb") as f:
        f.truncate(21 * 1024 * 1024)
    Image.new("RGB", (10, 10)).save(root / "drafts/bilder/bilde.bmp")
    text = DRAFT.replace("![Kart over lokallagene](bilder/kart.png)", markdown)
    (root / "drafts/nyhetsbrev-2026-12.md").write_text(text, encoding="utf-8")
    env = base_env(**smtp.env())
    check = mailer(root, "check", env=env)
    assert check.code == 1
    line = next(x for x in check.err.splitlines() if message in x)
    assert line.startswith("drafts/nyhetsbrev-2026-12.md:10: "), line
    assert "Traceback" not in check.err
    sent = mailer(root, "send", "nyhetsbrev-2026-12", env=env)
    assert sent.code == 1 and len(sent.err.strip().splitlines()) == 1 and message in sent.err
    assert smtp.received == []


@pytest.mark.skipif(shutil.which("spamassassin") is None, reason="Debian's spamassassin is not installed")
@pytest.mark.parametrize("mode", ["hosted", "inline"])
def test_spamassassin_scores_a_newsletter_with_pictures_at_zero_or_below(root, smtp, mode):
    send(root, smtp, f"    pictures: {mode}\n")
    score, details = spamassassin_score(smtp.received[0].data)
    assert score <= 0, details


def kept_copies(root: Path) -> dict[str, Path]:
    """The state folder's checked and scaled pictures, by file name."""
    return {p.name: p for p in (root / ".mailer/scaled").iterdir()}


def previewed_pictures(root: Path, env: dict[str, str]) -> dict[str, bytes]:
    """What `mailer preview` shows of the pictures: its copies in the preview's bilder/."""
    result = mailer(root, "preview", "nyhetsbrev-2026-12", env=env)
    assert result.code == 0, result.err
    return {p.name: p.read_bytes() for p in (root / ".mailer/previews/nyhetsbrev-2026-12/bilder").iterdir()}


def test_a_picture_is_checked_and_scaled_once_and_the_kept_copy_is_what_goes_out(root, smtp):
    env = base_env(**smtp.env())
    first = previewed_pictures(root, env)
    kept = kept_copies(root)
    suffixes = sorted(p.suffix for p in kept.values())
    assert suffixes == [".checked", ".checked", ".jpg", ".json", ".json", ".png"]
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in kept.values())
    assert (root / ".mailer/scaled").stat().st_mode & 0o777 == 0o700
    assert previewed_pictures(root, env) == first, "read back, the same bytes"
    # Swap the kept copy of the map for another picture: the next preview shows that one,
    # which proves the kept copy is read instead of the map being scaled again.
    png = next(p for p in kept.values() if p.suffix == ".png")
    other = io.BytesIO()
    Image.new("RGB", (800, 600), "red").save(other, "PNG")
    png.write_bytes(other.getvalue())
    meta_path = png.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    meta["sha256"] = hashlib.sha256(other.getvalue()).hexdigest()
    meta_path.write_text(json.dumps(meta))
    shown = previewed_pictures(root, env)
    assert other.getvalue() in shown.values()


@pytest.mark.parametrize("damage", ["description", "picture", "both gone"])
def test_a_damaged_kept_copy_is_made_again_from_the_draft_s_picture(root, smtp, damage):
    env = base_env(**smtp.env())
    first = previewed_pictures(root, env)
    jpg = next(p for p in kept_copies(root).values() if p.suffix == ".jpg")
    if damage == "description":
        jpg.with_suffix(".json").write_text("{not json")
    elif damage == "picture":
        jpg.write_bytes(jpg.read_bytes()[:100])
    else:
        jpg.unlink()
        jpg.with_suffix(".json").unlink()
    assert previewed_pictures(root, env) == first
    assert jpg.read_bytes() in first.values()


def test_a_picture_replaced_by_a_broken_file_is_checked_again_and_refused(root, smtp):
    env = base_env(**smtp.env())
    previewed_pictures(root, env)
    (root / "drafts/bilder/kart.png").write_bytes(b"not a picture at all")
    result = mailer(root, "preview", "nyhetsbrev-2026-12", env=env)
    assert result.code == 1 and "bilder/kart.png is not a picture" in result.err
    assert "Traceback" not in result.err


def test_kept_copies_nothing_used_for_three_months_are_removed_when_a_new_one_is_kept(root, smtp):
    env = base_env(**smtp.env())
    previewed_pictures(root, env)
    folder = root / ".mailer/scaled"
    months_ago = time.time() - 91 * 86_400
    own = kept_copies(root)
    for name, path in own.items():  # an old newsletter's picture, and one in use
        for key, when in (("a" * 40, months_ago), ("b" * 40, time.time())):
            copy = folder / (key + name[40:])
            copy.write_bytes(path.read_bytes())
            os.utime(copy, (when, when))
    for path in own.values():  # this newsletter's own: last used months ago too
        os.utime(path, (months_ago, months_ago))
    (folder / ".half-written.png.4242").write_bytes(b"left by a kill")
    os.utime(folder / ".half-written.png.4242", (months_ago, months_ago))
    picture = io.BytesIO()
    Image.new("RGB", (900, 500), "navy").save(picture, "PNG")
    (root / "drafts/bilder/kart.png").write_bytes(picture.getvalue())  # a new picture is kept

    previewed_pictures(root, env)

    keys = {name[:40] for name in kept_copies(root)}
    assert "a" * 40 not in keys, "the old newsletter's picture is gone"
    assert "b" * 40 in keys, "a picture used lately stays"
    assert len(keys) == 3, "this newsletter's pictures, used by the preview, stay"
    assert not (folder / ".half-written.png.4242").exists()
