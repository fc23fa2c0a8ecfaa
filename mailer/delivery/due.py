"""What is due: the schedule ahead, and `run-due`, the one function cron and the scheduler call."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from mailer.delivery import announcements, newcomers, notices, register
from mailer.delivery.approvals import check_approval
from mailer.delivery.report import Report
from mailer.delivery.runner import Runner
from mailer.errors import TransportUnavailable, UserError
from mailer.project.config import WelcomeConfig
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


def due_mailings(runner: Runner) -> list[Mailing]:
    """Everything whose time has come: scheduled, revised, welcomes, and unfinished work."""
    project, state, now = runner.project, runner.state, runner.now
    due = {m.id: m for m in announcements.revisions_due(project, state, now)}
    for mailing in project.upcoming(now, now):
        due.setdefault(mailing.id, mailing)
    for name, cfg in project.config.mailings.items():
        if isinstance(cfg, WelcomeConfig) and now.time() >= cfg.at:
            due.setdefault(name, project.welcome(name, cfg, now))
    for mailing_id in state.deliveries.mailings_with_work(now):
        if (
            mailing_id not in due
            and not newcomers.owns(mailing_id)
            and not state.notices.is_notice(mailing_id)
        ):
            try:
                due[mailing_id] = announcements.revision_by_id(
                    project, state, mailing_id, now
                ) or project.mailing(mailing_id, now)
            except UserError as exc:
                runner.warn(f"{mailing_id}: has deliveries left but cannot be rebuilt: {exc}")
    # Updates first: they go to those already invited, before newcomers get the current invitation.
    return sorted(due.values(), key=lambda m: (m.change not in ("update", "cancel"), m.send_at, m.id))


def run_due(runner: Runner) -> tuple[list[Report], list[str]]:
    """Send everything due at `runner.now`, each delivery at most once; returns reports and errors."""
    project, state = runner.project, runner.state
    runner.sync_register()
    register.forget_gone(state, project.state_dir, project.config.organisation.retention_days, runner.now)
    reports, errors = [], []
    for mailing in due_mailings(runner):
        try:
            if mailing.needs_approval:
                try:
                    check_approval(state, runner.compiled(runner.prepare(mailing)))
                except UserError as exc:
                    _warn_once_a_day(runner, mailing, str(exc))
                    continue
            report = runner.send(mailing)
        except TransportUnavailable:
            raise
        except UserError as exc:
            errors.append(f"{mailing.id}: {exc}")
            continue
        if report.anything or report.server_lost or _news(runner, report):
            reports.append(report)
    try:
        reports.extend(r for r in newcomers.run(runner) if r.anything or r.server_lost)
    except UserError as exc:
        errors.append(f"new members' follow-up: {exc}")
    sent = notices.send_due(runner)  # messages to one person that could not go when they were made
    if sent.anything:
        reports.append(sent)
    return reports, errors


def _news(runner: Runner, report: Report) -> bool:
    """A note worth printing: the same one (today's limit reached) is said once a day."""
    if not report.note:
        return False
    key, today = f"noted:{report.mailing_id}:{report.note}", runner.now.date().isoformat()
    if runner.state.meta.get(key) == today:
        return False
    runner.state.meta.set(key, today)
    return True


def _warn_once_a_day(runner: Runner, mailing: Mailing, message: str) -> None:
    """An unapproved newsletter is waiting: say so once a day, not in every cron run."""
    key, today = f"waiting:{mailing.id}", runner.now.date().isoformat()
    if runner.state.meta.get(key) != today:
        runner.state.meta.set(key, today)
        runner.warn(f"{message} (it was planned for {mailing.send_at:%Y-%m-%d %H:%M})")


def schedule(runner: Runner, days: int) -> list[Planned]:
    """Mailings still to send in the next `days` days, and overdue ones still worth sending."""
    project, state, now = runner.project, runner.state, runner.now
    until = now + dt.timedelta(days=days)
    mailings = {m.id: m for m in announcements.revisions_due(project, state, now)}
    for m in project.upcoming(now, until):
        mailings.setdefault(m.id, m)
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
