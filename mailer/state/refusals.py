"""A 5xx reply at send time is a hard bounce too: the address is suppressed like one.

Read from the ledger after a run, so a streak of refusals that stopped the mailing (its
deliveries went back to pending) is not mistaken for dead addresses.
"""

from __future__ import annotations

import datetime as dt
import re

from mailer.state import State
from mailer.state.bounces import Event

SMTP_PERMANENT = re.compile(r"^5\d\d\b")
STATUS = re.compile(r"\b5\.\d{1,3}\.\d{1,3}\b")


def record_refusals(state: State, mailing_id: str, now: dt.datetime) -> int:
    """Record each permanent refusal of this mailing once; returns how many were new."""
    store = state.bounces
    new = 0
    for delivery_id, member_id, address, reply in state.deliveries.refused(mailing_id):
        reply = reply or ""
        if not SMTP_PERMANENT.match(reply):
            continue
        status = STATUS.search(reply)
        event = Event(
            address,
            "hard",
            status.group(0) if status else reply[:3],
            f"refused at send time: {reply}",
            "smtp",
            member_id,
            mailing_id,
            delivery_id,
        )
        if store.add(event, now):
            new += 1
            state.suppressions.add(address, "*", now, "bounce")
    return new
