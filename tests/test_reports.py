"""`mailer report`: the board's numbers agree with what the ledger holds after real sends.

One project is sent through a real SMTP server (aiosmtpd) once per module: a newsletter (one
address refused by the server, one member unsubscribing afterwards) and two meetings of a
series whose RSVP links are answered over real HTTP at `mailer serve`. Each test then reads
one report as JSON, as a page in Chromium, or from the board's web page.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from browser import chromium
from conftest import DRAFT, Handler, base_env, mailer, running_smtp, small_project
from webapp import SECRET, approve_by_cli, board_users, start_web

OSLO = ZoneInfo("Europe/Oslo")
TODAY = dt.datetime.now(OSLO).date()
MEMBERS = """\
1,Åse,Ødegård,ase@example.org,Ås,Ås Senterparti,"medlem, tillitsvalgt",2020-01-01,nb
2,Bjørn,Bråten,bjorn@example.org,Bærum,Bærum Senterparti,"medlem, tillitsvalgt",2021-05-05,nn
3,Kari,Styre,kari@example.org,Asker,Asker Senterparti,medlem|fylkesstyremedlem|tillitsvalgt,2019-01-01,nb
4,Per,Styre,per@example.org,Nordre Follo,Nordre Follo Senterparti,medlem;fylkesstyremedlem,2019-01-01,nb
5,Hilde,Leder,hilde@example.org,Ås,Ås Senterparti,lokallagsleder,2022-01-01,nb
6,Ola,Feil,avvist@example.org,Ås,Ås Senterparti,medlem,{this_year}-02-01,nb
"""


def tuesday_after(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=(1 - day.weekday()) % 7 or 7)


AHEAD = [tuesday_after(TODAY + dt.timedelta(days=1 + 7 * i)) for i in range(2)]
AFTER_BOTH = f"{(AHEAD[1] + dt.timedelta(days=1)).isoformat()}T12:00"
SERIES = f"""\
  tirsdagsmote:
    kind: invitation
    template: invitation
    audience: tillitsvalgte
    subject: "Tirsdagsmøte {{{{ meeting.start|datetime }}}}"
    meeting:
      title: Tirsdagsmøte
      location: Digitalt
      time: "08:00"
      duration: 45m
      attendance_goal: 2
      recurrence: {{frequency: weekly, weekday: tirsdag, start: {AHEAD[0].isoformat()}}}
    invite: {{days_before: 3, at: "09:00"}}
"""
NEWSLETTER = "nyhetsbrev-2026-12"


def rsvp_links(received) -> dict[str, str]:
    html = received.message.get_body(("html",)).get_content()
    return {a: url for url, a in re.findall(r'href="(https://[^"]+/r/[^"/]+/(yes|no))"', html)}


@pytest.fixture(scope="module")
def sent(tmp_path_factory) -> Path:
    """The project after its sends, RSVPs and one unsubscribe."""
    root = small_project(
        tmp_path_factory.mktemp("reports") / "p", MEMBERS.format(this_year=TODAY.year), SERIES
    )
    (root / "drafts" / f"{NEWSLETTER}.md").write_text(DRAFT, "utf-8")
    handler = Handler(reject={"avvist@example.org": "550 5.1.1 No such user"})
    with running_smtp(handler) as smtp:
        env = base_env(**smtp.env(), MAILER_SECRET=SECRET)
        approve_by_cli(root, NEWSLETTER, env)
        mailer(root, "send", NEWSLETTER, env=env)
        invitations: dict[dt.date, list] = {}
        for day in AHEAD:
            before = len(handler.received)
            assert mailer(root, "send", f"tirsdagsmote@{day}", env=env).code == 0
            invitations[day] = handler.received[before:]
        assert mailer(root, "unsubscribe", "bjorn@example.org", "--from", "nyhetsbrev", env=env).code == 0
        web = start_web(root, {**env, "MAILER_BOARD_USERS": board_users()})
        try:
            answers = {AHEAD[0]: {"ase": "yes", "kari": "yes", "bjorn": "no"}, AHEAD[1]: {"ase": "yes"}}
            with web.client() as client:
                for day, by in answers.items():
                    for who, answer in by.items():
                        [invitation] = [r for r in invitations[day] if f"{who}@example.org" in r.rcpt_tos]
                        url = rsvp_links(invitation)[answer]
                        assert client.post(web.local(url)).status_code == 200
        finally:
            web.stop()
    return root


def report(project: Path, *args: str) -> dict:
    result = mailer(project, "report", *args, "--json", "--now", AFTER_BOTH)
    assert result.code == 0, result.err
    return json.loads(result.out)


def ledger(project: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(project / ".mailer" / "state.db") as db:
        return db.execute(sql).fetchall()


def test_the_mailings_report_counts_what_the_ledger_holds_per_mailing(sent):
    rows = {r["mailing"]: r for r in report(sent, "mailings")["mailings"]["rows"]}
    held = ledger(sent, "SELECT mailing_id, status, count(*) FROM deliveries GROUP BY 1, 2")
    for mailing, status, n in held:
        assert rows[mailing][status] == n
    assert {m: sum(n for mm, _, n in held if mm == m) for m in rows} == {
        m: r["recipients"] for m, r in rows.items()
    }


def test_the_mailings_report_shows_the_refused_address_as_failed(sent):
    [row] = report(sent, "mailings", NEWSLETTER)["mailings"]["rows"]
    assert (row["recipients"], row["sent"], row["failed"], row["deferred"]) == (6, 5, 1, 0)


def test_the_mailings_report_counts_who_unsubscribed_after_the_mailing(sent):
    rows = {r["mailing"]: r for r in report(sent, "mailings")["mailings"]["rows"]}
    assert rows[NEWSLETTER]["unsubscribed"] == 1
    assert rows[f"tirsdagsmote@{AHEAD[0]}"]["unsubscribed"] == 0, "only the newsletter was stopped"


def test_the_meetings_report_counts_invited_and_answers_per_meeting(sent):
    meetings = {m["occurrence"]: m for m in report(sent, "meetings")["meetings"]["rows"]}
    first, second = meetings[f"tirsdagsmote@{AHEAD[0]}"], meetings[f"tirsdagsmote@{AHEAD[1]}"]
    assert (first["invited"], first["yes"], first["no"], first["no_answer"]) == (4, 2, 1, 1)
    assert (second["invited"], second["yes"], second["no"]) == (4, 1, 0)
    assert first["state"] == second["state"] == "held"


def test_the_meetings_report_measures_the_goal_and_the_trend_and_says_attendance_is_not_recorded(sent):
    data = report(sent, "meetings", "tirsdagsmote")
    [series] = data["series"]["rows"]
    assert (series["held"], series["goal"], series["goal_met"], series["trend"]) == (
        2,
        2,
        "1 of 2",
        "falling",
    )
    assert series["attended"] is None and "attended" in data["series"]["not_recorded"]


def test_the_chapters_report_counts_members_new_ones_and_leaders_per_chapter(sent):
    data = report(sent, "chapters")
    chapters = {c["chapter"]: c for c in data["chapters"]["rows"]}
    assert chapters["Ås Senterparti"]["members"] == 3
    assert chapters["Ås Senterparti"]["new_this_year"] == 1
    assert chapters["Ås Senterparti"]["leaders"] == "Hilde Leder"
    assert chapters["Asker Senterparti"]["leaders"] == "missing"
    regions = {r["region"]: r["members"] for r in data["regions"]["rows"]}
    assert regions == {"Follo": 4, "Vestregionen": 2}
    assert data["chapters"]["not_recorded"] == []


def test_an_address_the_server_refused_counts_as_bouncing_in_its_chapter(sent):
    data = report(sent, "chapters")
    with sqlite3.connect(sent / ".mailer" / "state.db") as db:
        refused = db.execute("SELECT count(*) FROM deliveries WHERE status = 'failed'").fetchone()[0]
    assert refused >= 1
    assert sum(c["bouncing"] for c in data["chapters"]["rows"]) == refused


def test_the_html_report_opens_in_chromium_with_its_charts(sent, tmp_path):
    pages = {}
    for kind in ("chapters", "meetings"):
        pages[kind] = tmp_path / f"{kind}.html"
        result = mailer(sent, "report", kind, "--html", str(pages[kind]), "--now", AFTER_BOTH)
        assert result.code == 0, result.err
    with chromium() as browser:
        page = browser.new_page()
        page.goto(pages["chapters"].as_uri())
        bars = page.locator("svg.chart.bars rect.bar")
        assert bars.count() == 2
        assert page.locator("svg.chart.bars").get_attribute("aria-label") == "Medlemmer per region"
        assert bars.first.bounding_box()["width"] > bars.last.bounding_box()["width"], (
            "Follo has 4, Vestregionen 2"
        )
        page.goto(pages["meetings"].as_uri())
        assert page.locator("svg.chart.line circle.point").count() == 2
        assert page.locator("svg.chart.line line.goal").count() == 1
        assert "ikke registrert" in page.inner_text("table")


def test_the_board_page_in_mailer_serve_shows_the_three_reports_with_charts(sent):
    web = start_web(sent, base_env(MAILER_SECRET=SECRET, MAILER_BOARD_USERS=board_users()))
    try:
        assert web.client().get("/board/rapporter").status_code == 401
        page = web.board().get("/board/rapporter")
    finally:
        web.stop()
    assert page.status_code == 200
    assert re.findall(r'<section class="report" id="(\w+)"', page.text) == [
        "chapters",
        "meetings",
        "mailings",
    ]
    charts = re.findall(r'<svg [^>]*aria-label="([^"]+)"', page.text)
    assert charts == ["Medlemmer per region", "Sendt per utsending"], (
        "no meeting is over on the server's clock"
    )
    assert "<script" not in page.text


def test_a_report_for_a_series_that_does_not_exist_names_the_ones_that_do(sent):
    result = mailer(sent, "report", "meetings", "tirsdagsmøte")
    assert result.code == 1 and "Traceback" not in result.err
    assert result.err.strip() == (
        "error: no meeting series 'tirsdagsmøte' in schedules.yaml; use one of: tirsdagsmote"
    )


def test_a_report_for_a_mailing_that_does_not_exist_says_so(sent):
    result = mailer(sent, "report", "mailings", "nyhetsbrev-1999-01")
    assert result.code == 1 and result.out == ""
    assert result.err.strip() == (
        "error: no mailing 'nyhetsbrev-1999-01' in the ledger; "
        "`mailer report mailings` lists those sent so far"
    )


def test_a_report_written_over_a_file_others_could_read_is_the_owners_alone(sent, tmp_path):
    """Leaders' names and members who stopped mail: 0600, also over a file that was 0644."""
    target = tmp_path / "rapport.html"
    target.write_text("gammel", encoding="utf-8")
    target.chmod(0o644)

    result = mailer(sent, "report", "chapters", "--html", str(target))

    assert result.code == 0, result.err
    assert target.stat().st_mode & 0o777 == 0o600
    assert "gammel" not in target.read_text("utf-8") and "<svg" in target.read_text("utf-8")


def test_an_html_path_in_a_folder_that_does_not_exist_is_refused_and_nothing_written(sent, tmp_path):
    target = tmp_path / "mangler" / "rapport.html"
    result = mailer(sent, "report", "chapters", "--html", str(target))
    assert result.code == 1 and "Traceback" not in result.err
    assert result.err.strip() == (
        f"error: --html {target}: the folder {target.parent} does not exist; create it or write elsewhere"
    )
    assert not target.parent.exists()


@pytest.mark.parametrize("kind", ["meetings", "mailings"])
def test_a_state_folder_with_nothing_sent_gives_an_empty_report_that_says_so(tmp_path, kind):
    root = small_project(tmp_path / "p", MEMBERS.format(this_year=TODAY.year), SERIES)
    result = mailer(root, "report", kind)
    assert result.code == 0, result.err
    assert "nothing sent yet" in result.out
    assert report(root, kind)["empty"].startswith("nothing sent yet")


def test_the_chapters_report_gives_the_county_totals_in_a_row_of_their_own(sent):
    data = report(sent, "chapters")
    chapters = data["chapters"]["rows"]
    [county] = data["county"]["rows"]
    assert county["county"] == "Testfylket Senterparti"
    assert (county["members"], county["new_this_year"], county["nynorsk"]) == (6, 1, 1)
    assert county["leaders_missing"] == sum(1 for c in chapters if c["leaders"] == "missing") == 3
    for key in ("members", "new_this_year", "nynorsk", "unsubscribed", "bouncing"):
        assert county[key] == sum(c[key] for c in chapters), key


def test_the_meetings_report_gives_the_county_totals_in_a_row_of_their_own(sent):
    [county] = report(sent, "meetings")["county"]["rows"]
    counts = [county[k] for k in ("series", "held", "invited", "yes", "no", "no_answer", "goal_met")]
    assert counts == [1, 2, 8, 3, 1, 4, "1 of 2"]


def test_the_mailings_report_gives_the_county_totals_in_a_row_of_their_own(sent):
    data = report(sent, "mailings")
    [county] = data["county"]["rows"]
    rows = data["mailings"]["rows"]
    assert county["mailings"] == len(rows) == 3
    for key in ("recipients", "sent", "failed", "deferred", "open", "dropped", "unsubscribed"):
        assert county[key] == sum(r[key] for r in rows), key


def test_the_county_total_is_a_table_of_its_own_in_the_terminal(sent):
    result = mailer(sent, "report", "chapters", "--now", AFTER_BOTH)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("County total"))
    _, header, _, row, end = lines[start + 1 : start + 6]
    assert end.startswith("└")
    assert "leaders missing" in header and "bouncing addresses" in header
    assert re.search(r"Testfylket Senterparti\s*│\s+6 │\s+1 │\s+1 │\s+3 │", row), row


@pytest.mark.parametrize("kind", ["chapters", "meetings", "mailings"])
def test_the_html_report_ends_with_the_county_row(sent, tmp_path, kind):
    target = tmp_path / f"{kind}.html"
    assert mailer(sent, "report", kind, "--html", str(target), "--now", AFTER_BOTH).code == 0
    with chromium() as browser:
        page = browser.new_page()
        page.goto(target.as_uri())
        total = page.locator("table.total")
        assert total.count() == 1
        assert page.locator("section.report > table").last.get_attribute("class") == "total"
        assert total.locator("tbody tr").count() == 1
        assert total.locator("td").first.inner_text() == "Testfylket Senterparti"
        weight = total.locator("td").first.evaluate("e => getComputedStyle(e).fontWeight")
        assert int(weight) >= 700


def test_the_board_page_shows_the_county_totals_of_each_report(sent):
    web = start_web(sent, base_env(MAILER_SECRET=SECRET, MAILER_BOARD_USERS=board_users()))
    try:
        page = web.board().get("/board/rapporter")
    finally:
        web.stop()
    assert page.status_code == 200
    sections = re.findall(r'<section class="report" id="(\w+)">(.*?)</section>', page.text, re.S)
    assert [kind for kind, _ in sections] == ["chapters", "meetings", "mailings"]
    for kind, body in sections:
        assert body.count('<table class="total">') == 1, kind
        assert "<h2>Hele fylket</h2>" in body and "<td>Testfylket Senterparti</td>" in body, kind
