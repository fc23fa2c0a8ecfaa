"""Who a consultation reminder goes to: those who got the consultation and whose answer is missing."""

from __future__ import annotations

from collections.abc import Callable

from mailer.project.mailings import Mailing
from mailer.project.members import Member
from mailer.state import State


def unit_of(answer_per: str, member: Member) -> str:
    """Whose answer a member gives: their chapter's, or (per member, or without a chapter) their own."""
    return member.chapter if answer_per == "chapter" and member.chapter else member.id


def missing(state: State, mailing: Mailing) -> Callable[[Member], bool]:
    """True for members a reminder should reach, read once when the reminder is planned.

    Only those the consultation itself reached are reminded, so a reminder never carries a
    consultation the board has not approved and sent.
    """
    c = mailing.consultation
    assert c is not None
    reached = state.deliveries.sent_member_ids(c.id)
    answered = state.consultations.answered_units(c.id)
    return lambda member: member.id in reached and unit_of(c.answer_per, member) not in answered
