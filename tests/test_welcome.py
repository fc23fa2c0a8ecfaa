"""Members who join and leave: welcomes once, new-member meet-ups, and forgetting former members."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import conftest
import pytest
from conftest import MEMBERS_HEADER, base_env, free_port, mailer, small_project

WELCOME = (
    conftest.WELCOME
    + """\
  regionmote:
    kind: invitation
    template: invitation
    audience: follo
    subject: "Regionmøte {{ meeting.start|date }}"
    meeting:
      title: Regionmøte Follo
      location: Ski
      time: "18:00"
      duration: 2h
      dates: [2026-12-20, 2027-01-20]
    invite: {days_before: 10, at: "09:00"}
"""
)
OLD = '1,Ola,Gammel,ola@example.org,Ås,Ås Sp,"medlem, lokallagsleder",2019-03-01,nb\n'
RECENT = "2,Åse,Fersk,ase@example.org,Ås,Ås Sp,medlem,2026-11-20,nb\n"
NO_DATE = "3,Cato,Udatert,cato@example.org,Ås,Ås Sp,medlem,,nb\n"
NYNORSK = "4,Bjørn,Nynorsk,bjorn@example.org,Bærum,Bærum Sp,medlem,2026-11-25,nn\n"
LATE_NO_DATE = "5,Dina,Seinere,dina@example.org,Asker,Asker Sp,medlem,,nb\n"
FUTURE = "6,Eva,Framtid,eva@example.org,Ås,Ås Sp,medlem,2027-05-01,nb\n"
UNREADABLE = "7,Finn,Rot,finn@example.org,Ås,Ås Sp,medlem,snart,nb\n"


@pytest.fixture
def root(tmp_path):
    root = small_project(tmp_path / "p", OLD + RECENT + NO_DATE, WELCOME)
    links = "  links:\n    Kurs for nye: https://medlem.testfylket.example/kurs\n"
    settings = "  approvals_required: 1\n  retention_days: 30\n" + links
    edit(root / "schedules.yaml", "  approvals_required: 1\n", settings)
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new), "utf-8")


def members(root: Path, rows: str) -> None:
    (root / "recipients" / "members.csv").write_text(MEMBERS_HEADER + rows, "utf-8")


def run_due(root, now, env):
    result = mailer(root, "run-due", "--now", now, env=env)
    assert result.code == 0, result.err
    return result


def welcomes(smtp) -> list[str]:
    return sorted(r.rcpt_tos[0] for r in smtp.received if r.message["X-Mailer-Mailing"] == "velkommen")


def test_the_first_run_welcomes_only_members_who_joined_inside_the_window(root, smtp):
    env = base_env(**smtp.env())
    result = run_due(root, "2026-11-22T10:00", env)
    assert "velkommen: 1 sent" in result.out
    assert welcomes(smtp) == ["ase@example.org"]


def test_the_welcome_goes_out_at_its_time_of_day(root, smtp):
    env = base_env(**smtp.env())
    assert run_due(root, "2026-11-22T09:59", env).out == ""
    assert welcomes(smtp) == []


def test_a_welcome_greets_by_first_name_and_names_the_chapter_and_its_leader(root, smtp):
    run_due(root, "2026-11-22T10:00", base_env(**smtp.env()))
    [msg] = [r.message for r in smtp.received]
    assert msg["Subject"] == "Velkommen som medlem, Åse!"
    text = msg.get_body(("plain",)).get_content()
    assert "Velkommen, Åse!" in text
    assert "Ås Sp" in text and "Leder der er Ola Gammel." in text
    assert "https://medlem.testfylket.example/kurs" in text
    assert "List-Unsubscribe" not in msg


def test_new_members_over_simulated_weeks_get_one_welcome_each_in_their_language(root, smtp):
    env = base_env(**smtp.env())
    run_due(root, "2026-11-22T10:00", env)
    members(root, OLD + RECENT + NO_DATE + NYNORSK + LATE_NO_DATE)
    run_due(root, "2026-11-29T10:00", env)
    assert welcomes(smtp) == ["ase@example.org", "bjorn@example.org", "dina@example.org"]
    [bjorn] = [r.message for r in smtp.received if r.rcpt_tos == ["bjorn@example.org"]]
    assert "Velkomen, Bjørn!" in bjorn.get_body(("plain",)).get_content()
    assert "Leiar der er ikkje vald enno." in bjorn.get_body(("plain",)).get_content()
    for day in ("2026-11-29T10:05", "2026-12-06T10:00", "2026-12-13T10:00"):
        run_due(root, day, env)
    assert welcomes(smtp) == ["ase@example.org", "bjorn@example.org", "dina@example.org"]


def test_a_joined_date_in_the_future_is_welcomed_that_day_and_an_unreadable_one_never(root, smtp):
    members(root, OLD + FUTURE + UNREADABLE)
    env = base_env(**smtp.env())
    run_due(root, "2026-11-22T10:00", env)
    members(root, OLD + FUTURE + UNREADABLE + RECENT)
    result = run_due(root, "2026-11-23T10:00", env)
    assert (
        "recipients/members.csv:3: joined date 2027-05-01 is in the future; the welcome waits for that day "
        "(correct it if wrong)" in result.err
    )
    assert "recipients/members.csv:4: joined date 'snart' is not a date" in result.err
    assert welcomes(smtp) == ["ase@example.org"]
    check = mailer(root, "--now", "2026-11-23T10:00", "check")
    assert check.code == 1 and "members.csv:3:" in check.err
    run_due(root, "2027-05-01T10:00", env)  # the day the membership begins: as the line said
    assert welcomes(smtp) == ["ase@example.org", "eva@example.org"]


def test_a_window_that_is_not_a_positive_duration_is_refused(root):
    edit(root / "schedules.yaml", "window_days: 30", "window_days: -3")
    result = mailer(root, "run-due", "--now", "2026-11-22T10:00")
    assert result.code == 1
    assert (
        "mailings.velkommen.window_days: the window must be a positive number of days, not -3" in result.err
    )


def test_a_welcome_template_without_nynorsk_warns_and_bokmal_is_used(root, smtp):
    (root / "templates" / "welcome.nn.mjml").unlink()
    members(root, OLD + NYNORSK)
    result = run_due(root, "2026-11-26T10:00", base_env(**smtp.env()))
    assert "templates/welcome.mjml has no nynorsk version" in result.err
    [msg] = [r.message for r in smtp.received]
    assert "Velkommen, Bjørn!" in msg.get_body(("plain",)).get_content()


def test_a_member_who_leaves_gets_nothing_more_and_is_forgotten_after_the_retention_period(root, smtp):
    env = base_env(**smtp.env())
    down = base_env(
        MAILER_SMTP_HOST="127.0.0.1", MAILER_SMTP_PORT=str(free_port()), MAILER_SMTP_SECURITY="none"
    )
    members(root, OLD + RECENT + NO_DATE)
    # the invitation is planned while the relay is down: three deliveries wait as pending
    failed = mailer(root, "run-due", "--now", "2026-12-10T09:00", env=down)
    assert failed.code == 1 and "nothing was lost" in failed.err
    before = json.loads(mailer(root, "status", "--json").out)["mailings"]
    members(root, RECENT + NO_DATE)  # Ola leaves
    run_due(root, "2026-12-10T09:05", env)
    invited = sorted(r.rcpt_tos[0] for r in smtp.received if "regionmote" in r.message["X-Mailer-Mailing"])
    assert invited == ["ase@example.org", "cato@example.org"]
    status = {m["id"]: m for m in json.loads(mailer(root, "status", "--json").out)["mailings"]}
    assert status["regionmote@2026-12-20"]["dropped"] == 1
    state = root / ".mailer" / "state.db"
    assert b"ola@example.org" in state.read_bytes()
    run_due(root, "2027-01-05T09:00", env)  # 26 days later: still kept
    assert b"ola@example.org" in state.read_bytes()
    run_due(root, "2027-01-10T09:00", env)  # 31 days later: erased
    for path in state.parent.rglob("*"):
        if path.is_file():
            assert b"ola@example.org" not in path.read_bytes(), path
            assert "ola@example.org" not in path.name
    db = sqlite3.connect(state)
    assert db.execute("SELECT count(*) FROM deliveries WHERE member_id = '1'").fetchone()[0] == 0
    after = {m["id"]: m for m in json.loads(mailer(root, "status", "--json").out)["mailings"]}
    for row in before:
        assert after[row["id"]]["total"] == row["total"], "anonymous counts keep status adding up"


def test_a_member_who_changes_municipality_gets_the_right_region_from_the_next_run(root, smtp):
    env = base_env(**smtp.env())
    run_due(root, "2026-11-22T10:00", env)
    members(root, OLD + RECENT + NO_DATE.replace(",Ås,Ås Sp,", ",Bærum,Bærum Sp,"))
    run_due(root, "2026-12-10T09:00", env)
    invited = sorted(r.rcpt_tos[0] for r in smtp.received if "regionmote" in r.message["X-Mailer-Mailing"])
    assert invited == ["ase@example.org", "ola@example.org"]


def test_forget_erases_a_person_at_once_and_keeps_the_counts(root, smtp):
    env = base_env(**smtp.env())
    run_due(root, "2026-11-22T10:00", env)
    total = json.loads(mailer(root, "status", "--json").out)["mailings"][0]["total"]
    result = mailer(root, "forget", "ASE@example.org")
    assert result.code == 0, result.err
    assert "erased ase@example.org" in result.out
    for path in (root / ".mailer").rglob("*"):
        if path.is_file():
            assert b"ase@example.org" not in path.read_bytes().lower(), path
    [row] = json.loads(mailer(root, "status", "--json").out)["mailings"]
    assert row["total"] == total and row["sent"] == 1


def test_the_example_has_two_new_member_meetups_a_year_for_those_who_joined_in_the_last_half_year(example):
    result = mailer(example, "schedule", "--days", "365", "--now", "2026-11-01T00:00", "--json")
    meetups = [
        r for r in json.loads(result.out) if r["id"].startswith("medlemstreff@") and "/" not in r["id"]
    ]
    assert len(meetups) == 2
    assert {r["audience"] for r in meetups} == {"nye-medlemmer"}
    audience = json.loads(
        mailer(example, "recipients", "-a", "nye-medlemmer", "--json", "--now", "2026-11-22T12:00").out
    )
    everyone = json.loads(mailer(example, "recipients", "--json", "--now", "2026-11-22T12:00").out)
    assert 0 < len(audience) < len(everyone)
    assert all(m["joined"] >= "2026-05-23" for m in audience)
