"""What a person or the organiser does with an event, each one transaction with its messages.

Registering, confirming a guest's address, accepting an offer, cancelling, announcing a change
of the event, calling it off: the rules in `places` decide inside one transaction, and the
notice for each person concerned is recorded in the same commit, so a crash leaves either
nothing or the decision with its messages waiting to go. `send` then tries them at once (the
web part does it right after answering); what cannot go now, `run-due` sends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from mailer.delivery import notices
from mailer.delivery.report import Report
from mailer.delivery.runner import Runner
from mailer.events import messages
from mailer.events.places import Change, Places, Result, Who, what_is_told
from mailer.project.event_mailings import event_config
from mailer.state.database import transaction


@dataclass
class Done:
    """What an action decided, and the messages it recorded."""

    result: Result
    delivery_ids: list[int] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        return self.result.outcome


def places(runner: Runner, name: str) -> Places:
    return Places(runner.state, name, event_config(runner.project, name), runner.project.tz)


def apply(runner: Runner, name: str, decide: Callable[[Places], Result]) -> Done:
    """Decide and record the messages in one transaction."""
    runner.member_store()  # an import of a changed export writes; it must not happen inside
    event = places(runner, name)
    state = runner.state
    with transaction(state.db):
        state.registrations.hold(name)
        result = decide(event)
        ids = []
        for change in result.changes:
            _remember_told(event, change, runner)
            ids.append(notices.record(state, messages.notice(runner, name, event.cfg, change), runner.now))
    return Done(result, ids)


def _remember_told(event: Places, change: Change, runner: Runner) -> None:
    """A confirmation or an offer tells the time and place: kept, so a later change is announced."""
    if change.kind in ("placed", "promoted", "offered"):
        told = what_is_told(event.cfg, event.tz, join=change.kind != "offered")
        runner.state.event_changes.tell(change.registration.id, event.name, told, runner.now)


def register(runner: Runner, name: str, who: Who, answers: dict[str, str]) -> Done:
    return apply(runner, name, lambda p: p.register(who, answers, runner.now))


def confirm_guest(runner: Runner, name: str, registration_id: int) -> Done:
    return apply(runner, name, lambda p: p.confirm_guest(registration_id, runner.now))


def cancel(runner: Runner, name: str, registration_id: int, by_organiser: bool = False) -> Done:
    return apply(runner, name, lambda p: p.cancel(registration_id, runner.now, by_organiser))


def accept(runner: Runner, name: str, registration_id: int) -> Done:
    return apply(runner, name, lambda p: p.accept(registration_id, runner.now))


def call_off(runner: Runner, name: str, reason: str) -> Done:
    return apply(runner, name, lambda p: p.call_off(reason, runner.now))


def announce_changes(runner: Runner, name: str) -> Done:
    return apply(runner, name, lambda p: Result("placed", None, p.announce_changes(runner.now)))


def send(runner: Runner, done: Done) -> Report:
    """Send what the action recorded, now; never raises for a delivery problem."""
    return notices.send(runner, done.delivery_ids)
