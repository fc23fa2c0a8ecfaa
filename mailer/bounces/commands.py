"""`mailer bounces`: the addresses that fail, importing returned mail, clearing a fixed address."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mailer.bounces import mailbox
from mailer.bounces.process import ImportReport, Policy, Processor, complaint_categories
from mailer.delivery.runner import Runner
from mailer.errors import UserError
from mailer.project.addresses import check_email
from mailer.state.database import transaction

Print = Callable[..., None]
COLUMNS = ("member_id", "name", "email", "kind", "status", "reason", "last", "count")


def processor(runner: Runner, source: str) -> Processor:
    settings = runner.project.settings
    policy = Policy(
        settings.bounce_soft_limit,
        settings.bounce_soft_days,
        complaint_categories(runner.project.config),
    )
    verp = runner.verp() if settings.bounce_address else None
    return Processor(runner.state, verp, policy, runner.now, source)


def import_messages(runner: Runner, source: str, out: Print, warn: Print) -> ImportReport:
    """Read every message of a file, mbox, Maildir or stdin; one broken message skips only itself."""
    proc = processor(runner, "import")
    with runner.lock(wait=True):
        for label, data in mailbox.messages(source):
            proc.handle(label, data)
            for line in proc.report.warnings:
                warn(line)
            proc.report.warnings.clear()
    out(proc.report.line())
    return proc.report


def rows(runner: Runner) -> list[dict[str, Any]]:
    names = {m.id: m.name for m in runner.members()}
    tz = runner.project.tz
    out = []
    for f in runner.state.bounces.failing():
        last = dt.datetime.fromisoformat(f.last_at).astimezone(tz)
        out.append(
            {
                "member_id": f.member_id,
                "name": names.get(f.member_id or "", ""),
                "email": f.address,
                "kind": f.kind,
                "status": f.status,
                "reason": f.reason,
                "last": last.isoformat(timespec="minutes"),
                "count": f.count,
            }
        )
    return out


def listing(
    runner: Runner, as_json: bool, csv_file: Path | None, out: Print, emit: Callable[[Any], None]
) -> None:
    """Print the failing addresses (or JSON), and write them as CSV for the register when asked."""
    found = rows(runner)
    if csv_file is not None:
        try:
            with csv_file.open("w", encoding="utf-8", newline="") as f:
                writer = csv.DictWriter(f, COLUMNS)
                writer.writeheader()
                writer.writerows(found)
        except OSError as exc:
            raise UserError(f"cannot write {csv_file}: {exc.strerror}; choose another --csv path") from None
    if as_json:
        emit(found)
        return
    if csv_file is not None:
        out(f"{len(found)} failing addresses written to {csv_file}")
        return
    if not found:
        out("no address bounces or has complained")
        return
    for r in found:
        status = f" {r['status']}" if r["status"] else ""
        who = f"{r['member_id']} {r['name']}".strip() or "(not in the member list)"
        out(f"{r['email']}  {who}  {r['kind']}{status} x{r['count']}, last {r['last'][:16]}: {r['reason']}")


def clear(runner: Runner, email: str, out: Print) -> None:
    """Lift a bounce suppression; an unsubscribe or a complaint stays."""
    try:
        address = check_email(email.strip()).casefold()
    except ValueError as exc:
        raise UserError(f"'{email}' is not an email address: {exc}") from None
    with runner.lock(wait=True):
        state = runner.state
        with transaction(state.db):
            cleared = state.bounces.clear(address, runner.now)
            lifted = state.suppressions.lift_bounce(address)
    if not cleared and not lifted:
        raise UserError(f"{address} has no bounces to clear; `mailer bounces` lists those that have")
    kept = [c for a, c, _, _ in runner.state.suppressions.rows() if a == address]
    if kept:
        what = "everything" if "*" in kept else f"{len(kept)} categories"
        out(f"{address}: {cleared} bounces cleared; still unsubscribed from {what}, which this does not lift")
    else:
        out(f"{address}: {cleared} bounces cleared; mail to it resumes")
