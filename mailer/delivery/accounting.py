"""Why a mailing reached fewer people than its audience: one count per reason.

A run that ends with "0 sent" must say why, or the secretary cannot tell a mailing that went
out yesterday from one that reached nobody. `send` and `run-due` print these counts (one line
each) whenever a run delivered fewer messages than the audience has members, and `--json`
carries the same numbers. `--dry-run` asks the same question before anything is written.
The reasons add up to the audience: the ledger's rows of people outside it (welcomed last
month, or gone from the export) are not counted in them; the dropped ones get a line apart.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mailer.delivery import announcements
from mailer.delivery.plan import is_suppressed
from mailer.delivery.report import Report
from mailer.project.mailings import Mailing
from mailer.state.deliveries import OPEN_STATES

if TYPE_CHECKING:
    from mailer.delivery.runner import Runner


@dataclass
class Accounting:
    """Who of a mailing's audience got what, after a run (`report` is the run's own counts)."""

    report: Report
    mailing: Mailing
    selected: int = 0
    """Members the audience selects, before a reminder's, update's or welcome's own rule."""
    audience: int = 0
    already_sent: int = 0
    still_to_send: int = 0
    failed: int = 0
    expired: int = 0
    expired_since: dt.datetime | None = None
    expired_why: str = ""
    suppressed: int = 0
    dropped: int = 0
    """Rows dropped of people outside the audience now (they left the export or the audience)."""
    planned_again: int = 0
    """Dropped rows this run made pending again: their members are back in the audience."""
    too_late: int = 0
    too_late_why: str = ""
    skipped_rows: int = 0

    @property
    def short(self) -> bool:
        """Fewer deliveries in this run than the audience has members (or nobody to send to)."""
        return self.report.sent < self.audience or not self.audience

    def explanation(self) -> list[str]:
        """One line per reason, each with its count (nothing when everyone got it in this run)."""
        again = [f"  {self.planned_again} planned again: back in the audience"] if self.planned_again else []
        if not self.short and not self.dropped and not self.expired:
            return again
        when = f" since {self.expired_since:%Y-%m-%d %H:%M}" if self.expired_since else ""
        rows = [
            (self.already_sent, "already sent earlier"),
            (self.still_to_send, "still to send (pending or deferred; a later run goes on)"),
            (self.failed, "refused by the server or bounced (`mailer status` shows the replies)"),
            (self.expired, f"expired{when} ({self.expired_why})"),
            (self.suppressed, "suppressed: unsubscribed or bouncing"),
            (self.dropped, "dropped: left the member export or the audience"),
            (self.too_late, f"not sent: {self.too_late_why}"),
            (
                self.skipped_rows,
                f"{'row' if self.skipped_rows == 1 else 'rows'} of the member export skipped: no usable "
                "address or another problem (`mailer check` names them)",
            ),
        ]
        if self.audience:
            head = f"  {self.audience} in the audience" + (
                ", none got it in this run" if not self.report.sent else ""
            )
        elif self.selected:
            head = f"  none of the {self.selected} in its audience is due it: {narrowed_by(self.mailing)}"
        else:
            head = "  0 in the audience: it selects nobody in the member export now"
        return again + [head] + [f"  {n} {what}" for n, what in rows if n]

    def as_json(self) -> dict[str, object]:
        """The run's counts, then the whole audience by reason (the same numbers as the lines)."""
        return {
            **self.report.as_json(),
            "audience": self.audience,
            "already_sent": self.already_sent,
            "still_to_send": self.still_to_send,
            "failed": self.failed,
            "expired": self.expired,
            "expired_since": self.expired_since.isoformat() if self.expired_since else None,
            "expired_why": self.expired_why if self.expired else None,
            "suppressed": self.suppressed,
            "dropped": self.dropped,
            "planned_again": self.planned_again,
            "too_late": self.too_late,
            "too_late_why": self.too_late_why or None,
            "skipped_rows": self.skipped_rows,
        }


def narrowed_by(mailing: Mailing) -> str:
    """The rule that picks a mailing's recipients out of its audience."""
    if mailing.consultation is not None and mailing.consultation.reminder is not None:
        return "a reminder goes to those who got the consultation on an earlier day and have not answered"
    if mailing.change in ("update", "cancel"):
        return "it goes only to those who got the invitation"
    if mailing.change == "reminder":
        return "a reminder goes only to those invited on an earlier day whose answer it asks for"
    if mailing.new_members_within is not None:
        return f"a welcome goes only to members who joined in the last {mailing.new_members_within} days"
    return "its rule leaves everyone out"


def expiry_reason(mailing: Mailing) -> str:
    if mailing.event is not None:
        return f"the meeting started {mailing.event.start:%Y-%m-%d %H:%M} before they could be sent"
    if mailing.consultation is not None:
        return f"the deadline {mailing.consultation.deadline_iso} passed before they could be sent"
    hours = round(mailing.retry_lifetime.total_seconds() / 3600)
    return f"not sent within the {hours}-hour lifetime"


def account(runner: Runner, mailing: Mailing, report: Report) -> Accounting:
    """Sort the audience and the ledger's rows of `mailing` into the reasons above."""
    state, now = runner.state, runner.now
    statuses = state.deliveries.member_statuses(mailing.id)
    out = Accounting(report, mailing, expired_why=expiry_reason(mailing))
    out.planned_again = state.deliveries.planned_again.get(mailing.id, 0)
    recipients = runner.recipients()
    suppressed = recipients.suppressed()
    previous = announcements.previous_recipients(state, mailing)
    sent = 0
    for member in mailing.audience.select(recipients.members(), now.date()):
        out.selected += 1
        if previous is not None and member.id not in previous:
            continue
        if recipients.extra_filter and not recipients.extra_filter(mailing, member):
            continue
        out.audience += 1
        status = statuses.pop(member.id, None)
        if status is None or status == "dropped":
            if is_suppressed(suppressed, mailing.category, member.address_key):
                out.suppressed += 1
            else:  # a dropped row of a member who is back is planned again while the mailing is open
                out.too_late += 1
        else:
            sent += _count(out, status)
    # Rows of people the audience no longer selects: not in its numbers; the dropped are named apart.
    out.dropped = sum(1 for status in statuses.values() if status == "dropped")
    out.already_sent = max(sent - report.sent, 0)
    if out.expired:
        out.expired_since = _expired_since(runner, mailing)
    if out.too_late:
        out.too_late_why = closed_reason(mailing, now)
    if out.short:
        out.skipped_rows = sum(1 for p in runner.member_store().problems(now.date()) if p.skipped)
    return out


def _count(out: Accounting, status: str) -> int:
    """Add one ledger row to its reason; returns 1 if it was sent."""
    if status == "sent":
        return 1
    if status in OPEN_STATES:
        out.still_to_send += 1
    elif status == "expired":
        out.expired += 1
    else:  # failed, bounced
        out.failed += 1
    return 0


def _expired_since(runner: Runner, mailing: Mailing) -> dt.datetime | None:
    if mailing.event is not None:
        return mailing.event.start
    if mailing.consultation is not None:
        return mailing.consultation.deadline
    first = runner.state.deliveries.first_expired_at(mailing.id)
    return first.astimezone(runner.project.tz) if first else None


def closed_reason(mailing: Mailing, now: dt.datetime) -> str:
    """Why members without a delivery were not added: the mailing no longer takes new ones."""
    if mailing.event is not None and mailing.event.cancelled and mailing.change != "cancel":
        return (
            f"the meeting of {mailing.event.occurrence:%Y-%m-%d} is cancelled under changes: in "
            "schedules.yaml, so no invitation goes out"
        )
    if mailing.event is not None and mailing.event.start <= now:
        return f"the meeting started {mailing.event.start:%Y-%m-%d %H:%M}"
    if mailing.consultation is not None and not mailing.consultation.is_open(now):
        return f"the deadline {mailing.consultation.deadline_iso} has passed"
    if mailing.is_open(now):  # a row dropped for a reason other than leaving (an unsubscribe then)
        return "dropped earlier, and not planned again"
    if now < mailing.send_at:
        return f"its send time {mailing.send_at:%Y-%m-%d %H:%M} has not come"
    return f"it closed for new recipients at {mailing.closes_at:%Y-%m-%d %H:%M}"


def would_send(runner: Runner, mailing: Mailing) -> tuple[int, int, int]:
    """(new recipients, already in the ledger, unsubscribed) without writing anything."""
    today = runner.now.date()
    recipients = runner.recipients()
    suppressed = recipients.suppressed()
    known = set(runner.state.deliveries.member_statuses(mailing.id))
    previous = announcements.previous_recipients(runner.state, mailing)
    new = already = unsubscribed = 0
    for member in mailing.audience.select(recipients.members(), today):
        if previous is not None and member.id not in previous:
            continue
        if recipients.extra_filter and not recipients.extra_filter(mailing, member):
            continue
        if member.id in known:
            already += 1
        elif is_suppressed(suppressed, mailing.category, member.address_key):
            unsubscribed += 1
        else:
            new += 1
    return new, already, unsubscribed
