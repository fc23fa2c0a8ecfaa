"""What `mailer serve` keeps between clicks follows the files at the next click.

A member's click is answered from what the server keeps (the project, a meeting's date, a
page's HTML, the member folder's listing), so each test changes a file while the real server
runs and checks that the very next request sees it.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import base_env, small_project
from webapp import SECRET, start_web

from mailer.delivery.tokens import Signer

TODAY = dt.datetime.now(ZoneInfo("Europe/Oslo")).date()
AHEAD = TODAY + dt.timedelta(days=(1 - TODAY.weekday()) % 7 or 7)  # next Tuesday
FIRST = AHEAD - dt.timedelta(days=14)
MEMBERS = """\
1,Åse,Ødegård,ase@example.org,Ås,,"medlem, tillitsvalgt",2020-01-01,nb
"""
NEW_MEMBER = "id,first_name,last_name,email,municipality\n7,Ny,Person,ny@example.org,Asker\n"
SERIES = f"""\
  tirsdagsmote:
    kind: invitation
    template: invitation
    audience: tillitsvalgte
    subject: "Tirsdagsmøte"
    meeting:
      title: Tirsdagsmøte
      location: Digitalt
      time: "08:00"
      duration: 45m
      recurrence: {{frequency: weekly, weekday: tirsdag, start: {FIRST.isoformat()}}}
    invite: {{days_before: 3, at: "09:00"}}
"""


def token(purpose: str, member_id: str, subject: str) -> str:
    return Signer(SECRET.encode()).sign(purpose, member_id, subject, TODAY.toordinal())


def settle(folder: Path) -> None:
    """The folder last changed a minute ago: the server keeps its listing (a recent one it reads again)."""
    then = time.time() - 60
    os.utime(folder, (then, then))


@pytest.fixture
def served(tmp_path: Path):
    root = small_project(tmp_path / "fylke", MEMBERS, SERIES)
    settle(root / "recipients")
    server = start_web(root, base_env(MAILER_SECRET=SECRET))
    yield root, server
    server.stop()


def test_an_rsvp_page_shown_once_answers_410_at_the_next_click_after_the_meeting_is_cancelled(served):
    root, server = served
    link = f"/r/{token('r', '1', f'tirsdagsmote@{AHEAD.isoformat()}')}/yes"
    schedules = root / "schedules.yaml"
    with server.client() as client:
        before = client.get(link)
        text = schedules.read_text("utf-8").replace(
            "    invite:", f"      changes:\n        {AHEAD.isoformat()}: cancelled\n    invite:", 1
        )
        schedules.write_text(text, "utf-8")
        after = client.get(link)
    assert before.status_code == 200 and "Kommer du?" in before.text
    assert after.status_code == 410 and "Møtet er avlyst" in after.text


def test_an_rsvp_page_shows_the_answer_given_since_it_was_last_shown(served):
    _, server = served
    link = f"/r/{token('r', '1', f'tirsdagsmote@{AHEAD.isoformat()}')}/yes"
    with server.client() as client:
        first = client.get(link)
        assert client.post(link).status_code == 200
        again = client.get(link)
    assert "Du har svart" not in first.text
    assert "Du har svart at du kommer." in again.text


def test_the_unsubscribe_page_names_the_meeting_series_as_the_schedule_calls_it_now(served):
    root, server = served
    link = f"/u/{token('u', '1', 'tirsdagsmote')}"
    schedules = root / "schedules.yaml"
    with server.client() as client:
        before = client.get(link)
        renamed = schedules.read_text("utf-8").replace("title: Tirsdagsmøte", "title: Frokostmøte")
        schedules.write_text(renamed, "utf-8")
        after = client.get(link)
    assert "til Tirsdagsmøte" in before.text
    assert "til Frokostmøte" in after.text and "Tirsdagsmøte" not in after.text


def test_a_member_file_added_to_the_folder_while_serving_is_read_at_the_next_click(served):
    root, server = served
    link = f"/u/{token('u', '7', 'nyhetsbrev')}"
    with server.client() as client:
        unknown = client.get(link)
        (root / "recipients" / "nye.csv").write_text(NEW_MEMBER, encoding="utf-8")
        known = client.get(link)
    assert unknown.status_code == 404
    assert known.status_code == 200 and "Meld meg av" in known.text


def test_a_member_file_removed_from_the_folder_while_serving_is_forgotten_at_the_next_click(served):
    root, server = served
    extra = root / "recipients" / "nye.csv"
    extra.write_text(NEW_MEMBER, encoding="utf-8")
    settle(root / "recipients")
    link = f"/u/{token('u', '7', 'nyhetsbrev')}"
    with server.client() as client:
        known = client.get(link)
        extra.unlink()
        gone = client.get(link)
    assert known.status_code == 200
    assert gone.status_code == 404
