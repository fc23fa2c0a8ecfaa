"""The send's two marks a message, `sending` and `sent`, written a group at a time in one statement."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from contextlib import nullcontext

from mailer.state.connection import Connection
from mailer.state.database import stamper, transaction

MARKS = 500
"""Marks per statement of `record_attempts` (six parameters each, far below either engine's limit)."""
MARK = "(?, ?, ?, ?, ?, ?)"
RECORD_ATTEMPTS = (  # v: (id, status, at, 1 for an attempt, reply, message id)
    "UPDATE deliveries SET status = v.column2, updated_at = v.column3, attempts = attempts + v.column4, "
    "first_attempt_at = CASE WHEN v.column4 = 1 THEN coalesce(first_attempt_at, v.column3) "
    "ELSE first_attempt_at END, last_reply = CASE WHEN v.column4 = 1 THEN last_reply ELSE v.column5 END, "
    "message_id = CASE WHEN v.column4 = 1 THEN message_id ELSE v.column6 END, "
    "next_attempt_at = CASE WHEN v.column4 = 1 THEN next_attempt_at END FROM (VALUES "
)


def record_attempts(
    db: Connection,
    sending: Sequence[tuple[int, dt.datetime]],
    sent: Sequence[tuple[int, dt.datetime, str, str]],
) -> None:
    """Deliveries marked `sending` (just before their attempt) and `sent` (just after), one commit.

    A send groups the marks that fall due at the same moment (see `journal.Journal`); one
    UPDATE … FROM (VALUES …) writes a group (a single statement commits by itself), which
    costs the server and this process far less than a statement per mark.
    """
    statements = attempt_statements(sending, sent)
    with transaction(db) if len(statements) > 1 else nullcontext():
        for sql, params in statements:
            db.execute(sql, params)


def attempt_statements(
    sending: Sequence[tuple[int, dt.datetime]],
    sent: Sequence[tuple[int, dt.datetime, str, str]],
) -> list[tuple[str, list[object]]]:
    """The statements of `record_attempts`, for a connection that runs them itself (one
    transaction where there is more than one)."""
    at = stamper()
    rows = [(d, "sending", at(w), 1, None, None) for d, w in sending]
    rows += [(d, "sent", at(w), 0, reply, mid) for d, w, reply, mid in sent]
    return [
        (
            RECORD_ATTEMPTS + ", ".join([MARK] * len(chunk)) + ") AS v WHERE id = v.column1",
            [x for row in chunk for x in row],
        )
        for chunk in (rows[i : i + MARKS] for i in range(0, len(rows), MARKS))
    ]
