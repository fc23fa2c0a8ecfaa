"""The board's view: what goes out next, each mailing as members will see it, and approval.

Looking at a mailing's page records a preview of exactly that content, as `mailer preview`
does; the Approve button then records an approval as `mailer approve` does, and only for the
fingerprint the page showed. The copy shown is a sample member's (real audience, invented
name and address), so the board page never shows a member's address.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from mailer import announcements
from mailer.dates import date_and_time
from mailer.errors import UserError
from mailer.mailings import Mailing
from mailer.members import Member
from mailer.messages import CompiledMailing
from mailer.render import Copy
from mailer.runner import Runner

SAMPLE = {
    "id": "eksempel",
    "first_name": "Ola",
    "last_name": "Nordmann",
    "email": "ola.nordmann@example.invalid",
}
KINDS = {
    "newsletter": "nyhetsbrev",
    "invitation": "invitasjon",
    "welcome": "velkomst",
    "consultation": "høring",
}


def mailing(runner: Runner, mailing_id: str) -> Mailing:
    """A mailing by id, as `mailer preview` finds it (revisions of meetings included)."""
    project, ledger, now = runner.project, runner.ledger, runner.now
    found = announcements.revision_by_id(project, ledger, mailing_id, now) or project.mailing(mailing_id, now)
    return runner.prepare(found)


def sample_member(runner: Runner, mailing: Mailing, language: str) -> Member:
    today = runner.now.date()
    first = None
    for member in mailing.audience.select(runner.project.members(today), today):
        first = first or member
        if member.language == language:
            first = member
            break
    if first is None:
        first = Member("", "", "", "", "", "", "", frozenset(), None, language)
    return dataclasses.replace(first, language=language, **SAMPLE)


@dataclass(frozen=True)
class Preview:
    mailing: Mailing
    compiled: CompiledMailing
    copy: Copy

    @property
    def fingerprint(self) -> str:
        return self.compiled.fingerprint


def preview(runner: Runner, mailing_id: str, language: str, record: bool) -> Preview:
    found = mailing(runner, mailing_id)
    compiled = runner.compiled(found)
    copy = runner.factory(compiled).copy(sample_member(runner, found, language))
    if record:
        runner.ledger.record_preview(found.id, compiled.fingerprint, runner.now)
    return Preview(found, compiled, copy)


def approvers(runner: Runner, mailing_id: str, fingerprint: str) -> list[str]:
    return sorted({by for fp, by, _ in runner.ledger.approvals(mailing_id) if fp == fingerprint})


class Refused(UserError):
    """The approval was not recorded; the message says why, in Norwegian, for the board."""


def approve(runner: Runner, mailing_id: str, fingerprint: str, by: str) -> bool:
    """Record `by`'s approval of `fingerprint`, which must be what the mailing is now and was previewed."""
    found = mailing(runner, mailing_id)
    if not found.needs_approval:
        raise Refused(f"{found.id} er en {KINDS[found.kind]}; bare nyhetsbrev godkjennes.")
    current = runner.compiled(found).fingerprint
    if fingerprint != current or not runner.ledger.was_previewed(found.id, fingerprint):
        raise Refused(
            f"{found.id} er endret siden du så på det (fingeravtrykk {fingerprint}, nå {current}). "
            "Se på det igjen før du godkjenner."
        )
    return runner.ledger.approve(found.id, fingerprint, by, runner.now)


@dataclass(frozen=True)
class Row:
    id: str
    kind: str
    send_at: str
    audience: str
    recipients: int
    state: str
    overdue: bool
    fingerprint: str | None
    approvals: int
    required: int


def upcoming(runner: Runner, days: int) -> list[Row]:
    """`mailer schedule`, plus drafts without a planned time that are not sent yet."""
    from mailer.due import schedule

    rows = []
    listed: set[str] = set()
    for planned in schedule(runner, days):
        m = planned.mailing
        listed.add(m.id)
        rows.append(_row(runner, m, planned.recipients, planned.state, planned.overdue))
    sent = runner.ledger.status_counts()
    project = runner.project
    for draft in project.drafts():
        if draft.front.send_at is not None or draft.id in sent or draft.id in listed:
            continue
        m = project.newsletter(draft, runner.now)
        today = runner.now.date()
        count = sum(1 for _ in m.audience.select(project.members(today), today))
        rows.append(_row(runner, m, count, "no planned time", False, when="når det sendes"))
    return rows


def _row(
    runner: Runner, m: Mailing, recipients: int, state: str, overdue: bool, when: str | None = None
) -> Row:
    fingerprint, have = None, 0
    if m.needs_approval:
        fingerprint = runner.compiled(runner.prepare(m)).fingerprint
        have = len(approvers(runner, m.id, fingerprint))
    return Row(
        m.id,
        KINDS.get(m.kind, m.kind),
        when or date_and_time(m.send_at),
        m.audience.name,
        recipients,
        state,
        overdue,
        fingerprint,
        have,
        m.approvals_required,
    )
