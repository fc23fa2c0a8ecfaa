"""Who a reminder goes to: those its first message reached on an earlier day than the reminder's.

A meeting's reminder follows the invitation to that occurrence; a consultation's reminders
follow the consultation. After a downtime (the cron machine off for days), a consultation the
board approved late, or a member who came into the register that morning, the first message and
its reminder are due in one run and would reach a member minutes apart. So a reminder reaches
only those the first message reached before the reminder's own day (in the organisation's time).

The cut is the reminder's day, not the run's: whoever the first message reached on that day or
later is not reminded by it in this run nor in any later one, and the run says how many once
("12 not reminded: invited today"). A reminder is not put off to a later run even when the
meeting is days away: the invitation just received is as fresh as the reminder would be, the
next calendar day starts at midnight (a cron run at 00:05 would remind then), and any other
time would be one the secretary never chose. A consultation's next reminder reminds them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from functools import partial

from mailer.delivery import consultation_reminders, rsvp_rules
from mailer.project.mailings import Mailing
from mailer.project.members import Member
from mailer.state import State


def first_message(mailing: Mailing) -> str | None:
    """The id of the mailing a reminder follows; None when `mailing` is no reminder."""
    if mailing.consultation is not None:
        return mailing.consultation.id if mailing.consultation.reminder is not None else None
    if mailing.change == "reminder" and mailing.event is not None:
        return mailing.id.removesuffix("/reminder")
    return None


def day_of(reminder: Mailing) -> dt.datetime:
    """The start of the reminder's day: the first message must have reached a member before it."""
    when = reminder.send_at
    return dt.datetime.combine(when.date(), dt.time(0), when.tzinfo)


def reached(state: State, reminder: Mailing) -> dict[str, dt.datetime]:
    """Member id → when the first message reached them (`reminder` is one: `first_message`)."""
    first = first_message(reminder)
    assert first is not None
    return state.deliveries.sent_at(first)


def reaching(state: State) -> Callable[[Mailing, Member], bool]:
    """A recipient filter: a reminder reaches those the first message reached before its day and,
    of a consultation, those whose answer is missing (a meeting's RSVP rule is `rsvp_rules`').
    Read once per reminder when it is planned; any other mailing keeps everyone."""
    kept: dict[str, Callable[[Member], bool]] = {}

    def keep(mailing: Mailing, member: Member) -> bool:
        if first_message(mailing) is None:
            return True
        if mailing.id not in kept:
            cut = day_of(mailing)
            got_it = {member_id for member_id, at in reached(state, mailing).items() if at < cut}
            asks = consultation_reminders.missing(state, mailing) if mailing.consultation else None
            kept[mailing.id] = lambda m: m.id in got_it and (asks is None or asks(m))
        return kept[mailing.id](member)

    return keep


def not_reminded(state: State, mailing: Mailing, members: Iterable[Member], now: dt.datetime) -> str:
    """'12 not reminded: invited today': of the reminder's audience, those it would ask (by their
    RSVP answer, or a consultation's missing answer) whom the first message reached on the
    reminder's day or later. Said once; again only when more are left out."""
    if first_message(mailing) is None:
        return ""
    cut, tz = day_of(mailing), mailing.send_at.tzinfo
    late = {member_id: at for member_id, at in reached(state, mailing).items() if at >= cut}
    if not late:
        return ""
    if mailing.consultation is not None:
        asks = consultation_reminders.missing(state, mailing)
    else:
        asks = partial(rsvp_rules.by_answer(state.rsvp_answers.of_occurrence), mailing)
    days = [
        late[m.id].astimezone(tz).date()
        for m in mailing.audience.select(members, now.date())
        if m.id in late and asks(m)
    ]
    key = f"not-reminded:{mailing.id}"
    if len(days) <= int(state.meta.get(key) or 0):
        return ""
    state.meta.set(key, str(len(days)))
    got = "got the consultation" if mailing.consultation is not None else "invited"
    when = (
        "today"
        if set(days) == {now.astimezone(tz).date()}
        else f"on {cut:%Y-%m-%d} (the reminder's day) or later"
    )
    return f"{len(days)} not reminded: {got} {when}"


def held_back(state: State, mailing: Mailing, now: dt.datetime, warn: Callable[[str], None]) -> bool:
    """A consultation reminder that is not planned at all: before the consultation went out
    (silently: the consultation's own line says it waits), or when it first went out on the
    reminder's day or later, so that nobody can be reminded (said once, instead of "0 sent").

    A meeting's reminder is planned all the same: the ledger then knows it reached nobody (so
    `mailer schedule` stops listing it), and `not_reminded` says why in numbers."""
    c = mailing.consultation
    if c is None or c.reminder is None:
        return False
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
