"""Both written standards: a nynorsk body beside the draft, for members who prefer nynorsk."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import DRAFT, base_env, mailer, small_project

MEMBERS = """\
1,Åse,Ødegård,ase@example.org,Ås,,medlem,2020-01-01,nb
2,Bjørn,Bråten,bjorn@example.org,Bærum,,medlem,2021-05-05,nn
3,Kari,Styre,kari@example.org,Asker,,medlem|fylkesstyremedlem,2019-01-01,nb
"""
NYNORSK = """\
---
subject: "Nyhendebrev: det viktigaste før jul"
---
## Siste nytt

Hei {{ member.first_name }}! Dette er brødteksten på nynorsk.
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = small_project(tmp_path / "fylke", MEMBERS)
    (root / "drafts/nyhetsbrev-2026-12.md").write_text(DRAFT, encoding="utf-8")
    (root / "drafts/nyhetsbrev-2026-12.nn.md").write_text(NYNORSK, encoding="utf-8")
    return root


def approve(root: Path, env: dict[str, str]) -> None:
    assert mailer(root, "preview", "nyhetsbrev-2026-12", env=env).code == 0
    result = mailer(root, "approve", "nyhetsbrev-2026-12", "--by", "Kari Styre", env=env)
    assert result.code == 0, result.err


def test_nynorsk_readers_get_the_nynorsk_body_and_subject_the_others_bokmal(root, smtp):
    env = base_env(**smtp.env())
    approve(root, env)
    result = mailer(root, "send", "nyhetsbrev-2026-12", env=env)
    assert result.code == 0, result.err
    by_address = {r.rcpt_tos[0]: r.message for r in smtp.received}
    assert len(by_address) == 3
    nn = by_address["bjorn@example.org"]
    assert nn["Subject"] == "Nyhendebrev: det viktigaste før jul"
    assert "Hei Bjørn! Dette er brødteksten på nynorsk." in nn.get_body(("plain",)).get_content()
    for address in ("ase@example.org", "kari@example.org"):
        nb = by_address[address]
        assert nb["Subject"] == "Nyhetsbrev: Æ, Ø og Å i emnefeltet"
        assert "Dette er brødteksten med æøå." in nb.get_body(("plain",)).get_content()
        assert "nynorsk" not in nb.get_body(("plain",)).get_content()


def test_the_nynorsk_body_is_not_a_mailing_of_its_own(root):
    schedule = mailer(root, "schedule", "--days", "400", "--now", "2026-12-01T12:00")
    assert schedule.code == 0 and "nyhetsbrev-2026-12.nn" not in schedule.out
    sent = mailer(root, "send", "nyhetsbrev-2026-12.nn")
    assert sent.code == 1 and "is the nynorsk body of nyhetsbrev-2026-12" in sent.err


def test_editing_the_nynorsk_body_voids_the_approval(root, smtp):
    env = base_env(**smtp.env())
    approve(root, env)
    nn = root / "drafts/nyhetsbrev-2026-12.nn.md"
    nn.write_text(nn.read_text("utf-8").replace("på nynorsk", "på nynorsk, retta"), encoding="utf-8")
    result = mailer(root, "send", "nyhetsbrev-2026-12", env=env)
    assert result.code == 1 and "changed since it was approved" in result.err
    assert smtp.received == []


def test_check_warns_when_nynorsk_readers_exist_and_the_nynorsk_body_is_missing(root):
    (root / "drafts/nyhetsbrev-2026-12.nn.md").unlink()
    result = mailer(root, "check")
    assert result.code == 0, result.err
    assert (
        "warning: drafts/nyhetsbrev-2026-12.md: 1 readers prefer nynorsk and "
        "drafts/nyhetsbrev-2026-12.nn.md does not exist" in result.err
    )


def test_check_is_quiet_about_nynorsk_when_the_body_exists(root):
    result = mailer(root, "check")
    assert result.code == 0 and "nynorsk" not in result.err


def test_a_nynorsk_body_without_a_subject_is_refused_naming_the_file(root, smtp):
    nn = root / "drafts/nyhetsbrev-2026-12.nn.md"
    nn.write_text(NYNORSK.replace('subject: "Nyhendebrev: det viktigaste før jul"\n', "preheader: Kort\n"))
    check = mailer(root, "check")
    assert check.code == 1
    assert "drafts/nyhetsbrev-2026-12.nn.md:1: subject: required key is missing" in check.err
    sent = mailer(root, "send", "nyhetsbrev-2026-12", env=base_env(**smtp.env()))
    assert sent.code == 1 and len(sent.err.strip().splitlines()) == 1 and "Traceback" not in sent.err
    assert smtp.received == []


def test_a_nynorsk_body_cannot_set_when_or_to_whom(root):
    nn = root / "drafts/nyhetsbrev-2026-12.nn.md"
    nn.write_text(NYNORSK.replace("---\n## Siste", "send_at: 2026-12-24T10:00\n---\n## Siste"))
    check = mailer(root, "check")
    assert check.code == 1
    assert "drafts/nyhetsbrev-2026-12.nn.md:3: send_at: unknown key" in check.err
    assert "set in the bokmål draft" in check.err
