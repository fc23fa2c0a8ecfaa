"""New members at the edges: a second export the same day, a first import that held no one, a
notice turned on late, leaders who stopped the mail, a chapter spelled
two ways. Each test runs `mailer run-due` on a small project, on days counted from today."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from conftest import WELCOME, base_env, mailer, small_project

TODAY = dt.date.today()
HEADER = "id,first_name,last_name,email,municipality,chapter,roles,joined,language,phone\n"
LEADERS = (
    '1,Leder,Aas,leder.aas@example.org,Ås,Ås Senterparti,"medlem, lokallagsleder",,nb,11111111\n'
    '2,Leder,Ski,leder.ski@example.org,Nordre Follo,Ski Senterparti,"medlem, lokallagsleder",,nb,22\n'
)
OLD = "3,Gammel,Medlem,gammel@example.org,Ås,Ås Senterparti,medlem,,nb,33333333\n"
FOUR = "4,Ny,Fire,ny4@example.org,Ås,Ås Senterparti,medlem,,nb,44444444\n"
FIVE = "5,Ny,Fem,ny5@example.org,Ås,Ås Senterparti,medlem,,nb,55555555\n"
SIX = "6,Ny,Seks,ny6@example.org,Ås,Ås Senterparti,medlem,,nb,66666666\n"
OFFICE = "sekretaer@testfylket.example"
NOBODY = "velkommen: 0 sent\n  none of the 4 in its audience is due it"
NOTICE = "    chapter_notice: {template: chapter-notice}\n"


def at(days: int, time: str) -> str:
    """`--now` for a day counted from today."""
    return f"{TODAY + dt.timedelta(days=days)}T{time}"


def make(tmp_path: Path, rows: str, notice: bool = True) -> Path:
    root = small_project(tmp_path / "p", "", WELCOME + (NOTICE if notice else ""))
    export(root, rows)
    return root


def export(root: Path, rows: str, header: str = HEADER) -> None:
    (root / "recipients" / "members.csv").write_text(header + rows, "utf-8")


def run_due(root: Path, now: str, smtp) -> str:
    result = mailer(root, "run-due", "--now", now, env=base_env(**smtp.env()))
    assert result.code == 0, result.err
    assert "Traceback" not in result.err
    return result.out


def received(smtp) -> list[tuple[str, str]]:
    """(recipient, mailing id) of every message, in the order the server got them."""
    return [(r.rcpt_tos[0], r.message["X-Mailer-Mailing"]) for r in smtp.received]


def text_of(message) -> str:
    return " ".join(message.get_body(("plain",)).get_content().split())


def named(message) -> list[str]:
    """The new members a notice lists, by name."""
    text = text_of(message)
    return [n for n in ("Gammel Medlem", "Ny Fire", "Ny Fem", "Ny Seks", "Leder Aas") if n in text]


def test_members_of_a_second_export_the_same_day_get_a_notice_of_their_own(tmp_path, smtp, engine):
    root = make(tmp_path, LEADERS + OLD)
    run_due(root, at(-1, "09:00"), smtp)
    export(root, LEADERS + OLD + FOUR)
    out = run_due(root, at(0, "10:05"), smtp)
    assert f"velkommen-lokallag@{TODAY}/as-senterparti: 1 sent" in out
    export(root, LEADERS + OLD + FOUR + FIVE)
    out = run_due(root, at(0, "14:05"), smtp)
    assert f"velkommen-lokallag@{TODAY}/as-senterparti-2: 1 sent" in out
    run_due(root, at(0, "14:10"), smtp)
    run_due(root, at(1, "10:05"), smtp)
    assert received(smtp) == [
        ("ny4@example.org", "velkommen"),
        ("leder.aas@example.org", f"velkommen-lokallag@{TODAY}/as-senterparti"),
        ("ny5@example.org", "velkommen"),
        ("leder.aas@example.org", f"velkommen-lokallag@{TODAY}/as-senterparti-2"),
    ]
    first, second = (smtp.received[i].message for i in (1, 3))
    assert named(first) == ["Ny Fire"] and "44444444" in text_of(first)
    assert named(second) == ["Ny Fem"] and "55555555" in text_of(second)


def test_a_first_import_of_the_header_alone_does_not_make_every_member_new(tmp_path, smtp, engine):
    root = make(tmp_path, "")  # as `mailer init` leaves it, and cron ran before the export came
    run_due(root, at(-1, "09:00"), smtp)
    export(root, LEADERS + OLD + FOUR)
    assert run_due(root, at(0, "10:05"), smtp).startswith(NOBODY)
    assert received(smtp) == []
    export(root, LEADERS + OLD + FOUR + FIVE)
    run_due(root, at(1, "10:05"), smtp)
    assert received(smtp) == [
        ("ny5@example.org", "velkommen"),
        ("leder.aas@example.org", f"velkommen-lokallag@{TODAY + dt.timedelta(days=1)}/as-senterparti"),
    ]
    assert named(smtp.received[1].message) == ["Ny Fem"]


def test_a_ledger_that_started_with_an_empty_import_starts_again_with_the_first_members(tmp_path, smtp):
    root = make(tmp_path, "")
    run_due(root, at(-2, "09:00"), smtp)
    db = sqlite3.connect(root / ".mailer" / "state.db")
    with db:  # as an earlier version left it: the register started with the header alone
        db.execute(
            "INSERT INTO meta (key, value) VALUES ('register_started', ?)", (f"{at(-2, '08:00')}:00+00:00",)
        )
    db.close()
    export(root, LEADERS + OLD + FOUR)
    assert run_due(root, at(-1, "10:05"), smtp).startswith(NOBODY)
    export(root, LEADERS + OLD + FOUR + FIVE)
    run_due(root, at(0, "10:05"), smtp)
    assert received(smtp) == [
        ("ny5@example.org", "velkommen"),
        ("leder.aas@example.org", f"velkommen-lokallag@{TODAY}/as-senterparti"),
    ]


def test_a_notice_turned_on_later_names_only_members_welcomed_in_the_last_day(tmp_path, smtp):
    root = make(tmp_path, LEADERS + OLD, notice=False)
    run_due(root, at(-90, "09:00"), smtp)
    export(root, LEADERS + OLD + FOUR)
    run_due(root, at(-84, "10:05"), smtp)
    export(root, LEADERS + OLD + FOUR + FIVE)
    run_due(root, at(-2, "10:05"), smtp)
    smtp.received.clear()
    schedules = root / "schedules.yaml"
    schedules.write_text(schedules.read_text("utf-8") + NOTICE, "utf-8")
    export(root, LEADERS + OLD + FOUR + FIVE + SIX)
    run_due(root, at(0, "10:05"), smtp)
    assert received(smtp) == [
        ("ny6@example.org", "velkommen"),
        ("leder.aas@example.org", f"velkommen-lokallag@{TODAY}/as-senterparti"),
    ]
    notice = smtp.received[1].message
    assert named(notice) == ["Ny Seks"]
    assert "I dag har 1 nye medlemmer" in text_of(notice)


@pytest.mark.parametrize("how", ["unsubscribed", "bouncing"])
def test_a_chapter_whose_leaders_all_stopped_the_mail_gets_its_notice_at_the_county_office(
    tmp_path, smtp, how
):
    second = '7,Nestleder,Aas,nestleder@example.org,Ås,Ås Senterparti,"medlem, lokallagsleder",,nb,77\n'
    root = make(tmp_path, LEADERS + second + OLD)
    run_due(root, at(-3, "09:00"), smtp)
    export(root, LEADERS + second + OLD + FOUR)
    if how == "bouncing":  # refused at send time: a hard bounce, and the address is suppressed
        smtp.handler.reject["nestleder@example.org"] = "550 5.1.1 <nestleder@example.org>: no such user"
    run_due(root, at(-2, "10:05"), smtp)
    assert mailer(root, "unsubscribe", "leder.aas@example.org").code == 0
    if how == "unsubscribed":
        assert mailer(root, "unsubscribe", "nestleder@example.org").code == 0
    smtp.received.clear()
    export(root, LEADERS + second + OLD + FOUR + FIVE)
    result = mailer(root, "run-due", "--now", at(0, "10:05"), env=base_env(**smtp.env()))
    assert result.code == 0, result.err
    assert received(smtp) == [
        ("ny5@example.org", "velkommen"),
        (OFFICE, f"velkommen-lokallag@{TODAY}/as-senterparti"),
    ]
    assert named(smtp.received[1].message) == ["Ny Fem"]
    assert (
        f"velkommen-lokallag@{TODAY}/as-senterparti: every leader of Ås Senterparti has unsubscribed "
        f"from it or has an address that bounces; the notice goes to the county office ({OFFICE}) instead"
    ) in result.err
    assert "Traceback" not in result.err


def test_the_welcome_names_the_leader_of_a_chapter_spelled_another_way(tmp_path, smtp):
    root = make(tmp_path, LEADERS + OLD)
    run_due(root, at(-1, "09:00"), smtp)
    export(root, LEADERS + OLD + FOUR.replace("Ås Senterparti", "ÅS  SENTERPARTI"))
    run_due(root, at(0, "10:05"), smtp)
    assert received(smtp) == [
        ("ny4@example.org", "velkommen"),
        ("leder.aas@example.org", f"velkommen-lokallag@{TODAY}/as-senterparti"),
    ]
    welcome = text_of(smtp.received[0].message)
    assert "Leder der er Leder Aas." in welcome and "ikke valgt" not in welcome
