"""Deliveries never wait for ever: an open one past its mailing's lifetime ends as `expired`.

The send loop expires what it reaches; this also catches deliveries it cannot reach, such as
those never tried because the SMTP server was down in every run since they were planned.
"""

from __future__ import annotations

import datetime as dt

from mailer.project.mailings import Mailing
from mailer.state import State
from mailer.state.database import stamp


def expire(state: State, mailing: Mailing, now: dt.datetime) -> int:
    """End the open deliveries whose lifetime is over, with the reason; returns how many."""
    ts = stamp(now)
    before = state.db.total_changes
    if mailing.expires_at is not None and now >= mailing.expires_at:
        state.db.execute(
            "UPDATE deliveries SET status = 'expired', updated_at = ?, next_attempt_at = NULL, "
            "last_reply = 'expired: the meeting started before it could be sent' || "
            "coalesce(' (last: ' || last_reply || ')', '') "
            "WHERE mailing_id = ? AND status IN ('pending', 'sending', 'deferred')",
            (ts, mailing.id),
        )
    cutoff = stamp(now - mailing.retry_lifetime)
    state.db.execute(
        "UPDATE deliveries SET status = 'expired', updated_at = ?, next_attempt_at = NULL, "
        "last_reply = 'expired: its lifetime ended before it could be sent' || "
        "coalesce(' (last: ' || last_reply || ')', '') "
        "WHERE mailing_id = ? AND status IN ('pending', 'sending', 'deferred') "
        "AND coalesce(first_attempt_at, created_at) < ?",
        (ts, mailing.id, cutoff),
    )
    return state.db.total_changes - before
