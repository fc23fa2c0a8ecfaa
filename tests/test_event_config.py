"""`events:` in schedules.yaml: `mailer check` names the event and the field of every mistake."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from conftest import mailer
from event_project import EVENT, NOW, START, event_block, local, make_project


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        pytest.param(
            {"capacity": 0}, f"events.{EVENT}.capacity: capacity must be at least 1", id="capacity-0"
        ),
        pytest.param(
            {"capacity": -3}, f"events.{EVENT}.capacity: capacity must be at least 1", id="negative"
        ),
        pytest.param(
            {"registration_closes": local(START + dt.timedelta(hours=1))},
            f"events.{EVENT}.registration_closes: registration closes",
            id="closes-after-start",
        ),
        pytest.param(
            {"registration_closes": START.date().isoformat()},
            "registration closes (the end of",
            id="closes-on-the-day",
        ),
        pytest.param(
            {"questions": "\n      - {label: Fødselsdato, type: date}"},
            f"events.{EVENT}.questions.0.id: required key is missing",
            id="question-without-id",
        ),
        pytest.param(
            {"questions": "\n      - {id: a, label: A}\n      - {id: a, label: B}"},
            f"events.{EVENT}.questions: the question id 'a' is used twice",
            id="duplicate-question-id",
        ),
        pytest.param(
            {"questions": "\n      - {id: mat, label: Mat, type: choice}"},
            f"events.{EVENT}.questions.0: a choice question needs at least two choices",
            id="choice-without-choices",
        ),
        pytest.param(
            {"questions": "\n      - {id: mat, label: Mat, type: dato}"},
            "questions.0.type: unknown type 'dato'",
            id="unknown-type",
        ),
        pytest.param(
            {"questions": "\n      - {id: email, label: E-post}"},
            "question id 'email' is taken by the form itself",
            id="reserved-id",
        ),
        pytest.param({"location": None, "online": "true"}, "join_url is missing", id="online-without-link"),
        pytest.param({"location": None}, "location is missing", id="nowhere"),
        pytest.param(
            {"capacity": None}, "capacity is missing: a waiting list needs", id="list-without-places"
        ),
        pytest.param(
            {"waitlist": "false", "waitlist_offer_hours": 24},
            "waitlist_offer_hours: offers are made",
            id="offers",
        ),
        pytest.param(
            {"audience": "ingen"}, f"events.{EVENT}.audience: unknown audience 'ingen'", id="audience"
        ),
        pytest.param({"audience": None}, "audience is missing: a members-only event", id="no-audience"),
        pytest.param({"start": local(START) + "+01:00"}, "as local time without an offset", id="offset"),
        pytest.param({"end": local(START)}, f"events.{EVENT}.end: the end", id="end-before-start"),
        pytest.param(
            {"invite": '{days_before: 0, at: "09:00"}'},
            f"events.{EVENT}.invite: the invitation would go out after registration closes",
            id="invite-too-late",
        ),
        pytest.param({"join_url": "http://teams.example/x"}, "is not an https:// link", id="plain-http"),
        pytest.param({"forget_after_days": -1}, "forget_after_days", id="forget-negative"),
    ],
)
def test_a_mistake_in_an_event_is_named_by_its_key_path(tmp_path, fields, needle):
    project = make_project(tmp_path / "fylke", event_block(**fields))

    result = mailer(project, "check")

    assert result.code == 1
    assert needle in result.err, result.err
    assert "Traceback" not in result.err


def test_an_event_named_like_a_mailing_is_refused(tmp_path):
    project = make_project(tmp_path / "fylke", event_block("nyhetsbrev"))

    result = mailer(project, "check")

    assert result.code == 1
    assert "events.nyhetsbrev: 'nyhetsbrev' is also a mailing's name" in result.err


def test_an_event_name_that_is_no_link_part_is_refused(tmp_path):
    project = make_project(tmp_path / "fylke", event_block("Møte/../x"))

    result = mailer(project, "check")

    assert result.code == 1
    assert "event name 'Møte/../x' may only use a-z" in result.err


def test_a_missing_notice_template_is_named(tmp_path):
    project = make_project(tmp_path / "fylke")
    (project / "templates" / "event-offer.mjml").unlink()

    result = mailer(project, "check")

    assert result.code == 1
    assert f"events.{EVENT}: template 'event-offer' not found" in result.err


def test_a_well_formed_event_passes_check(tmp_path):
    project = make_project(tmp_path / "fylke")

    result = mailer(project, "check")

    assert result.code == 0, result.err


def test_the_example_project_with_its_two_events_passes_check(example):
    result = mailer(example, "check")

    assert result.code == 0, result.err


def test_the_invitation_is_in_the_schedule_until_registration_closes(tmp_path):
    project = make_project(tmp_path / "fylke")

    result = mailer(project, "schedule", "--json", "--now", local(NOW))

    rows = {r["id"]: r for r in json.loads(result.out)}
    assert rows[f"{EVENT}/invitation"]["kind"] == "event"
    assert rows[f"{EVENT}/invitation"]["recipients"] == 10
    later = mailer(project, "schedule", "--json", "--now", local(START))
    assert f"{EVENT}/invitation" not in {r["id"] for r in json.loads(later.out)}


def test_check_renders_every_mail_about_an_event_and_names_a_broken_template(tmp_path):
    project = make_project(tmp_path / "fylke")
    offer = project / "templates" / "event-offer.nn.mjml"
    offer.write_text(offer.read_text("utf-8").replace("{{ event.title }}", "{{ event.tittel }}", 1), "utf-8")

    result = mailer(project, "check")

    assert result.code == 1
    assert f"events.{EVENT}: templates/event-offer.nn.mjml" in result.err and "tittel" in result.err
