"""Participants matched to members: by address, else by a full name only one member has.

A guest, a typo or a name two members share is never guessed: it is listed apart, so the
members' `attended` count holds only people we know came.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from mailer.answers.teams_report import Participant
from mailer.project.members import Member


@dataclass
class Matched:
    member_ids: set[str] = field(default_factory=set)
    unmatched: list[Participant] = field(default_factory=list)


def _name_key(name: str) -> str:
    """'Ødegård, Åse' and 'åse  ødegård' compare equal, also with å written as a and a ring (as
    some programs save it); Teams' '(Guest)' marks stay and never match."""
    if "," in name:
        last, _, first = name.partition(",")
        name = f"{first} {last}"
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def match(participants: Iterable[Participant], members: Iterable[Member]) -> Matched:
    by_address: dict[str, set[str]] = defaultdict(set)
    by_name: dict[str, set[str]] = defaultdict(set)
    for m in members:
        by_address[m.address_key].add(m.id)
        by_name[_name_key(m.name)].add(m.id)
    out = Matched()
    for p in participants:
        named = by_name.get(_name_key(p.name), set()) if p.name else set()
        candidates = by_address.get(p.email.casefold(), set()) if p.email else set()
        if len(candidates) > 1:  # a household's shared address: the name says who
            candidates &= named
        if not candidates:
            candidates = named
        if len(candidates) == 1:
            out.member_ids.add(next(iter(candidates)))
        else:
            out.unmatched.append(p)
    return out
