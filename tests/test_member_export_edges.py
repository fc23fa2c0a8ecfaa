"""Member exports that used to pass unseen: a column written twice, a row whose cells moved, a
file with no members. Each is named with its file (and line) on one line; nothing is sent from a
file that cannot be read, and a bad row holds back no other member."""

from __future__ import annotations

import pytest
from conftest import MEMBERS_HEADER, base_env, mailer, small_project, state_rows
from meeting_project import INVITE_TIME, SERIES

ASE = "1,Åse,Ødegård,ase@example.org,Ås,Ås,medlem,2020-01-01,nb\n"
EXCEL_HEADER = "Medlemsnummer;Fornavn;Etternavn;E-post;Kommune;Lokallag;Verv;Innmeldt;Målform;Telefon\r\n"


def project(tmp_path, rows: str = ASE):
    """A small project whose weekly meeting invites every member on INVITE_TIME."""
    root = small_project(
        tmp_path / "fylket", rows, SERIES.replace("audience: tillitsvalgte", "audience: alle")
    )
    (root / "recipients" / "members.csv").chmod(0o600)
    return root


def write_members(root, data: bytes, name: str = "members.csv"):
    path = root / "recipients" / name
    path.write_bytes(data)
    path.chmod(0o600)


def check(root):
    return mailer(root, "--now", INVITE_TIME, "check")


def invite(root, smtp):
    return mailer(root, "run-due", "--now", INVITE_TIME, env=base_env(**smtp.env()))


def err_lines(result) -> list[str]:
    assert "Traceback" not in result.err
    return result.err.strip().splitlines()


@pytest.mark.parametrize(
    ("header", "twice"),
    [
        (MEMBERS_HEADER.rstrip("\n") + ",email\n", "'email' (column 4) and 'email' (column 10)"),
        (MEMBERS_HEADER.rstrip("\n") + ",Email\n", "'email' (column 4) and 'Email' (column 10)"),
        (MEMBERS_HEADER.rstrip("\n") + ",e-post\n", "'email' (column 4) and 'e-post' (column 10)"),
    ],
    ids=["same-name", "other-case", "norwegian-name"],
)
def test_a_column_written_twice_refuses_the_file_and_nothing_is_sent(tmp_path, smtp, header, twice):
    """Which of the two is the member's address? Neither is guessed: the whole file is refused."""
    root = project(tmp_path)
    write_members(root, (header + ASE.rstrip("\n") + ",privat@example.org\n").encode())
    message = (
        f"recipients/members.csv:1: the header has the same column twice, {twice}; "
        "remove or rename one of them"
    )

    checked = check(root)
    assert checked.code == 1
    assert err_lines(checked) == [message]

    due = invite(root, smtp)
    assert due.code == 1
    assert err_lines(due) == [f"error: {message}"]
    assert smtp.received == []
    assert state_rows(root, "SELECT count(*) FROM deliveries") == [(0,)]


def test_a_row_with_more_cells_than_the_header_is_skipped_and_the_others_are_invited(tmp_path, smtp):
    """`medlem, lokallagsleder` without quotes: every later cell moves one column on (the joined
    date into language), so Bjørn would be read wrong; he is skipped and named instead. Cecilie's
    empty cells past the header (as Excel leaves them) and Dag's row cut short are read as they are."""
    rows = (
        ASE
        + "2,Bjørn,Bråten,bjorn@example.org,Bærum,Bærum,medlem, lokallagsleder,2021-05-05,nn\n"
        + "3,Cecilie,Dahl,cecilie@example.org,Ås,Ås,medlem,2021-05-05,nb,,\n"
        + "4,Dag,Eng,dag@example.org,Ås\n"
    )
    root = project(tmp_path, rows)
    problem = (
        "recipients/members.csv:3: the row has 10 cells but the header has 9 "
        "(a ',' inside a cell that is not in quotes?); fix the row in the export"
    )

    checked = check(root)
    assert checked.code == 1
    assert err_lines(checked) == [problem]

    due = invite(root, smtp)
    assert due.code == 0, due.err
    assert err_lines(due) == [f"warning: {problem}; row skipped"]
    assert sorted(r.rcpt_tos[0] for r in smtp.received) == [
        "ase@example.org",
        "cecilie@example.org",
        "dag@example.org",
    ]


def test_empty_cells_past_the_header_and_rows_cut_short_are_harmless(tmp_path):
    """Excel leaves `;;` after the last column when some other row was wider; a row cut short
    reads its missing cells as empty. Neither moves a value, so neither is a problem."""
    root = project(tmp_path, ASE.rstrip("\n") + ",,,\n" + "2,Per,Berg,per@example.org,Bærum\n")
    checked = check(root)
    assert checked.code == 0, checked.err
    assert err_lines(checked) == []
    assert "2 members" in checked.out


@pytest.mark.parametrize(
    "content",
    [EXCEL_HEADER, EXCEL_HEADER + ";;;;;;;;;\r\n;;;;;;;;;\r\n"],
    ids=["header-only", "header-and-empty-excel-rows"],
)
def test_a_member_file_with_only_the_header_row_is_named_by_check(tmp_path, content):
    """A second export made with a filter that matched nobody: the other file's members are
    still read, and check says which file held none (a warning: nothing in it is wrong)."""
    root = project(tmp_path)
    write_members(root, content.encode("cp1252"), "nye-medlemmer-desember.csv")

    checked = check(root)
    assert checked.code == 0, checked.err
    assert err_lines(checked) == [
        "warning: recipients/nye-medlemmer-desember.csv: no members in it, only the header row; "
        "export the member list again or remove the file"
    ]
    assert "1 members" in checked.out


@pytest.mark.parametrize(
    "content",
    [b"", b"\xef\xbb\xbf", b"\r\n\r\n", b";;;;;;;;\r\n;;;;;;;;\r\n"],
    ids=["no-bytes", "bom-only", "blank-lines", "excel-empty-sheet"],
)
def test_an_empty_member_file_is_one_line_and_nothing_is_sent(tmp_path, smtp, content):
    """An export that failed half-way, or an empty sheet saved from Excel (only `;`): nothing is
    sent from a member list that holds nothing, not even to the other files' members."""
    root = project(tmp_path)
    write_members(root, content, "nye-medlemmer.csv")
    message = "recipients/nye-medlemmer.csv: the file is empty; export the member list again"

    checked = check(root)
    assert checked.code == 1
    assert err_lines(checked) == [message]

    due = invite(root, smtp)
    assert due.code == 1
    assert err_lines(due) == [f"error: {message}"]
    assert smtp.received == []
