"""Members choose for themselves on `/i/TOKEN`: through the real `mailer serve` and a real SMTP server.

Each test follows the links in the mail a member got, as they would, and checks what the next
run sends. Dates are relative to today (the server runs on the real clock); commands that look
ahead pass `--now` relative to today too.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from conftest import mailer
from prefs_project import (
    MEETING_DAYS,
    SECRETARY,
    TODAY,
    actions,
    confirm,
    env_for,
    invitation,
    make_project,
    newsletter,
    page_link,
    post,
    preferences,
    recipients,
    token,
)
from webapp import start_web, unsubscribe_url


@pytest.fixture
def root(tmp_path):
    return make_project(tmp_path)


@pytest.fixture
def env(smtp, request):
    """A test that asks for `engine` runs on SQLite and on PostgreSQL: the engine is chosen before
    the environment every command and `mailer serve` get is made."""
    if "engine" in request.fixturenames:
        request.getfixturevalue("engine")
    return env_for(smtp.env())


@pytest.fixture
def server(root, env):
    web = start_web(root, env)
    yield web
    web.stop()


def page(server, member_id: str) -> str:
    return f"/i/{token(member_id)}"


# -- the link in every mail --------------------------------------------------------------------


def test_every_mail_carries_the_preference_link_beside_unsubscribe_in_html_and_text(root, env, smtp):
    newsletter(root, env, 1)
    invitation(root, env, "lederforum", MEETING_DAYS[0])
    for got in smtp.received:
        html = got.message.get_body(("html",)).get_content()
        text = got.message.get_body(("plain",)).get_content()
        nynorsk = got.rcpt_tos == ["bjorn@example.org"]
        words = "Innstillingar for e-post" if nynorsk else "Innstillinger for e-post"
        link = page_link(got)
        assert words in html and words in text, got.rcpt_tos
        assert f"{words} ({link})" in " ".join(text.split()), "the text part spells the link out"
        unsubscribe = unsubscribe_url(got.message["List-Unsubscribe"])
        assert html.index(unsubscribe) < html.index(link), "right after the unsubscribe link"


# -- the page ------------------------------------------------------------------------------------


def test_the_page_lists_what_the_member_can_receive_and_marks_what_their_office_requires(server):
    with server.client() as client:
        leader = client.get(page(server, "3"))
        member = client.get(page(server, "4"))
    assert leader.status_code == 200
    assert "Innstillinger for e-post" in leader.text and 'lang="nb"' in leader.text
    assert "Nyhetsbrevet" in leader.text and "Invitasjoner til Regionmøte Follo" in leader.text
    assert "Invitasjoner til Lederforum" in leader.text
    assert "fordi du er lokallagsleder" in leader.text
    assert 'name="on" value="lederforum" checked disabled' in leader.text
    assert "hilde@example.org" not in leader.text and "hi…@example.org" in leader.text
    assert "Regionmøte" not in member.text and "Lederforum" not in member.text, "Bærum is not in Follo"
    assert "<script" not in leader.text.lower()


def test_the_page_is_in_nynorsk_for_a_member_who_reads_nynorsk(server):
    with server.client() as client:
        got = client.get(page(server, "2"))
    assert 'lang="nn"' in got.text and "Innstillingar for e-post" in got.text and "Nyhendebrevet" in got.text


def test_opening_the_page_changes_nothing(root, env, server):
    with server.client() as client:
        for _ in range(3):
            assert client.get(page(server, "1")).status_code == 200
    assert json.loads(mailer(root, "suppressions", "--history", "--json", env=env).out) == []


# -- categories ----------------------------------------------------------------------------------


def test_turning_the_newsletter_off_and_a_series_back_on_changes_the_next_runs_recipients(
    engine, root, env, smtp, server
):
    with server.client() as client:
        path = server.local(unsubscribe_url(_first(smtp, root, env, "ase@example.org")))
        assert client.post(path, data={"scope": "regionmote-follo"}).status_code == 200
    smtp.handler.received.clear()

    saved = post(
        server,
        page(server, "1"),
        [
            ("shown", "nyhetsbrev"),
            ("shown", "regionmote-follo"),
            ("on", "regionmote-follo"),
            ("language", "nb"),
        ],
    )

    assert saved.status_code == 200 and "Vi har sendt en e-post til adressen din" in saved.text
    [mail] = smtp.handler.to("ase@example.org")
    assert mail.message["Subject"] == "Bekreft at du vil ha e-post fra oss igjen"
    assert "Invitasjoner til Regionmøte Follo" in " ".join(
        mail.message.get_body(("plain",)).get_content().split()
    )
    invitation(root, env, "regionmote-follo", MEETING_DAYS[1])
    assert "ase@example.org" not in recipients(smtp.received, "Regionmøte"), "not before the confirmation"
    assert confirm(server, mail).status_code == 200
    smtp.handler.received.clear()

    newsletter(root, env, 2)
    invitation(root, env, "regionmote-follo", MEETING_DAYS[2])

    assert "ase@example.org" not in recipients(smtp.received, "Nyhetsbrev 2")
    assert recipients(smtp.received, "Nyhetsbrev 2") == {
        "bjorn@example.org",
        "hilde@example.org",
        "per@example.org",
    }
    assert "ase@example.org" in recipients(smtp.received, "Regionmøte")


def _first(smtp, root, env, address: str):
    """The member's copy of the first newsletter (sent now)."""
    newsletter(root, env, 1)
    invitation(root, env, "regionmote-follo", MEETING_DAYS[0])
    [got] = [r for r in smtp.handler.to(address) if "Regionmøte" in str(r.message["Subject"])]
    return got.message["List-Unsubscribe"]


def test_a_pause_holds_back_everything_optional_but_not_what_the_office_requires_and_ends_by_the_clock(
    engine, root, env, smtp, server
):
    paused = post(server, page(server, "3"), [("action", "pause"), ("months", "1")])
    assert paused.status_code == 200 and "Pausen er registrert" in paused.text

    newsletter(root, env, 1)
    invitation(root, env, "lederforum", MEETING_DAYS[0])
    invitation(root, env, "regionmote-follo", MEETING_DAYS[0])
    assert "hilde@example.org" not in recipients(smtp.received, "Nyhetsbrev 1")
    assert "hilde@example.org" not in recipients(smtp.received, "Regionmøte")
    assert "hilde@example.org" in recipients(smtp.received, "Lederforum"), "her office requires it"

    later = (dt.datetime.combine(TODAY, dt.time(12, 0)) + dt.timedelta(days=40)).isoformat()
    newsletter(root, env, 2, later)
    invitation(root, env, "regionmote-follo", MEETING_DAYS[2], later)
    assert "hilde@example.org" in recipients(smtp.received, "Nyhetsbrev 2")
    assert "hilde@example.org" in recipients(smtp.received, "Regionmøte")


def test_a_pause_can_be_ended_early_from_the_page(engine, root, env, smtp, server):
    post(server, page(server, "1"), [("action", "pause"), ("months", "6")])
    ended = post(server, page(server, "1"), [("action", "resume")])
    assert ended.status_code == 200 and "Pausen er over" in ended.text
    newsletter(root, env, 1)
    assert "ase@example.org" in recipients(smtp.received, "Nyhetsbrev 1")
    assert [a for a, _ in actions(preferences(root, env, "ase@example.org"))] == ["paused", "resumed"]


def test_unsubscribe_come_back_confirm_and_receive_again_with_every_step_in_the_consent_log(
    engine, root, env, smtp, server
):
    newsletter(root, env, 1)
    [first] = smtp.handler.to("ase@example.org")
    with server.client() as client:
        one_click = client.post(
            server.local(unsubscribe_url(first.message["List-Unsubscribe"])),
            data={"List-Unsubscribe": "One-Click"},
        )
    assert one_click.status_code == 200
    page_text = post(server, page(server, "1"), [("shown", "nyhetsbrev"), ("on", "nyhetsbrev")]).text
    assert "Venter på at du bekrefter" in page_text
    [mail] = [r for r in smtp.handler.to("ase@example.org") if "Bekreft" in str(r.message["Subject"])]

    confirmed = confirm(server, mail)

    assert confirmed.status_code == 200 and "Velkommen tilbake" in confirmed.text
    smtp.handler.received.clear()
    newsletter(root, env, 2)
    assert "ase@example.org" in recipients(smtp.received, "Nyhetsbrev 2")
    record = preferences(root, env, "ase@example.org")
    assert actions(record) == [
        ("unsubscribed", "nyhetsbrev"),
        ("resubscribe_requested", "nyhetsbrev"),
        ("resubscribed", "nyhetsbrev"),
    ]
    assert [e["source"] for e in record["history"]] == ["one-click", "preferences", "confirmed by mail"]


def test_coming_back_to_one_category_after_unsubscribing_from_everything_keeps_the_rest_off(
    engine, root, env, smtp, server
):
    assert mailer(root, "unsubscribe", "hilde@example.org", env=env).code == 0
    post(server, page(server, "3"), [("shown", "nyhetsbrev"), ("on", "nyhetsbrev")])
    [mail] = smtp.handler.to("hilde@example.org")
    assert confirm(server, mail).status_code == 200

    newsletter(root, env, 1)
    invitation(root, env, "lederforum", MEETING_DAYS[0])
    invitation(root, env, "regionmote-follo", MEETING_DAYS[0])

    assert "hilde@example.org" in recipients(smtp.received, "Nyhetsbrev 1")
    assert "hilde@example.org" not in recipients(smtp.received, "Lederforum"), "she chose everything off"
    assert "hilde@example.org" not in recipients(smtp.received, "Regionmøte")
    held = {h["category"] for h in preferences(root, env, "hilde@example.org")["held"]}
    assert "*" not in held and {"lederforum", "regionmote-follo"} <= held


def test_after_forget_the_hashed_suppression_wins_over_the_reimport_until_the_person_confirms(
    engine, root, env, smtp, server
):
    assert mailer(root, "unsubscribe", "ase@example.org", "--from", "nyhetsbrev", env=env).code == 0
    assert mailer(root, "forget", "ase@example.org", env=env).code == 0  # still in the export: re-imported
    newsletter(root, env, 1)
    assert "ase@example.org" not in recipients(smtp.received, "Nyhetsbrev 1")
    with server.client() as client:
        shown = client.get(page(server, "1")).text
    assert 'name="on" value="nyhetsbrev" checked' not in shown, "the page shows it off"

    post(server, page(server, "1"), [("shown", "nyhetsbrev"), ("on", "nyhetsbrev")])
    [mail] = [r for r in smtp.handler.to("ase@example.org") if "Bekreft" in str(r.message["Subject"])]
    assert confirm(server, mail).status_code == 200
    newsletter(root, env, 2)

    assert "ase@example.org" in recipients(smtp.received, "Nyhetsbrev 2")


# -- language ------------------------------------------------------------------------------------


def test_the_language_chosen_on_the_page_overrides_the_export_from_the_next_message_on(
    engine, root, env, smtp, server
):
    saved = post(
        server, page(server, "1"), [("shown", "nyhetsbrev"), ("on", "nyhetsbrev"), ("language", "nn")]
    )
    assert saved.status_code == 200 and 'lang="nn"' in saved.text and "nynorsk" in saved.text

    newsletter(root, env, 1)

    [got] = smtp.handler.to("ase@example.org")
    text = got.message.get_body(("plain",)).get_content()
    assert "Innstillingar for e-post" in text and "nyhendebrevet" in text
    record = preferences(root, env, "ase@example.org")
    assert record["language"] == {"chosen": "nn", "export": "nb"}


def test_saving_the_page_without_touching_the_language_leaves_it_to_the_export(root, env, server):
    """The form sends the ticked language every time: a save of the categories alone must not
    make the export's målform the member's own choice, or the secretary's change is ignored."""
    saved = post(server, page(server, "1"), [("shown", "nyhetsbrev"), ("language", "nb")])

    assert saved.status_code == 200
    record = preferences(root, env, "ase@example.org")
    assert record["language"] == {"chosen": None, "export": "nb"}
    assert all(action != "language" for action, _ in actions(record))


def test_the_language_chosen_on_the_page_is_the_language_of_the_members_other_pages_too(root, env, server):
    post(server, page(server, "1"), [("shown", "nyhetsbrev"), ("on", "nyhetsbrev"), ("language", "nn")])

    with server.client() as client:
        unsubscribe = client.get(f"/u/{token('1', 'u', 'nyhetsbrev')}")
        head = client.head(page(server, "1"))

    assert unsubscribe.status_code == 200 and 'lang="nn"' in unsubscribe.text
    assert head.status_code == 200  # HEAD answers as GET does, not as a POST without a body


# -- their own data, and "Noe feil?" -------------------------------------------------------------


def test_my_data_is_mailed_to_the_address_as_a_json_file_and_never_shown_in_the_browser(
    engine, root, env, smtp, server
):
    newsletter(root, env, 1)
    post(server, page(server, "1"), [("shown", "nyhetsbrev"), ("language", "nn")])
    meeting = f"regionmote-follo@{MEETING_DAYS[0].isoformat()}"
    with server.client() as client:
        assert client.post(f"/r/{token('1', 'r', meeting)}/yes").status_code == 200
    smtp.handler.received.clear()

    asked = post(server, page(server, "1"), [("action", "export")])

    assert asked.status_code == 200 and "Vi har sendt dataa dine" in asked.text
    assert "Ødegård" not in asked.text and "nyhetsbrev-1" not in asked.text
    [mail] = smtp.received
    assert mail.rcpt_tos == ["ase@example.org"]
    [part] = [p for p in mail.message.iter_attachments() if p.get_filename() == "mine-data.json"]
    data = json.loads(part.get_content())
    assert data["member"]["last_name"] == "Ødegård" and data["member"]["email"] == "ase@example.org"
    assert next(d["mailing"] for d in data["deliveries"]) == "nyhetsbrev-1"
    assert data["preferences"]["language"] == "nn"
    assert [(r["meeting"], r["answer"]) for r in data["rsvps"]] == [(meeting, "yes")]
    assert ("unsubscribed", "nyhetsbrev") in [(e["action"], e["category"]) for e in data["consent_log"]]
    assert {"rsvps", "attendance", "consultation_answers", "bounces", "registrations"} <= data.keys()


def test_my_data_goes_at_most_once_a_day_however_often_the_button_is_pressed(engine, root, env, smtp, server):
    import concurrent.futures

    path = page(server, "4")
    with server.client() as client:
        value = client.get(path).text.split('name="csrf" value="')[1].split('"')[0]

    def press(_: int) -> int:
        with server.client() as client:
            return client.post(path, data={"csrf": value, "action": "export"}).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(press, range(50)))

    assert codes.count(200) == 1 and codes.count(429) == 49
    assert len(smtp.handler.to("per@example.org")) == 1
    with server.client() as client:
        again = client.post(path, data={"csrf": value, "action": "export"})
    assert again.status_code == 429 and "Neste gang kan du be om dem" in again.text and " kl. " in again.text


def test_noe_feil_sends_the_secretary_one_mail_and_changes_nothing_in_the_register(
    engine, root, env, smtp, server
):
    sent = post(
        server, page(server, "4"), [("action", "report"), ("text", "Jeg har flyttet til Asker.\nNy adresse.")]
    )

    assert sent.status_code == 200 and "Fylkessekretæren har fått beskjed" in sent.text
    [mail] = smtp.received
    assert mail.rcpt_tos == [SECRETARY]
    body = mail.message.get_body(("plain",)).get_content()
    assert "Jeg har flyttet til Asker." in body and "Ny adresse." in body
    assert "per@example.org" in body and "Bærum" in body
    with server.client() as client:
        assert "Vi endrer ikke medlemsregisteret" in client.get(page(server, "4")).text
    assert json.loads(mailer(root, "recipients", "--json", env=env).out)[3]["municipality"] == "Bærum"
