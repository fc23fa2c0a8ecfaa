"""Who a consultation reminder goes to: those the consultation reached on an earlier day than
the reminder's, and whose answer is missing.

A consultation the board approves late, or a leader who came into the register that morning,
would otherwise get the question and its "Påminnelse" in one run, seconds apart.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from mailer.project.mailings import Mailing
from mailer.project.members import Member
from mailer.state import State


def unit_of(answer_per: str, member: Member) -> str:
    """Whose answer a member gives: their chapter's, or (per member, or without a chapter) their own."""
    return member.chapter if answer_per == "chapter" and member.chapter else member.id


def day_of(reminder: Mailing) -> dt.datetime:
    """The start of the reminder's day: the consultation must have reached a member before it."""
    when = reminder.send_at
    return dt.datetime.combine(when.date(), dt.time(0), when.tzinfo)


def reached(state: State, reminder: Mailing) -> set[str]:
    """Members the consultation reached before the reminder's day."""
    c = reminder.consultation
    assert c is not None
    cut = day_of(reminder)
    return {member_id for member_id, at in state.deliveries.sent_at(c.id).items() if at < cut}


def missing(state: State, mailing: Mailing) -> Callable[[Member], bool]:
    """True for members a reminder should reach, read once when the reminder is planned.

    Only those the consultation itself reached on an earlier day are reminded, so a reminder
    never carries a consultation the board has not approved and sent, nor follows it at once.
    """
    c = mailing.consultation
    assert c is not None
    got_it = reached(state, mailing)
    answered = state.consultations.answered_units(c.id)
    return lambda member: member.id in got_it and unit_of(c.answer_per, member) not in answered


def is_reminder(mailing: Mailing) -> bool:
    return mailing.consultation is not None and mailing.consultation.reminder is not None


def held_back(state: State, mailing: Mailing, now: dt.datetime, warn: Callable[[str], None]) -> bool:
    """A consultation reminder that is not planned at all: before the consultation went out
    (silently: the consultation's own line says it waits), or when it first went out on the
    reminder's day or later, so that nobody can be reminded (said once, instead of "0 sent")."""
    c = mailing.consultation
    assert c is not None
    first = state.deliveries.first_planned_at(c.id)
    if first is None:
        return True
    if first < day_of(mailing) or state.deliveries.count_open(mailing.id):
        return False
    key = f"held:{mailing.id}"
    if state.meta.get(key) is None:
        state.meta.set(key, now.isoformat())
        went = first.astimezone(mailing.send_at.tzinfo)
        after = (
            f"the next reminder goes {mailing.closes_at:%Y-%m-%d %H:%M}"
            if mailing.closes_at < c.deadline
            else "no reminder is left before the deadline"
        )
        warn(
            f"{mailing.id}: skipped: the consultation first went out {went:%Y-%m-%d %H:%M}, and this "
            f"reminder ({mailing.send_at:%Y-%m-%d %H:%M}) goes only to those who got it on an earlier "
            f"day; {after}"
        )
    return True
