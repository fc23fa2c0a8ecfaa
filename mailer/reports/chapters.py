"""Members per chapter and region: how many, how many new this year, who leads, which addresses fail,
and how many chose less mail on their page (a pause running, or some categories turned off).

Opens are not counted: members' mail carries no tracking pixels.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby

from mailer.project.config_base import normalise_name
from mailer.project.members import Member
from mailer.reports.model import NO_OPENS, Bars, Cell, Column, Note, Report, county_total, table
from mailer.state.figures import Figures

LEADER = normalise_name("lokallagsleder")
NO_MEMBERS = Note("no members in the member export", "Medlemslista har ingen medlemmer.")


@dataclass(frozen=True)
class Chose:
    """Addresses by what they asked for, read once for the whole report (lower case)."""

    stopped: set[str]
    """No mail at all."""
    some_off: set[str]
    """Some categories turned off (a newsletter, a series)."""
    paused: set[str]
    """A pause from everything optional running now."""
    bouncing: set[str]


@dataclass(frozen=True)
class Group:
    """One chapter (or a whole region) and what the ledger knows about its members."""

    region: str
    chapter: str
    members: list[Member]
    year: int
    chose: Chose


def members(g: Group) -> Cell:
    return len(g.members)


def new_this_year(g: Group) -> Cell:
    return sum(1 for m in g.members if m.joined and m.joined.year == g.year)


def nynorsk(g: Group) -> Cell:
    return sum(1 for m in g.members if m.language == "nn")


def leaders(g: Group) -> Cell:
    names = sorted(m.name for m in g.members if LEADER in m.roles)
    return ", ".join(names) if names else "missing"


def unsubscribed(g: Group) -> Cell:
    """Members who asked for no mail at all."""
    return sum(1 for m in g.members if m.address_key in g.chose.stopped)


def paused(g: Group) -> Cell:
    """Members whose pause from everything optional is running now."""
    return sum(1 for m in g.members if m.address_key in g.chose.paused)


def turned_off(g: Group) -> Cell:
    """Members who stopped some categories (a newsletter, a series) but not all mail."""
    return sum(1 for m in g.members if m.address_key in g.chose.some_off)


def bouncing(g: Group) -> Cell:
    """Addresses that bounce (hard or soft, not cleared): members sharing one count once."""
    return len({m.address_key for m in g.members if m.address_key in g.chose.bouncing})


CHAPTER_COLUMNS: list[Column[Group]] = [
    Column("region", "region", "Region", lambda g: g.region),
    Column("chapter", "chapter", "Lokallag", lambda g: g.chapter),
    Column("members", "members", "Medlemmer", members),
    Column("new_this_year", "new this year", "Nye i år", new_this_year),
    Column("nynorsk", "nynorsk", "Nynorsk", nynorsk),
    Column("leaders", "leaders", "Lokallagsleder", leaders),
    Column("unsubscribed", "no mail at all", "Avmeldt alt", unsubscribed),
    Column("turned_off", "turned some off", "Slått av noe", turned_off),
    Column("paused", "paused", "Pause", paused),
    Column("bouncing", "bouncing addresses", "Adresser som feiler", bouncing),
]
REGION_COLUMNS = [c for c in CHAPTER_COLUMNS if c.key not in ("chapter", "leaders")]


@dataclass(frozen=True)
class County:
    """Every member at once, and the chapters they fall into (for the leaders missing)."""

    name: str
    everyone: Group
    chapters: list[Group]


def leaders_missing(c: County) -> Cell:
    return sum(1 for g in c.chapters if not any(LEADER in m.roles for m in g.members))


COUNTY_COLUMNS: list[Column[County]] = [
    Column("county", "county", "Fylke", lambda c: c.name),
    Column("members", "members", "Medlemmer", lambda c: members(c.everyone)),
    Column("new_this_year", "new this year", "Nye i år", lambda c: new_this_year(c.everyone)),
    Column("nynorsk", "nynorsk", "Nynorsk", lambda c: nynorsk(c.everyone)),
    Column("leaders_missing", "leaders missing", "Lokallag uten leder", leaders_missing),
    Column("unsubscribed", "no mail at all", "Avmeldt alt", lambda c: unsubscribed(c.everyone)),
    Column("bouncing", "bouncing addresses", "Adresser som feiler", lambda c: bouncing(c.everyone)),
]


def chapters_report(
    people: Iterable[Member],
    regions_in_order: list[str],
    figures: Figures,
    now: dt.datetime,
    county: str,
) -> Report:
    """Every chapter, grouped by region in schedules.yaml's order, the county's totals, and a chart."""
    order = {r: i for i, r in enumerate(regions_in_order)}
    everyone = sorted(
        people, key=lambda m: (order.get(m.region, len(order)), m.region, m.chapter or m.municipality)
    )
    chose = Chose(
        figures.stopped_everything(), figures.stopped_some(), figures.paused(now), figures.bouncing()
    )
    chapter_groups = [
        Group(region, chapter, list(ms), now.year, chose)
        for (region, chapter), ms in groupby(everyone, key=lambda m: (m.region, m.chapter or m.municipality))
    ]
    by_region = groupby(everyone, key=lambda m: m.region)
    region_groups = [Group(region, "", list(ms), now.year, chose) for region, ms in by_region]
    regions = table("Regions", "Regioner", REGION_COLUMNS, region_groups)
    chart = Bars(
        "Medlemmer per region",
        [str(r["region"]) for r in regions.rows],
        [int(r["members"] or 0) for r in regions.rows],
    )
    return Report(
        "chapters",
        "Chapters and regions",
        "Lokallag og regioner",
        now,
        {
            "regions": regions,
            "chapters": table("Chapters", "Lokallag", CHAPTER_COLUMNS, chapter_groups),
            "county": county_total(
                COUNTY_COLUMNS,
                County(county, Group("", "", everyone, now.year, chose), chapter_groups),
            ),
        },
        charts=[chart],
        notes=[NO_OPENS],
        empty=None if everyone else NO_MEMBERS,
    )
