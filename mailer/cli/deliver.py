"""`mailer send` and `mailer run-due`: what they print, in lines or as one JSON document.

Every mailing that reaches fewer people than its audience says why, one line per reason
(see `delivery.accounting`); the outbox is named only when something was written there.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mailer.cli.commands import find_mailing
from mailer.delivery.runner import Runner
from mailer.errors import UserError

Print = Callable[..., None]
NO_HOST = "no SMTP host set (MAILER_SMTP_HOST): messages are in {}"


def _outbox(runner: Runner, mailing_id: str | None = None) -> Path | None:
    """The outbox folder written to, or None (an SMTP server, or nothing written)."""
    if runner.outbox is None:
        return None
    folder = runner.outbox if mailing_id is None else runner.get_transport().folder(mailing_id)  # type: ignore[attr-defined]
    return folder if folder.is_dir() and any(folder.iterdir()) else None


def send(
    runner: Runner, mailing_id: str, dry_run: bool, as_json: bool, out: Print, emit: Callable[[Any], None]
) -> int:
    from mailer.delivery import accounting, timing
    from mailer.delivery.approvals import check_approval

    now = runner.now
    planned = runner.prepare(find_mailing(runner, mailing_id))
    statuses = runner.state.deliveries.member_statuses(planned.id)
    refusal = timing.too_late(planned, now, sum(1 for s in statuses.values() if s == "sent"))
    late = timing.late_by_hand(planned, now) if planned.past_lifetime(now) else None
    mailing = planned.starting_now(now)
    if dry_run and refusal:
        if as_json:
            emit(
                {"mailing": mailing.id, "would_send": 0, "sendable": False, "why_not": refusal, "late": None}
            )
        else:
            out(f"{mailing.id} (dry run, nothing sent): NOT SENDABLE: {refusal}")
        return 0
    if dry_run:
        compiled = runner.compiled(mailing)
        try:
            check_approval(runner.state, compiled)
            approval = "approved"
        except UserError as exc:
            approval = f"NOT SENDABLE: {exc}"
        new, already, suppressed = accounting.would_send(runner, mailing)
        summary = {
            "mailing": mailing.id,
            "would_send": new,
            "already_in_state": already,
            "suppressed": suppressed,
        }
        if as_json:
            emit(
                {
                    **summary,
                    "sendable": approval == "approved",
                    "why_not": approval if approval != "approved" else None,
                    "late": late,
                }
            )
            return 0
        if late and approval == "approved":
            out(late)
        out(
            f"{mailing.id} (dry run, nothing sent): {new} would be sent, {already} already in the "
            f"state, {suppressed} unsubscribed; {approval}"
        )
        return 0
    if refusal:
        raise UserError(refusal)
    with runner.lock(wait=True):
        runner.sync_register()
        report = runner.send(mailing, retry_all_deferred=True)
    counts = accounting.account(runner, mailing, report)
    outbox = _outbox(runner, mailing.id) if report.sent else None
    late = late if report.planned or report.sent else None
    if as_json:
        emit({**counts.as_json(), "late": late, "outbox": str(outbox) if outbox else None})
    else:
        if late:
            out(late)
        out(report.line())
        for line in counts.explanation():
            out(line)
        if outbox:
            out(NO_HOST.format(outbox))
    return 1 if report.server_lost else 0


def run_due(runner: Runner, as_json: bool, out: Print, warn: Print, emit: Callable[[Any], None]) -> int:
    from mailer.bounces.imap import collect as collect_bounces
    from mailer.delivery.due import run_due as due
    from mailer.events.due import run as events_due

    with runner.lock(wait=False) as locked:
        if not locked:
            warn("another mailer run is in progress; this one does nothing")
            if as_json:
                emit({"skipped": "another mailer run is in progress", "mailings": [], "errors": []})
            return 0
        bounced = collect_bounces(runner, warn)
        run = due(runner)
        more, problems = events_due(runner)  # offers that ran out, reminders, answers to erase
        run.reports += more
        run.errors += problems
    outbox = _outbox(runner) if any(r.sent for r in run.reports) else None
    if as_json:
        emit(
            {
                "now": runner.now.isoformat(),
                "bounces": bounced or None,
                "gap": run.gap.as_json() if run.gap else None,
                "mailings": [
                    run.accounts[r.mailing_id].as_json() if r.mailing_id in run.accounts else r.as_json()
                    for r in run.reports
                ],
                "errors": run.errors,
                "outbox": str(outbox) if outbox else None,
            }
        )
    else:
        if bounced:
            out(bounced)
        if run.gap:
            out(run.gap.line(runner.now))
        for report in run.reports:
            out(report.line())
            for line in (
                run.accounts[report.mailing_id].explanation() if report.mailing_id in run.accounts else ()
            ):
                out(line)
        if outbox:
            out(NO_HOST.format(outbox))
    for e in run.errors:
        print(f"error: {e}", file=sys.stderr)
    return 1 if run.errors or any(r.server_lost for r in run.reports) else 0
