"""What the organiser has: `mailer event status|export|cancel`, the board's list with a check-in
button per person, and who came in `mailer report meetings`."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import stat
from zoneinfo import ZoneInfo

import pytest
from conftest import base_env, mailer
from event_project import EVENT, event_block, hidden, links, make_project, run_due, status, wait_for
from webapp import BOARD_USER, SECRET, board_users, start_web

QUESTIONS = (
    "\n      - {id: fodselsdato, label: Fødselsdato, type: date, required: true}"
    "\n      - {id: mat, label: Mat, type: choice, choices: [Kjøtt, Vegetar]}"
    "\n      - {id: hensyn, label: Andre hensyn, type: text}"
)


@pytest.fixture
def env(smtp) -> dict[str, str]:
    return base_env(
        MAILER_SECRET=SECRET,
        MAILER_WEB_REQUESTS_PER_MINUTE="100000",
        MAILER_BOARD_USERS=board_users(),
        **smtp.env(),
    )


@pytest.fixture
def registered(tmp_path, env, smtp):
    """Two places taken (Åse, Kari) and Per waiting, with answers; `mailer serve` running."""
    project = make_project(tmp_path / "fylke", event_block(questions=QUESTIONS))
    run_due(project, env)
    server = start_web(project, env)
    invitations = links(smtp.received, "/p/")
    answers = {
        "ase@example.org": ("17.05.1990", "Vegetar", '=HYPERLINK("https://evil.example")'),
        "kari@example.org": ("01.02.1961", "Kjøtt", ""),
        "per@example.org": ("24.12.1975", "Kjøtt", "Rullestol"),
    }
    for address, (dob, food, other) in answers.items():
        with server.client() as client:
            link = server.local(invitations[address])
            form = hidden(client.get(link).text)
            data = {**form, "action": "register", "q.fodselsdato": dob, "q.mat": food, "q.hensyn": other}
            assert client.post(link, data=data).status_code == 200
    wait_for(smtp, 13)
    yield project, server
    server.stop()


def test_status_counts_places_the_list_and_the_answers(registered, env):
    project, _ = registered

    s = status(project, env)

    assert (s["capacity"], s["taken"], s["free"], s["placed"], s["waiting"]) == (2, 2, 0, 2, 1)
    assert s["answers"]["mat"] == {
        "label": "Mat",
        "type": "choice",
        "answered": 3,
        "counts": {"Vegetar": 1, "Kjøtt": 2},
    }
    assert s["answers"]["fodselsdato"]["answered"] == 3
    assert "1990" not in json.dumps(s)  # counts, never the answers themselves


def test_status_without_json_is_a_few_lines_for_a_person(registered, env):
    project, _ = registered

    result = mailer(project, "event", "status", EVENT, env=env)

    assert result.code == 0
    assert "places: 2 of 2 taken; waiting: 1" in result.out
    assert "mat (Mat): 3 answered (Kjøtt: 2, Vegetar: 1)" in result.out


def test_the_export_is_the_list_excel_opens_with_places_first_and_the_answers(registered, env, tmp_path):
    project, _ = registered
    out = tmp_path / "stortinget.csv"

    result = mailer(project, "event", "export", EVENT, "--out", str(out), env=env)

    assert result.code == 0, result.err
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == [
        "Status", "Plass på venteliste", "Navn", "E-post", "Medlemsnummer", "Gjest", "Møtt",
        "Fødselsdato", "Mat", "Andre hensyn",
    ]  # fmt: skip
    assert [r[:3] for r in rows[1:]] == [
        ["har plass", "", "Åse Ødegård"],
        ["har plass", "", "Kari Berg"],
        ["venteliste", "1", "Per Vanlig"],
    ]
    assert rows[1][3:] == [
        "ase@example.org",
        "1",
        "nei",
        "",
        "17.05.1990",
        "Vegetar",
        '\'=HYPERLINK("https://evil.example")',
    ]


def test_the_organiser_cancels_someone_and_the_first_in_line_gets_the_place_and_a_mail(registered, env, smtp):
    project, _ = registered

    result = mailer(project, "event", "cancel", EVENT, "Kari@Example.org", env=env)

    assert result.code == 0, result.err
    assert "cancelled kari@example.org's registration for medlemstreff (was: placed)" in result.out
    assert "per@example.org: now has a place" in result.out
    got = {r.rcpt_tos[0]: str(r.message["Subject"]) for r in smtp.received[13:]}
    assert got == {
        "kari@example.org": "Avmeldt: Medlemstreff på Stortinget",
        "per@example.org": "Du har plass: Medlemstreff på Stortinget",
    }
    text = next(r for r in smtp.received[13:] if "kari@example.org" in r.rcpt_tos).message.get_body(
        ("plain",)
    )
    assert "Vi har meldt deg av" in text.get_content()


def test_a_cancel_without_an_smtp_host_names_the_outbox_it_wrote_to(registered, env):
    project, _ = registered
    outbox_env = {k: v for k, v in env.items() if not k.startswith("MAILER_SMTP_")}

    result = mailer(project, "event", "cancel", EVENT, "kari@example.org", env=outbox_env)

    assert result.code == 0, result.err
    outbox = project / ".mailer" / "outbox"
    assert f"2 message(s) written into {outbox} (no SMTP host set: MAILER_SMTP_HOST)" in result.out
    assert len(list(outbox.rglob("*.eml"))) == 2


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        pytest.param(
            (EVENT, "ulla@example.org"), "ulla@example.org has no registration for", id="not-registered"
        ),
        pytest.param(
            (EVENT, "ikke-en-adresse"), "'ikke-en-adresse' is not an email address", id="bad-address"
        ),
        pytest.param(
            ("finnes-ikke", "ase@example.org"), "no event 'finnes-ikke' in schedules.yaml", id="no-event"
        ),
    ],
)
def test_a_cancel_that_cannot_be_done_says_why_in_one_line(registered, env, args, needle):
    project, _ = registered

    result = mailer(project, "event", "cancel", *args, env=env)

    assert result.code == 1
    assert needle in result.err and len(result.err.strip().splitlines()) == 1


def test_an_export_to_a_folder_that_does_not_exist_is_refused(registered, env, tmp_path):
    project, _ = registered

    result = mailer(project, "event", "export", EVENT, "--out", str(tmp_path / "mangler" / "x.csv"), env=env)

    assert result.code == 1 and "does not exist" in result.err


def test_the_board_lists_the_registrants_with_a_check_in_button_and_no_answers(registered):
    _, server = registered

    with server.board() as client:
        listing = client.get("/board/p")
        page = client.get(f"/board/p/{EVENT}")

    assert listing.status_code == 200 and "Medlemstreff på Stortinget" in listing.text
    assert re.search(r"\d+\. \w+ 20\d\d kl\. \d\d\.\d\d", listing.text), "a date with its year"
    assert page.status_code == 200
    assert "Åse Ødegård" in page.text and "Per Vanlig" in page.text and "venteliste nr. 1" in page.text
    assert page.text.count("Sjekk inn") == 2
    assert "1990" not in page.text and "Vegetar" not in page.text


def test_the_board_needs_a_login(registered):
    _, server = registered

    with server.client() as client:
        assert client.get(f"/board/p/{EVENT}").status_code == 401


def test_a_check_in_counts_as_attended_in_the_meetings_report(registered, env):
    project, server = registered
    with server.board() as client:
        page = client.get(f"/board/p/{EVENT}").text
        csrf = hidden(page)["csrf"]
        registration = dict(hidden(page.split("Åse Ødegård")[1]))["registration"]
        answer = client.post(f"/board/p/{EVENT}/checkin", data={"csrf": csrf, "registration": registration})
        again = client.post(f"/board/p/{EVENT}/checkin", data={"csrf": csrf, "registration": registration})
        after = client.get(f"/board/p/{EVENT}").text

    assert answer.status_code == again.status_code == 303
    assert after.count("Sjekk inn") == 1 and "Angre" in after
    assert status(project, env)["checked_in"] == 1
    report = json.loads(mailer(project, "report", "meetings", EVENT, "--json", env=env).out)
    [row] = report["meetings"]["rows"]
    assert (row["invited"], row["yes"], row["attended"]) == (10, 2, 1)


def test_a_cancellation_takes_its_check_in_with_it_and_a_tick_can_always_be_taken_back(registered, env):
    """Ticked off early at the door, then cancelled: not counted as come, and the board can
    still take the tick back (it said 'no place' before)."""
    project, server = registered
    with server.board() as client:
        page = client.get(f"/board/p/{EVENT}").text
        csrf = hidden(page)["csrf"]
        registration = dict(hidden(page.split("Åse Ødegård")[1]))["registration"]
        client.post(f"/board/p/{EVENT}/checkin", data={"csrf": csrf, "registration": registration})
        assert status(project, env)["checked_in"] == 1

        cancelled = mailer(project, "event", "cancel", EVENT, "ase@example.org", env=env)
        undo = client.post(
            f"/board/p/{EVENT}/checkin", data={"csrf": csrf, "registration": registration, "undo": "1"}
        )

    assert cancelled.code == 0, cancelled.err
    assert status(project, env)["checked_in"] == 0
    assert undo.status_code == 303


def test_a_called_off_event_says_so_on_the_board_and_in_local_time_on_the_command_line(registered, env):
    project, server = registered
    before = dt.datetime.now(ZoneInfo("Europe/Oslo")).replace(second=0, microsecond=0)
    assert mailer(project, "event", "call-off", EVENT, "--reason", "Salen er stengt", env=env).code == 0
    after = dt.datetime.now(ZoneInfo("Europe/Oslo"))

    with server.board() as client:
        listing = client.get("/board/p").text
        page = client.get(f"/board/p/{EVENT}").text
    out = mailer(project, "event", "status", EVENT, env=env).out

    assert "(avlyst)" in listing
    assert "Avlyst" in page and "Salen er stengt" in page and "Ingen påmeldte ennå" not in page
    called = re.search(r"CALLED OFF (\d{4}-\d\d-\d\d \d\d:\d\d)", out)
    assert called, out
    at = dt.datetime.strptime(called[1], "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo("Europe/Oslo"))
    assert before <= at <= after


def test_a_check_in_without_the_pages_csrf_value_is_refused(registered, env):
    project, server = registered
    with server.board() as client:
        answer = client.post(f"/board/p/{EVENT}/checkin", data={"csrf": "x", "registration": "1"})

    assert answer.status_code == 403
    assert status(project, env)["checked_in"] == 0


def test_someone_on_the_waiting_list_cannot_be_checked_in(registered, env):
    project, server = registered
    with server.board() as client:
        page = client.get(f"/board/p/{EVENT}").text
        answer = client.post(
            f"/board/p/{EVENT}/checkin", data={"csrf": hidden(page)["csrf"], "registration": "3"}
        )

    assert answer.status_code == 409
    assert status(project, env)["checked_in"] == 0


@pytest.mark.parametrize("registration", ["abc", "1" * 30, "²", ""])
def test_a_check_in_of_no_registration_number_says_so_in_norwegian(registered, env, registration):
    project, server = registered
    with server.board() as client:
        page = client.get(f"/board/p/{EVENT}").text
        answer = client.post(
            f"/board/p/{EVENT}/checkin", data={"csrf": hidden(page)["csrf"], "registration": registration}
        )

    assert answer.status_code == 409 and "Last siden på nytt" in answer.text
    assert "invalid literal" not in answer.text
    assert status(project, env)["checked_in"] == 0


def test_mailer_status_counts_the_messages_to_each_person_under_their_event(registered, env):
    project, _ = registered

    rows = {r["id"]: r for r in json.loads(mailer(project, "status", "--json", env=env).out)["mailings"]}

    assert rows[f"{EVENT} (notices)"]["sent"] == 3
    assert rows[f"{EVENT}/invitation"]["sent"] == 10
    assert not [k for k in rows if "/confirmation-" in k]


def test_the_checked_in_person_is_named_by_the_board_member_who_ticked(registered, env):
    project, server = registered
    with server.board() as client:
        page = client.get(f"/board/p/{EVENT}").text
        client.post(f"/board/p/{EVENT}/checkin", data={"csrf": hidden(page)["csrf"], "registration": "1"})

    import sqlite3

    db = sqlite3.connect(project / ".mailer" / "state.db")
    assert db.execute("SELECT checked_in_by FROM checkins").fetchall() == [(BOARD_USER,)]
