"""What board members, secretaries and member files put into mail cannot run code or break headers.

Drafts and subjects render in Jinja's sandbox; a mailing id names a known mailing or nothing;
member placeholders in a draft's subject are filled in per member; control characters in a
member's fields never reach a header; previews and test copies show an invented member.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from conftest import MEMBERS_HEADER, WELCOME, base_env, mailer, small_project

MEMBERS = """\
1,Åse,Ødegård,ase@example.org,Ås,,"medlem, tillitsvalgt",2020-01-01,nb
2,Bjørn,Bråten,bjorn@example.org,Bærum,,medlem,2021-05-05,nn
3,Kari,Styre,kari@example.org,Asker,,medlem|fylkesstyremedlem,2019-01-01,nb
"""
DRAFT = """\
---
subject: "{subject}"
---
## Nytt

Hei {{{{ member.first_name }}}}! {body}
"""


def project(tmp_path: Path, subject: str = "Nyhetsbrev", body: str = "", members: str = MEMBERS) -> Path:
    root = small_project(tmp_path / "fylke", members)
    draft = DRAFT.format(subject=subject, body=body)
    (root / "drafts" / "nyhetsbrev-2026-12.md").write_text(draft, encoding="utf-8")
    return root


def approve(root: Path, env: dict[str, str], mailing: str = "nyhetsbrev-2026-12") -> None:
    assert mailer(root, "preview", mailing, env=env).code == 0
    result = mailer(root, "approve", mailing, "--by", "Kari Styre", env=env)
    assert result.code == 0, result.err


ESCAPE = "{{ ''.__class__.__mro__[1].__subclasses__() }}"


def test_a_draft_that_reaches_for_python_internals_fails_check_with_one_line_naming_the_draft(tmp_path):
    root = project(tmp_path, body=ESCAPE)
    result = mailer(root, "check")
    assert result.code == 1
    assert "drafts/nyhetsbrev-2026-12.md" in result.err and "unsafe" in result.err
    assert "Traceback" not in result.err


def test_a_subject_that_reaches_for_python_internals_is_never_sent(tmp_path, smtp):
    root = project(tmp_path, subject="{{ member.__class__.__init__.__globals__ }}")
    env = base_env(**smtp.env())
    result = mailer(root, "preview", "nyhetsbrev-2026-12", env=env)
    assert result.code == 1 and "unsafe" in result.err and "Traceback" not in result.err
    assert mailer(root, "send", "nyhetsbrev-2026-12", env=env).code == 1
    assert smtp.received == []


@pytest.mark.parametrize("mailing_id", ["../hemmelig", "{root}/hemmelig", "../../fylke/hemmelig"])
def test_a_mailing_id_outside_the_drafts_folder_is_refused_and_the_file_is_not_read(tmp_path, mailing_id):
    root = project(tmp_path)
    (root / "hemmelig.md").write_text("---\nsubject: HEMMELIG EMNE\n---\nHEMMELIG\n", encoding="utf-8")
    result = mailer(root, "preview", mailing_id.format(root=root))
    assert result.code == 1 and "no mailing" in result.err
    assert "HEMMELIG" not in result.out + result.err
    assert not (root / ".mailer" / "previews").exists() or not any(
        b"HEMMELIG" in p.read_bytes() for p in (root / ".mailer" / "previews").rglob("*") if p.is_file()
    )


def test_member_placeholders_in_a_draft_subject_are_filled_in_for_each_member(tmp_path, smtp):
    root = project(tmp_path, subject="Hei {{ member.first_name }}, her er desember")
    env = base_env(**smtp.env())
    approve(root, env)
    assert mailer(root, "send", "nyhetsbrev-2026-12", env=env).code == 0
    subjects = {r.rcpt_tos[0]: str(r.message["Subject"]) for r in smtp.received}
    assert subjects == {
        "ase@example.org": "Hei Åse, her er desember",
        "bjorn@example.org": "Hei Bjørn, her er desember",
        "kari@example.org": "Hei Kari, her er desember",
    }


CONTROLS = ["\x0b", "\x0c", "\x1b", "\x85", "\x9b", "\u2028"]


@pytest.mark.parametrize("control", CONTROLS, ids=[hex(ord(c)) for c in CONTROLS])
def test_control_characters_in_a_member_name_never_reach_the_subject_or_to_header(tmp_path, smtp, control):
    rows = (
        f"10,Vera{control}Tabulator,Ny,vera@example.org,Ås,,medlem,2026-11-20,nb\n"
        "11,Åse,Fersk,ase@example.org,Ås,,medlem,2026-11-21,nb\n"
    )
    root = small_project(tmp_path / "fylke", "", WELCOME)
    (root / "recipients" / "members.csv").write_text(MEMBERS_HEADER + rows, encoding="utf-8")
    env = base_env(**smtp.env())
    first = mailer(root, "run-due", "--now", "2026-11-25T10:05", env=env)
    assert first.code == 0, first.err
    assert sorted(r.rcpt_tos[0] for r in smtp.received) == ["ase@example.org", "vera@example.org"]
    [vera] = [r for r in smtp.received if r.rcpt_tos[0] == "vera@example.org"]
    head = vera.data.split(b"\r\n\r\n", 1)[0]
    assert not any(ch.encode() in head for ch in CONTROLS)
    assert control not in str(vera.message["Subject"]) and control not in str(vera.message["To"])
    assert str(vera.message["Subject"]) == "Velkommen som medlem, Vera Tabulator!"
    assert mailer(root, "run-due", "--now", "2026-11-26T10:05", env=env).code == 0


PHONE_MEMBERS = (
    "id,first_name,last_name,email,municipality,chapter,roles,joined,language,telefon\n"
    "1,Åse,Ødegård,ase@example.org,Bærum,Bærum Sp,tillitsvalgt,2020-01-01,nb,91234567\n"
    "3,Kari,Styre,kari@example.org,Asker,,medlem|fylkesstyremedlem,2019-01-01,nb,97654321\n"
)


def phone_project(tmp_path: Path) -> Path:
    root = project(tmp_path, body="Ring {{ member.telefon }}. Du bor i {{ member.municipality }}.")
    (root / "recipients" / "members.csv").write_text(PHONE_MEMBERS, encoding="utf-8")
    return root


def test_the_preview_shows_an_invented_member_in_every_field(tmp_path):
    root = phone_project(tmp_path)
    result = mailer(root, "preview", "nyhetsbrev-2026-12")
    assert result.code == 0, result.err
    files = [p for p in (root / ".mailer" / "previews").rglob("*") if p.is_file()]
    text = b"".join(p.read_bytes() for p in files).decode("utf-8")
    assert "Hei Ola!" in text and "(eksempel)" in text
    for real in ("Åse", "ase@example.org", "91234567", "Bærum", "kari@example.org", "97654321"):
        assert real not in text, real


def test_the_board_s_test_copies_carry_invented_member_data(tmp_path, smtp):
    root = phone_project(tmp_path)
    result = mailer(root, "preview", "nyhetsbrev-2026-12", "--to-board", env=base_env(**smtp.env()))
    assert result.code == 0, result.err
    [copy] = smtp.received
    assert copy.rcpt_tos == ["kari@example.org"]
    body = copy.message.get_body(("plain",)).get_content()
    assert "(eksempel)" in body and "91234567" not in body and "97654321" not in body
    assert "Bærum" not in body and "Asker" not in body


def test_a_newsletter_sent_before_its_planned_time_shows_as_sent_in_the_schedule(tmp_path, smtp):
    later = (dt.date.today() + dt.timedelta(days=5)).isoformat()
    root = project(tmp_path)
    draft = root / "drafts" / "nyhetsbrev-2026-12.md"
    draft.write_text(
        draft.read_text("utf-8").replace('"\n---', f'"\nsend_at: {later}T18:00\n---', 1), "utf-8"
    )
    env = base_env(**smtp.env())
    approve(root, env)
    assert mailer(root, "send", "nyhetsbrev-2026-12", env=env).code == 0
    rows = json.loads(mailer(root, "schedule", "--json", env=env).out)
    [row] = [r for r in rows if r["id"] == "nyhetsbrev-2026-12"]
    assert row["state"] == "sent"


def test_preview_out_onto_an_existing_file_is_one_clear_line(tmp_path):
    root = project(tmp_path)
    taken = tmp_path / "taken.html"
    taken.write_text("mine", encoding="utf-8")
    result = mailer(root, "preview", "nyhetsbrev-2026-12", "--out", str(taken))
    assert result.code == 1 and str(taken) in result.err and "Traceback" not in result.err
    assert taken.read_text("utf-8") == "mine"
