"""What invitees were told: a moved or cancelled meeting goes out again with a higher SEQUENCE.

The ledger's `events` table keeps each announced occurrence as it was sent. When the
schedule now says something else, the occurrence is revised (SEQUENCE + 1) and an update
or cancellation mailing, `series@date/update-N` or `series@date/cancel`, goes to those who
received it, until the meeting starts. A cancellation taken back is an update too (a REQUEST,
STATUS CONFIRMED), but it says the meeting is held after all, not that it changed: the
revision's snapshot keeps `reinstated` until the next change.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from typing import TYPE_CHECKING, Any

from mailer.errors import UserError
from mailer.project import calendar, subjects
from mailer.project.audiences import Audience, Rule
from mailer.project.config import InvitationConfig, Mailbox
from mailer.project.mailings import Event, Mailing
from mailer.state import State

if TYPE_CHECKING:
    from mailer.project.folder import Project

_REVISION_ID = re.compile(r"(?P<occ>[a-z0-9][a-z0-9_-]*@\d{4}-\d\d-\d\d)/(?:update-(?P<n>\d+)|cancel)")
_EVERYONE = Rule(frozenset(), frozenset(), frozenset(), frozenset(), None)


def digest(event: Event) -> str:
    return hashlib.sha256(json.dumps(event.digest_fields(), sort_keys=True).encode()).hexdigest()[:16]


def snapshot(mailing: Mailing) -> dict[str, Any]:
    event = mailing.event
    assert event is not None
    return {
        **event.digest_fields(),
        "uid": event.uid,
        "series": event.series,
        "occurrence": event.occurrence.isoformat(),
        "organiser": {"name": event.organiser.name, "email": event.organiser.email},
        "template": mailing.template,
        "subject": mailing.subject,
        "audience": mailing.audience.name,
    }


def _event_from_snapshot(snap: dict[str, Any], sequence: int, cancelled: bool) -> Event:
    return Event(
        uid=snap["uid"],
        series=snap["series"],
        occurrence=dt.date.fromisoformat(snap["occurrence"]),
        start=dt.datetime.fromisoformat(snap["start"]),
        end=dt.datetime.fromisoformat(snap["end"]),
        title=snap["title"],
        organiser=Mailbox(**snap["organiser"]),
        location=snap["location"],
        video_url=snap["video_url"],
        description=snap["description"],
        cancelled=cancelled,
        sequence=sequence,
    )


def with_sequence(state: State, mailing: Mailing) -> Mailing:
    """The mailing carrying the occurrence's current SEQUENCE from the ledger."""
    if mailing.event is None or mailing.change in ("update", "cancel"):
        return mailing
    row = state.events.get(mailing.event.uid)
    if not row or not row["sequence"]:
        return mailing
    return dataclasses.replace(
        mailing, event=dataclasses.replace(mailing.event, sequence=int(row["sequence"]))
    )


def record_announced(state: State, mailing: Mailing, now: dt.datetime) -> None:
    if mailing.event is not None and mailing.change in (None, "reminder"):
        state.events.announce(
            mailing.event.uid,
            mailing.series,
            mailing.event.occurrence.isoformat(),
            digest(mailing.event),
            snapshot(mailing),
            mailing.event.start,
            now,
        )


def previous_recipients(state: State, mailing: Mailing) -> set[str] | None:
    """Updates and cancellations go only to those who were told about the meeting."""
    if mailing.change not in ("update", "cancel"):
        return None
    return state.deliveries.recipients_of_occurrence(mailing.id.split("/")[0], mailing.id)


def _revision(project: Project, row: dict[str, Any], now: dt.datetime) -> Mailing:
    snap = row["snapshot"]
    sequence = int(row["sequence"])
    cancelled = bool(row["cancelled"])
    event = _event_from_snapshot(snap, sequence, cancelled)
    occ_id = f"{row['series']}@{row['occurrence']}"
    cfg = project.config.mailings.get(row["series"])
    template = cfg.template if isinstance(cfg, InvitationConfig) else snap["template"]
    subject = cfg.subject if isinstance(cfg, InvitationConfig) else snap["subject"]
    change = "cancel" if cancelled else "update"
    reinstated = not cancelled and bool(snap.get("reinstated"))
    if isinstance(cfg, InvitationConfig) and not cancelled:
        occ = calendar.find(row["series"], cfg.meeting, project.config.organisation.tz, event.occurrence)
        if occ is not None:
            event = dataclasses.replace(project.event(row["series"], cfg, occ), sequence=sequence)
    context = project.event_context(event, cfg if isinstance(cfg, InvitationConfig) else None, change)
    return Mailing(
        id=f"{occ_id}/cancel" if cancelled else f"{occ_id}/update-{sequence}",
        kind="invitation",
        series=row["series"],
        audience=Audience(f"{occ_id} invitees", _EVERYONE, None),
        template=template,
        subject=_held_after_all(subject) if reinstated else subjects.with_change(subject, change),
        send_at=now,
        closes_at=event.start,
        expires_at=event.start,
        retry_lifetime=max(event.start - now, dt.timedelta(0)),
        context={**context, "reinstated": reinstated},
        event=event,
        change=change,  # type: ignore[arg-type]
        answers=frozenset(cfg.update.to)
        if isinstance(cfg, InvitationConfig) and change == "update"
        else None,
    )


REINSTATED = "{% if language == 'nn' %}Blir likevel halde: {% else %}Blir likevel holdt: {% endif %}"
"""The subject's prefix when a call-off is taken back (a subject that reads `change` decides itself,
with `reinstated` in its context)."""


def _held_after_all(subject: str) -> str:
    subject = subjects.without_prefix(subject)
    return subject if subjects.handles_change(subject) else REINSTATED + subject


def revision_of(project: Project, mailing: Mailing, cancelled: bool, now: dt.datetime) -> Mailing:
    """The update (or cancellation) of an invitation's meeting as run-due would build it the
    first time (`mailer check` compiles it before any meeting has changed)."""
    assert mailing.event is not None
    row = {
        "snapshot": snapshot(mailing),
        "sequence": 1,
        "cancelled": cancelled,
        "series": mailing.series,
        "occurrence": mailing.event.occurrence.isoformat(),
    }
    return _revision(project, row, now)


def revisions_due(project: Project, state: State, now: dt.datetime) -> list[Mailing]:
    """Compare announced occurrences with the schedule; revise changed ones; list what to send."""
    out = []
    tz = project.config.organisation.tz
    for row in state.events.ahead(now - dt.timedelta(days=1)):
        cfg = project.config.mailings.get(row["series"])
        occ = None
        if isinstance(cfg, InvitationConfig):
            occ = calendar.find(row["series"], cfg.meeting, tz, dt.date.fromisoformat(row["occurrence"]))
        if occ is None or occ.cancelled:
            if not row["cancelled"]:
                snap = row["snapshot"]
                row["sequence"] = state.events.revise(
                    row["uid"], "cancelled", snap, dt.datetime.fromisoformat(snap["start"]), True
                )
                row["cancelled"] = True
        else:
            event = project.event(row["series"], cfg, occ)  # type: ignore[arg-type]
            if digest(event) != row["digest"]:
                mailing = project.invitation(row["series"], cfg, occ, reminder=False)  # type: ignore[arg-type]
                row["snapshot"] = snapshot(mailing) | ({"reinstated": True} if row["cancelled"] else {})
                row["sequence"] = state.events.revise(
                    row["uid"], digest(event), row["snapshot"], event.start, False
                )
                row["cancelled"] = False
        if int(row["sequence"]) > 0:
            mailing = _revision(project, row, now)
            if now < mailing.closes_at:
                out.append(mailing)
    return out


def revision_by_id(project: Project, state: State, mailing_id: str, now: dt.datetime) -> Mailing | None:
    m = _REVISION_ID.fullmatch(mailing_id)
    if not m:
        return None
    series, day = m["occ"].split("@")
    for row in state.events.ahead(dt.datetime.min.replace(tzinfo=dt.UTC)):
        if row["series"] == series and row["occurrence"] == day:
            mailing = _revision(project, row, now)
            if mailing.id != mailing_id:
                raise UserError(f"{mailing_id} is not the current revision; it is {mailing.id}")
            return mailing
    raise UserError(f"no announced meeting {m['occ']} in the ledger")
