"""New members followed up: a daily notice to their chapter's leader, and a second mail later."""

from __future__ import annotations

import sqlite3

import pytest
from conftest import base_env, mailer, small_project

SUBJECT = (
    "{% if language == 'nn' %}Velkomen{% else %}Velkommen{% endif %} som medlem, {{ member.first_name }}!"
)
WELCOME = f"""\
  velkommen:
    kind: welcome
    template: welcome
    audience: alle
    subject: "{SUBJECT}"
    window_days: 30
    at: "10:00"
    chapter_notice: {{template: chapter-notice}}
    follow_up: {{days_after: 30, template: follow-up}}
"""
HEADER = "id,first_name,last_name,email,municipality,chapter,roles,joined,language,telefon\n"
MEMBERS = (
    "1,Ola,Leder,ola@example.org,Ås,Ås Sp,medlem|lokallagsleder,2019-03-01,nb,40000001\n"
    "2,Åse,Fersk,ase@example.org,Ås,Ås Sp,medlem,2026-11-20,nb,40000002\n"
    "3,Bjørn,Ny,bjorn@example.org,Bærum,Bærum Sp,medlem,2026-11-20,nn,\n"
    "4,Nils,Nyleder,nils@example.org,Nordre Follo,Ås Sp,medlem|lokallagsleder,2026-11-21,nb,40000004\n"
    "5,Kari,Annenleder,kari@example.org,Asker,Asker Sp,medlem|lokallagsleder,2019-01-01,nn,40000005\n"
    "6,Dina,Asker,dina@example.org,Asker,Asker Sp,medlem,2026-11-22,nb,40000006\n"
)
LATER = "7,Eli,Seinere,eli@example.org,Ås,Ås Sp,medlem,2026-11-25,nb,40000007\n"
OFFICE = "sekretaer@testfylket.example"


@pytest.fixture
def root(tmp_path):
    root = small_project(tmp_path / "p", "", WELCOME)
    (root / "recipients" / "members.csv").write_text(HEADER + MEMBERS, "utf-8")
    schedules = root / "schedules.yaml"
    text = schedules.read_text("utf-8").replace(
        "  approvals_required: 1\n",
        "  approvals_required: 1\n  links:\n    Kurs for nye medlemmer: https://medlem.testfylket.example/kurs\n",
    )
    schedules.write_text(text, "utf-8")
    return root


def run_due(root, now, smtp) -> str:
    result = mailer(root, "run-due", "--now", now, env=base_env(**smtp.env()))
    assert result.code == 0, result.err
    return result.out


def notices(smtp) -> dict[str, list]:
    """Recipient → the chapter notices they received."""
    out: dict[str, list] = {}
    for got in smtp.received:
        if "-lokallag@" in got.message["X-Mailer-Mailing"]:
            out.setdefault(got.rcpt_tos[0], []).append(got.message)
    return out


def text_of(message) -> str:
    return " ".join(message.get_body(("plain",)).get_content().split())


def test_the_chapter_leader_gets_one_notice_naming_the_new_members_with_address_phone_and_municipality(
    root, smtp
):
    run_due(root, "2026-11-24T10:00", smtp)
    [notice] = notices(smtp)["ola@example.org"]
    text = text_of(notice)
    assert notice["Subject"] == "Nye medlemmer i Ås Sp"
    assert "Åse Fersk" in text and "ase@example.org" in text and "40000002" in text and "Ås" in text
    assert "Nils Nyleder" in text and "nils@example.org" in text and "Nordre Follo" in text
    assert "Bjørn" not in text and "Dina" not in text


def test_a_new_member_who_leads_their_chapter_gets_no_notice_about_themself(root, smtp):
    run_due(root, "2026-11-24T10:00", smtp)
    assert "nils@example.org" not in notices(smtp)


def test_a_leader_of_another_chapter_hears_only_of_their_own_chapter_in_nynorsk(root, smtp):
    run_due(root, "2026-11-24T10:00", smtp)
    [notice] = notices(smtp)["kari@example.org"]
    assert notice["Subject"] == "Nye medlemer i Asker Sp"
    text = text_of(notice)
    assert "Dina Asker" in text and "Namn" in text
    assert "Åse" not in text and "Bjørn" not in text


def test_a_chapter_without_a_leader_falls_back_to_the_county_office(root, smtp):
    run_due(root, "2026-11-24T10:00", smtp)
    [notice] = notices(smtp)[OFFICE]
    assert notice["Subject"] == "Nye medlemmer i Bærum Sp"
    assert "Bjørn Ny" in text_of(notice) and "ingen leder" in text_of(notice)
    assert "bjorn@example.org" not in notices(smtp), "never the new member themself"


def test_each_new_member_is_named_in_one_notice_only_and_later_ones_the_next_day(root, smtp):
    run_due(root, "2026-11-24T10:00", smtp)
    run_due(root, "2026-11-24T10:05", smtp)
    run_due(root, "2026-11-25T10:00", smtp)
    assert len(notices(smtp)["ola@example.org"]) == 1
    (root / "recipients" / "members.csv").write_text(HEADER + MEMBERS + LATER, "utf-8")
    run_due(root, "2026-11-26T10:00", smtp)
    _first, second = notices(smtp)["ola@example.org"]
    assert "Eli Seinere" in text_of(second) and "Åse" not in text_of(second)
    assert second["X-Mailer-Mailing"] == "velkommen-lokallag@2026-11-26/as-sp"


def test_a_notice_noted_but_never_planned_because_of_a_kill_goes_out_at_the_next_run(root, smtp):
    run_due(root, "2026-11-24T10:00", smtp)
    notice = "velkommen-lokallag@2026-11-24/as-sp"
    db = sqlite3.connect(root / ".mailer" / "state.db")
    with db:  # as if killed after noting the members, before the notice's mailing was planned
        db.execute("DELETE FROM deliveries WHERE mailing_id = ?", (notice,))
        db.execute("DELETE FROM mailings WHERE id = ?", (notice,))
    db.close()
    smtp.received.clear()

    run_due(root, "2026-11-24T10:05", smtp)
    [again] = notices(smtp)["ola@example.org"]
    assert again["X-Mailer-Mailing"] == notice and "Åse Fersk" in text_of(again)
    assert list(notices(smtp)) == ["ola@example.org"], "the notices that went out are not sent again"


def test_the_welcome_never_names_the_new_member_as_their_own_chapter_leader(root, smtp):
    run_due(root, "2026-11-24T10:00", smtp)
    [welcome] = [
        r.message for r in smtp.handler.to("nils@example.org") if r.message["X-Mailer-Mailing"] == "velkommen"
    ]
    assert "Leder der er Ola Leder" in text_of(welcome)


def test_the_nynorsk_welcome_has_a_nynorsk_subject(root, smtp):
    run_due(root, "2026-11-24T10:00", smtp)
    [welcome] = smtp.handler.to("bjorn@example.org")
    assert welcome.message["Subject"] == "Velkomen som medlem, Bjørn!"


def test_the_follow_up_goes_once_days_after_the_welcome_in_the_members_language(root, smtp):
    run_due(root, "2026-11-24T10:00", smtp)
    smtp.received.clear()
    run_due(root, "2026-12-23T10:00", smtp)
    assert smtp.received == [], "29 days after the welcome: not yet"
    run_due(root, "2026-12-24T10:00", smtp)
    follow_ups = {
        r.rcpt_tos[0]: r.message
        for r in smtp.received
        if r.message["X-Mailer-Mailing"] == "velkommen-oppfolging"
    }
    assert set(follow_ups) == {"ase@example.org", "bjorn@example.org", "nils@example.org", "dina@example.org"}
    assert follow_ups["ase@example.org"]["Subject"] == "Hvordan går det, Åse?"
    assert follow_ups["bjorn@example.org"]["Subject"] == "Korleis går det, Bjørn?"
    assert (
        "https://medlem.testfylket.example/kurs"
        in follow_ups["ase@example.org"].get_body(("plain",)).get_content()
    )
    smtp.received.clear()
    run_due(root, "2026-12-25T10:00", smtp)
    assert smtp.received == []


def test_a_forgotten_new_member_leaves_no_trace_in_the_notices_table(root, smtp):
    run_due(root, "2026-11-24T10:00", smtp)
    assert mailer(root, "forget", "ase@example.org").code == 0
    db = sqlite3.connect(root / ".mailer" / "state.db")
    assert "2" not in {r[0] for r in db.execute("SELECT member_id FROM chapter_notices")}
