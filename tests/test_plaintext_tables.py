"""The text part of a mail with a table: one line per row, the cells apart, the header too.

Run together, a new member's name, address and phone number read as one word
("Åse Ferskase@example.org40000002Ås"), and a mail program links a wrong address. Sent through
the real command line to a real SMTP server, and read back with the `email` package.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from conftest import WELCOME as BARE_WELCOME
from conftest import approve_and_preview, base_env, mailer, small_project

OSLO = ZoneInfo("Europe/Oslo")
TODAY = dt.datetime.now(OSLO).date()
JOINED = (TODAY - dt.timedelta(days=3)).isoformat()

WELCOME = BARE_WELCOME + "    chapter_notice: {template: chapter-notice}\n"
HEADER = "id,first_name,last_name,email,municipality,chapter,roles,joined,language,telefon\n"
MEMBERS = (
    "1,Ola,Leder,ola@example.org,Ås,Ås Sp,medlem|lokallagsleder,2019-03-01,nb,40000001\n"
    f"2,Åse,Fersk,ase@example.org,Ås,Ås Sp,medlem,{JOINED},nb,40000002\n"
    f"3,Nils,Utentelefon,nils@example.org,Nordre Follo,Ås Sp,medlem,{JOINED},nb,\n"
    "4,Kari,Annenleder,kari@example.org,Asker,Asker Sp,medlem|lokallagsleder,2019-01-01,nn,40000004\n"
    f"5,Dina,Asker,dina@example.org,Asker,Asker Sp,medlem,{JOINED},nb,40000005\n"
)


def text_part(message) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def notice_to(smtp, address: str):
    [got] = [r for r in smtp.handler.to(address) if "-lokallag@" in r.message["X-Mailer-Mailing"]]
    return got.message


@pytest.fixture
def notices(tmp_path, smtp):
    root = small_project(tmp_path / "p", "", WELCOME)
    (root / "recipients" / "members.csv").write_text(HEADER + MEMBERS, "utf-8")
    result = mailer(root, "run-due", "--now", f"{TODAY.isoformat()}T10:00", env=base_env(**smtp.env()))
    assert result.code == 0, result.err
    return smtp


def test_each_new_member_is_a_line_of_its_own_with_name_address_phone_and_municipality_apart(notices):
    text = text_part(notice_to(notices, "ola@example.org"))

    table = (
        "  Navn · E-post · Telefon · Kommune\n"
        "  Åse Fersk · ase@example.org · 40000002 · Ås\n"
        "  Nils Utentelefon · nils@example.org · – · Nordre Follo\n"
    )
    assert f"og fortell om lokallaget.\n\n{table}\nTestfylket Senterparti\nDu får denne e-posten" in text


def test_an_address_in_the_table_is_never_glued_to_the_next_word(notices):
    text = text_part(notice_to(notices, "ola@example.org"))

    for address in ("ase@example.org", "nils@example.org"):
        after = text[text.index(address) + len(address) :]
        assert after.startswith(" · ")
    assert "ase@example.org40000002" not in text and "Åse Ferskase" not in text


def test_the_nynorsk_notice_has_its_header_row_and_member_rows_the_same_way(notices):
    text = text_part(notice_to(notices, "kari@example.org"))

    assert (
        "\n\n  Namn · E-post · Telefon · Kommune\n  Dina Asker · dina@example.org · 40000005 · Asker\n\n"
        in text
    )


NEWSLETTER = """\
---
subject: "Nyhetsbrev med tabell"
send_at: {send_at}
---
## Møteplan

Her er vårens møter.

| Dato | Møte | Sted |
|---|---|---|
| 3. mars | Årsmøte | Lillestrøm |
| 10. mars | Kurs | |

**[Meld deg på](https://medlem.testfylket.example/kurs)**

Vel møtt!
"""


def test_a_newsletters_markdown_table_gets_a_line_per_row_and_its_button_stays_a_paragraph(tmp_path, smtp):
    root = small_project(tmp_path / "p", "1,Åse,Ødegård,ase@example.org,Ås,Ås Sp,medlem,2020-01-01,nb\n")
    send_at = f"{(TODAY + dt.timedelta(days=1)).isoformat()}T18:00"
    (root / "drafts" / "nyhetsbrev-tabell.md").write_text(NEWSLETTER.format(send_at=send_at), "utf-8")
    env = base_env(**smtp.env())
    approve_and_preview(root, "nyhetsbrev-tabell", env=env)

    result = mailer(root, "send", "nyhetsbrev-tabell", env=env)

    assert result.code == 0, result.err
    [got] = smtp.received
    text = text_part(got.message)
    assert (
        "Her er vårens møter.\n\n"
        "  Dato · Møte · Sted\n"
        "  3. mars · Årsmøte · Lillestrøm\n"
        "  10. mars · Kurs\n\n"
        "Meld deg på (https://medlem.testfylket.example/kurs)\n\n"
        "Vel møtt!\n"
    ) in text
