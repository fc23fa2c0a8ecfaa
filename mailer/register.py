"""The member register as the ledger saw it: who joined, who left, and forgetting those who left.

Each sending run compares the export with the register: a member is *new* when their joined
date is inside the welcome window, or, when the export has no joined date, when they first
appeared in an import after the very first one (so a new installation never welcomes the
members it already had). Members missing from the export are *gone*; after the retention
period their personal data is erased from the state folder, keeping only counts.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from pathlib import Path

from mailer.ledger import Ledger, stamp
from mailer.members import Member
from mailer.state.consultations import Answers


def sync(ledger: Ledger, members: Iterable[Member], now: dt.datetime, inputs: str) -> None:
    """Record who is in the export now; skipped when the export has not changed."""
    if ledger.meta("register_inputs") == inputs:
        return
    ledger.sync_register(((m.id, m.address_key) for m in members), now)
    if ledger.meta("register_started") is None:
        ledger.set_meta("register_started", stamp(now))
    ledger.set_meta("register_inputs", inputs)


def is_new(ledger: Ledger, member: Member, window_days: int, today: dt.date) -> bool:
    """Joined within the window; without a joined date, first seen after the first import."""
    if member.joined_unreadable:
        return False
    if member.joined is not None:
        return 0 <= (today - member.joined).days <= window_days
    started = ledger.meta("register_started")
    first_seen = ledger.first_seen(member.id)
    if started is None or first_seen is None or first_seen <= started:
        return False
    seen = dt.datetime.fromisoformat(first_seen).date()
    return (today - seen).days <= window_days


def forget_gone(ledger: Ledger, state_dir: Path, retention_days: int, now: dt.datetime) -> int:
    """Erase members who left the export more than `retention_days` ago; returns how many."""
    cutoff = now - dt.timedelta(days=retention_days)
    gone = ledger.gone_before(cutoff)
    for member_id, address in gone:
        erase(ledger, state_dir, member_id, address)
    return len(gone)


def erase(ledger: Ledger, state_dir: Path, member_id: str | None, address: str | None) -> int:
    """Remove one person's data from the ledger and rendered files; counts stay."""
    removed = ledger.erase_member(member_id, address)
    if address:
        name = re.sub(r"[^A-Za-z0-9._@-]", "_", address)
        for folder in (state_dir / "outbox", state_dir / "previews"):
            if folder.is_dir():
                for path in folder.rglob(f"{name}.*"):
                    path.unlink()
    if member_id:
        Answers(ledger.db).forget_member(member_id)
        previews = state_dir / "previews"
        if previews.is_dir():
            for path in previews.glob(f"*/{re.sub(r'[^A-Za-z0-9._@-]', '_', member_id)}.*"):
                path.unlink()
    return removed
