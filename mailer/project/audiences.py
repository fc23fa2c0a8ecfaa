"""Audiences: which members a mailing goes to, by role, region, municipality, chapter and seniority."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from mailer.errors import UserError
from mailer.project.config import AudienceConfig, Config, Selection
from mailer.project.config_base import normalise_name
from mailer.project.members import Member


@dataclass(frozen=True)
class Rule:
    """A `Selection` with its names normalised once, so matching a member is set lookups."""

    roles: frozenset[str]
    regions: frozenset[str]
    municipalities: frozenset[str]
    chapters: frozenset[str]
    joined_within_days: int | None

    @classmethod
    def of(cls, sel: Selection) -> Rule:
        def norm(values: list[str]) -> frozenset[str]:
            return frozenset(normalise_name(v) for v in values)

        return cls(
            norm(sel.roles),
            norm(sel.regions),
            norm(sel.municipalities),
            norm(sel.chapters),
            sel.joined_within_days,
        )

    def matches(self, member: Member, today: dt.date) -> bool:
        if self.roles and self.roles.isdisjoint(member.roles):
            return False
        if self.regions and normalise_name(member.region) not in self.regions:
            return False
        if self.municipalities and normalise_name(member.municipality) not in self.municipalities:
            return False
        if self.chapters and normalise_name(member.chapter) not in self.chapters:
            return False
        if self.joined_within_days is not None:
            if member.joined is None:
                return False
            if (today - member.joined).days > self.joined_within_days:
                return False
        return True


@dataclass(frozen=True)
class Audience:
    """A named selection from schedules.yaml; everyone when it names no criteria."""

    name: str
    include: Rule
    exclude: Rule | None
    description: str = ""

    @classmethod
    def of(cls, name: str, cfg: AudienceConfig) -> Audience:
        return cls(name, Rule.of(cfg), Rule.of(cfg.exclude) if cfg.exclude else None, cfg.description)

    @property
    def everyone(self) -> bool:
        """Selects every member: no criterion and no exclusion (what may be published)."""
        rule = self.include
        criteria = (rule.roles, rule.regions, rule.municipalities, rule.chapters)
        return not any(criteria) and rule.joined_within_days is None and self.exclude is None

    def includes(self, member: Member, today: dt.date) -> bool:
        if not self.include.matches(member, today):
            return False
        return not (self.exclude and self.exclude.matches(member, today))

    def select(self, members: Iterable[Member], today: dt.date) -> Iterator[Member]:
        """Members of this audience, one per mailbox (the first row wins for a shared address)."""
        seen: set[str] = set()
        for member in members:
            if self.includes(member, today) and member.address_key not in seen:
                seen.add(member.address_key)
                yield member


def audience(config: Config, name: str) -> Audience:
    try:
        return Audience.of(name, config.audiences[name])
    except KeyError:
        known = ", ".join(sorted(config.audiences)) or "(none)"
        raise UserError(f"unknown audience '{name}'; schedules.yaml declares: {known}") from None
