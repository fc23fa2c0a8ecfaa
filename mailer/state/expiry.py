"""Deliveries never wait for ever: an open one past its mailing's lifetime ends as `expired`.

The send loop expires what it reaches; this also catches deliveries it cannot reach, such as
those never tried because the SMTP server was down in every run since they were planned.
"""

from __future__ import annotations

import datetime as dt

from mailer.project.mailings import Mailing
from mailer.state import State


def expire(state: State, mailing: Mailing, now: dt.datetime) -> int:
    """End the open deliveries whose lifetime is over, with the reason; returns how many."""
    started = mailing.expires_at is not None and now >= mailing.expires_at
    return state.deliveries.expire_open(mailing.id, now, started, now - mailing.retry_lifetime)
