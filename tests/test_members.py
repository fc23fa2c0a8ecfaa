"""Member exports as the register and Excel write them, and who each audience selects."""

from __future__ import annotations

import json

from conftest import MEMBERS_HEADER, mailer, small_project


def write(root, name: str, data: bytes) -> None:
    (root / "recipients" / name).write_bytes(data)


def test_excel_file_with_semicolons_and_windows_1252_reads_baerum_correctly(tmp_path):
    root = small_project(tmp_path / "p", "")
    excel = (
        "Medlemsnummer;Fornavn;Etternavn;E-post;Kommune;Lokallag;Verv;Innmeldt;Målform\r\n"
        "7;Ørjan;Sæther;orjan@example.org;Bærum;Bærum Sp;medlem;14.03.2026;nn\r\n"
    ).encode("cp1252")
    write(root, "excel.csv", excel)
    result = mailer(root, "recipients", "--json")
    assert result.code == 0, result.err
    [member] = json.loads(result.out)
    assert member["municipality"] == "Bærum" and member["region"] == "Vestregionen"
    assert member["name"] == "Ørjan Sæther" and member["language"] == "nn"
    assert member["joined"] == "2026-03-14" and member["chapter"] == "Bærum Sp"


def test_utf8_with_bom_and_mixed_case_headers_are_read(tmp_path):
    root = small_project(tmp_path / "p", "")
    data = (
        "\ufeffID,Fornavn,ETTERNAVN,E-Post,kommune,Verv,Telefon\n"
        "8,Åsa,Øien,asa@example.org,Ås,Tillitsvalgt | MEDLEM,99\n"
    )
    write(root, "bom.csv", data.encode("utf-8"))
    [member] = json.loads(mailer(root, "recipients", "--json").out)
    assert (member["first_name"], member["last_name"]) == ("Åsa", "Øien")
    assert member["roles"] == ["medlem", "tillitsvalgt"]
    assert member["region"] == "Follo"


def test_check_lists_every_bad_row_with_file_and_line_and_exits_1(tmp_path):
    rows = (
        "1,Ola,Nord,ola@example.org,Ås,,medlem,,nb\n"
        "2,Uten,Epost,,Ås,,medlem,,nb\n"
        "3,Feil,Epost,ikke-en-adresse,Ås,,medlem,,nb\n"
        "4,Ukjent,Kommune,k@example.org,Atlantis,,medlem,,nb\n"
        '5,Ukjent,Verv,v@example.org,Ås,,"medlem, keiser",,nb\n'
        "1,Dobbel,Id,d@example.org,Ås,,medlem,,nb\n"
        '6,"Linje\nskift",Navn,l@example.org,Ås,,medlem,,nb\n'
        "7,Siste,Rad,s@example.org,Ås,,medlem,,nb\n"
    )
    root = small_project(tmp_path / "p", rows)
    result = mailer(root, "check")
    assert result.code == 1
    err = result.err
    assert "recipients/members.csv:3: no email address" in err
    assert "recipients/members.csv:4: invalid email address 'ikke-en-adresse'" in err
    assert "recipients/members.csv:5: unknown municipality 'Atlantis'" in err
    assert "recipients/members.csv:6: unknown role 'keiser'" in err
    assert "recipients/members.csv:7: duplicate member id 1 (first on recipients/members.csv:2)" in err
    assert "recipients/members.csv:8: the name contains a line break" in err
    assert "Traceback" not in err


def test_other_commands_skip_bad_rows_with_a_warning_each_and_go_on(tmp_path):
    rows = "1,Ola,Nord,ola@example.org,Ås,,medlem,,nb\n2,Uten,Epost,,Ås,,medlem,,nb\n"
    root = small_project(tmp_path / "p", rows)
    result = mailer(root, "recipients", "--json")
    assert result.code == 0
    assert [m["id"] for m in json.loads(result.out)] == ["1"]
    assert result.err.count("warning:") == 1
    assert "recipients/members.csv:3: no email address; row skipped" in result.err


def test_unknown_columns_are_kept_for_templates(tmp_path):
    root = small_project(tmp_path / "p", "")
    write(
        root,
        "x.csv",
        (MEMBERS_HEADER.strip() + ",Kommunestyre\n1,Ola,Nord,ola@example.org,Ås,,medlem,,nb,ja\n").encode(),
    )
    from mailer.project.config import parse_config
    from mailer.project.members import MemberReader

    cfg = parse_config(root / "schedules.yaml")
    import datetime as dt

    [member] = list(MemberReader(root / "recipients", cfg, dt.date(2026, 11, 22), root))
    assert member.extra == {"kommunestyre": "ja"}


def test_recipients_of_an_audience_by_role_region_and_exclusion(tmp_path):
    rows = (
        '1,A,A,a@example.org,Ås,,"medlem, tillitsvalgt",,nb\n'
        '2,B,B,b@example.org,Bærum,,"medlem, lokallagsleder",,nb\n'
        "3,C,C,c@example.org,Asker,,medlem,,nb\n"
        "4,D,D,d@example.org,Nordre Follo,,medlem,,nb\n"
    )
    extra = (
        "  follo-uten-verv:\n    regions: [Follo]\n    exclude: {roles: [tillitsvalgt]}\n"
        "  nye:\n    joined_within_days: 30\n"
    )
    root = small_project(tmp_path / "p", rows)
    schedules = root / "schedules.yaml"
    schedules.write_text(schedules.read_text().replace("mailings:\n", extra + "mailings:\n"), "utf-8")

    def ids(audience: str) -> list[str]:
        result = mailer(root, "recipients", "--audience", audience, "--json")
        assert result.code == 0, result.err
        return [m["id"] for m in json.loads(result.out)]

    assert ids("tillitsvalgte") == ["1", "2"]
    assert ids("follo") == ["1", "4"]
    assert ids("follo-uten-verv") == ["4"]
    assert ids("alle") == ["1", "2", "3", "4"]
    assert ids("nye") == []
    human = mailer(root, "recipients", "--audience", "follo")
    assert "follo: 2 recipients" in human.out and "Follo" in human.out


def test_joined_within_counts_days_back_from_now(tmp_path):
    rows = "1,A,A,a@example.org,Ås,,medlem,2026-11-01,nb\n2,B,B,b@example.org,Ås,,medlem,01.01.2026,nb\n"
    root = small_project(tmp_path / "p", rows)
    schedules = root / "schedules.yaml"
    schedules.write_text(
        schedules.read_text().replace("mailings:\n", "  nye:\n    joined_within_days: 30\nmailings:\n"),
        "utf-8",
    )
    result = mailer(root, "recipients", "-a", "nye", "--json", "--now", "2026-11-22T12:00")
    assert [m["id"] for m in json.loads(result.out)] == ["1"]


def test_example_project_passes_check_and_counts_roles_and_regions(example):
    result = mailer(example, "check")
    assert result.code == 0, result.err
    assert "340 members" in result.out
    for region in ("Øvre Romerike", "Nedre Romerike", "Follo", "Vestregionen"):
        assert region in result.out
    assert "everything is in order" in result.out
