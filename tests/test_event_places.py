"""Who gets a place (`mailer.events.places`), on a real project and a real state file.

Each test calls the actions a route or a command calls and reads the records back; the
end-to-end tests (test_events.py) do the same through `mailer serve`, the CLI and SMTP.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from event_project import EVENT, MEMBERS, NOW, START, event_block, make_project

from mailer.delivery.runner import Runner
from mailer.events import actions
from mailer.events.due import run as run_due_events
from mailer.events.places import Who
from mailer.project.folder import Project
from mailer.state.migrations import MIGRATIONS

PEOPLE = {
    int(f[0]): Who(f[0], f"{f[1]} {f[2]}", f[3], f[8])
    for f in (row.split(",") for row in MEMBERS.splitlines())
}
DOB = {"fodselsdato": "1990-05-17", "hensyn": ""}


def runner_at(project: Path, now: dt.datetime = NOW) -> Runner:
    return Runner(Project(project), now)


def guest(address: str = "gjest@example.net") -> Who:
    from mailer.state.registrations import new_guest_id

    return Who(new_guest_id(), "Gry Gjest", address, "nb", guest=True)


@pytest.fixture
def two_places(tmp_path: Path) -> Path:
    return make_project(tmp_path / "fylke")


def register(project: Path, *people: int, now: dt.datetime = NOW) -> list[actions.Done]:
    runner = runner_at(project, now)
    return [actions.register(runner, EVENT, PEOPLE[i], DOB) for i in people]


def statuses(project: Path) -> dict[str, str]:
    runner = runner_at(project)
    return {r.person: r.status for r in runner.state.registrations.of_event(EVENT)}


def test_three_registrations_for_two_places_give_two_places_and_one_waiting(two_places):
    done = register(two_places, 1, 2, 3)

    assert [d.outcome for d in done] == ["placed", "placed", "waiting"]
    assert done[2].result.changes[-1].position == 1
    assert statuses(two_places) == {"1": "placed", "2": "placed", "3": "waiting"}


def test_each_registration_records_its_one_message_in_the_same_commit(two_places):
    done = register(two_places, 1, 2, 3)

    runner = runner_at(two_places)
    keys = {runner.state.notices.get(i).mailing_id for d in done for i in d.delivery_ids}
    assert keys == {f"{EVENT}/confirmation-1", f"{EVENT}/confirmation-2", f"{EVENT}/waiting-3"}


def test_the_waiting_list_keeps_the_order_people_joined_it(two_places):
    done = register(two_places, 1, 2, 3, 4, 5)

    assert [d.result.changes[-1].position for d in done[2:]] == [1, 2, 3]


def test_the_waiting_list_orders_by_who_joined_first_not_by_when_their_request_began(two_places):
    """Two web requests at once: the one that began a second later may be the first to join."""
    placed = register(two_places, 1, 2)
    joined_first = register(two_places, 3, now=NOW + dt.timedelta(seconds=1))[0]
    joined_second = register(two_places, 4, now=NOW)[0]

    assert [joined_first.result.changes[-1].position, joined_second.result.changes[-1].position] == [1, 2]
    actions.cancel(runner_at(two_places), EVENT, placed[0].result.registration.id)
    assert statuses(two_places) == {"1": "cancelled", "2": "placed", "3": "placed", "4": "waiting"}


def test_an_upgrade_keeps_the_order_of_those_already_waiting(two_places):
    register(two_places, 1, 2, 3)
    register(two_places, 4, 5, now=NOW - dt.timedelta(seconds=5))  # joined after 3, clock behind
    state = two_places / ".mailer" / "state.db"
    older = state.with_name("older.db")
    db = sqlite3.connect(older)
    for step in MIGRATIONS[:9]:  # the release before the line was counted
        db.executescript(step)
    db.execute("PRAGMA user_version = 9")
    db.execute("ATTACH ? AS now", (str(state),))
    db.execute("INSERT INTO registrations SELECT * FROM now.registrations")
    db.execute(
        "INSERT INTO waitlist SELECT registration_id, event, joined_at, offered_at, offer_expires_at,"
        " left_at, outcome FROM now.waitlist"
    )
    db.commit()
    db.close()
    for stale in state.parent.glob("state.db*"):
        stale.unlink()  # with its write-ahead log, which would otherwise be replayed on the older file
    older.replace(state)

    state = runner_at(two_places).state
    order = {r.person: state.waitlist.position(r.id) for r in state.registrations.of_event(EVENT)}
    assert order == {"1": None, "2": None, "4": 1, "5": 2, "3": 3}  # as joined_at said before


def test_without_a_waiting_list_the_third_is_told_it_is_full_and_nothing_is_kept(tmp_path):
    project = make_project(tmp_path / "fylke", event_block(waitlist="false"))

    done = register(project, 1, 2, 3)

    assert done[2].outcome == "full" and not done[2].delivery_ids
    assert "3" not in statuses(project)


def test_a_second_submit_by_the_same_member_keeps_one_registration(two_places):
    first, second = register(two_places, 1, 1)

    assert (first.outcome, second.outcome) == ("placed", "already")
    assert not second.delivery_ids
    assert len(runner_at(two_places).state.registrations.of_event(EVENT)) == 1


def test_registration_after_the_deadline_is_refused(two_places):
    [done] = register(two_places, 1, now=START - dt.timedelta(hours=1))

    assert done.outcome == "closed"
    assert statuses(two_places) == {}


def test_a_cancelled_place_goes_at_once_to_the_first_in_line(two_places):
    first, _, _, _ = register(two_places, 1, 2, 3, 4)
    runner = runner_at(two_places)

    done = actions.cancel(runner, EVENT, first.result.registration.id)

    kinds = [(c.kind, c.registration.person) for c in done.result.changes]
    assert kinds == [("cancelled", "1"), ("promoted", "3")]
    assert done.result.changes[0].had_place
    assert statuses(two_places) == {"1": "cancelled", "2": "placed", "3": "placed", "4": "waiting"}
    assert runner.state.waitlist.position(runner.state.registrations.latest(EVENT, "4").id) == 1


def test_cancelling_twice_changes_nothing_the_second_time(two_places):
    first, *_ = register(two_places, 1, 2, 3)
    runner = runner_at(two_places)
    actions.cancel(runner, EVENT, first.result.registration.id)

    again = actions.cancel(runner, EVENT, first.result.registration.id)

    assert again.outcome == "not_standing" and not again.delivery_ids
    assert statuses(two_places)["3"] == "placed"


def test_leaving_the_waiting_list_moves_no_one_into_a_place(two_places):
    *_, third, fourth = register(two_places, 1, 2, 3, 4)
    runner = runner_at(two_places)

    done = actions.cancel(runner, EVENT, third.result.registration.id)

    assert [(c.kind, c.had_place) for c in done.result.changes] == [("cancelled", False)]
    assert runner.state.waitlist.position(fourth.result.registration.id) == 1


@pytest.fixture
def offers(tmp_path: Path) -> Path:
    return make_project(tmp_path / "fylke", event_block(waitlist_offer_hours=24))


def test_with_offers_a_freed_place_is_held_for_the_first_in_line_for_the_hours_given(offers):
    first, *_ = register(offers, 1, 2, 3, 4)
    runner = runner_at(offers)

    done = actions.cancel(runner, EVENT, first.result.registration.id)

    offered = done.result.changes[-1]
    assert (offered.kind, offered.registration.person) == ("offered", "3")
    assert offered.offer_expires == NOW + dt.timedelta(hours=24)
    assert runner.state.registrations.taken(EVENT) == 2  # the offer holds the place


def test_an_accepted_offer_is_a_place(offers):
    first, _, third, _ = register(offers, 1, 2, 3, 4)
    actions.cancel(runner_at(offers), EVENT, first.result.registration.id)

    done = actions.accept(
        runner_at(offers, NOW + dt.timedelta(hours=23)), EVENT, third.result.registration.id
    )

    assert done.outcome == "placed"
    assert [c.kind for c in done.result.changes] == ["promoted"]
    assert statuses(offers)["3"] == "placed"


def test_an_offer_not_answered_in_time_passes_to_the_next_in_line(offers):
    first, _, third, _ = register(offers, 1, 2, 3, 4)
    actions.cancel(runner_at(offers), EVENT, first.result.registration.id)

    later = runner_at(offers, NOW + dt.timedelta(hours=24, minutes=1))
    run_due_events(later)

    assert statuses(offers) == {"1": "cancelled", "2": "placed", "3": "expired", "4": "offered"}
    late = actions.accept(later, EVENT, third.result.registration.id)
    assert late.outcome == "not_standing"


def test_an_offer_answered_after_it_ran_out_but_before_run_due_noticed_is_refused(offers):
    first, _, third, _ = register(offers, 1, 2, 3, 4)
    actions.cancel(runner_at(offers), EVENT, first.result.registration.id)

    done = actions.accept(
        runner_at(offers, NOW + dt.timedelta(hours=25)), EVENT, third.result.registration.id
    )

    assert done.outcome == "lapsed"
    assert statuses(offers)["4"] == "offered"


def test_an_offer_never_outlasts_the_start_of_the_event(offers):
    first, *_ = register(offers, 1, 2, 3)
    late = START - dt.timedelta(hours=2)

    done = actions.cancel(runner_at(offers, late), EVENT, first.result.registration.id)

    assert done.result.changes[-1].offer_expires == START


def test_a_declined_offer_goes_to_the_next(offers):
    first, _, third, _ = register(offers, 1, 2, 3, 4)
    actions.cancel(runner_at(offers), EVENT, first.result.registration.id)

    done = actions.cancel(runner_at(offers), EVENT, third.result.registration.id)

    assert [(c.kind, c.registration.person) for c in done.result.changes] == [
        ("cancelled", "3"),
        ("offered", "4"),
    ]


def test_a_guest_holds_no_place_until_confirmed(tmp_path):
    project = make_project(tmp_path / "fylke", event_block(open_to="public", capacity=1))
    runner = runner_at(project)

    pending = actions.register(runner, EVENT, guest(), DOB)
    member = actions.register(runner, EVENT, PEOPLE[1], DOB)

    assert pending.outcome == "unconfirmed"
    assert member.outcome == "placed"
    confirmed = actions.confirm_guest(runner, EVENT, pending.result.registration.id)
    assert confirmed.outcome == "waiting"


def test_the_same_address_cannot_be_registered_twice_as_a_guest(tmp_path):
    project = make_project(tmp_path / "fylke", event_block(open_to="public"))
    runner = runner_at(project)

    actions.register(runner, EVENT, guest("Gjest@Example.net"), DOB)
    again = actions.register(runner, EVENT, guest("gjest@example.net"), DOB)

    assert again.outcome == "already" and not again.delivery_ids


@pytest.mark.parametrize("guest_first", [True, False], ids=["guest-confirms-first", "member-first"])
def test_a_member_on_the_public_form_and_on_their_own_link_holds_one_place(tmp_path, guest_first):
    """The public form with the member's own address, and their personal link: one place,
    whichever comes first (a place was given twice)."""
    project = make_project(tmp_path / "fylke", event_block(open_to="public", capacity=2))
    runner = runner_at(project)
    me = PEOPLE[1]
    pending = actions.register(runner, EVENT, guest(me.address.upper()), DOB).result.registration

    if guest_first:
        assert actions.confirm_guest(runner, EVENT, pending.id).outcome == "placed"
        assert actions.register(runner, EVENT, me, DOB).outcome == "already"
    else:
        assert actions.register(runner, EVENT, me, DOB).outcome == "placed"
        assert actions.confirm_guest(runner, EVENT, pending.id).outcome == "not_standing"

    placed = [r for r in runner.state.registrations.of_event(EVENT) if r.status == "placed"]
    assert len(placed) == 1


def test_a_guest_who_never_confirms_is_expired_and_forgotten_after_a_day(tmp_path):
    project = make_project(tmp_path / "fylke", event_block(open_to="public"))
    pending = actions.register(runner_at(project), EVENT, guest(), DOB)

    run_due_events(runner_at(project, NOW + dt.timedelta(hours=25)))

    reg = runner_at(project).state.registrations.get(pending.result.registration.id)
    assert reg.status == "expired" and reg.address == "" and reg.answers is None
    late = actions.confirm_guest(runner_at(project), EVENT, reg.id)
    assert late.outcome == "not_standing"


def test_a_larger_capacity_lets_those_waiting_in_at_the_next_run(two_places):
    register(two_places, 1, 2, 3, 4)
    schedules = two_places / "schedules.yaml"
    schedules.write_text(schedules.read_text("utf-8").replace("capacity: 2", "capacity: 3"), "utf-8")

    run_due_events(runner_at(two_places, NOW + dt.timedelta(minutes=1)))

    assert statuses(two_places) == {"1": "placed", "2": "placed", "3": "placed", "4": "waiting"}


def test_no_place_moves_once_the_event_has_started(two_places):
    first, *_ = register(two_places, 1, 2, 3)

    done = actions.cancel(
        runner_at(two_places, START + dt.timedelta(minutes=5)), EVENT, first.result.registration.id
    )

    assert [c.kind for c in done.result.changes] == ["cancelled"]
    assert statuses(two_places)["3"] == "waiting"


def test_the_outbox_files_each_notice_of_one_action_under_its_own_mailing(tmp_path):
    """A cancellation mails the canceller and the first in line: two mailings, two folders."""
    import email
    import email.policy

    project = make_project(tmp_path / "fylke", event_block(capacity=1))
    runner = runner_at(project)
    for done in (actions.register(runner, EVENT, PEOPLE[i], DOB) for i in (1, 2)):
        actions.send(runner, done)
    seat = runner.state.registrations.latest(EVENT, PEOPLE[1].person)

    report = actions.send(runner, actions.cancel(runner, EVENT, seat.id))

    assert report.sent == 2
    outbox = project / ".mailer" / "outbox"
    for path in outbox.rglob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert path.parent.name == str(message["X-Mailer-Mailing"]).replace("/", "_")
