"""`mailer check` finds what a later run-due, preview or send would stop on, one line each.

Meeting series and welcomes have no draft: their templates and the subjects written in
schedules.yaml are compiled by check as run-due compiles them. A draft that prints a column
some member files lack is named with the files and the number of members it stops on.
"""

from __future__ import annotations

import stat
from pathlib import Path

import meeting_project
import pytest
from conftest import DRAFT, MEMBERS_HEADER, base_env, copy_example, mailer, small_project
from meeting_project import INVITE_TIME

MEMBERS = (
    '1,Åse,Ødegård,ase@example.org,Ås,,"medlem, tillitsvalgt",2020-01-01,nb\n'
    "2,Kari,Styre,kari@example.org,Asker,,medlem|fylkesstyremedlem|tillitsvalgt,2019-01-01,nb\n"
)
SUBJECT = "Morgenmøte {{ meeting.start|datetime }}"
SERIES = (
    meeting_project.SERIES
    + """\
  velkommen:
    kind: welcome
    template: welcome
    audience: alle
    subject: "Velkommen som medlem, {{ member.first_name }}!"
"""
)
NOW = "2026-11-20T12:00"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return small_project(tmp_path / "fylke", MEMBERS, SERIES)


def check(root: Path):  # type: ignore[no-untyped-def]
    return mailer(root, "--now", NOW, "check")


def problem_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if not line.startswith("warning:")]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_small_project_passes_check(root: Path) -> None:
    result = check(root)
    assert result.code == 0, result.err
    assert "everything is in order" in result.out


def test_the_untouched_example_project_passes_check(tmp_path: Path) -> None:
    result = mailer(copy_example(tmp_path / "akershus"), "check")
    assert result.code == 0, result.err
    assert "everything is in order" in result.out


def test_a_syntax_error_in_the_invitation_template_is_one_line_naming_file_and_line(root: Path) -> None:
    template = root / "templates" / "invitation.mjml"
    lines = template.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[1] = "{{ {{ meeting.title }}\n"
    template.write_text("".join(lines), encoding="utf-8")
    result = check(root)
    assert result.code == 1
    assert problem_lines(result.err) == [
        "templates/invitation.mjml:2: template syntax error: expected token ':', got '}'"
    ]


def test_an_unknown_variable_in_the_invitation_template_fails_check(root: Path) -> None:
    template = root / "templates" / "invitation.mjml"
    text = template.read_text(encoding="utf-8")
    line = text[: text.index("meeting.title")].count("\n") + 1
    edit(template, "meeting.title", "meeting.titel")
    result = check(root)
    assert result.code == 1
    assert problem_lines(result.err) == [
        f"templates/invitation.mjml:{line}: 'dict object' has no attribute 'titel'; "
        "the template uses a variable that this mailing does not provide"
    ]


def test_an_element_mjml_does_not_have_fails_check_instead_of_reaching_the_mail(root: Path) -> None:
    template = root / "templates" / "invitation.mjml"
    assert "<mj-text" in template.read_text(encoding="utf-8")
    edit(template, "<mj-text", "<mj-txet")
    result = check(root)
    assert result.code == 1
    assert problem_lines(result.err) == [
        "templates/invitation.mjml: <mj-txet> is not an MJML element (did you mean <mj-text>?); "
        "fix the template"
    ]


def test_an_unknown_filter_in_a_series_subject_names_schedules_yaml_and_the_key(root: Path) -> None:
    edit(root / "schedules.yaml", SUBJECT, "Morgenmøte {{ meeting.start|dato }}")
    line = _line_of(root / "schedules.yaml", "Morgenmøte {{")
    result = check(root)
    assert result.code == 1
    assert problem_lines(result.err) == [
        f"schedules.yaml:{line}: mailings.morgenmote.subject: template syntax error: No filter named 'dato'."
    ]


def test_an_unclosed_expression_in_a_series_subject_names_schedules_yaml_and_the_key(root: Path) -> None:
    edit(root / "schedules.yaml", SUBJECT, "Morgenmøte {{ meeting.start|datetime }")
    line = _line_of(root / "schedules.yaml", "Morgenmøte {{")
    result = check(root)
    assert result.code == 1
    assert problem_lines(result.err) == [
        f"schedules.yaml:{line}: mailings.morgenmote.subject: template syntax error: unexpected '}}'"
    ]


def test_run_due_blames_schedules_yaml_for_a_broken_subject_not_the_template(root: Path, smtp) -> None:
    edit(root / "schedules.yaml", SUBJECT, "Morgenmøte {{ meeting.start|dato }}")
    line = _line_of(root / "schedules.yaml", "Morgenmøte {{")
    result = mailer(root, "run-due", "--now", INVITE_TIME, env=base_env(**smtp.env()))
    assert (
        f"morgenmote@2026-11-24: schedules.yaml:{line}: mailings.morgenmote.subject: "
        "template syntax error: No filter named 'dato'." in result.err
    )
    assert "invitation.mjml" not in result.err


def test_an_unknown_variable_in_the_welcome_template_fails_check(root: Path) -> None:
    template = root / "templates" / "welcome.mjml"
    edit(template, "{{ organisation.name }}", "{{ organisation.navn }}")
    result = check(root)
    assert result.code == 1
    [line] = problem_lines(result.err)
    assert line.startswith("templates/welcome.mjml:")
    assert "has no attribute 'navn'" in line


def test_a_draft_printing_a_column_one_member_file_lacks_names_the_draft_file_and_count(root: Path) -> None:
    (root / "recipients" / "members.csv").write_text(
        MEMBERS_HEADER.rstrip("\n") + ",phone\n" + MEMBERS.replace(",nb\n", ",nb,12345678\n"), "utf-8"
    )
    (root / "recipients" / "nye.csv").write_text(
        MEMBERS_HEADER
        + "3,Nina,Ny,nina@example.org,Ås,,medlem,2026-11-01,nb\n"
        + "4,Ola,Ny,ola@example.org,Asker,,medlem,2026-11-02,nb\n",
        "utf-8",
    )
    (root / "drafts" / "nyhetsbrev-2026-12.md").write_text(
        DRAFT + "\nRing oss på {{ member.phone }}.\n", encoding="utf-8"
    )
    result = check(root)
    assert result.code == 1
    assert problem_lines(result.err) == [
        "drafts/nyhetsbrev-2026-12.md: 'member.phone' has no value for 2 members of the audience "
        "(recipients/nye.csv has no 'phone' column); add the column to the member file or remove "
        "it from the draft"
    ]


def test_a_send_stopped_by_a_missing_column_names_the_draft_not_the_template(root: Path) -> None:
    (root / "drafts" / "nyhetsbrev-2026-12.md").write_text(
        DRAFT + "\nRing oss på {{ member.phone }}.\n", encoding="utf-8"
    )
    result = mailer(root, "--now", NOW, "preview", "nyhetsbrev-2026-12", "--as", "1")
    assert result.code == 1
    assert result.err.strip() == (
        "error: drafts/nyhetsbrev-2026-12.md: 'member.phone' has no value for member 1; "
        "add the column to the member file or remove it from the draft"
    )


def test_preview_out_leaves_a_members_copy_readable_by_its_owner_only(root: Path, tmp_path: Path) -> None:
    (root / "drafts" / "nyhetsbrev-2026-12.md").write_text(DRAFT, encoding="utf-8")
    out = tmp_path / "utkast" / "desember"
    out.parent.mkdir()
    out.parent.chmod(0o755)
    result = mailer(root, "--now", NOW, "preview", "nyhetsbrev-2026-12", "--as", "1", "--out", str(out))
    assert result.code == 0, result.err
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    for name in ("preview.html", "preview.txt", "preview.eml", "index.html"):
        (out / name).chmod(0o644)
    result = mailer(root, "--now", NOW, "preview", "nyhetsbrev-2026-12", "--as", "1", "--out", str(out))
    assert result.code == 0, result.err
    for name in ("preview.html", "preview.txt", "preview.eml", "index.html"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o600, name


def _line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text("utf-8").splitlines(), 1) if text in line)
