"""What each registrant is told: one notice per change, to that person only.

A confirmation carries the calendar invitation (REQUEST) and, for an online event, the join
link; a cancellation of a place carries the calendar's CANCEL. Every mail links to the
person's own page (`/p/TOKEN`), where they see where they stand, accept an offer, confirm a
guest registration or cancel. No mail ever shows anyone's answers, nor anyone else.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from mailer.delivery.notices import Notice
from mailer.delivery.runner import Runner
from mailer.events.places import Change, ChangeKind
from mailer.project import event_mailings
from mailer.project.event_config import NOTICE_TEMPLATES, EventConfig
from mailer.project.members import Member
from mailer.state.registrations import Registration

SUBJECTS: dict[str, str] = {
    "confirmation": "Du har plass: {{ event.title }}",
    "waiting": "{% if language == 'nn' %}Ventelista{% else %}Ventelisten{% endif %}: {{ event.title }}",
    "offer": "{% if language == 'nn' %}Ein plass er ledig{% else %}En plass er ledig{% endif %}: "
    "{{ event.title }}",
    "cancelled": "{% if language == 'nn' %}Avmeld{% else %}Avmeldt{% endif %}: {{ event.title }}",
    "guest": "{% if language == 'nn' %}Stadfest påmeldinga{% else %}Bekreft påmeldingen{% endif %}: "
    "{{ event.title }}",
    "reminder": "{% if language == 'nn' %}Påminning{% else %}Påminnelse{% endif %}: {{ event.title }}",
}
PURPOSE: dict[ChangeKind, str] = {
    "placed": "confirmation",
    "promoted": "confirmation",
    "waiting": "waiting",
    "offered": "offer",
    "cancelled": "cancelled",
    "guest": "guest",
    "reminder": "reminder",
}


def manage_url(runner: Runner, name: str, person: str) -> str:
    """The person's own page for this event; the token names them, never their address."""
    base = runner.project.config.organisation.base_url or ""
    token = runner.signer().sign("p", person, name, runner.now.date().toordinal())
    return f"{base}/p/{token}"


def recipient(runner: Runner, reg: Registration) -> Member:
    """The member as the export has them now; a guest (or a member who left) as they registered."""
    if not reg.guest:
        member = runner.find_member(reg.person)
        if member is not None:
            return member
    first, _, last = reg.name.partition(" ")
    return Member(reg.person, first, last, reg.address, "", "", "", frozenset(), None, reg.language)


def notice(runner: Runner, name: str, cfg: EventConfig, change: Change) -> Notice:
    reg = change.registration
    purpose = PURPOSE[change.kind]
    tz = runner.project.tz
    joined = purpose in ("confirmation", "reminder")
    context: dict[str, Any] = {
        "event": event_mailings.context(runner.project, name, cfg, join=joined),
        "manage_url": manage_url(runner, name, reg.person),
        "promoted": change.kind == "promoted",
        "position": change.position,
        "offer_hours": cfg.waitlist_offer_hours,
        "offer_expires": change.offer_expires,
        "had_place": change.had_place,
        "by_organiser": change.by_organiser,
        "confirm_by": reg.confirm_by.astimezone(tz) if reg.confirm_by else None,
        "internal": reg.guest,  # a guest is no member: base.mjml links no preference page for them
    }
    calendar = None
    if purpose == "confirmation":
        calendar = event_mailings.calendar_event(runner.project, name, cfg, reg.id)
    elif purpose == "cancelled" and change.had_place:
        calendar = event_mailings.calendar_event(runner.project, name, cfg, reg.id, cancelled=True)
    expires: dt.datetime | None = cfg.starts(tz)
    if purpose == "offer":
        expires = change.offer_expires
    elif purpose == "guest":
        expires = reg.confirm_by
    return Notice(
        key=f"{name}/{purpose}-{reg.id}",
        category=name,
        to=recipient(runner, reg),
        template=NOTICE_TEMPLATES[purpose],
        subject=SUBJECTS[purpose],
        context=context,
        calendar=calendar,
        expires_at=expires,
    )


def samples(runner: Runner, name: str, cfg: EventConfig) -> list[Notice]:
    """One notice of every kind, in both languages, for an invented registrant (`mailer check`)."""
    now = runner.now
    out = []
    for language in ("nb", "nn"):
        reg = Registration(
            0, name, "eksempel", True, "Ola Nordmann", "ola.nordmann@example.org", language,
            "placed", {}, now, now, now, now + dt.timedelta(hours=24),
        )  # fmt: skip
        for kind in PURPOSE:
            change = Change(kind, reg, position=3, offer_expires=now + dt.timedelta(hours=48), had_place=True)
            out.append(notice(runner, name, cfg, change))
    return out
