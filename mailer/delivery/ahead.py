"""`mailer schedule`: what is still to send in the days ahead, and why nothing is when nothing is."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from mailer.delivery import announcements
from mailer.delivery.runner import Runner
from mailer.errors import UserError
from mailer.project import calendar
from mailer.project.mailing_config import InvitationConfig
from mailer.project.mailings import Mailing


@dataclass
class Planned:
    """A row of `mailer schedule`."""

    mailing: Mailing
    overdue: bool
    recipients: int
    state: str

    def as_json(self) -> dict[str, object]:
        m = self.mailing
        return {
            "id": m.id,
            "kind": m.kind,
            "audience": m.audience.name,
            "recipients": self.recipients,
            "send_at": m.send_at.isoformat(),
            "overdue": self.overdue,
            "state": self.state,
            "meeting_start": m.event.start.isoformat() if m.event else None,
            "change": m.change,
        }


MAX_DAYS = 3650
"""Ten years: further ahead no series is planned, and dates would soon leave the calendar."""


def check_days(days: int) -> None:
    if not 0 <= days <= MAX_DAYS:
        raise UserError(f"--days {days} is out of range; give a number of days from 0 to {MAX_DAYS}")


def schedule(runner: Runner, days: int, problems: list[str] | None = None) -> list[Planned]:
    """Mailings still to send in the next `days` days, and overdue ones still worth sending.
    A draft that cannot be read or built is left out: named in `problems` when given (the
    board's page shows them), else warned about."""
    check_days(days)
    project, state, now = runner.project, runner.state, runner.now
    until = now + dt.timedelta(days=days)
    mailings = {m.id: m for m in announcements.revisions_due(project, state, now)}
    found: list[str] = []
    for m in project.upcoming(now, until, found):
        mailings.setdefault(m.id, m)
    for problem in found:
        if problems is not None:
            problems.append(problem)
        else:
            runner.warn(f"{problem} (left out of the schedule until it is fixed)")
    members = list(runner.members())
    counts: Counter[str] = Counter()
    for name in {m.audience.name for m in mailings.values() if m.change not in ("update", "cancel")}:
        counts[name] = sum(1 for _ in project.audience(name).select(members, now.date()))
    status = state.deliveries.status_counts()
    out = []
    for m in sorted(mailings.values(), key=lambda m: (m.send_at, m.id)):
        done = status.get(m.id, {})
        open_ = sum(done.get(s, 0) for s in ("pending", "sending", "deferred"))
        if done and not open_ and m.send_at <= now:
            continue
        if not done and m.send_at <= now and state.deliveries.first_planned_at(m.id) is not None:
            continue  # planned when its audience selected nobody: run-due said so then
        recipients = counts[m.audience.name]
        if m.change in ("update", "cancel"):
            recipients = len(announcements.previous_recipients(state, m) or ())
        label = "sending" if open_ else ("due" if m.send_at <= now else "planned")
        if done and not open_:
            label = "sent"  # sent ahead of its planned time (`mailer send`)
        elif m.needs_approval and not any(True for _ in state.approvals.of(m.id)):
            label += ", not approved"
        out.append(Planned(m, m.send_at < now, recipients, label))
    return out


def nothing_ahead(runner: Runner, days: int) -> str:
    """Why the schedule is empty, in numbers: series with no dates left or meeting later, drafts
    sent, past their time, planned later or without a send time."""
    project, now = runner.project, runner.now
    until = now + dt.timedelta(days=days)
    tz = project.config.organisation.tz
    series = ended = 0
    nexts: list[dt.datetime] = []
    for name, cfg in project.config.mailings.items():
        if not isinstance(cfg, InvitationConfig):
            continue
        series += 1
        ahead = [
            o.start
            for o in calendar.occurrences(
                name, cfg.meeting, tz, now.date(), (now + dt.timedelta(days=400)).date()
            )
            if not o.cancelled and o.start > now
        ]
        if ahead:
            nexts.append(min(ahead))
        else:
            ended += 1
    drafts: Counter[str] = Counter()
    unreadable: list[str] = []
    for draft in project.drafts(unreadable):
        if draft.front.send_at is None:
            drafts["without a send_at"] += 1
            continue
        try:
            mailing = project.draft_mailings(draft, now)[0]
        except UserError:
            drafts["with a problem (`mailer check` names it)"] += 1
            continue
        drafts[_draft_state(runner, mailing, until)] += 1
    if unreadable:
        drafts["with a problem (`mailer check` names it)"] += len(unreadable)
    parts = [f"of {series} meeting series, {ended} have every date in the past (`mailer check` names them)"]
    if not series:
        parts = ["schedules.yaml has no meeting series"]
    if nexts:
        parts[0] += f" and {len(nexts)} meet later (the next on {min(nexts):%Y-%m-%d})"
    if drafts:
        parts.append(
            f"of {sum(drafts.values())} drafts, "
            + ", ".join(f"{n} {what}" for what, n in sorted(drafts.items()))
        )
    return f"nothing to send in the next {days} days: " + "; ".join(parts)


def _draft_state(runner: Runner, mailing: Mailing, until: dt.datetime) -> str:
    now = runner.now
    if runner.state.deliveries.first_planned_at(mailing.id) is not None:
        return "sent or begun (`mailer status` shows it)"
    if mailing.past_lifetime(now):
        return "past their lifetime, never sent (`mailer send ID` still sends one)"
    if mailing.too_late(now):
        return "past their deadline, never sent"
    if mailing.send_at > until:
        return "planned later"
    return "waiting"


def stale_drafts(runner: Runner) -> list[Mailing]:
    """Drafts whose time ran out before they were ever sent: run-due will never send them."""
    out = []
    for draft in runner.project.drafts(problems=[]):  # run-due names the unreadable ones already
        if draft.front.send_at is None:
            continue
        try:
            mailing = runner.project.draft_mailings(draft, runner.now)[0]
        except UserError:
            continue  # `due_mailings` and `mailer check` name what is wrong with it
        gone = mailing.past_lifetime(runner.now) or mailing.too_late(runner.now)
        if gone and runner.state.deliveries.first_planned_at(mailing.id) is None:
            out.append(mailing)
    return out
