"""RSVP answers as the planner reads them: one occurrence's answers, and a version for re-planning.

Answers are written by the web part (`/r/` links) into the `rsvps` table; a reminder or an
update reads them when it is planned, so a "no" stops what has not gone out yet.
"""

from __future__ import annotations

from mailer.state.connection import Connection


class RsvpAnswers:
    """Read-only view of the `rsvps` table."""

    def __init__(self, db: Connection):
        self.db = db

    def of_occurrence(self, occurrence: str) -> dict[str, str]:
        """Member id → 'yes' or 'no' for one occurrence (`series@YYYY-MM-DD`)."""
        rows = self.db.execute("SELECT member_id, answer FROM rsvps WHERE occurrence = ?", (occurrence,))
        return {member_id: answer for member_id, answer in rows}

    def version(self) -> str:
        """Changes whenever an answer is given or changed, so planning runs again."""
        count, last = self.db.execute("SELECT count(*), max(answered_at) FROM rsvps").fetchone()
        return f"{count}:{last}"
