"""What is due: `run-due`, the one function cron and the scheduler call (the schedule ahead: `ahead`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from mailer.delivery import (
    ahead,
    announcements,
    archiving,
    consultation_receipts,
    gaps,
    newcomers,
    notices,
    register,
    reminder_days,
    stopping,
    timing,
)
from mailer.delivery.accounting import Accounting, account
from mailer.delivery.approvals import check_approval, check_approved_at_all
from mailer.delivery.report import Report
from mailer.delivery.runner import Runner
from mailer.errors import TransportUnavailable, UserError
from mailer.project.config import WelcomeConfig
from mailer.project.mailings import Mailing


def due_mailings(runner: Runner, problems: list[str] | None = None) -> list[Mailing]:
    """Everything whose time has come: scheduled, revised, welcomes, and unfinished work.
    With `problems`, a draft that cannot be read is named there and the rest still goes."""
    project, state, now = runner.project, runner.state, runner.now
    due = {m.id: m for m in announcements.revisions_due(project, state, now)}
    for mailing in project.upcoming(now, now, problems):
        due.setdefault(mailing.id, mailing)
    for name, cfg in project.config.mailings.items():
        if isinstance(cfg, WelcomeConfig) and now >= cfg.send_time(now.date(), project.tz):
            due.setdefault(name, project.welcome(name, cfg, now))
    for mailing_id in state.deliveries.mailings_with_work(now):
        if (
            mailing_id not in due
            and not newcomers.owns(mailing_id)
            and not consultation_receipts.owns(mailing_id)
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


@dataclass
class DueRun:
    """What one run-due did: a report per mailing that did something, and why others got less."""

    reports: list[Report] = field(default_factory=list)
    accounts: dict[str, Accounting] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    gap: gaps.Gap | None = None


def run_due(runner: Runner) -> DueRun:
    """Send everything due at `runner.now`, each delivery at most once."""
    project, state = runner.project, runner.state
    runner.sync_register()
    register.forget_gone(state, project.state_dir, project.config.organisation.retention_days, runner.now)
    run = DueRun(gap=gaps.since_last_run(runner))
    for line in archiving.review(state.archive, project, runner.now):
        runner.warn(line)
    for mailing_id, kind, closed, n in state.deliveries.expire_closed(runner.now):
        why = "the meeting started" if kind == "invitation" else "the deadline passed"
        run.reports.append(
            Report(mailing_id, expired=n, note=f"{why} {closed.astimezone(project.tz):%Y-%m-%d %H:%M}")
        )
    for mailing in due_mailings(runner, run.errors):
        if stopping.STOP.is_set():  # SIGTERM or Ctrl-C during an earlier mailing of this run
            runner.warn("stopped on request: the mailings not begun are sent by the next run")
            break
        try:
            if reminder_days.held_back(state, mailing, runner.now, runner.warn):
                continue
            if mailing.needs_approval:
                prepared = runner.prepare(mailing)
                if runner.settled(prepared):
                    continue  # sent already: not compiled again only to find nothing to do
                try:
                    check_approved_at_all(state, mailing)
                    check_approval(state, runner.compiled(prepared))
                except UserError as exc:
                    _warn_once_a_day(
                        runner,
                        f"waiting:{mailing.id}",
                        f"{exc} (it was planned for {mailing.send_at:%Y-%m-%d %H:%M})",
                    )
                    continue
            first = state.deliveries.first_planned_at(mailing.id) is None
            report = runner.send(mailing)
            left_out = reminder_days.not_reminded(state, mailing, runner.members(), runner.now)
            report.note = "; ".join(filter(None, (report.note, left_out)))
        except TransportUnavailable as exc:  # its deliveries wait in the ledger; the rest of the run goes on
            run.errors.append(str(exc))
            continue
        except UserError as exc:
            run.errors.append(f"{mailing.id}: {exc}")
            continue
        # A first planning that reached nobody (an audience empty today) is said once, with why.
        nobody = first and state.deliveries.first_planned_at(mailing.id) is not None
        if report.anything or report.server_lost or nobody or _news(runner, report):
            run.reports.append(report)
            run.accounts[mailing.id] = account(runner, runner.prepare(mailing), report)
    if stopping.STOP.is_set():
        gaps.record_run(runner)
        return run
    try:
        run.reports.extend(r for r in newcomers.run(runner) if r.anything or r.server_lost)
    except UserError as exc:
        run.errors.append(f"new members' follow-up: {exc}")
    try:
        run.reports.extend(r for r in consultation_receipts.run(runner) if r.anything or r.server_lost)
    except UserError as exc:
        run.errors.append(f"consultation receipts: {exc}")
    sent = notices.send_due(runner)  # messages to one person that could not go when they were made
    if sent.anything:
        run.reports.append(sent)
    for mailing in ahead.stale_drafts(runner):
        _warn_once_a_day(runner, f"stale:{mailing.id}", timing.stale(mailing, runner.now))
    gaps.record_run(runner)
    return run


def _news(runner: Runner, report: Report) -> bool:
    """A note worth printing: the same one (today's limit reached) is said once a day."""
    if not report.note:
        return False
    key, today = f"noted:{report.mailing_id}:{report.note}", runner.now.date().isoformat()
    if runner.state.meta.get(key) == today:
        return False
    runner.state.meta.set(key, today)
    return True


def _warn_once_a_day(runner: Runner, key: str, message: str) -> None:
    """A newsletter waits for approval, or its time ran out: say so once a day, not every minute."""
    today = runner.now.date().isoformat()
    if runner.state.meta.get(key) != today:
        runner.state.meta.set(key, today)
        runner.warn(message)
