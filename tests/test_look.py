"""The organisation's look: a logo and colours from schedules.yaml in every kind of message."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from conftest import DRAFT, base_env, mailer, small_project
from PIL import Image
from webapp import SECRET, start_web

MEMBERS = """\
1,Åse,Ødegård,ase@example.org,Ås,Ås Sp,"medlem, tillitsvalgt",2026-11-10,nb
2,Bjørn,Bråten,bjorn@example.org,Bærum,Bærum Sp,"medlem, tillitsvalgt",2021-05-05,nn
"""
MAILINGS = """\
  tirsdagsmote:
    kind: invitation
    template: invitation
    audience: tillitsvalgte
    subject: "Tirsdagsmøte {{ meeting.start|datetime }}"
    meeting:
      title: Tirsdagsmøte
      location: Digitalt
      time: "08:00"
      duration: 45m
      dates: [2026-11-24]
    invite: {days_before: 3, at: "09:00"}
  velkommen:
    kind: welcome
    template: welcome
    audience: alle
    subject: "Velkommen, {{ member.first_name }}!"
"""
LOOK = """\
  logo: grafikk/logo.png
  colours: {primary: "#7a1f5c", on_primary: "#ffffff", background: "#faf5f8", text: "#222222"}
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = small_project(tmp_path / "fylke", MEMBERS, MAILINGS)
    (root / "grafikk").mkdir()
    Image.new("RGB", (1000, 250), (122, 31, 92)).save(root / "grafikk/logo.png")
    set_look(root, LOOK)
    (root / "drafts/nyhetsbrev-2026-12.md").write_text(DRAFT, encoding="utf-8")
    return root


def set_look(root: Path, look: str) -> None:
    text = (root / "schedules.yaml").read_text("utf-8")
    text = text.replace("  approvals_required: 1\n", "  approvals_required: 1\n" + look, 1)
    (root / "schedules.yaml").write_text(text, "utf-8")


def send_every_kind(root: Path, smtp) -> dict[str, str]:
    env = base_env(**smtp.env())
    assert mailer(root, "preview", "nyhetsbrev-2026-12", env=env).code == 0
    assert mailer(root, "approve", "nyhetsbrev-2026-12", "--by", "Kari Styre", env=env).code == 0
    html = {}
    for mailing, now in (
        ("nyhetsbrev-2026-12", "2026-11-20T12:00"),
        ("tirsdagsmote@2026-11-24", "2026-11-21T09:00"),
        ("velkommen", "2026-11-20T10:00"),
    ):
        before = len(smtp.received)
        result = mailer(root, "send", mailing, "--now", now, env=env)
        assert result.code == 0, result.err
        html[mailing] = smtp.received[before].message.get_body(("html",)).get_content()
    return html


def test_every_kind_of_message_shows_the_logo_and_the_organisations_colour(root, smtp):
    html = send_every_kind(root, smtp)
    logos = {
        re.search(r'<img[^>]+alt="Testfylket Senterparti"[^>]+src="([^"]+)"', h)
        or re.search(r'<img[^>]+src="([^"]+)"[^>]+alt="Testfylket Senterparti"', h)
        for h in html.values()
    }
    urls = {m[1] for m in logos if m}
    assert len(urls) == 1, html["velkommen"][:3000]
    url = urls.pop()
    assert url.startswith("https://medlem.testfylket.example/bilder/") and url.endswith(".png")
    for kind, h in html.items():
        assert "#7a1f5c" in h, kind
        assert "#00843d" not in h, kind
    server = start_web(root, base_env(MAILER_SECRET=SECRET))
    try:
        got = httpx.get(server.local(url), timeout=10)
    finally:
        server.stop()
    assert got.status_code == 200 and got.headers["content-type"] == "image/png"


def test_a_logo_that_does_not_exist_is_refused_naming_the_key(root, smtp):
    (root / "grafikk/logo.png").unlink()
    check = mailer(root, "check")
    assert check.code == 1
    assert "schedules.yaml: organisation.logo: grafikk/logo.png does not exist" in check.err
    sent = mailer(
        root, "send", "tirsdagsmote@2026-11-24", "--now", "2026-11-21T09:00", env=base_env(**smtp.env())
    )
    assert sent.code == 1 and "organisation.logo" in sent.err and "Traceback" not in sent.err
    assert smtp.received == []


def test_a_logo_outside_the_project_is_refused(root):
    set_look(root, "  logo: ../../../etc/hostname\n")
    text = (root / "schedules.yaml").read_text("utf-8").replace(LOOK.splitlines()[0] + "\n", "")
    (root / "schedules.yaml").write_text(text, "utf-8")
    check = mailer(root, "check")
    assert (
        check.code == 1
        and "organisation.logo: ../../../etc/hostname is outside the project folder" in check.err
    )


def test_a_colour_that_is_not_hex_is_refused_with_its_key_path(root):
    text = (root / "schedules.yaml").read_text("utf-8").replace('primary: "#7a1f5c"', "primary: lilla")
    (root / "schedules.yaml").write_text(text, "utf-8")
    check = mailer(root, "check")
    assert check.code == 1
    assert "organisation.colours.primary: 'lilla' is not a colour; write it as #rrggbb" in check.err


def test_a_logo_checked_once_is_not_decoded_again_by_later_commands(root, smtp):
    env = base_env(**smtp.env())
    assert mailer(root, "preview", "nyhetsbrev-2026-12", env=env).code == 0  # checks and keeps the logo
    report = mailer(root, "check", env=env | {"PYTHONPROFILEIMPORTTIME": "1"})  # Python lists its imports
    assert report.code == 0, report.err
    imported = re.findall(r"^import time:.*\|\s*(\S+)$", report.err, re.MULTILINE)
    assert "mailer.project.look" in imported
    assert [m for m in imported if m.split(".")[0] == "PIL"] == [], "the logo was decoded again"
    (root / "grafikk/logo.png").write_bytes(b"not a picture")  # new bytes: checked again, and refused
    broken = mailer(root, "check", env=env)
    assert broken.code == 1 and "grafikk/logo.png is not a picture" in broken.err
