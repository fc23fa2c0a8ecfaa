"""The example project exercises every role the schedule uses, and says so when an audience is empty."""

from __future__ import annotations

import json
import shutil

from conftest import REPO, base_env, copy_example, mailer, small_project

NOW = "2026-12-03T12:00"
MESSY = REPO / "examples" / "messy-export.csv"
NOBODY_ON_THE_BOARD = "1,Åse,Ødegård,ase@example.org,Ås,,medlem|tillitsvalgt,2019-01-01,nb\n"


def selected(project, audience: str) -> list[dict]:
    result = mailer(project, "recipients", "--audience", audience, "--json", "--now", NOW)
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_the_example_has_a_county_board_of_seven_to_eleven(example):
    assert 7 <= len(selected(example, "fylkesstyret")) <= 11


def test_every_chapter_in_the_example_has_a_leader(example):
    chapters = {m["chapter"] for m in selected(example, "alle-medlemmer")}
    led = {m["chapter"] for m in selected(example, "lokallagsledere")}
    assert len(chapters) == 21 and led == chapters


def test_the_example_has_mayors_group_leaders_new_members_and_nynorsk_readers(example):
    for audience in ("ordforerforum", "gruppelederforum", "nye-medlemmer"):
        assert selected(example, audience), audience
    assert any(m["language"] == "nn" for m in selected(example, "alle-medlemmer"))


def test_check_finds_no_empty_audience_in_the_example(example):
    result = mailer(example, "--now", NOW, "check")  # new members are new for half a year
    assert result.code == 0, result.err
    assert "selects nobody" not in result.err


def test_check_warns_naming_the_mailing_and_audience_that_select_nobody(tmp_path):
    extra = """\
  styremote:
    kind: invitation
    template: invitation
    audience: styret
    subject: "Styremøte"
    meeting: {title: Styremøte, location: Ås, time: "18:00", duration: 2h, dates: [2027-01-20]}
"""
    root = small_project(tmp_path / "p", NOBODY_ON_THE_BOARD, extra)
    result = mailer(root, "check")
    assert result.code == 0, result.err
    assert (
        "warning: mailing 'styremote': audience 'styret' (roles: fylkesstyremedlem) selects nobody"
        in result.err
    )
    assert "'nyhetsbrev'" not in result.err


def test_preview_to_board_with_no_board_says_what_to_configure(tmp_path, smtp):
    root = small_project(tmp_path / "p", NOBODY_ON_THE_BOARD)
    (root / "drafts" / "nyhetsbrev-2026-12.md").write_text(
        "---\nsubject: Nytt\nsend_at: 2026-12-03T18:00\n---\nHei!\n", "utf-8"
    )
    result = mailer(root, "preview", "nyhetsbrev-2026-12", "--to-board", env=base_env(**smtp.env()))
    assert result.code == 1 and "Traceback" not in result.err
    assert result.err.strip().splitlines()[-1] == (
        "error: the board audience 'styret' selects nobody: give the board members the role "
        "'fylkesstyremedlem' in the member export (recipients/), or set organisation.board_audience "
        "in schedules.yaml to an audience that selects them"
    )
    assert smtp.received == []


def test_check_lists_every_bad_row_of_the_messy_export_with_its_line(tmp_path):
    project = copy_example(tmp_path / "akershus")
    shutil.copy(MESSY, project / "recipients" / "messy-export.csv")
    result = mailer(project, "check")
    assert result.code == 1
    where = "recipients/messy-export.csv"
    for line in (
        f"{where}:3: no email address",
        f"{where}:4: invalid email address 'froydis.saebo(at)example.net'",
        f"{where}:5: unknown municipality 'Oslo'",
        f"{where}:6: unknown role 'fylkesleder'",
        f"{where}:7: duplicate member id 30001 (first on {where}:2)",
        f"{where}:8: joined date 'snart' is not a date",
    ):
        assert line in result.err
    assert "Traceback" not in result.err


def test_other_commands_skip_the_messy_rows_and_keep_the_good_ones(tmp_path):
    project = copy_example(tmp_path / "akershus")
    shutil.copy(MESSY, project / "recipients" / "messy-export.csv")
    everyone = {m["id"] for m in selected(project, "alle-medlemmer")}
    assert {"30001", "30007", "30008"} <= everyone
    assert not {"30002", "30003", "30004", "30005"} & everyone


def test_check_warns_about_an_event_still_ahead_whose_audience_selects_nobody(example):
    # By September 2027 the example's new members are no longer new; the event is in November.
    ahead = mailer(example, "--now", "2027-09-01T10:00", "check")
    assert ahead.code == 0, ahead.err
    assert (
        "warning: event 'medlemstreff-host-2027': audience 'nye-medlemmer' selects nobody in the member "
        "export; nothing would be sent" in ahead.err
    )
    after = mailer(example, "--now", "2027-11-18T10:00", "check")
    assert "event 'medlemstreff-host-2027'" not in after.err, "an event already held is not warned about"
