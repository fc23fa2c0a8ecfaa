"""A confirmation to come back counts only while no newer choice replaced it.

A member asks on the preference page to get a category again and is mailed a link; before they
press its button they say no again (one-click in an old newsletter, the page, or the secretary's
`mailer unsubscribe`). Their newest choice stands: the old link brings nothing back, and the
page it opens says so and how to ask again. Through the real `mailer serve` and SMTP server,
on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json

import httpx
import pytest
from conftest import Received, mailer
from prefs_project import (
    FORM,
    actions,
    confirm,
    confirmation_link,
    csrf,
    env_for,
    form,
    make_project,
    post,
    preferences,
    token,
)
from webapp import start_web

REPLACED = "Lenken er erstattet av et nyere valg"
pytestmark = pytest.mark.usefixtures("engine")  # the state on SQLite and on PostgreSQL


@pytest.fixture
def root(tmp_path):
    return make_project(tmp_path)


@pytest.fixture
def env(smtp, engine):
    """The engine is chosen before the environment every command and `mailer serve` get is made."""
    return env_for(smtp.env())


@pytest.fixture
def server(root, env):
    web = start_web(root, env)
    yield web
    web.stop()


def held(root, env, email: str) -> set[str]:
    rows = json.loads(mailer(root, "suppressions", "--json", env=env).out)
    return {r["category"] for r in rows if r["email"] == email}


def unsubscribe(root, env, email: str, *category: str) -> None:
    """`mailer unsubscribe` as the secretary runs it: from one category, or everything."""
    args = ("--from", category[0]) if category else ()
    assert mailer(root, "unsubscribe", email, *args, env=env).code == 0


def one_click(server, member_id: str, category: str) -> None:
    """The List-Unsubscribe-Post of a mail the member got earlier."""
    with server.client() as client:
        done = client.post(f"/u/{token(member_id, 'u', category)}", data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200, done.text


def ask_back(server, smtp, member_id: str, email: str, *categories: str) -> Received:
    """Tick the categories on the member's page and save; the confirmation mail it sent."""
    fields = [*(("shown", c) for c in categories), *(("on", c) for c in categories)]
    assert post(server, f"/i/{token(member_id)}", fields).status_code == 200
    mails = [r for r in smtp.handler.to(email) if "/c/" in r.message.get_body(("html",)).get_content()]
    assert mails, "no confirmation mail"
    return mails[-1]


def open_confirmation(server, mail: Received) -> tuple[str, str]:
    """The member opens the link in the mail (the page with the button); its path and CSRF value."""
    path = server.local(confirmation_link(mail))
    with server.client() as client:
        shown = client.get(path)
    assert shown.status_code == 200, shown.text
    return path, csrf(shown.text)


def press(server, path: str, value: str) -> httpx.Response:
    with server.client() as client:
        return client.post(path, content=form([("csrf", value)]), headers=FORM)


def test_a_confirmation_with_no_newer_choice_still_brings_the_member_back(root, env, smtp, server):
    unsubscribe(root, env, "ase@example.org", "nyhetsbrev")
    mail = ask_back(server, smtp, "1", "ase@example.org", "nyhetsbrev")

    confirmed = confirm(server, mail)

    assert confirmed.status_code == 200 and "Velkommen tilbake" in confirmed.text
    assert held(root, env, "ase@example.org") == set()


def test_a_one_click_unsubscribe_before_pressing_the_button_leaves_the_member_unsubscribed(
    root, env, smtp, server
):
    unsubscribe(root, env, "ase@example.org", "nyhetsbrev")
    path, value = open_confirmation(server, ask_back(server, smtp, "1", "ase@example.org", "nyhetsbrev"))
    one_click(server, "1", "nyhetsbrev")

    pressed = press(server, path, value)

    assert pressed.status_code == 410 and REPLACED in pressed.text
    assert "Velkommen tilbake" not in pressed.text
    assert held(root, env, "ase@example.org") == {"nyhetsbrev"}


def test_mailer_unsubscribe_after_asking_back_makes_the_link_open_a_page_saying_it_was_replaced(
    root, env, smtp, server
):
    unsubscribe(root, env, "ase@example.org", "nyhetsbrev")
    mail = ask_back(server, smtp, "1", "ase@example.org", "nyhetsbrev")
    unsubscribe(root, env, "ase@example.org", "nyhetsbrev")

    with server.client() as client:
        opened = client.get(server.local(confirmation_link(mail)))

    assert opened.status_code == 410 and REPLACED in opened.text
    assert "Nyhetsbrevet" in opened.text and "«Innstillinger for e-post»" in opened.text
    assert 'name="csrf"' not in opened.text, "no button to press"
    assert held(root, env, "ase@example.org") == {"nyhetsbrev"}


def test_turning_it_off_on_the_page_again_voids_an_older_confirmation_still_in_the_mailbox(
    root, env, smtp, server
):
    unsubscribe(root, env, "ase@example.org", "nyhetsbrev")
    older = ask_back(server, smtp, "1", "ase@example.org", "nyhetsbrev")
    newer = ask_back(server, smtp, "1", "ase@example.org", "nyhetsbrev")
    assert confirm(server, newer).status_code == 200
    assert post(server, f"/i/{token('1')}", [("shown", "nyhetsbrev")]).status_code == 200  # unticked

    with server.client() as client:
        opened = client.get(server.local(confirmation_link(older)))

    assert opened.status_code == 410 and REPLACED in opened.text
    assert held(root, env, "ase@example.org") == {"nyhetsbrev"}


def test_stopping_everything_again_after_asking_back_to_the_newsletter_keeps_everything_off(
    root, env, smtp, server
):
    unsubscribe(root, env, "ase@example.org")
    path, value = open_confirmation(server, ask_back(server, smtp, "1", "ase@example.org", "nyhetsbrev"))
    unsubscribe(root, env, "ase@example.org")

    pressed = press(server, path, value)

    assert pressed.status_code == 410 and REPLACED in pressed.text
    assert held(root, env, "ase@example.org") == {"*"}


def test_a_request_for_two_categories_still_counts_for_the_one_not_turned_off_again(root, env, smtp, server):
    unsubscribe(root, env, "ase@example.org", "nyhetsbrev")
    unsubscribe(root, env, "ase@example.org", "regionmote-follo")
    mail = ask_back(server, smtp, "1", "ase@example.org", "nyhetsbrev", "regionmote-follo")
    one_click(server, "1", "regionmote-follo")

    confirmed = confirm(server, mail)

    assert confirmed.status_code == 200 and "Velkommen tilbake" in confirmed.text
    said = " ".join(confirmed.text.split())
    assert "Du får Nyhetsbrevet fra oss igjen" in said
    assert "Dette får du ikke igjen, fordi du meldte deg av på nytt etter at du ba om det: " in said
    assert "Invitasjoner til Regionmøte Follo" in said
    assert held(root, env, "ase@example.org") == {"regionmote-follo"}


def test_the_page_for_a_replaced_link_is_in_nynorsk_for_a_member_who_reads_nynorsk(root, env, smtp, server):
    unsubscribe(root, env, "bjorn@example.org", "nyhetsbrev")
    mail = ask_back(server, smtp, "2", "bjorn@example.org", "nyhetsbrev")
    one_click(server, "2", "nyhetsbrev")

    with server.client() as client:
        opened = client.get(server.local(confirmation_link(mail)))

    assert opened.status_code == 410 and 'lang="nn"' in opened.text
    assert "Lenkja er erstatta av eit nyare val" in opened.text
    assert "Nyhendebrevet" in opened.text and "«Innstillingar for e-post»" in opened.text


def test_the_preference_page_no_longer_says_it_waits_for_a_replaced_confirmation(root, env, smtp, server):
    unsubscribe(root, env, "ase@example.org", "nyhetsbrev")
    ask_back(server, smtp, "1", "ase@example.org", "nyhetsbrev")
    one_click(server, "1", "nyhetsbrev")

    with server.client() as client:
        shown = client.get(f"/i/{token('1')}")

    assert shown.status_code == 200 and "Venter på at du bekrefter" not in shown.text
    assert preferences(root, env, "ase@example.org")["waiting_confirmation"] == []


def test_the_consent_log_records_saying_no_again_after_asking_back(root, env, smtp, server):
    unsubscribe(root, env, "ase@example.org", "nyhetsbrev")
    ask_back(server, smtp, "1", "ase@example.org", "nyhetsbrev")

    one_click(server, "1", "nyhetsbrev")

    record = preferences(root, env, "ase@example.org")
    assert actions(record) == [
        ("unsubscribed", "nyhetsbrev"),
        ("resubscribe_requested", "nyhetsbrev"),
        ("unsubscribed", "nyhetsbrev"),
    ]
    assert record["history"][-1]["source"] == "one-click"
