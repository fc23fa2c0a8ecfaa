"""An event's mailings and calendar, from schedules.yaml alone: the invitation to its audience,
what every mail about it says (`event` in a template), and one registrant's calendar entry.

The invitation is an ordinary mailing (`medlemstreff-var-2027/invitation`): planned, sent once
per member and previewed like a meeting's. What goes to one registrant (confirmation, waiting
list, offer, cancellation, reminder) is a notice, built by `mailer.events`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Protocol

from mailer.errors import UserError
from mailer.project.audiences import Audience
from mailer.project.config import Config
from mailer.project.config_base import Mailbox
from mailer.project.event_config import EventConfig
from mailer.project.mailings import Event, Mailing
from mailer.project.pictures import PictureRef
from mailer.project.settings import Settings


class Project(Protocol):
    """What an event's mailings need of the project folder (`folder.Project` has it all).

    Named here rather than imported, so the folder, which builds every mailing, can call this
    module without the two importing each other.
    """

    @property
    def config(self) -> Config: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def tz(self) -> dt.tzinfo: ...

    @property
    def logo(self) -> PictureRef | None: ...

    def audience(self, name: str) -> Audience: ...


INVITATION = "invitation"
MAILING_ID = re.compile(r"(?P<event>[a-z0-9][a-z0-9_-]*)/invitation")


def event_config(project: Project, name: str) -> EventConfig:
    cfg = project.config.events.get(name)
    if cfg is None:
        known = ", ".join(sorted(project.config.events)) or "(none)"
        raise UserError(f"no event '{name}' in schedules.yaml; events: {known}")
    return cfg


def organiser(project: Project, cfg: EventConfig) -> Mailbox:
    org = project.config.organisation
    return cfg.organiser or Mailbox(
        name=org.sender.name, email=project.settings.organiser_email or org.sender.email
    )


def context(project: Project, name: str, cfg: EventConfig, join: bool = False) -> dict[str, Any]:
    """`event` as templates see it; the join link only in what goes to those registered."""
    tz = project.tz
    closes = cfg.closes(tz)
    if closes.time() == dt.time(0):
        closes -= dt.timedelta(minutes=1)  # "by the end of 3 November", not "4 November at 00.00"
    return {
        "id": name,
        "title": cfg.title,
        "description": cfg.description.strip(),
        "start": cfg.starts(tz),
        "end": cfg.ends(tz),
        "closes": closes,
        "location": cfg.location,
        "online": cfg.online,
        "join_url": cfg.join_url if join else None,
        "capacity": cfg.capacity,
        "waitlist": cfg.waitlist,
        "open_to": cfg.open_to,
    }


def invitation(project: Project, name: str, cfg: EventConfig) -> Mailing | None:
    """The invitation to the event's audience, with each member's own registration link."""
    rule = cfg.invite_rule()
    if rule is None or cfg.audience is None:
        return None
    tz = project.tz
    send_at = cfg.send_time(rule, tz)
    closes = cfg.closes(tz)
    org = project.config.organisation
    return Mailing(
        id=f"{name}/{INVITATION}",
        kind="event",
        series=name,
        audience=project.audience(cfg.audience),
        template=cfg.template,
        subject=cfg.subject,
        send_at=send_at,
        closes_at=closes,
        expires_at=closes,
        retry_lifetime=max(closes - send_at, dt.timedelta(hours=1)),
        context={
            "organisation": org,
            "links": org.links,
            "rsvp": False,
            "event": context(project, name, cfg),
        },
        logo=project.logo,
        pictures_inline=not org.base_url,
    )


def by_id(project: Project, mailing_id: str) -> Mailing | None:
    """`EVENT/invitation`, or None when the id is not an event's."""
    m = MAILING_ID.fullmatch(mailing_id)
    if not m:
        return None
    cfg = event_config(project, m["event"])
    found = invitation(project, m["event"], cfg)
    if found is None:
        raise UserError(f"event '{m['event']}' sends no invitation (it has no audience)")
    return found


def upcoming(project: Project, now: dt.datetime, until: dt.datetime) -> list[Mailing]:
    """Invitations whose send time has come by `until` and whose registration is still open."""
    out = []
    for name, cfg in project.config.events.items():
        mailing = invitation(project, name, cfg)
        if mailing is not None and mailing.send_at <= until and mailing.closes_at > now:
            out.append(mailing)
    return out


def calendar_event(
    project: Project,
    name: str,
    cfg: EventConfig,
    registration_id: int,
    cancelled: bool = False,
    sequence: int | None = None,
) -> Event:
    """One registrant's calendar entry: a UID of their own, so a later registration is a new entry.

    The join link is in the entry while it stands, never in its cancellation. `sequence` rises
    with each change announced to them (RFC 5546); by default 0, and 1 for a cancellation.
    """
    domain = project.config.organisation.sender.email.rsplit("@", 1)[1]
    tz = project.tz
    return Event(
        uid=f"{name}-{registration_id}@{domain}",
        series=name,
        occurrence=cfg.start.date(),
        start=cfg.starts(tz),
        end=cfg.ends(tz),
        title=cfg.title,
        organiser=organiser(project, cfg),
        location=cfg.location,
        video_url=None if cancelled else cfg.join_url,
        description=cfg.description.strip(),
        cancelled=cancelled,
        sequence=(1 if cancelled else 0) if sequence is None else sequence,
    )
