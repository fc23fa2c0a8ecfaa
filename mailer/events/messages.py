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
    "changed": "{% if language == 'nn' %}Endra{% else %}Endret{% endif %}: {{ event.title }}",
    "called-off": "Avlyst: {{ event.title }}",
}
PURPOSE: dict[ChangeKind, str] = {
    "placed": "confirmation",
    "promoted": "confirmation",
    "waiting": "waiting",
    "offered": "offer",
    "cancelled": "cancelled",
    "guest": "guest",
    "reminder": "reminder",
    "changed": "changed",
    "called_off": "called-off",
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
    joined = purpose in ("confirmation", "reminder") or (purpose == "changed" and change.had_place)
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
        "changes": differences(change.was, cfg, tz) if change.was is not None else [],
        "reason": change.reason,
    }
    # the SEQUENCE of the person's entry as last sent; a CANCEL (or a change) comes after it
    sequence = runner.state.event_changes.sequence(reg.id)
    calendar = None
    cancelled = purpose in ("cancelled", "called-off")
    if purpose == "confirmation" or (change.had_place and (cancelled or purpose == "changed")):
        calendar = event_mailings.calendar_event(
            runner.project, name, cfg, reg.id, cancelled, sequence + 1 if cancelled else sequence
        )
    expires: dt.datetime | None = cfg.starts(tz)
    if purpose == "offer":
        expires = change.offer_expires
    elif purpose == "guest":
        expires = reg.confirm_by
    key = f"{name}/{purpose}-{reg.id}"
    if purpose == "changed" or (purpose == "reminder" and sequence):
        key += f"-{sequence}"  # every change is a message of its own, and the reminder after it
    return Notice(
        key=key,
        category=name,
        to=recipient(runner, reg),
        template=NOTICE_TEMPLATES[purpose],
        subject=SUBJECTS[purpose],
        context=context,
        calendar=calendar,
        expires_at=expires,
    )


def differences(was: dict[str, str | None], cfg: EventConfig, tz: dt.tzinfo) -> list[dict[str, Any]]:
    """What changed, old and new, for the template: times as datetimes (shown as Norwegian
    text), the join link only as the new one, and only when the person had been given one."""
    out: list[dict[str, Any]] = []
    now_start, now_end = cfg.starts(tz), cfg.ends(tz)
    for what, new in (("start", now_start), ("end", now_end)):
        old = dt.datetime.fromisoformat(str(was[what])).astimezone(tz)
        if old != new:
            out.append({"what": what, "old": old, "new": new})
    if (was.get("location") or None) != cfg.location:
        out.append({"what": "location", "old": was.get("location") or "", "new": cfg.location or ""})
    if was.get("join_url") and was.get("join_url") != cfg.join_url:
        out.append({"what": "join_url", "old": "", "new": cfg.join_url or ""})
    return out


def samples(runner: Runner, name: str, cfg: EventConfig) -> list[Notice]:
    """One notice of every kind, in both languages, for an invented registrant (`mailer check`)."""
    now = runner.now
    out = []
    for language in ("nb", "nn"):
        reg = Registration(
            0, name, "eksempel", True, "Ola Nordmann", "ola.nordmann@example.org", language,
            "placed", {}, now, now, now, now + dt.timedelta(hours=24),
        )  # fmt: skip
        was = {"start": (now - dt.timedelta(days=1)).isoformat(), "end": now.isoformat()}
        was |= {"location": "Et annet sted", "join_url": "https://example.org/gammel"}
        for kind in PURPOSE:
            change = Change(
                kind, reg, position=3, offer_expires=now + dt.timedelta(hours=48), had_place=True,
                was=was, reason="Eksempel på en grunn",
            )  # fmt: skip
            out.append(notice(runner, name, cfg, change))
    return out
