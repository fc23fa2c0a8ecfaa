"""`mailer serve` over real HTTP: one-click unsubscribe, RSVP, the board's approval, abuse.

The server is the real command (`mailer serve` on uvicorn, in a subprocess); the mail comes
from the real send path through aiosmtpd, and its links are followed as a mailbox provider or
a member would follow them. Dates are relative to today, since the server runs on the clock.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import DRAFT, base_env, mailer, small_project
from webapp import BOARD_USER, SECRET, approve_by_cli, board_users, start_web, unsubscribe_url

from mailer.delivery.tokens import Signer

OSLO = ZoneInfo("Europe/Oslo")
TODAY = dt.datetime.now(OSLO).date()
MEMBERS = """\
1,Åse,Ødegård,ase@example.org,Ås,,"medlem, tillitsvalgt",2020-01-01,nb
2,Bjørn,Bråten,bjorn@example.org,Bærum,,"medlem, tillitsvalgt",2021-05-05,nn
3,Kari,Styre,kari@example.org,Asker,,medlem|fylkesstyremedlem|tillitsvalgt,2019-01-01,nb
4,Per,Styre,per@example.org,Nordre Follo,,medlem;fylkesstyremedlem,2019-01-01,nb
5,Hilde,Leder,hilde@example.org,Ås,,lokallagsleder,2022-01-01,nb
"""
INVITED = {"ase@example.org", "bjorn@example.org", "kari@example.org", "hilde@example.org"}


def tuesday_after(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=(1 - day.weekday()) % 7 or 7)


FIRST = tuesday_after(TODAY - dt.timedelta(days=21))  # the series began three weeks ago
PAST = tuesday_after(TODAY - dt.timedelta(days=8))
AHEAD = [tuesday_after(TODAY + dt.timedelta(days=1 + 7 * i)) for i in range(4)]
SERIES = f"""\
  tirsdagsmote:
    kind: invitation
    template: invitation
    audience: tillitsvalgte
    subject: "Tirsdagsmøte {{{{ meeting.start|datetime }}}}"
    meeting:
      title: Tirsdagsmøte
      description: Aktuelle saker.
      location: Digitalt
      time: "08:00"
      duration: 45m
      attendance_goal: 2
      recurrence: {{frequency: weekly, weekday: tirsdag, start: {FIRST.isoformat()}}}
      changes:
        {AHEAD[3].isoformat()}: cancelled
    invite: {{days_before: 3, at: "09:00"}}
"""
SECOND_DRAFT = """\
---
subject: "Nyhetsbrev januar"
---
## Godt nytt år

Hei {{ member.first_name }}!
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = small_project(tmp_path / "fylke", MEMBERS, SERIES)
    # The issue is planned ahead of the real clock that `mailer serve` runs on, so the board lists it.
    ahead = DRAFT.replace("send_at: 2026-12-03T18:00", f"send_at: {AHEAD[0].isoformat()}T18:00")
    (root / "drafts" / "nyhetsbrev-2026-12.md").write_text(ahead, encoding="utf-8")
    return root


@pytest.fixture
def env(smtp) -> dict[str, str]:
    return base_env(MAILER_SECRET=SECRET, **smtp.env())


@pytest.fixture
def web(root, env):
    """Start `mailer serve` for the project (extra settings as keyword arguments)."""
    started = []

    def start(**extra: str):
        server = start_web(root, {**env, "MAILER_BOARD_USERS": board_users(), **extra})
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def send(root: Path, mailing: str, env: dict[str, str]) -> None:
    result = mailer(root, "send", mailing, env=env)
    assert result.code == 0, result.err


def send_newsletter(root: Path, env: dict[str, str], mailing: str = "nyhetsbrev-2026-12") -> None:
    approve_by_cli(root, mailing, env)
    send(root, mailing, env)


def suppressions(root: Path, env: dict[str, str]) -> list[dict[str, str]]:
    return json.loads(mailer(root, "suppressions", "--json", env=env).out)


def token(member_id: str, subject: str, purpose: str = "u", issued: dt.date = TODAY) -> str:
    return Signer(SECRET.encode()).sign(purpose, member_id, subject, issued.toordinal())


def rsvp_links(received) -> dict[str, str]:
    html = received.message.get_body(("html",)).get_content()
    return dict(
        (answer, url) for url, answer in re.findall(r'href="(https://[^"]+/r/[^"/]+/(yes|no))"', html)
    )


def attendance(root: Path, env: dict[str, str], *args: str) -> dict[str, dict[str, object]]:
    result = mailer(root, "attendance", "tirsdagsmote", "--json", *args, env=env)
    assert result.code == 0, result.err
    [series] = json.loads(result.out)
    return {o["occurrence"]: o for o in series["occurrences"]}


def rsvp_rows(root: Path) -> list[tuple[str, str, str]]:
    path = root / ".mailer" / "state.db"
    if not path.exists():
        return []
    return sqlite3.connect(path).execute("SELECT occurrence, member_id, answer FROM rsvps").fetchall()


# -- unsubscribe ---------------------------------------------------------------------------------


def test_one_click_post_unsubscribes_and_the_next_newsletter_skips_the_member_while_invitations_still_go(
    root, env, smtp, web
):
    send_newsletter(root, env)
    [got] = smtp.handler.to("ase@example.org")
    assert got.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = unsubscribe_url(got.message["List-Unsubscribe"])
    payload = url.rsplit("/", 1)[1].split(".")[0]
    assert b"ase@example.org" not in base64.urlsafe_b64decode(payload + "=="), "no address in links"
    server = web()
    with server.client() as client:
        answer = client.post(server.local(url), data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200 and "location" not in answer.headers
    [row] = suppressions(root, env)
    assert (row["email"], row["category"], row["source"]) == ("ase@example.org", "nyhetsbrev", "one-click")

    (root / "drafts" / "nyhetsbrev-2027-01.md").write_text(SECOND_DRAFT, encoding="utf-8")
    send_newsletter(root, env, "nyhetsbrev-2027-01")
    january = {r.rcpt_tos[0] for r in smtp.received if r.message["Subject"] == "Nyhetsbrev januar"}
    assert january == {"bjorn@example.org", "kari@example.org", "per@example.org", "hilde@example.org"}

    send(root, f"tirsdagsmote@{AHEAD[0]}", env)
    invited = {r.rcpt_tos[0] for r in smtp.received if r.message["Subject"].startswith("Tirsdagsmøte")}
    assert invited == INVITED, "an officer who left the newsletter still gets the meetings her role needs"


def test_a_one_click_post_as_multipart_form_data_works_too(root, env, web):
    server = web()
    with server.client() as client:
        answer = client.post(
            f"/u/{token('3', 'nyhetsbrev')}", files={"List-Unsubscribe": (None, "One-Click")}
        )
    assert answer.status_code == 200
    assert [(r["email"], r["category"]) for r in suppressions(root, env)] == [
        ("kari@example.org", "nyhetsbrev")
    ]


def test_a_get_on_the_unsubscribe_link_shows_a_norwegian_page_with_a_choice_and_unsubscribes_nobody(
    root, env, smtp, web
):
    send_newsletter(root, env)
    url = unsubscribe_url(smtp.handler.to("ase@example.org")[0].message["List-Unsubscribe"])
    server = web()
    with server.client() as client:
        for _ in range(3):
            page = client.get(server.local(url))
            assert page.status_code == 200
        assert client.head(server.local(url)).status_code == 200
    assert suppressions(root, env) == []
    html = page.text
    assert '<html lang="nb">' in html and "Meld meg av" in html and '<form method="post">' in html
    scopes = re.findall(r'name="scope" value="([^"]+)"', html)
    assert scopes == ["nyhetsbrev", "*"], "this newsletter or everything, not her meetings"
    assert "Nyhetsbrevet" in html and "Tirsdagsmøte" not in html
    assert "ase@example.org" not in html and "Åse" not in html
    assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("scope", ["*", "nyhetsbrev"])
def test_the_page_form_records_the_scope_the_member_chose(root, env, web, scope):
    server = web()
    with server.client() as client:
        answer = client.post(f"/u/{token('1', 'nyhetsbrev')}", data={"scope": scope})
    assert answer.status_code == 200 and "Du er meldt av" in answer.text
    [row] = suppressions(root, env)
    assert (row["email"], row["category"], row["source"]) == ("ase@example.org", scope, "web")


def test_a_scope_the_page_did_not_offer_is_refused_and_nothing_recorded(root, env, web):
    server = web()
    with server.client() as client:
        for form in ({"scope": "velkommen-til-alt"}, {"scope": ""}, {}, {"List-Unsubscribe": "Yes"}):
            assert client.post(f"/u/{token('1', 'nyhetsbrev')}", data=form).status_code == 400
    assert suppressions(root, env) == []


def test_pages_are_in_nynorsk_for_members_who_prefer_it(root, env, web):
    server = web()
    with server.client() as client:
        page = client.get(f"/u/{token('2', 'nyhetsbrev')}")
        done = client.post(f"/u/{token('2', 'nyhetsbrev')}", data={"List-Unsubscribe": "One-Click"})
        rsvp = client.get(f"/r/{token('2', f'tirsdagsmote@{AHEAD[0]}', 'r')}/yes")
    assert '<html lang="nn">' in page.text and "Kva vil du ikkje lenger få" in page.text
    assert "Nyhendebrevet" in page.text
    assert "Du får ikkje fleire e-postar frå oss om nyhendebrevet." in done.text
    assert "Ja, eg kjem" in rsvp.text and "Kjem du?" in rsvp.text


def _tampered() -> str:
    good, other = token("1", "nyhetsbrev"), token("4", "nyhetsbrev")
    return other.split(".")[0] + "." + good.split(".")[1]  # another member's id under this signature


BAD_TOKENS = {
    "tampered": _tampered,
    "truncated": lambda: token("1", "nyhetsbrev")[:-4],
    "expired": lambda: token("1", "nyhetsbrev", issued=TODAY - dt.timedelta(days=401)),
    "from the future": lambda: token("1", "nyhetsbrev", issued=TODAY + dt.timedelta(days=30)),
    "an rsvp token": lambda: token("1", f"tirsdagsmote@{AHEAD[0]}", "r"),
    "another secret": lambda: Signer(b"x" * 32).sign("u", "1", "nyhetsbrev", TODAY.toordinal()),
    "garbage": lambda: "not-a-token",
}


@pytest.mark.parametrize("kind", BAD_TOKENS)
def test_a_bad_unsubscribe_token_gets_400_with_a_plain_page_and_nothing_is_recorded(root, env, web, kind):
    server = web()
    bad = BAD_TOKENS[kind]()
    with server.client() as client:
        assert (
            client.get(f"/u/{token('1', 'nyhetsbrev', issued=TODAY - dt.timedelta(days=399))}").status_code
            == 200
        )
        page = client.get(f"/u/{bad}")
        posted = client.post(f"/u/{bad}", data={"List-Unsubscribe": "One-Click"})
        chosen = client.post(f"/u/{bad}", data={"scope": "*"})
    for answer in (page, posted, chosen):
        assert answer.status_code == 400
        assert answer.headers["content-type"].startswith("text/html") and "Lenken virker ikke" in answer.text
        assert "<form" not in answer.text
    assert suppressions(root, env) == []


def test_a_member_who_left_the_export_is_still_unsubscribed_by_the_address_the_ledger_knows(
    root, env, smtp, web
):
    send_newsletter(root, env)
    url = unsubscribe_url(smtp.handler.to("ase@example.org")[0].message["List-Unsubscribe"])
    members = root / "recipients" / "members.csv"
    members.write_text(
        "".join(line for line in members.read_text("utf-8").splitlines(True) if "Åse" not in line)
    )
    server = web()
    with server.client() as client:
        answer = client.post(server.local(url), data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    assert [r["email"] for r in suppressions(root, env)] == ["ase@example.org"], "a re-import won't undo it"


def test_a_token_for_someone_neither_the_export_nor_the_ledger_knows_gets_a_clear_page_and_records_nothing(
    root, env, web
):
    server = web()
    with server.client() as client:
        answer = client.post(f"/u/{token('999', 'nyhetsbrev')}", data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 404 and "Vi finner deg ikke i medlemslisten" in answer.text
    assert suppressions(root, env) == []


# -- RSVP --------------------------------------------------------------------------------------------


def test_a_get_on_an_rsvp_link_asks_with_a_button_and_records_nothing_so_link_scanners_answer_nothing(
    root, env, smtp, web
):
    send(root, f"tirsdagsmote@{AHEAD[0]}", env)
    links = rsvp_links(smtp.handler.to("ase@example.org")[0])
    assert set(links) == {"yes", "no"}
    server = web()
    with server.client() as client:
        pages = [client.get(server.local(links["yes"])), client.get(server.local(links["no"]))]
    assert all(p.status_code == 200 for p in pages)
    assert (
        "Kommer du?" in pages[0].text
        and 'action="yes"' in pages[0].text
        and "Ja, jeg kommer" in pages[0].text
    )
    assert "Tirsdagsmøte" in pages[0].text and "kl. 08.00" in pages[0].text
    row = attendance(root, env)[f"tirsdagsmote@{AHEAD[0]}"]
    assert (row["invited"], row["yes"], row["no"]) == (4, 0, 0)


def test_an_rsvp_post_records_the_answer_and_a_second_answer_changes_it(root, env, smtp, web):
    occurrence = f"tirsdagsmote@{AHEAD[0]}"
    send(root, occurrence, env)
    links = rsvp_links(smtp.handler.to("ase@example.org")[0])
    server = web()
    with server.client() as client:
        yes = client.post(server.local(links["yes"]))
        assert yes.status_code == 200 and "Takk! Vi har notert at du kommer." in yes.text
        assert 'action="no"' in yes.text, "the thank-you page offers to change the answer"
        assert (attendance(root, env)[occurrence]["yes"], attendance(root, env)[occurrence]["no"]) == (1, 0)
        asked = client.get(server.local(links["no"]))
        assert "Du har svart at du kommer." in asked.text
        no = client.post(server.local(links["no"]))
        assert no.status_code == 200 and "Vi har notert at du ikke kommer." in no.text
    row = attendance(root, env)[occurrence]
    assert (row["invited"], row["yes"], row["no"], row["no_answer"]) == (4, 0, 1, 3)


@pytest.mark.parametrize(
    ("day", "title"),
    [
        (PAST, "Møtet er over"),
        (AHEAD[3], "Møtet er avlyst"),
        (AHEAD[0] + dt.timedelta(days=1), "Møtet er avlyst"),
    ],
)
def test_an_answer_to_a_meeting_that_is_over_or_cancelled_is_refused_and_records_nothing(
    root, env, web, day, title
):
    server = web()
    link = f"/r/{token('1', f'tirsdagsmote@{day}', 'r')}"
    with server.client() as client:
        for answer in (client.get(f"{link}/yes"), client.post(f"{link}/yes")):
            assert answer.status_code == 410 and title in answer.text
        assert client.post(f"/r/{token('1', f'tirsdagsmote@{AHEAD[0]}', 'r')}/maybe").status_code == 404
    assert rsvp_rows(root) == []


@pytest.mark.parametrize("kind", ["tampered", "truncated", "expired", "unsubscribe token"])
def test_a_bad_rsvp_token_gets_400_and_records_nothing(root, env, web, kind):
    occurrence = f"tirsdagsmote@{AHEAD[0]}"
    good = token("1", occurrence, "r")
    bad = {
        "tampered": token("3", occurrence, "r").split(".")[0] + "." + good.split(".")[1],
        "truncated": good[: len(good) // 2],
        "expired": token("1", occurrence, "r", issued=TODAY - dt.timedelta(days=401)),
        "unsubscribe token": token("1", "nyhetsbrev"),
    }[kind]
    server = web()
    with server.client() as client:
        assert client.post(f"/r/{bad}/yes").status_code == 400
    assert rsvp_rows(root) == []


# -- the board ---------------------------------------------------------------------------------------


def approvals(root: Path) -> list[tuple[str, str, str]]:
    db = sqlite3.connect(root / ".mailer" / "state.db")
    return db.execute("SELECT mailing_id, fingerprint, approved_by FROM approvals").fetchall()


def approve_form(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', html))


def test_the_board_list_shows_upcoming_mailings_with_fingerprint_and_approval_state(root, env, web):
    previewed = mailer(root, "preview", "nyhetsbrev-2026-12", env=env)
    fingerprint = re.search(r"fingerprint (\w+)", previewed.out).group(1)
    server = web()
    with server.board() as board:
        page = board.get("/board")
    assert page.status_code == 200 and f"Innlogget som {BOARD_USER}" in page.text
    assert 'href="/board/m/nyhetsbrev-2026-12"' in page.text and fingerprint in page.text
    assert "0 av 1" in page.text
    assert f'href="/board/m/tirsdagsmote@{AHEAD[0]}"' in page.text


def test_the_board_approves_the_fingerprint_it_previewed_exactly_like_mailer_approve(root, env, smtp, web):
    server = web()
    with server.board() as board:
        page = board.get("/board/m/nyhetsbrev-2026-12")
        assert page.status_code == 200
        assert 'width="1200"' in page.text and 'width="375"' in page.text
        assert "Hei Ola" in board.get("/board/html/nb/nyhetsbrev-2026-12").text, (
            "a sample member, not a real one"
        )
        form = approve_form(page.text)
        assert form["fingerprint"] in page.text
        done = board.post("/board/approve/nyhetsbrev-2026-12", data=form)
        assert done.status_code == 303 and done.headers["location"].startswith("/board/m/nyhetsbrev-2026-12")
        assert "Godkjenningen din er registrert" in board.get(done.headers["location"]).text
    assert approvals(root) == [("nyhetsbrev-2026-12", form["fingerprint"], BOARD_USER)]
    dry = mailer(root, "send", "nyhetsbrev-2026-12", "--dry-run", env=env)
    assert "; approved" in dry.out
    send(root, "nyhetsbrev-2026-12", env)
    assert len(smtp.received) == 5


def test_an_approval_of_content_that_changed_after_the_board_looked_is_refused(root, env, web):
    server = web()
    with server.board() as board:
        form = approve_form(board.get("/board/m/nyhetsbrev-2026-12").text)
        draft = root / "drafts" / "nyhetsbrev-2026-12.md"
        draft.write_text(draft.read_text("utf-8") + "\nEn setning lagt til etterpå.\n", encoding="utf-8")
        refused = board.post("/board/approve/nyhetsbrev-2026-12", data=form)
    assert refused.status_code == 409 and "endret siden du så på det" in refused.text
    assert approvals(root) == []


def test_an_approval_without_the_page_s_form_token_is_refused(root, env, web):
    server = web()
    with server.board() as board:
        form = approve_form(board.get("/board/m/nyhetsbrev-2026-12").text)
        forged = board.post(
            "/board/approve/nyhetsbrev-2026-12", data={"fingerprint": form["fingerprint"], "csrf": "0" * 32}
        )
        cross_site = board.post(
            "/board/approve/nyhetsbrev-2026-12", data=form, headers={"Origin": "https://evil.example"}
        )
    assert forged.status_code == 403 and cross_site.status_code == 403
    assert approvals(root) == []


@pytest.mark.parametrize("login", ["none", "wrong password", "unknown user", "malformed"])
def test_board_pages_and_approval_without_a_valid_login_get_401_and_record_nothing(root, env, web, login):
    server = web()
    with server.board() as board:
        form = approve_form(board.get("/board/m/nyhetsbrev-2026-12").text)
    auth = {
        "none": {},
        "wrong password": {"auth": (BOARD_USER, "feil passord")},
        "unknown user": {"auth": ("Ola Ukjent", "riktig hest batteri stift")},
        "malformed": {"headers": {"Authorization": "Basic ###"}},
    }[login]
    with server.client(**auth) as client:
        for answer in (
            client.get("/board"),
            client.get("/board/m/nyhetsbrev-2026-12"),
            client.get("/board/html/nb/nyhetsbrev-2026-12"),
            client.post("/board/approve/nyhetsbrev-2026-12", data=form),
        ):
            assert answer.status_code == 401
            assert answer.headers["www-authenticate"].startswith('Basic realm="mailer board"')
    assert approvals(root) == []


def test_repeated_wrong_passwords_lock_the_client_out_for_a_while(root, env, web):
    server = web()
    with server.client(auth=(BOARD_USER, "feil")) as client:
        codes = [client.get("/board").status_code for _ in range(11)]
    with server.board() as board:
        right = board.get("/board")
    assert codes == [401] * 10 + [429]
    assert right.status_code == 429, "even the right password waits once a client has guessed too often"


def test_serve_refuses_to_start_with_a_board_password_that_is_not_a_hash(root, env):
    result = mailer(root, "serve", "--port", "1", env={**env, "MAILER_BOARD_USERS": '{"Kari": "hemmelig"}'})
    assert result.code == 1
    assert "MAILER_BOARD_USERS" in result.err and "Kari" in result.err and "Traceback" not in result.err


def test_hash_password_makes_a_salted_scrypt_hash_and_refuses_short_passwords(root):
    import subprocess
    import sys

    def run(password: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mailer", "hash-password"],
            input=password + "\n",
            capture_output=True,
            text=True,
        )

    one, two = run("riktig hest batteri stift"), run("riktig hest batteri stift")
    assert one.returncode == 0 and one.stdout.startswith("scrypt:") and one.stdout != two.stdout
    assert "riktig" not in one.stdout and "MAILER_BOARD_USERS" in one.stderr
    short = run("kort")
    assert short.returncode == 1 and "at least 10 characters" in short.stderr and short.stdout == ""


# -- rate limit ---------------------------------------------------------------------------------------


def test_many_requests_from_one_client_are_limited_while_other_clients_are_served(root, env, web):
    server = web(MAILER_WEB_REQUESTS_PER_MINUTE="5")
    link = f"/u/{token('1', 'nyhetsbrev')}"
    with server.client() as client:
        codes = [client.get(link).status_code for _ in range(5)]
        limited = client.post(link, data={"List-Unsubscribe": "One-Click"})
        other = client.get(link, headers={"X-Forwarded-For": "203.0.113.7"})
        health = client.get("/healthz")
    assert codes == [200] * 5
    assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 60
    assert other.status_code == 200, "behind the proxy each forwarded client has its own window"
    assert health.status_code == 200
    assert suppressions(root, env) == []


# -- attendance ----------------------------------------------------------------------------------


def test_attendance_counts_invited_yes_no_and_no_answer_per_meeting_against_the_goal_with_the_trend(
    root, env, smtp, web
):
    for day in AHEAD[:3]:
        send(root, f"tirsdagsmote@{day}", env)
    answers = {
        AHEAD[0]: {"ase": "yes", "bjorn": "yes", "kari": "yes", "hilde": "no"},
        AHEAD[1]: {"ase": "no", "kari": "yes"},
        AHEAD[2]: {},
    }
    server = web()
    with server.client() as client:
        for day, given in answers.items():
            for who, answer in given.items():
                [got] = [
                    r
                    for r in smtp.handler.to(f"{who}@example.org")
                    if r.message["X-Mailer-Mailing"] == f"tirsdagsmote@{day}"
                ]
                assert client.post(server.local(rsvp_links(got)[answer])).status_code == 200

    ahead = attendance(root, env)
    assert [(o["held"], o["yes"], o["goal_met"]) for o in ahead.values()] == [
        (False, 3, None),
        (False, 1, None),
        (False, 0, None),
    ]

    after = f"{AHEAD[2]}T12:00"
    result = mailer(root, "attendance", "tirsdagsmote", "--json", "--now", after, env=env)
    [series] = json.loads(result.out)
    assert (series["series"], series["title"], series["goal"]) == ("tirsdagsmote", "Tirsdagsmøte", 2)
    rows = [
        (o["date"], o["invited"], o["yes"], o["no"], o["no_answer"], o["goal_met"])
        for o in series["occurrences"]
    ]
    assert rows == [
        (AHEAD[0].isoformat(), 4, 3, 1, 0, True),
        (AHEAD[1].isoformat(), 4, 1, 1, 2, False),
        (AHEAD[2].isoformat(), 4, 0, 0, 4, False),
    ]
    assert series["trend"] == {
        "yes": [3, 1, 0],
        "attended": [],
        "direction": "falling",
        "goal_met": 1,
        "meetings": 3,
    }

    text = mailer(root, "attendance", "--now", after, env=env).out
    assert "tirsdagsmote: Tirsdagsmøte, goal 2" in text
    assert "trend over the last 3 meetings held: 3 → 1 → 0 (falling); goal met at 1 of 3" in text
    last_two = json.loads(
        mailer(root, "attendance", "tirsdagsmote", "--json", "--last", "2", "--now", after, env=env).out
    )
    assert [o["date"] for o in last_two[0]["occurrences"]] == [AHEAD[1].isoformat(), AHEAD[2].isoformat()]


def test_attendance_of_an_unknown_series_is_an_error_that_names_the_series_there_are(root, env):
    result = mailer(root, "attendance", "fredagsmote", env=env)
    assert (
        result.code == 1
        and "'fredagsmote' is not a meeting series" in result.err
        and "tirsdagsmote" in result.err
    )
    assert mailer(root, "attendance", env=env).out == "no meeting invitations have been sent yet\n"


# -- the server -----------------------------------------------------------------------------------


def test_a_schedule_broken_while_serving_gives_503_and_a_fixed_one_is_picked_up_without_restart(
    root, env, web
):
    server = web()
    schedules = root / "schedules.yaml"
    good = schedules.read_text("utf-8")
    link = f"/u/{token('1', 'nyhetsbrev')}"
    with server.client() as client:
        schedules.write_text(good.replace("organisation:", "organisation: [", 1), "utf-8")
        broken = client.get(link)
        schedules.write_text(good.replace("Testfylket Senterparti", "Nyfylket Senterparti", 1), "utf-8")
        fixed = client.get(link)
    assert broken.status_code == 503 and "Traceback" not in broken.text
    assert fixed.status_code == 200 and "Nyfylket Senterparti" in fixed.text
