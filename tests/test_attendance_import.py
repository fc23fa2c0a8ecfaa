"""Who came: Teams attendance reports and secretaries' lists, matched to members and counted."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import unicodedata

import pytest
from conftest import REPO, base_env, mailer, small_project, state_rows
from webapp import start_web

pytestmark = pytest.mark.usefixtures("engine")  # the ledger on SQLite and on PostgreSQL

DATA = REPO / "tests" / "data" / "attendance"
MEMBERS = (
    "1,Åse,Ødegård,ase@example.org,Ås,Ås,tillitsvalgt,2020-01-01,nb\n"
    "2,Bjørn,Bråten,bjorn@example.org,Bærum,Bærum,lokallagsleder,2021-05-05,nn\n"
    "3,Kari,Nordmann,kari@example.org,Asker,Asker,tillitsvalgt,2019-01-01,nb\n"
    "4,Per,Hansen,per@example.org,Nordre Follo,Nordre Follo,medlem,2019-01-01,nb\n"
)


def series(day: dt.date) -> str:
    return f"""\
  morgenmote:
    kind: invitation
    template: invitation
    audience: tillitsvalgte
    subject: "Morgenmøte {{{{ meeting.start|datetime }}}}"
    meeting:
      title: Morgenmøte
      location: Digitalt
      time: "08:00"
      duration: 45m
      attendance_goal: 3
      recurrence: {{frequency: weekly, weekday: tirsdag, start: {day.isoformat()}}}
"""


HELD = dt.date(2026, 11, 24)
AFTER = "2026-11-25T12:00"


@pytest.fixture
def root(tmp_path):
    return small_project(tmp_path / "fylke", MEMBERS, series(HELD))


def import_file(root, name: str, occurrence: str = "morgenmote@2026-11-24"):
    return mailer(root, "attendance", "import", occurrence, str(DATA / name), "--now", AFTER)


def row(root, occurrence: str = "morgenmote@2026-11-24", now: str = AFTER) -> dict[str, object]:
    result = mailer(root, "attendance", "morgenmote", "--json", "--now", now)
    assert result.code == 0, result.err
    [found] = json.loads(result.out)
    return {o["occurrence"]: o for o in found["occurrences"]}[occurrence]


def test_a_teams_report_in_utf16_with_tabs_counts_the_members_who_came(root):
    result = import_file(root, "teams-en.csv")
    assert result.code == 0, result.err
    assert "morgenmote@2026-11-24: 3 members came" in result.out
    assert row(root)["attended"] == 3


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_a_teams_report_saved_again_as_utf16_without_its_bom_is_read_too(root, tmp_path, encoding):
    text = (DATA / "teams-en.csv").read_bytes().decode("utf-16")
    report = tmp_path / "rapport.csv"
    report.write_bytes(text.encode(encoding))

    result = mailer(root, "attendance", "import", "morgenmote@2026-11-24", str(report), "--now", AFTER)

    assert result.code == 0, result.err
    assert "morgenmote@2026-11-24: 3 members came" in result.out


def test_only_the_participants_section_is_read_not_the_activities(root):
    assert import_file(root, "teams-en.csv").code == 0
    assert "Per Bare Aktivitet" not in import_file(root, "teams-en.csv").out
    assert row(root)["attended"] == 3, "Per appears only under In-Meeting Activities"


def test_guests_and_unknown_names_are_listed_apart_and_not_counted_as_members(root):
    result = import_file(root, "teams-en.csv")
    assert "2 guests or names not matched to a member" in result.out
    assert "not matched: Ola Gjest (Guest)" in result.out
    assert "not matched: Lise Utenfor <lise@annet.example>" in result.out
    assert (row(root)["attended"], row(root)["unmatched"]) == (3, 2)


def test_norwegian_teams_headers_in_another_order_are_read_by_name(root):
    result = import_file(root, "teams-nb.csv")
    assert result.code == 0, result.err
    assert "morgenmote@2026-11-24: 2 members came" in result.out, "Åse by address, 'Bråten, Bjørn' by name"
    assert row(root)["unmatched"] == 0


def test_a_secretarys_csv_matches_by_full_name_or_address(root):
    result = import_file(root, "fremmoteliste.csv")
    assert result.code == 0, result.err
    assert "2 members came" in result.out and "not matched: Ukjent Person (line 4)" in result.out
    assert row(root)["attended"] == 2


def test_a_name_written_with_combining_marks_matches_the_member(root, tmp_path):
    """Å as A and a ring (U+030A), as some programs save it."""
    report = tmp_path / "liste.csv"
    report.write_text("Navn\n" + unicodedata.normalize("NFD", "Åse Ødegård") + "\n", encoding="utf-8")

    result = mailer(root, "attendance", "import", "morgenmote@2026-11-24", str(report), "--now", AFTER)

    assert result.code == 0, result.err
    assert "1 members came" in result.out
    assert row(root)["attended"] == 1


def test_a_moved_meeting_is_found_by_the_day_it_was_held(tmp_path):
    moved = series(HELD) + '      changes:\n        2026-12-01: {start: "2026-11-30T08:00"}\n'
    root = small_project(tmp_path / "fylke", MEMBERS, moved)

    result = mailer(
        root, "attendance", "import", "morgenmote@2026-11-30", str(DATA / "fremmoteliste.csv"),
        "--now", "2026-12-02T12:00",
    )  # fmt: skip

    assert result.code == 0, result.err
    assert row(root, "morgenmote@2026-12-01", "2026-12-02T12:00")["attended"] == 2


def test_with_two_reports_the_trend_shows_who_came_not_who_said_yes(root):
    for day in ("2026-11-24", "2026-12-01"):
        result = mailer(
            root, "attendance", "import", f"morgenmote@{day}", str(DATA / "fremmoteliste.csv"),
            "--now", "2026-12-02T12:00",
        )  # fmt: skip
        assert result.code == 0, result.err

    text = mailer(root, "attendance", "morgenmote", "--now", "2026-12-02T12:00").out

    assert "trend over the last 2 meetings with a report (who came): 2 → 2 (flat)" in text


def test_importing_the_same_file_twice_changes_nothing(root):
    assert "(3 new in the ledger)" in import_file(root, "teams-en.csv").out
    again = import_file(root, "teams-en.csv")
    assert "3 members came (0 new in the ledger)" in again.out and "(0 new)" in again.out
    assert (row(root)["attended"], row(root)["unmatched"]) == (3, 2)


def test_a_name_two_members_share_is_not_guessed(tmp_path):
    twins = MEMBERS + "5,Kari,Nordmann,kari.n@example.org,Ås,Ås,medlem,2019-01-01,nb\n"
    root = small_project(tmp_path / "fylke", twins, series(HELD))
    (tmp_path / "liste.csv").write_text("Navn\nKari Nordmann\n", "utf-8")
    result = mailer(
        root, "attendance", "import", "morgenmote@2026-11-24", str(tmp_path / "liste.csv"), "--now", AFTER
    )
    assert result.code == 0, result.err
    assert "0 members came" in result.out and "not matched: Kari Nordmann" in result.out


def test_a_file_of_neither_format_is_refused_naming_the_file_and_records_nothing(root):
    result = import_file(root, "referat.txt")
    assert result.code == 1
    assert "referat.txt: line 1: no e-mail or name column; expected a Teams attendance report" in result.err
    assert "Traceback" not in result.err and len(result.err.strip().splitlines()) == 1
    [recorded] = json.loads(mailer(root, "attendance", "morgenmote", "--json", "--now", AFTER).out)
    assert recorded["occurrences"] == []


def test_a_teams_participants_table_without_name_or_email_columns_is_refused(root):
    result = import_file(root, "teams-no-columns.csv")
    assert result.code == 1
    assert (
        "teams-no-columns.csv: line 5: the participants table has no Name (Navn) or Email (E-post)"
        in result.err
    )
    assert "Traceback" not in result.err


def test_an_occurrence_that_does_not_exist_is_refused(root):
    result = import_file(root, "teams-en.csv", "morgenmote@2026-11-25")
    assert result.code == 1
    assert "morgenmote has no meeting on 2026-11-25" in result.err and "Traceback" not in result.err
    unknown = import_file(root, "teams-en.csv", "fredagsmote@2026-11-24")
    assert unknown.code == 1 and "'fredagsmote' is not a meeting series" in unknown.err


def test_a_file_that_does_not_exist_is_refused(root, tmp_path):
    result = mailer(
        root, "attendance", "import", "morgenmote@2026-11-24", str(tmp_path / "nope.csv"), "--now", AFTER
    )
    assert result.code == 1 and "nope.csv: file not found" in result.err


def test_the_summary_shows_answers_who_came_and_who_came_without_answering_against_the_goal(tmp_path, smtp):
    today = dt.date.today()
    day = today + dt.timedelta(days=(1 - today.weekday()) % 7 or 7)
    root = small_project(tmp_path / "fylke", MEMBERS, series(day))
    env = base_env(MAILER_SECRET="test-secret-for-signed-links-0123", **smtp.env())
    occurrence = f"morgenmote@{day.isoformat()}"
    assert mailer(root, "send", occurrence, env=env).code == 0
    server = start_web(root, env)
    try:
        with server.client() as client:
            for address, answer in (("ase@example.org", "yes"), ("bjorn@example.org", "no")):
                html = smtp.handler.to(address)[0].message.get_body(("html",)).get_content()
                [link] = re.findall(rf'href="(https://[^"]+/r/[^"/]+/{answer})"', html)
                assert client.post(server.local(link)).status_code == 200
    finally:
        server.stop()
    report = tmp_path / "report.csv"
    shutil.copy(DATA / "teams-en.csv", report)
    after = f"{day + dt.timedelta(days=1)}T12:00"
    result = mailer(root, "attendance", "import", occurrence, str(report), "--now", after, env=env)
    assert result.code == 0, result.err
    got = row(root, occurrence, after)
    assert {
        k: got[k] for k in ("invited", "yes", "no", "no_answer", "attended", "attended_without_answer")
    } == {
        "invited": 3,
        "yes": 1,
        "no": 1,
        "no_answer": 1,
        "attended": 3,
        "attended_without_answer": 1,
    }
    assert got["goal_met"] is True, "the goal (3) is measured by who came, not by the one yes"
    text = mailer(root, "attendance", "morgenmote", "--now", after, env=env).out
    assert "came to the meetings with a report: 3" in text


def test_a_forgotten_member_still_counts_as_having_come_but_is_no_longer_named(root):
    assert mailer(root, "run-due", "--now", AFTER).code == 0, "cron's run knows the members"
    assert import_file(root, "teams-en.csv").code == 0
    result = mailer(root, "forget", "kari@example.org")
    assert result.code == 0, result.err
    ids = {r[0] for r in state_rows(root, "SELECT member_id FROM attendance")}
    assert "3" not in ids and len(ids) == 3
    assert row(root)["attended"] == 3


def test_an_attendance_file_over_5_mb_is_refused_with_one_line_naming_the_limit(root, tmp_path):
    big = tmp_path / "stor.csv"
    big.write_bytes(b"Navn\n" + b"Ola Nordmann\n" * 500_000)
    result = mailer(root, "attendance", "import", "morgenmote@2026-11-24", str(big), "--now", AFTER)
    assert result.code == 1 and result.out == ""
    assert result.err.strip() == (
        f"error: {big}: larger than 5 MB, the most an attendance report can be; "
        "give the report Teams downloads, or a CSV of who came"
    )


def test_an_endless_file_is_refused_without_reading_it_whole(root):
    result = mailer(
        root, "attendance", "import", "morgenmote@2026-11-24", "/dev/zero", "--now", AFTER, timeout=30
    )
    assert result.code == 1 and "larger than 5 MB" in result.err


def test_a_forty_million_character_name_never_reaches_the_terminal(root, tmp_path):
    huge = tmp_path / "navn.csv"
    huge.write_bytes(b"Navn\n" + b"A" * 40_000_000 + b"\n")
    result = mailer(root, "attendance", "import", "morgenmote@2026-11-24", str(huge), "--now", AFTER)
    assert result.code == 1 and len(result.out) + len(result.err) < 500


def test_a_name_longer_than_200_characters_is_cut_in_storage_and_in_output(root, tmp_path):
    long = tmp_path / "lang.csv"
    long.write_text("Navn;E-post\n" + "B" * 100_000 + ";gjest@example.net\n", "utf-8")
    result = mailer(root, "attendance", "import", "morgenmote@2026-11-24", str(long), "--now", AFTER)
    assert result.code == 0, result.err
    [line] = [ln for ln in result.out.splitlines() if ln.startswith("  not matched:")]
    assert line == "  not matched: " + "B" * 199 + "… <gjest@example.net> (line 2)"
    [(name,)] = state_rows(root, "SELECT name FROM attendance_unmatched")
    assert len(name) == 200


def test_control_characters_in_a_guest_s_name_are_escaped_in_the_output(root, tmp_path):
    rude = tmp_path / "kontroll.csv"
    rude.write_text("Navn\nOla\x1b[2J\x07 Gjest\n", "utf-8")
    result = mailer(root, "attendance", "import", "morgenmote@2026-11-24", str(rude), "--now", AFTER)
    assert result.code == 0 and "\x1b" not in result.out and "\x07" not in result.out
    assert "not matched: Ola\\x1b[2J\\x07 Gjest" in result.out


def test_guests_names_are_anonymised_after_the_retention_period_and_still_counted(root):
    assert import_file(root, "fremmoteliste.csv").code == 0
    later = "2027-01-05T12:00"  # the example keeps 30 days (organisation.retention_days)
    assert mailer(root, "run-due", "--now", later).code == 0
    rows = state_rows(root, "SELECT name, email FROM attendance_unmatched")
    assert rows and all(name.startswith("erased:") and email == "" for name, email in rows)
    assert row(root, now=later)["unmatched"] == len(rows)
