"""What time does to a mailing, said in words: late, too late, stale, and what to do about it.

A newsletter's lifetime protects members against a cron job that wakes up days late and
sends last week's news; it does not stop a board member who types `mailer send`. A meeting
that has started or a consultation past its deadline is different: nobody can use the mail
any more, so a send by hand is refused and says why.
"""

from __future__ import annotations

import datetime as dt

from mailer.project.mailings import Mailing


def ago(then: dt.datetime, now: dt.datetime) -> str:
    """'3 days ago', '5 hours ago', '12 minutes ago' (or 'in …' for a time ahead)."""
    seconds = (now - then).total_seconds()
    ahead, seconds = seconds < 0, abs(seconds)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = int(seconds // size)
            text = f"{n} {unit}{'s' if n != 1 else ''}"
            return f"in {text}" if ahead else f"{text} ago"
    return "just now"


def lifetime_hours(mailing: Mailing) -> int:
    return round((mailing.closes_at - mailing.send_at).total_seconds() / 3600)


def planned(mailing: Mailing, now: dt.datetime) -> str:
    return f"{mailing.id} was planned for {mailing.send_at:%Y-%m-%d %H:%M} ({ago(mailing.send_at, now)}"


def late_by_hand(mailing: Mailing, now: dt.datetime) -> str:
    """The line a send by hand prints for a newsletter past its lifetime."""
    return (
        f"{planned(mailing, now)}, past its {lifetime_hours(mailing)}-hour lifetime); "
        "sending now because you asked (run-due would not)"
    )


def stale(mailing: Mailing, now: dt.datetime) -> str:
    """What run-due says (once a day) about a draft it will never send because of its date."""
    if mailing.consultation is not None:
        return (
            f"{mailing.id}: its deadline, {mailing.consultation.deadline_iso}, passed before it was sent, "
            "so run-due will not send it; to ask again, set a later "
            f"mailings.{mailing.series}.deadline in schedules.yaml and a new send_at in "
            f"drafts/{mailing.id}.md, then preview and approve it"
        )
    return (
        f"{planned(mailing, now)}, past its {lifetime_hours(mailing)}-hour lifetime) and was never sent; "
        f"run-due will not send it: `mailer send {mailing.id}` sends it now, or give it a new send_at "
        f"in drafts/{mailing.id}.md (then preview and approve it again if the content changes)"
    )


def too_late(mailing: Mailing, now: dt.datetime, already: int) -> str | None:
    """Why a send by hand cannot reach anyone now, or None when it can."""
    if not mailing.too_late(now):
        return None
    before = f"; {already} got it before" if already else ""
    if mailing.event is not None:
        start = mailing.event.start
        return (
            f"{mailing.id}: the meeting started {start:%Y-%m-%d %H:%M} ({ago(start, now)}), so its "
            f"{_what(mailing)} can no longer be sent; nothing was sent{before}. For a new meeting, "
            f"add its date to mailings.{mailing.series}.meeting in schedules.yaml"
        )
    if mailing.consultation is not None:
        deadline = mailing.consultation.deadline
        return (
            f"{mailing.id}: its deadline, {mailing.consultation.deadline_iso}, passed "
            f"{ago(deadline, now)}, so nobody could answer; nothing was sent{before}. To ask again, set "
            f"a later mailings.{mailing.series}.deadline in schedules.yaml and a new send_at in the "
            "draft, then preview and approve it"
        )
    assert mailing.expires_at is not None
    return f"{mailing.id}: it closed at {mailing.expires_at:%Y-%m-%d %H:%M}; nothing was sent{before}"


def _what(mailing: Mailing) -> str:
    return {"reminder": "reminder", "update": "update", "cancel": "cancellation"}.get(
        mailing.change or "", "invitation"
    )


def after_approval(mailing: Mailing, now: dt.datetime) -> str | None:
    """What the last approval needed means for a send time already past (None when it lies ahead)."""
    if now < mailing.send_at:
        return None
    if mailing.past_lifetime(now):
        return (
            f"{planned(mailing, now)}, past its {lifetime_hours(mailing)}-hour lifetime): run-due will "
            f"not send it; `mailer send {mailing.id}` sends it now, or give it a new send_at "
            "(then preview and approve it again if the content changes)"
        )
    if mailing.consultation is not None and not mailing.consultation.is_open(now):
        return stale(mailing, now)
    return (
        f"{planned(mailing, now)}): the next run-due sends it (cron runs it every minute), "
        f"or `mailer send {mailing.id}` now"
    )
