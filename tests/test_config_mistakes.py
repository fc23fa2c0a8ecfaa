"""Mistakes in schedules.yaml that used to pass unseen or end in a traceback: one clear line, exit 1."""

from __future__ import annotations

import pytest
from conftest import DRAFT, mailer, small_project
from meeting_project import SERIES

ROWS = '1,Åse,Ødegård,ase@example.org,Ås,,"medlem, tillitsvalgt",,nb\n'


@pytest.fixture
def root(tmp_path):
    root = small_project(tmp_path / "p", ROWS, SERIES)
    (root / "recipients" / "members.csv").chmod(0o600)
    return root


def schedules(root):
    return root / "schedules.yaml"


def edit(root, old, new):
    text = schedules(root).read_text("utf-8")
    assert old in text
    schedules(root).write_text(text.replace(old, new, 1), "utf-8")


def line_of(root, text):
    """The 1-based line of schedules.yaml that starts with `text` (after indentation)."""
    lines = schedules(root).read_text("utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.strip().startswith(text))


def one_line_failure(result, *needles):
    assert result.code == 1, (result.out, result.err)
    assert "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    for needle in needles:
        assert needle in result.err, result.err
    return result.err.strip()


def test_the_project_as_written_is_in_order(root):
    result = mailer(root, "check")
    assert result.code == 0, result.err


def test_a_second_mailings_block_is_refused_instead_of_replacing_the_first(root):
    with schedules(root).open("a", encoding="utf-8") as f:
        f.write("mailings:\n  nytt:\n    kind: newsletter\n    template: newsletter\n    audience: alle\n")
    first, second = line_of(root, "mailings:"), len(schedules(root).read_text("utf-8").splitlines()) - 4
    one_line_failure(
        mailer(root, "check"),
        f"schedules.yaml:{second}: 'mailings' is defined twice (first on line {first}); keep one",
    )


def test_a_mailing_named_twice_is_refused(root):
    with schedules(root).open("a", encoding="utf-8") as f:
        f.write("  morgenmote:\n    kind: newsletter\n    template: newsletter\n    audience: alle\n")
    first = line_of(root, "morgenmote:")
    second = len(schedules(root).read_text("utf-8").splitlines()) - 3
    one_line_failure(
        mailer(root, "check"),
        f"schedules.yaml:{second}: 'morgenmote' is defined twice (first on line {first}); keep one",
    )


def test_an_audience_named_twice_is_refused(root):
    edit(root, "  alle: {}\n", "  alle: {}\n  alle: {roles: [ordfører]}\n")
    first = line_of(root, "alle:")
    one_line_failure(mailer(root, "check"), f"schedules.yaml:{first + 1}: 'alle' is defined twice")


def test_a_setting_written_twice_is_refused(root):
    edit(root, "  timezone: Europe/Oslo\n", "  timezone: Europe/Oslo\n  timezone: UTC\n")
    first = line_of(root, "timezone:")
    one_line_failure(
        mailer(root, "check"),
        f"schedules.yaml:{first + 1}: 'timezone' is defined twice (first on line {first}); keep one",
    )


def test_a_key_written_twice_in_a_drafts_front_matter_is_refused(root):
    draft = DRAFT.replace(
        "send_at: 2026-12-03T18:00\n", "send_at: 2026-12-03T18:00\nsend_at: 2026-12-04T18:00\n"
    )
    (root / "drafts" / "nyhetsbrev-2026-12.md").write_text(draft, encoding="utf-8")
    first = draft.splitlines().index("send_at: 2026-12-03T18:00") + 1
    one_line_failure(
        mailer(root, "check"),
        f"nyhetsbrev-2026-12.md:{first + 1}: 'send_at' is defined twice (first on line {first})",
    )


@pytest.mark.parametrize("command", [["check"], ["schedule"], ["status"], ["recipients"]])
def test_schedules_not_saved_as_utf8_is_one_clear_line_for_every_command(root, command):
    text = schedules(root).read_text("utf-8")
    schedules(root).write_bytes(text.encode("windows-1252"))
    one_line_failure(mailer(root, *command), "schedules.yaml: not UTF-8 text; save it as UTF-8")


@pytest.mark.parametrize("written", ["2027-02-25T18:30+05:00", "2027-02-25T18:30Z"])
def test_a_meeting_date_with_a_utc_offset_is_refused(root, written):
    edit(
        root,
        "      recurrence: {frequency: weekly, weekday: tirsdag, start: 2026-11-03, until: 2027-06-29}\n",
        f'      dates: [2027-02-18, "{written}"]\n',
    )
    line = line_of(root, "dates:")
    one_line_failure(
        mailer(root, "check"),
        f"schedules.yaml:{line}: mailings.morgenmote.meeting.dates: '{written}'",
        "write the local time without an offset, e.g. 2027-02-25T18:30",
    )


def test_a_moved_meetings_start_with_a_utc_offset_is_refused(root):
    edit(
        root,
        "    invite: {days_before: 3",
        '      changes:\n        2026-11-24: {start: "2026-11-24T09:00+01:00"}\n    invite: {days_before: 3',
    )
    line = line_of(root, "2026-11-24:")
    one_line_failure(
        mailer(root, "check"),
        f"schedules.yaml:{line}: mailings.morgenmote.meeting.changes.2026-11-24.start:",
        "without an offset",
    )


def test_a_wrong_value_under_changes_names_the_date_as_written_and_what_to_write(root):
    edit(
        root,
        "    invite: {days_before: 3",
        "      changes:\n        2026-12-29: avlyst\n    invite: {days_before: 3",
    )
    line = line_of(root, "2026-12-29:")
    err = one_line_failure(
        mailer(root, "check"),
        f"schedules.yaml:{line}: mailings.morgenmote.meeting.changes.2026-12-29: 'avlyst' is not a change",
        "write cancelled, or a map of what changes (cancelled: true, start",
    )
    assert "datetime" not in err and "OccurrenceChange" not in err


def test_cancelled_is_still_the_short_way_to_cancel_one_date(root):
    edit(
        root,
        "    invite: {days_before: 3",
        "      changes:\n        2026-12-29: cancelled\n        2027-01-05: {cancelled: true}\n"
        "    invite: {days_before: 3",
    )
    result = mailer(root, "check")
    assert result.code == 0, result.err


def test_a_front_matter_never_closed_says_so(root):
    (root / "drafts" / "nyhetsbrev-2026-12.md").write_text(
        "---\nsubject: Hei\nsend_at: 2026-12-03T18:00\n", encoding="utf-8"
    )
    one_line_failure(mailer(root, "check"), "nyhetsbrev-2026-12.md:1: the front matter is never closed")
