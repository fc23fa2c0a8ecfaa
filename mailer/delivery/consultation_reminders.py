"""Whom a consultation reminder asks: those whose answer is missing, their chapter's or their own.

That it reaches only those the consultation reached on an earlier day is `reminder_days`.
"""

from __future__ import annotations

from collections.abc import Callable

from mailer.project.mailings import Mailing
from mailer.project.members import Member
from mailer.state import State


def unit_of(answer_per: str, member: Member) -> str:
    """Whose answer a member gives: their chapter's, or (per member, or without a chapter) their own."""
    return member.chapter if answer_per == "chapter" and member.chapter else member.id


def missing(state: State, mailing: Mailing) -> Callable[[Member], bool]:
    """True for members whose answer the reminder `mailing` asks for, read once when it is planned."""
    c = mailing.consultation
    assert c is not None
    answered = state.consultations.answered_units(c.id)
    return lambda member: unit_of(c.answer_per, member) not in answered
