"""Reminders and updates follow the answers members gave through the RSVP links they received."""

from __future__ import annotations

import datetime as dt
import json
import re
from zoneinfo import ZoneInfo

import pytest
from conftest import base_env, mailer, small_project
from webapp import start_web

TODAY = dt.datetime.now(ZoneInfo("Europe/Oslo")).date()  # the invitations go now: a day before DAY
DAY = TODAY + dt.timedelta(days=(1 - TODAY.weekday()) % 7 or 7)  # the next Tuesday
MEMBERS = (
    "1,Åse,Ødegård,ase@example.org,Ås,Ås,tillitsvalgt,2020-01-01,nb\n"
    "2,Bjørn,Bråten,bjorn@example.org,Bærum,Bærum,lokallagsleder,2021-05-05,nn\n"
    "3,Kari,Nordmann,kari@example.org,Asker,Asker,tillitsvalgt,2019-01-01,nb\n"
)
SERIES = f"""\
  morgenmote:
    kind: invitation
    template: invitation
    audience: tillitsvalgte
    subject: "Morgenmøte {{{{ meeting.start|datetime }}}}"
    meeting:
      title: Morgenmøte
      location: Digitalt
      time: "08:00"
      duration: 45m
      dates: [{DAY.isoformat()}]
    invite: {{days_before: 3, at: "09:00"}}
    reminder: {{days_before: 0, at: "07:00"}}
"""
OCCURRENCE = f"morgenmote@{DAY.isoformat()}"
SECRET = "test-secret-for-signed-links-0123"


@pytest.fixture
def env(smtp):
    return base_env(MAILER_SECRET=SECRET, **smtp.env())


def answered(tmp_path, smtp, env, series: str = SERIES):
    """Invitations sent now; Åse presses "Jeg kommer", Bjørn "Eg kjem ikkje", Kari nothing."""
    root = small_project(tmp_path / "fylke", MEMBERS, series)
    result = mailer(root, "send", OCCURRENCE, env=env)
    assert result.code == 0, result.err
    server = start_web(root, env)
    try:
        with server.client() as client:
            for address, answer in (("ase@example.org", "yes"), ("bjorn@example.org", "no")):
                [got] = smtp.handler.to(address)
                html = got.message.get_body(("html",)).get_content()
                [link] = re.findall(rf'href="(https://[^"]+/r/[^"/]+/{answer})"', html)
                assert client.post(server.local(link)).status_code == 200
    finally:
        server.stop()
    return root


def run_due(root, now: str, env) -> str:
    result = mailer(root, "run-due", "--now", now, env=env)
    assert result.code == 0, result.err
    return result.out


def recipients(smtp, mailing: str) -> set[str]:
    return {r.rcpt_tos[0] for r in smtp.received if r.message["X-Mailer-Mailing"] == mailing}


def test_the_reminder_goes_to_yes_and_no_answer_never_to_no(tmp_path, smtp, env):
    root = answered(tmp_path, smtp, env)
    run_due(root, f"{DAY}T07:00", env)
    assert recipients(smtp, f"{OCCURRENCE}/reminder") == {"ase@example.org", "kari@example.org"}


def test_a_reminder_rule_to_yes_reaches_only_those_coming(tmp_path, smtp, env):
    series = SERIES.replace(
        'reminder: {days_before: 0, at: "07:00"}', 'reminder: {days_before: 0, at: "07:00", to: [yes]}'
    )
    root = answered(tmp_path, smtp, env, series)
    run_due(root, f"{DAY}T07:00", env)
    assert recipients(smtp, f"{OCCURRENCE}/reminder") == {"ase@example.org"}


def test_an_answer_after_the_reminder_went_out_changes_nothing_sent(tmp_path, smtp, env):
    root = answered(tmp_path, smtp, env)
    run_due(root, f"{DAY}T07:00", env)
    server = start_web(root, env)
    try:
        [got] = [
            r for r in smtp.handler.to("kari@example.org") if r.message["X-Mailer-Mailing"] == OCCURRENCE
        ]
        html = got.message.get_body(("html",)).get_content()
        [link] = re.findall(r'href="(https://[^"]+/r/[^"/]+/no)"', html)
        with server.client() as client:
            assert client.post(server.local(link)).status_code == 200
    finally:
        server.stop()
    before = len(smtp.received)
    assert run_due(root, f"{DAY}T07:05", env) == ""
    assert len(smtp.received) == before
    status = mailer(root, "status", f"{OCCURRENCE}/reminder", "--json", env=env)
    assert status.code == 0, status.err
    [row] = json.loads(status.out)["mailings"]
    assert (row["sent"], row["dropped"], row["total"]) == (2, 0, 2)


def test_an_update_skips_those_who_said_no(tmp_path, smtp, env):
    root = answered(tmp_path, smtp, env)
    schedules = root / "schedules.yaml"
    schedules.write_text(
        schedules.read_text("utf-8").replace(
            "    invite: {days_before: 3",
            f'      changes:\n        {DAY}: {{start: "{DAY}T09:00"}}\n    invite: {{days_before: 3',
        ),
        "utf-8",
    )
    run_due(root, f"{DAY - dt.timedelta(days=1)}T10:00", env)
    assert recipients(smtp, f"{OCCURRENCE}/update-1") == {"ase@example.org", "kari@example.org"}


def test_a_cancellation_goes_to_everyone_invited_whatever_they_answered(tmp_path, smtp, env):
    root = answered(tmp_path, smtp, env)
    schedules = root / "schedules.yaml"
    schedules.write_text(
        schedules.read_text("utf-8").replace(
            "    invite: {days_before: 3",
            f"      changes:\n        {DAY}: cancelled\n    invite: {{days_before: 3",
        ),
        "utf-8",
    )
    run_due(root, f"{DAY - dt.timedelta(days=1)}T10:00", env)
    assert recipients(smtp, f"{OCCURRENCE}/cancel") == {
        "ase@example.org",
        "bjorn@example.org",
        "kari@example.org",
    }


def test_a_reminder_rule_naming_an_unknown_answer_is_refused_with_its_line(tmp_path):
    series = SERIES.replace(
        'reminder: {days_before: 0, at: "07:00"}', 'reminder: {days_before: 0, at: "07:00", to: [yes, maybe]}'
    )
    root = small_project(tmp_path / "fylke", MEMBERS, series)
    result = mailer(root, "check")
    assert result.code == 1
    assert "schedules.yaml:" in result.err and "mailings.morgenmote.reminder.to" in result.err
    assert "unknown answer 'maybe'; use yes, no or unanswered" in result.err
    assert "Traceback" not in result.err
