"""A careless command (a huge number, a file where a folder belongs, a mistyped address) gets
one clear line and exit 1, never a traceback; nothing is sent and nothing is lost."""

from __future__ import annotations

from pathlib import Path

import meeting_project
from conftest import DRAFT, Result, approve_and_preview, base_env, mailer, small_project, state_rows
from meeting_project import MEMBERS

NOW = "2026-12-03T18:00"
SERIES = meeting_project.SERIES.replace(
    "    invite:", "      changes:\n        2026-11-24: cancelled\n    invite:", 1
)  # the morning meetings, one of them cancelled


def one_line_error(result: Result, *words: str) -> str:
    assert result.code == 1, (result.out, result.err)
    assert "Traceback" not in result.err
    lines = [line for line in result.err.splitlines() if not line.startswith("warning:")]
    assert len(lines) == 1, result.err
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def project(tmp_path: Path, members: str = MEMBERS, series: str = "") -> Path:
    root = small_project(tmp_path / "fylket", members, series)
    (root / "drafts" / "nyhetsbrev-2026-12.md").write_text(DRAFT, encoding="utf-8")
    return root


def test_schedule_for_a_billion_days_ahead_names_the_range(tmp_path):
    result = mailer(project(tmp_path), "schedule", "--days", "999999999", "--now", NOW)
    one_line_error(result, "--days", "3650")


def test_schedule_for_negative_days_names_the_range(tmp_path):
    result = mailer(project(tmp_path), "schedule", "--days", "-1", "--now", NOW)
    one_line_error(result, "--days", "3650")


def test_init_on_an_existing_file_says_it_is_a_file_and_leaves_it(tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("keep me", encoding="utf-8")
    result = mailer(tmp_path, "init", str(target))
    one_line_error(result, str(target), "is a file, not a folder")
    assert target.read_text(encoding="utf-8") == "keep me"


def test_a_cell_over_the_csv_field_limit_is_a_problem_of_its_row_and_the_others_stay(tmp_path):
    giant = f"3,{'A' * 200_000},Berg,berg@example.org,Ås,Ås,medlem,2020-01-01,nb\n"
    root = project(tmp_path, MEMBERS + giant + "4,Kari,Lie,kari@example.org,Ås,Ås,medlem,2020-01-01,nb\n")
    check = mailer(root, "check")
    assert check.code == 1 and "Traceback" not in check.err
    assert "recipients/members.csv:4: a cell is longer than" in check.err
    recipients = mailer(root, "recipients")
    assert recipients.code == 0, recipients.err
    assert "3 recipients" in recipients.out


def test_a_state_folder_setting_naming_a_file_names_the_setting_and_the_path(tmp_path):
    root = project(tmp_path)
    afile = tmp_path / "state.txt"
    afile.write_text("not a folder", encoding="utf-8")
    result = mailer(root, "schedule", "--now", NOW, env=base_env(MAILER_STATE_DIR=str(afile)))
    one_line_error(result, "MAILER_STATE_DIR", str(afile))
    assert afile.read_text(encoding="utf-8") == "not a folder"


def test_an_outbox_that_is_a_file_stops_the_send_and_the_deliveries_wait(tmp_path):
    root = project(tmp_path)
    approve_and_preview(root, "nyhetsbrev-2026-12")
    outbox = root / ".mailer" / "outbox"
    outbox.write_text("", encoding="utf-8")
    result = mailer(root, "send", "nyhetsbrev-2026-12", "--now", NOW)
    one_line_error(result, str(outbox))
    rows = state_rows(root, "SELECT status FROM deliveries WHERE mailing_id = 'nyhetsbrev-2026-12'")
    assert rows and {r[0] for r in rows} == {"pending"}


def test_forgetting_an_address_nothing_is_known_about_asks_to_check_the_spelling(tmp_path):
    root = project(tmp_path)
    assert mailer(root, "unsubscribe", "outsider@example.net").code == 0
    result = mailer(root, "forget", "outsider@example.nett")
    one_line_error(result, "nothing is known about outsider@example.nett", "check the spelling")
    assert state_rows(root, "SELECT address FROM suppressions") == [("outsider@example.net",)]


def test_forgetting_an_address_known_only_by_its_unsubscribe_erases_it(tmp_path):
    root = project(tmp_path)
    assert mailer(root, "unsubscribe", "outsider@example.net").code == 0
    result = mailer(root, "forget", "outsider@example.net")
    assert result.code == 0, result.err
    assert state_rows(root, "SELECT address FROM suppressions") == []


def test_forgetting_a_member_of_the_export_still_erases_them(tmp_path):
    result = mailer(project(tmp_path), "forget", "bjorn@example.org")
    assert result.code == 0, result.err
    assert result.out.startswith("erased bjorn@example.org")


def test_sending_the_invitation_of_a_cancelled_meeting_says_it_is_cancelled(tmp_path):
    root = project(tmp_path, series=SERIES)
    result = mailer(root, "send", "morgenmote@2026-11-24", "--now", "2026-11-21T09:00")
    assert result.code == 0, result.err
    assert "cancelled" in result.out
    assert "closed for new recipients" not in result.out
    assert state_rows(root, "SELECT count(*) FROM deliveries WHERE status = 'sent'") == [(0,)]


def test_a_draft_that_cannot_be_read_holds_back_no_other_mailing(tmp_path):
    """An Explorer copy ('… - Kopi.md') next to the drafts: run-due still sends the meeting's
    invitation, names the draft and exits 1; the schedule still lists what is ahead."""
    root = project(tmp_path, series=SERIES)
    copy = root / "drafts" / "nyhetsbrev-2026-12 - Kopi.md"
    copy.write_text(DRAFT, encoding="utf-8")

    due = mailer(root, "run-due", "--now", "2026-12-05T09:05")
    ahead = mailer(root, "schedule", "--now", "2026-12-05T09:05")

    assert due.code == 1 and "Traceback" not in due.err
    assert "morgenmote@2026-12-08: 2 sent" in due.out
    assert "error: drafts/nyhetsbrev-2026-12 - Kopi.md: the file name may only use" in due.err
    assert ahead.code == 0 and "morgenmote@2026-12-15" in ahead.out
    assert "nyhetsbrev-2026-12 - Kopi.md" in ahead.err


def test_a_stray_quote_that_swallows_the_next_rows_is_named_and_counted(tmp_path):
    """`"Bjørn` opens a quoted cell the reader closes only at the next quote, three lines on:
    the members in between must not vanish without a word."""
    rows = (
        "1,Åse,Ødegård,ase@example.org,Ås,Ås,medlem,2020-01-01,nb\n"
        '2,"Bjørn,Bråten,bjorn@example.org,Bærum,Bærum,medlem,2021-05-05,nb\n'
        "3,Cecilie,Dahl,cecilie@example.org,Ås,Ås,medlem,2021-05-05,nb\n"
        "4,Dag,Eng,dag@example.org,Ås,Ås,medlem,2021-05-05,nb\n"
        '5,Eva,Foss,eva@example.org,Ås,Ås,"medlem",2021-05-05,nb\n'
        "6,Finn,Gran,finn@example.org,Ås,Ås,medlem,2021-05-05,nb\n"
    )
    root = project(tmp_path, members=rows)

    result = mailer(root, "check")

    assert result.code == 1 and "Traceback" not in result.err
    text = result.out + result.err
    assert 'recipients/members.csv:3: a quote (") in this row is not closed' in text
    assert "the next 3 rows were read into it (up to line 6)" in text
    assert "2 members (2 addresses)" in text


def test_a_misspelt_setting_in_env_is_refused_before_anything_goes_to_the_outbox(tmp_path):
    """Ignored, MAILER_SMTP_HOSTT would leave no host set: the send would go to the outbox and
    mark every member sent."""
    root = project(tmp_path)
    approve_and_preview(root, "nyhetsbrev-2026-12")
    (root / ".env").write_text("MAILER_POOL_SIZE=2\nMAILER_SMTP_HOSTT=smtp.example\n")

    result = mailer(root, "send", "nyhetsbrev-2026-12", env=base_env())

    one_line_error(result, f"{root / '.env'}:2: MAILER_SMTP_HOSTT", "did you mean MAILER_SMTP_HOST?")
    assert not (root / ".mailer" / "outbox").exists()


def test_a_member_list_saved_as_a_spreadsheet_is_named_not_silently_left_out(tmp_path):
    root = project(tmp_path)
    (root / "recipients" / "nye medlemmer.xlsx").write_bytes(b"PK\x03\x04 not a csv")

    result = mailer(root, "check")

    assert result.code == 0, result.err
    assert "warning: recipients/nye medlemmer.xlsx: not read (only .csv files are)" in result.err


def test_a_bidirectional_override_in_a_members_name_never_reaches_a_message(tmp_path):
    """U+202E would show 'Ola ‮nnamdroN' as 'Ola Nordmann' reversed in a mail program."""
    import email
    import email.policy

    root = project(
        tmp_path, members="1,Ola\u202e,Nord\u2066mann,ola@example.org,Ås,Ås,medlem,2020-01-01,nb\n"
    )
    approve_and_preview(root, "nyhetsbrev-2026-12")

    assert mailer(root, "send", "nyhetsbrev-2026-12", env=base_env()).code == 0

    [sent] = (root / ".mailer" / "outbox").rglob("*.eml")
    message = email.message_from_bytes(sent.read_bytes(), policy=email.policy.default)
    shown = str(message["To"]) + message.get_body(("plain",)).get_content()
    assert "Ola" in shown and not any(ch in shown for ch in "\u202e\u2066")


def test_a_project_that_is_a_file_or_a_schedule_that_is_a_folder_is_named_as_such(tmp_path):
    note = tmp_path / "notat.txt"
    note.write_text("x")
    odd = tmp_path / "fylket"
    (odd / "schedules.yaml").mkdir(parents=True)

    one_line_error(mailer(note, "check"), f"project folder {note} is a file, not a folder")
    one_line_error(mailer(odd, "check"), f"{odd / 'schedules.yaml'} is a folder")


def test_preview_as_a_member_whose_row_was_skipped_says_rows_were_skipped(tmp_path):
    rows = MEMBERS + "3,Uten,Adresse,,Ås,Ås,medlem,2020-01-01,nb\n"
    root = project(tmp_path, members=rows)

    result = mailer(root, "preview", "nyhetsbrev-2026-12", "--as", "3")

    one_line_error(
        result, "no member with id 3", "1 row was skipped for a problem (`mailer check` names them)"
    )
