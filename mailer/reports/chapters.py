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
from mailer.reports.ledgerdb import LedgerReader
from mailer.reports.model import NO_OPENS, Bars, Cell, Column, Report, table
from mailer.state.database import stamp

LEADER = normalise_name("lokallagsleder")


@dataclass(frozen=True)
class Group:
    """One chapter (or a whole region) and what the ledger knows about its members."""

    region: str
    chapter: str
    members: list[Member]
    year: int
    reader: LedgerReader
    now: dt.datetime | None = None


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
    stopped = {a for (a,) in g.reader.rows("SELECT address FROM suppressions WHERE category = '*'")}
    return sum(1 for m in g.members if m.address_key in stopped)


def paused(g: Group) -> Cell:
    """Members whose pause from everything optional is running now."""
    if g.now is None or not g.reader.has("member_preferences", "address", "paused_until"):
        return None
    sql = "SELECT address FROM member_preferences WHERE paused_until > ?"
    running = {a for (a,) in g.reader.rows(sql, (stamp(g.now),))}
    return sum(1 for m in g.members if m.address_key in running)


def turned_off(g: Group) -> Cell:
    """Members who stopped some categories (a newsletter, a series) but not all mail."""
    if not g.reader.has("member_preferences"):
        return None
    some = {a for (a,) in g.reader.rows("SELECT DISTINCT address FROM suppressions WHERE category != '*'")}
    return sum(1 for m in g.members if m.address_key in some)


def bouncing(g: Group) -> Cell:
    """Addresses that bounce, once the bounce records exist."""
    if not g.reader.has("bounce_events", "address", "kind", "cleared_at"):
        return None
    bad = {
        str(a).casefold()
        for (a,) in g.reader.rows(
            "SELECT address FROM bounce_events WHERE cleared_at IS NULL AND kind IN ('hard', 'soft')"
        )
    }
    return sum(1 for m in g.members if m.address_key in bad)


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


def chapters_report(
    people: Iterable[Member], regions_in_order: list[str], reader: LedgerReader, now: dt.datetime
) -> Report:
    """Every chapter, grouped by region in the order schedules.yaml lists them, and a chart."""
    order = {r: i for i, r in enumerate(regions_in_order)}
    everyone = sorted(
        people, key=lambda m: (order.get(m.region, len(order)), m.region, m.chapter or m.municipality)
    )
    chapter_groups = [
        Group(region, chapter, list(ms), now.year, reader, now)
        for (region, chapter), ms in groupby(everyone, key=lambda m: (m.region, m.chapter or m.municipality))
    ]
    by_region = groupby(everyone, key=lambda m: m.region)
    region_groups = [Group(region, "", list(ms), now.year, reader, now) for region, ms in by_region]
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
        {"regions": regions, "chapters": table("Chapters", "Lokallag", CHAPTER_COLUMNS, chapter_groups)},
        charts=[chart],
        notes=[NO_OPENS],
        empty=None if everyone else "no members in the member export",
    )
