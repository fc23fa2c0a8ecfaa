"""The board's view: what goes out next, each mailing as members will see it, and approval.

Looking at a mailing's page records nothing (a GET changes no state); the Approve button,
whose form carries the fingerprint the page showed, records that preview and the approval,
as `mailer preview` and `mailer approve` do, and only while the content is still the same.
The copy shown is an invented sample member's (mailer.sample), never a real member's data.
"""

from __future__ import annotations

from dataclasses import dataclass

from mailer.delivery import announcements, approvals
from mailer.delivery.runner import Runner
from mailer.errors import UserError
from mailer.project.dates import date_and_time
from mailer.project.mailings import KIND_NAMES, Mailing
from mailer.project.members import Member
from mailer.render import sample
from mailer.render.messages import CompiledMailing
from mailer.render.renderer import Copy

STATES = {
    "planned": "planlagt",
    "due": "skal sendes nå",
    "sending": "sendes",
    "sent": "sendt",
    "not approved": "ikke godkjent",
    "no planned time": "uten planlagt tidspunkt",
}


def state_name(label: str) -> str:
    """`mailer schedule`'s state ("due, not approved") in the board's words."""
    return ", ".join(STATES.get(part, part) for part in label.split(", "))


def mailing(runner: Runner, mailing_id: str) -> Mailing:
    """A mailing by id, as `mailer preview` finds it (revisions of meetings included)."""
    project, state, now = runner.project, runner.state, runner.now
    found = announcements.revision_by_id(project, state, mailing_id, now) or project.mailing(mailing_id, now)
    return runner.prepare(found)


def sample_member(runner: Runner, mailing: Mailing, language: str) -> Member:
    """The invented member whose copy the board sees; no real member's data reaches the page."""
    today = runner.now.date()
    extra_keys = next((list(m.extra) for m in runner.members()), [])
    return sample.sample_member(runner.project.config, mailing.audience, language, today, extra_keys)


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
    copy = runner.preview_factory(compiled).copy(sample_member(runner, found, language))
    if record:
        runner.state.approvals.record_preview(found.id, compiled.fingerprint, runner.now)
    return Preview(found, compiled, copy)


def approvers(runner: Runner, mailing_id: str, fingerprint: str) -> list[str]:
    return approvals.names(runner.state, mailing_id, fingerprint)


class Refused(UserError):
    """The approval was not recorded; the message says why, in Norwegian, for the board."""


def approve(runner: Runner, mailing_id: str, fingerprint: str, by: str) -> bool:
    """Record `by`'s approval of `fingerprint`, which the page showed and must be what the mailing is now."""
    found = mailing(runner, mailing_id)
    if not found.needs_approval:
        raise Refused(f"{found.id} er en {KIND_NAMES[found.kind]}; bare nyhetsbrev godkjennes.")
    current = runner.compiled(found).fingerprint
    if fingerprint != current:
        raise Refused(
            f"{found.id} er endret siden du så på det (fingeravtrykk {fingerprint}, nå {current}). "
            "Se på det igjen før du godkjenner."
        )
    runner.state.approvals.record_preview(found.id, fingerprint, runner.now)
    board = runner.project.settings.board_users
    return approvals.record(runner.state, board, found.id, fingerprint, by, runner.now)


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
    problem: str = ""
    """Why this mailing cannot be shown or approved (a draft with a mistake), or empty."""


@dataclass(frozen=True)
class Upcoming:
    rows: list[Row]
    problems: list[str]
    """Drafts left out of the list because they cannot be read: the rest is listed all the same."""


def upcoming(runner: Runner, days: int) -> Upcoming:
    """`mailer schedule`, plus drafts without a planned time that are not sent yet.

    One draft with a mistake (a typo in its front matter or its Jinja) is named, never the
    reason the board sees no list at all: the others still wait for their approval."""
    from mailer.delivery.ahead import schedule

    rows = []
    problems: list[str] = []
    listed: set[str] = set()
    for planned in schedule(runner, days, problems):
        m = planned.mailing
        listed.add(m.id)
        rows.append(_row(runner, m, planned.recipients, planned.state, planned.overdue))
    sent = runner.state.deliveries.status_counts()
    project = runner.project
    for draft in project.drafts(problems=[]):  # schedule() named the unreadable ones
        if draft.front.send_at is not None or draft.id in sent or draft.id in listed:
            continue
        try:
            m = project.newsletter(draft, runner.now)
        except UserError as exc:
            problems.append(str(exc))
            continue
        today = runner.now.date()
        count = sum(1 for _ in m.audience.select(runner.members(), today))
        rows.append(_row(runner, m, count, "no planned time", False, when="når det sendes"))
    return Upcoming(rows, problems)


def _row(
    runner: Runner, m: Mailing, recipients: int, state: str, overdue: bool, when: str | None = None
) -> Row:
    fingerprint, have, problem = None, 0, ""
    if m.needs_approval:
        try:
            fingerprint = runner.compiled(runner.prepare(m)).fingerprint
            have = len(approvers(runner, m.id, fingerprint))
        except UserError as exc:
            problem = str(exc)
    return Row(
        m.id,
        KIND_NAMES.get(m.kind, m.kind),
        when or date_and_time(m.send_at),
        m.audience.name,
        recipients,
        state_name(state),
        overdue,
        fingerprint,
        have,
        m.approvals_required,
        problem,
    )
