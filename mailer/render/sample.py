"""The invented member whom previews and the board's test copies show.

A preview goes to the board, to browsers and to files; a real member's phone, join date,
municipality or roles have no business there. The sample fits the audience (its roles,
region and municipality are ones the audience selects), so the preview shows what members
of it get, and every value is made up.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

from mailer.project.audiences import Audience
from mailer.project.config import Config
from mailer.project.config_base import normalise_name
from mailer.project.members import Member

ID = "eksempel"
FIRST, LAST = "Ola", "Nordmann"
EMAIL = "ola.nordmann@example.invalid"
EXTRA_VALUE = "(eksempel)"


def _first(allowed: frozenset[str], names: Iterable[str]) -> str | None:
    for name in names:
        if not allowed or normalise_name(name) in allowed:
            return name
    return None


def sample_member(
    config: Config, audience: Audience, language: str, today: dt.date, extra_keys: Iterable[str] = ()
) -> Member:
    """A made-up member of `audience`; `extra_keys` are the member files' own columns."""
    rule = audience.include
    region = _first(rule.regions, config.regions) or ""
    municipalities = config.regions.get(region, [])
    if rule.municipalities:
        every = [m for ms in config.regions.values() for m in ms]
        municipality = _first(rule.municipalities, every) or ""
        region = config.municipality_regions.get(normalise_name(municipality), region)
    else:
        municipality = municipalities[0] if municipalities else ""
    chapter = next(iter(sorted(rule.chapters)), f"{municipality} lokallag" if municipality else "")
    roles = rule.roles or frozenset({normalise_name(r) for r in config.roles[:1]})
    joined = today - dt.timedelta(days=min(rule.joined_within_days or 30, 30))
    extra = {key: EXTRA_VALUE for key in extra_keys}
    return Member(ID, FIRST, LAST, EMAIL, municipality, region, chapter, roles, joined, language, extra)


def addressed_to(sample: Member, reader: Member) -> Member:
    """The sample's content, addressed to a real reader (a board member's test copy)."""
    return dataclasses.replace(
        sample, id=reader.id, first_name=reader.first_name, last_name=reader.last_name, email=reader.email
    )
