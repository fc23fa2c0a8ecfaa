"""The kinds of mail a member can choose between, and the ones their office requires.

A category is what a suppression names: a newsletter, a meeting series, a consultation, an event
with places (its invitation's category is the event's name, under `events:`), the welcome's
follow-up (`velkommen-oppfolging`), the chapter leaders' notice of new members
(`velkommen-lokallag`), or any mailing kind added later under its own name. Invitations whose
audience is chosen by role, and the leaders' notice, are what an office requires: a complaint,
a pause or the preference page never stop them (only "everything" on the unsubscribe page does,
and the member who chose it can come back). An event is always optional: a pause holds its
invitation back, and coming back to one category after "everything" leaves it off. What goes to one
registrant about their own place is a notice, which no unsubscribe stops (`delivery.notices`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mailer.project.audiences import Audience, audience
from mailer.project.config import Config
from mailer.project.config_base import normalise_name
from mailer.project.mailing_config import InvitationConfig, WelcomeConfig
from mailer.project.members import Member

FOLLOW_UP = "-oppfolging"
CHAPTER_NOTICE = "-lokallag"
EVENT = "event"


@dataclass(frozen=True)
class Category:
    name: str
    mailing: str
    kind: str
    audience: str | None
    required_roles: frozenset[str] = frozenset()
    """Normalised roles that make this category required; empty for an optional one."""
    listed: bool = True
    """Shown on the preference page (the welcome itself is not: it comes once, on joining)."""

    @property
    def required(self) -> bool:
        return bool(self.required_roles)


@dataclass(frozen=True)
class _Known:
    """What one loaded schedules.yaml makes, worked out once (a web request asks at every click)."""

    config: Config
    categories: tuple[Category, ...]
    audiences: dict[str, Audience]
    roles: dict[str, str]
    """Normalised role → the role as schedules.yaml spells it."""


_KNOWN: dict[int, _Known] = {}


def _known(config: Config) -> _Known:
    hit = _KNOWN.get(id(config))
    if hit is not None and hit.config is config:
        return hit
    if len(_KNOWN) > 16:
        _KNOWN.clear()
    audiences = {name: audience(config, name) for name in config.audiences}
    roles = {normalise_name(r): r for r in config.roles}
    known = _KNOWN[id(config)] = _Known(config, tuple(_categories(config)), audiences, roles)
    return known


def categories(config: Config) -> list[Category]:
    """Every category schedules.yaml makes, in its order."""
    return list(_known(config).categories)


def _categories(config: Config) -> list[Category]:
    out: list[Category] = []
    for name, cfg in config.mailings.items():
        aud = getattr(cfg, "audience", None)
        kind = str(getattr(cfg, "kind", "other"))
        roles: frozenset[str] = frozenset()
        if isinstance(cfg, InvitationConfig) and aud in config.audiences:
            roles = frozenset(normalise_name(r) for r in config.audiences[aud].roles)
        if isinstance(cfg, WelcomeConfig):
            out.append(Category(name, name, "welcome", aud, listed=False))
            if cfg.follow_up is not None:
                out.append(Category(name + FOLLOW_UP, name, "follow-up", aud))
            if cfg.chapter_notice is not None:
                leader = frozenset({normalise_name(cfg.chapter_notice.leader_role)})
                out.append(Category(name + CHAPTER_NOTICE, name, "chapter-notice", None, leader))
            continue
        out.append(Category(name, name, kind, aud, roles))
    taken = {c.name for c in out}
    for name, event in config.events.items():
        if name not in taken:
            out.append(Category(name, name, EVENT, event.audience))
    return out


def required(config: Config) -> frozenset[str]:
    """Categories an office requires: no complaint or pause stops them."""
    return frozenset(c.name for c in categories(config) if c.required)


def optional(config: Config) -> frozenset[str]:
    """Categories a complaint unsubscribes from and a pause holds back."""
    return frozenset(c.name for c in categories(config) if not c.required)


def by_name(config: Config) -> dict[str, Category]:
    return {c.name: c for c in _known(config).categories}


@dataclass(frozen=True)
class MemberCategory:
    """A category as one member has it: whether their office requires it, and which office."""

    category: Category
    roles: tuple[str, ...]
    """The member's offices that require it, as schedules.yaml spells them (empty: optional)."""

    @property
    def name(self) -> str:
        return self.category.name

    @property
    def required(self) -> bool:
        return bool(self.roles)


def for_member(config: Config, member: Member, today: dt.date) -> list[MemberCategory]:
    """The categories this member can receive given their audiences today, listed on their page."""
    known = _known(config)
    out = []
    for c in known.categories:
        if not c.listed or not _receives(known, c, member, today):
            continue
        held = c.required_roles & member.roles
        roles = tuple(r for n, r in known.roles.items() if n in held)
        out.append(MemberCategory(c, roles))
    return out


def _receives(known: _Known, c: Category, member: Member, today: dt.date) -> bool:
    config = known.config
    if c.kind == "chapter-notice":
        return bool(member.chapter) and not c.required_roles.isdisjoint(member.roles)
    if c.audience is None or c.audience not in known.audiences:
        return False
    if not known.audiences[c.audience].includes(member, today):
        return False
    if c.kind == EVENT:
        return today <= config.events[c.mailing].end.date()  # an event that is over sends nothing more
    if c.kind == "follow-up":
        cfg = config.mailings[c.mailing]
        assert isinstance(cfg, WelcomeConfig) and cfg.follow_up is not None
        reach = cfg.follow_up.days_after + cfg.window_days
        return member.joined is not None and (today - member.joined).days <= reach
    return True
