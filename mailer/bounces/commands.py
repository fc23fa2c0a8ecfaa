"""`mailer bounces`: the addresses that fail, importing returned mail, clearing a fixed address."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mailer.bounces import mailbox
from mailer.bounces.process import ImportReport, Policy, Processor, complaint_categories
from mailer.delivery.runner import Runner
from mailer.errors import UserError
from mailer.exports import write_csv
from mailer.project.addresses import check_email
from mailer.project.textclean import clip, escape_controls
from mailer.state.database import transaction

Print = Callable[..., None]
COLUMNS = ("member_id", "name", "email", "kind", "status", "reason", "last", "count", "verified", "why")


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
    """The failing addresses (verified), then the unverified claims, as one list."""
    members = {m.address_key: m for m in runner.members()}
    names = {m.id: m.name for m in members.values()}
    tz = runner.project.tz

    def when(stamp: str) -> str:
        return dt.datetime.fromisoformat(stamp).astimezone(tz).isoformat(timespec="minutes")

    out = []
    for f in runner.state.bounces.failing():
        out.append(
            {
                "member_id": f.member_id,
                "name": names.get(f.member_id or "", ""),
                "email": f.address,
                "kind": f.kind,
                "status": f.status,
                "reason": f.reason,
                "last": when(f.last_at),
                "count": f.count,
                "verified": True,
                "why": None,
            }
        )
    for c in runner.state.unverified.listing():
        member = members.get(c.address)
        out.append(
            {
                "member_id": member.id if member else None,
                "name": member.name if member else "",
                "email": c.address,
                "kind": c.kind,
                "status": c.status,
                "reason": c.reason,
                "last": when(c.last_at),
                "count": c.count,
                "verified": False,
                "why": c.why,
            }
        )
    return out


def listing(
    runner: Runner, as_json: bool, csv_file: Path | None, out: Print, emit: Callable[[Any], None]
) -> None:
    """Print the failing addresses (or JSON), and write them as CSV for the register when asked."""
    found = rows(runner)
    if csv_file is not None:
        cells = ([*(r[c] for c in COLUMNS[:-2]), "yes" if r["verified"] else "no", r["why"]] for r in found)
        write_csv(csv_file, COLUMNS, cells, option="--csv")
    if as_json:
        emit(found)
        return
    if csv_file is not None:
        verified = sum(1 for r in found if r["verified"])
        out(f"{verified} failing addresses and {len(found) - verified} unverified written to {csv_file}")
        return
    if not found:
        out("no address bounces or has complained")
        return
    for r in found:
        if r["verified"]:
            out(_line(r))
    unverified = [r for r in found if not r["verified"]]
    if unverified:
        out(f"unverified ({len(unverified)}): reports that prove nothing; nobody was suppressed:")
    for r in unverified:
        out(f"  {_line(r)} ({r['why']})")


def _line(r: dict[str, Any]) -> str:
    """One row for the terminal: fields from outside are cut and their control characters escaped."""
    status = f" {r['status']}" if r["status"] else ""
    who = f"{r['member_id'] or ''} {r['name']}".strip() or "(not in the member list)"
    text = (
        f"{r['email'] or '(no address)'}  {who}  {r['kind']}{status} x{r['count']}, "
        f"last {r['last'][:16]}: {r['reason']}"
    )
    return escape_controls(clip(text, 1000))


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
            lifted = state.suppressions.lift_bounce(address, runner.now)
            looked_at = state.unverified.clear(address)
    if looked_at and not cleared and not lifted:
        out(f"{address}: {looked_at} unverified reports cleared; they had suppressed nothing")
        return
    if not cleared and not lifted:
        raise UserError(f"{address} has no bounces to clear; `mailer bounces` lists those that have")
    kept = [c for a, c, _, _ in runner.state.suppressions.rows() if a == address]
    if kept:
        what = "everything" if "*" in kept else f"{len(kept)} categories"
        out(f"{address}: {cleared} bounces cleared; still unsubscribed from {what}, which this does not lift")
    else:
        out(f"{address}: {cleared} bounces cleared; mail to it resumes")
