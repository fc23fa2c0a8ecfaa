"""Who a reminder or an update goes to, by what each member answered the invitation.

By default those who said yes and those who have not answered; never those who said no.
A cancellation carries no rule: it goes to everyone who was invited.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from mailer.project.mailings import Mailing
from mailer.project.members import Member


def wanted(to: frozenset[str], answer: str | None) -> bool:
    """Whether a member with this answer (None: no answer) is among those the rule names."""
    return (answer or "unanswered") in to


def by_answer(answers_of: Callable[[str], Mapping[str, str]]) -> Callable[[Mailing, Member], bool]:
    """A recipient filter reading each occurrence's answers once."""
    cache: dict[str, Mapping[str, str]] = {}

    def keep(mailing: Mailing, member: Member) -> bool:
        if mailing.answers is None:
            return True
        occurrence = mailing.id.split("/")[0]
        if occurrence not in cache:
            cache[occurrence] = answers_of(occurrence)
        return wanted(mailing.answers, cache[occurrence].get(member.id))

    return keep
