"""What a link in a member's mail means: a verified token, who it names, and what may be recorded.

Tokens carry the member's id, never an address. A token is honoured for `TOKEN_DAYS` after
the message was made: long enough for a member who finds last year's newsletter to leave,
short enough that a leaked link does not work forever.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mailer.delivery.runner import Runner
from mailer.delivery.tokens import BadToken, Signer
from mailer.project import calendar
from mailer.project.folder import Project
from mailer.project.mailing_config import ConsultationConfig, InvitationConfig, NewsletterConfig
from mailer.project.members import Member

TOKEN_DAYS = 400
EVERYTHING = "*"


class BadLink(Exception):
    """Tampered, truncated, expired or meant for another page: answered 400, nothing recorded."""


@dataclass(frozen=True)
class Click:
    purpose: str
    member_id: str
    subject: str
    issued: dt.date


def verify(signer: Signer, token: str, purpose: str, today: dt.date) -> Click:
    try:
        got, member_id, subject, issued = signer.verify(token)
        day = dt.date.fromordinal(issued)
    except (BadToken, ValueError, OverflowError):
        raise BadLink("the token does not verify") from None
    if got != purpose:
        raise BadLink(f"a '{got}' token used for '{purpose}'")
    if day > today + dt.timedelta(days=1):
        raise BadLink("issued in the future")
    if (today - day).days > TOKEN_DAYS:
        raise BadLink(f"older than {TOKEN_DAYS} days")
    return Click(got, member_id, subject, day)


@dataclass(frozen=True)
class Who:
    """The member a token names: in the current export, or only known to the ledger any more."""

    member: Member | None
    address: str | None
    language: str


def who(runner: Runner, member_id: str) -> Who:
    member = runner.find_member(member_id)
    if member is not None:
        return Who(member, member.address_key, language(runner, member))
    org_language = runner.project.config.organisation.language
    return Who(None, runner.state.register.address_of(member_id), org_language)


def language(runner: Runner, member: Member) -> str:
    """The language of the member's pages: what they chose on their own page, else the export's."""
    choice = runner.state.preferences.of(member.address_key)
    return (choice.language if choice else None) or member.language


def category_label(project: Project, category: str, texts: dict[str, str]) -> str:
    if category == EVERYTHING:
        return texts["everything"]
    cfg = project.config.mailings.get(category)
    if isinstance(cfg, NewsletterConfig):
        first = next(k for k, m in project.config.mailings.items() if isinstance(m, NewsletterConfig))
        return texts["newsletter"] if category == first else texts["other_newsletter"].format(name=category)
    if isinstance(cfg, InvitationConfig):
        return texts["invitations"].format(title=cfg.meeting.title)
    if isinstance(cfg, ConsultationConfig):
        return texts["consultations"]
    event = project.config.events.get(category)
    if event is not None:
        return texts["invitations"].format(title=event.title)
    return category


def choices(category: str) -> list[str]:
    """What the member may stop: the link's own category, or everything.

    Not the other series they get: which invitations a member receives reveals their office.
    """
    return [category, EVERYTHING]


@dataclass(frozen=True)
class Meeting:
    title: str
    start: dt.datetime
    end: dt.datetime
    cancelled: bool


def meeting(project: Project, occurrence: str) -> Meeting | None:
    """The meeting an RSVP token names, as the schedule has it now; None if it is gone from it."""
    series, _, day = occurrence.partition("@")
    cfg = project.config.mailings.get(series)
    if not isinstance(cfg, InvitationConfig):
        return None
    try:
        occ = calendar.find(series, cfg.meeting, project.tz, dt.date.fromisoformat(day))  # type: ignore[arg-type]
    except ValueError:
        return None
    if occ is None:
        return None
    return Meeting(cfg.meeting.title, occ.start, occ.end, occ.cancelled)
