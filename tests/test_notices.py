"""A message to one person, now (`mailer.delivery.notices`): recorded before and after, sent once.

These drive the piece as its callers do (the web part, run-due, a command), on a real state
file, a real SMTP server and real templates; two processes racing for the same notice are two
real connections to the same database in two threads.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import DATABASE_ENV, base_env, mailer, small_project

from mailer.delivery import notices
from mailer.delivery.runner import Runner
from mailer.project.config_base import Mailbox
from mailer.project.folder import Project
from mailer.project.mailings import Event
from mailer.project.members import Member
from mailer.state.database import transaction

MEMBERS = "1,Åse,Ødegård,ase@example.org,Ås,Ås Senterparti,medlem,2020-01-01,nn\n"
TEMPLATE = """{% extends "base.mjml" %}
{% block content %}<mj-text><p>Hei {{ member.first_name }}! {{ what }} {{ when|datetime }}.</p></mj-text>
{% endblock %}"""
OSLO = ZoneInfo("Europe/Oslo")
ASE = Member("1", "Åse", "Ødegård", "ase@example.org", "Ås", "Follo", "Ås SP", frozenset(), None, "nn")


def project_at(root: Path, smtp_port: int | None) -> Path:
    project = small_project(root, MEMBERS)
    (project / "templates" / "beskjed.mjml").write_text(TEMPLATE, "utf-8")
    env = "MAILER_SECRET=test-secret-for-signed-links-0123\n"
    env += "".join(f"{k}={v}\n" for k, v in DATABASE_ENV.items())  # PostgreSQL under `engine`
    if smtp_port is not None:
        env += f"MAILER_SMTP_HOST=127.0.0.1\nMAILER_SMTP_PORT={smtp_port}\nMAILER_SMTP_SECURITY=none\n"
    (project / ".env").write_text(env, "utf-8")
    return project


@pytest.fixture(autouse=True)
def _both_engines(engine: str) -> str:
    """Every test here runs with the state in SQLite and again in PostgreSQL."""
    return engine


def runner_for(project: Path) -> Runner:
    return Runner(Project(project), dt.datetime.now(OSLO))


def notice(key: str = "kurs/kvittering-1", **extra: object) -> notices.Notice:
    fields: dict[str, object] = {
        "key": key,
        "category": "kurs",
        "to": ASE,
        "template": "beskjed",
        "subject": "Kvittering: {{ what }}",
        "context": {"what": "Du er påmeldt kurset", "when": dt.datetime(2027, 3, 4, 18, 0, tzinfo=OSLO)},
    }
    fields.update(extra)
    return notices.Notice(**fields)  # type: ignore[arg-type]


def status(project: Path) -> dict[str, dict[str, int]]:
    result = mailer(project, "status", "--json", env=base_env())
    assert result.code == 0, result.err
    return {row["id"]: row for row in json.loads(result.out)["mailings"]}


def test_a_notice_reaches_its_one_recipient_in_their_language_with_the_context_filled_in(tmp_path, smtp):
    runner = runner_for(project_at(tmp_path / "fylke", smtp.port))

    report = notices.post(runner, notice())

    assert report.sent == 1
    [got] = smtp.received
    assert got.rcpt_tos == ["ase@example.org"]
    assert got.message["Subject"] == "Kvittering: Du er påmeldt kurset"
    text = got.message.get_body(("plain",)).get_content()
    assert "Hei Åse! Du er påmeldt kurset torsdag 4. mars kl. 18.00." in text
    assert "List-Unsubscribe" not in got.message


def test_the_same_notice_recorded_and_sent_twice_goes_out_once(tmp_path, smtp):
    runner = runner_for(project_at(tmp_path / "fylke", smtp.port))

    notices.post(runner, notice())
    again = notices.post(runner, notice())

    assert again.sent == 0
    assert len(smtp.received) == 1


def test_a_notice_recorded_but_never_sent_is_sent_by_run_due(tmp_path, smtp):
    project = project_at(tmp_path / "fylke", smtp.port)
    runner = runner_for(project)
    with transaction(runner.state.db):
        notices.record(runner.state, notice(), runner.now)
    runner.close()  # the process dies here, before it sends anything

    result = mailer(project, "run-due", env=base_env())

    assert result.code == 0, result.err
    assert "notices: 1 sent" in result.out
    assert [r.rcpt_tos for r in smtp.received] == [["ase@example.org"]]
    assert status(project)["kurs (notices)"]["sent"] == 1


def test_two_processes_that_see_the_same_pending_notice_send_it_once(tmp_path, smtp):
    project = project_at(tmp_path / "fylke", smtp.port)
    first = runner_for(project)
    with transaction(first.state.db):
        ids = [notices.record(first.state, notice(f"kurs/kvittering-{i}"), first.now) for i in range(20)]
    runners = [first, runner_for(project)]  # two connections to one database, as web and run-due have
    start = threading.Barrier(2)
    reports: list[notices.Report] = []

    def race(runner: Runner) -> None:
        start.wait()
        reports.append(notices.send(runner, ids, quota_wait=None))

    threads = [threading.Thread(target=race, args=(r,)) for r in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert sum(r.sent for r in reports) == 20
    assert len(smtp.received) == 20
    assert len({r.message["X-Mailer-Mailing"] for r in smtp.received}) == 20


def test_without_an_smtp_host_the_notice_goes_to_the_outbox(tmp_path):
    project = project_at(tmp_path / "fylke", None)
    runner = runner_for(project)

    notices.post(runner, notice())

    [eml] = list((project / ".mailer" / "outbox").rglob("*.eml"))
    assert b"ase@example.org" in eml.read_bytes()


def test_a_server_that_is_down_leaves_the_notice_pending_for_the_next_run(tmp_path, smtp):
    project = project_at(tmp_path / "fylke", smtp.port)
    down = project_at(tmp_path / "down", 1)  # nothing listens on port 1
    runner = runner_for(down)

    report = notices.post(runner, notice())

    assert report.sent == 0
    (down / ".env").write_text((project / ".env").read_text())
    result = mailer(down, "run-due", env=base_env())
    assert result.code == 0, result.err
    assert len(smtp.received) == 1


def test_a_temporary_failure_is_deferred_and_tried_again_when_due(tmp_path, smtp):
    project = project_at(tmp_path / "fylke", smtp.port)
    smtp.handler.data_reply = lambda n, envelope: "451 try again later" if n == 1 else None
    runner = runner_for(project)

    first = notices.post(runner, notice())

    assert first.deferred == 1 and not smtp.received
    later = dt.datetime.now(OSLO) + dt.timedelta(minutes=6)
    result = mailer(project, "run-due", "--now", later.isoformat(), env=base_env())
    assert result.code == 0, result.err
    assert len(smtp.received) == 1


def test_a_notice_not_sent_before_it_expires_is_given_up(tmp_path, smtp):
    project = project_at(tmp_path / "fylke", smtp.port)
    runner = runner_for(project)
    past = dt.datetime.now(OSLO) - dt.timedelta(minutes=1)

    report = notices.post(runner, notice(expires_at=past))

    assert report.expired == 1
    assert not smtp.received


def test_a_member_who_unsubscribed_from_everything_still_gets_what_they_asked_for(tmp_path, smtp):
    runner = runner_for(project_at(tmp_path / "fylke", smtp.port))
    runner.state.suppressions.add("ase@example.org", "*", runner.now, "web")

    report = notices.post(runner, notice())

    assert report.sent == 1


def test_an_address_that_bounced_hard_gets_no_notice(tmp_path, smtp):
    runner = runner_for(project_at(tmp_path / "fylke", smtp.port))
    runner.state.suppressions.add("ase@example.org", "*", runner.now, "bounce")

    report = notices.post(runner, notice())

    assert report.dropped == 1
    assert not smtp.received


def test_a_calendar_entry_travels_with_the_notice(tmp_path, smtp):
    runner = runner_for(project_at(tmp_path / "fylke", smtp.port))
    start = dt.datetime(2027, 3, 4, 18, 0, tzinfo=OSLO)
    entry = Event(
        uid="kurs-1@testfylket.example",
        series="kurs",
        occurrence=start.date(),
        start=start,
        end=start + dt.timedelta(hours=2),
        title="Styrekurs",
        organiser=Mailbox(name="Testfylket", email="post@testfylket.example"),
        location="Ås",
    )

    notices.post(runner, notice(calendar=entry))

    [got] = smtp.received
    [part] = [p for p in got.message.walk() if p.get_content_type() == "text/calendar"]
    ics = part.get_payload(decode=True).decode()
    assert "METHOD:REQUEST" in ics and "UID:kurs-1@testfylket.example" in ics
    assert 'ATTENDEE;CN="Åse Ødegård"' in ics.replace("\r\n ", "")


@pytest.mark.parametrize("state", ["sent", "expired"])
def test_what_a_notice_said_is_not_kept_once_it_is_over(tmp_path, smtp, state):
    project = project_at(tmp_path / "fylke", smtp.port)
    runner = runner_for(project)
    expires = dt.datetime.now(OSLO) - dt.timedelta(minutes=1) if state == "expired" else None

    notices.post(runner, notice(context={"what": "hemmelig-innhold", "when": runner.now}, expires_at=expires))

    assert runner.state.db.execute("SELECT count(*) FROM notices").fetchone()[0] == 0
    runner.close()
    data = b"".join(p.read_bytes() for p in (project / ".mailer").glob("state.db*"))
    assert b"hemmelig-innhold" not in data


def test_a_later_notice_to_the_same_person_never_overtakes_an_earlier_one(tmp_path, smtp):
    runner = runner_for(project_at(tmp_path / "fylke", smtp.port))
    with transaction(runner.state.db):
        first = notices.record(runner.state, notice("kurs/bekreftelse-1"), runner.now)
        second = notices.record(runner.state, notice("kurs/avmelding-1"), runner.now)

    early = notices.send(runner, [second])  # the cancellation's request finished first
    later = notices.send(runner, [first])

    assert (early.sent, later.sent) == (0, 2)
    assert [r.message["X-Mailer-Mailing"] for r in smtp.received] == [
        "kurs/bekreftelse-1",
        "kurs/avmelding-1",
    ]


def test_notices_about_other_things_do_not_wait_for_each_other(tmp_path, smtp):
    runner = runner_for(project_at(tmp_path / "fylke", smtp.port))
    with transaction(runner.state.db):
        notices.record(runner.state, notice("kurs/bekreftelse-1"), runner.now)
        other = notices.record(
            runner.state, notice("styrekurs/bekreftelse-1", category="styrekurs"), runner.now
        )

    report = notices.send(runner, [other])

    assert report.sent == 1
