"""Who a mailing goes to: every member of the audience gets a `pending` row in the ledger.

`send`, `run-due` and the scheduler plan before they deliver (see `sending`). Every member of
the audience without a ledger row gets a `pending` row, in one transaction (the whole
audience or nobody). Rows of members who left the export or the audience, or who
unsubscribed, are dropped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mailer.project.mailings import Mailing
from mailer.project.members import Member
from mailer.state import State
from mailer.state.deliveries import Planned
from mailer.state.suppressions import SuppressionList

if TYPE_CHECKING:
    from mailer.render.messages import MessageFactory


@dataclass
class Recipients:
    """Who a mailing may go to right now: the export's members, filtered for this mailing."""

    members: Callable[[], Iterable[Member]]
    suppressed: Callable[[], SuppressionList]
    inputs: str
    extra_filter: Callable[[Mailing, Member], bool] | None = None


def inputs_key(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:24]


def plan_key(mailing: Mailing, recipients: Recipients, now: dt.datetime) -> str:
    """What planning depends on: the member files, the schedule, suppressions, the day."""
    return inputs_key(recipients.inputs, mailing.is_open(now), now.date(), mailing.event)


def is_suppressed(suppressed: SuppressionList, category: str, address: str) -> bool:
    return suppressed.blocks(category, address)


def plan(
    state: State,
    mailing: Mailing,
    factory: MessageFactory,
    recipients: Recipients,
    now: dt.datetime,
    previous: set[str] | None = None,
) -> tuple[int, int]:
    """Add pending rows for the audience and drop rows nobody should get any more.

    Returns (planned, dropped). Skipped when nothing it depends on changed since last time.
    """
    key = plan_key(mailing, recipients, now)
    if state.deliveries.inputs(mailing.id) == key:
        return 0, 0
    open_rows = dict(state.deliveries.open_members(mailing.id))
    suppressed = recipients.suppressed()
    in_export: set[str] = set()
    keep: set[str] = set()
    today = now.date()

    def candidates() -> Iterator[Planned]:
        for member in mailing.audience.select(_tracked(recipients.members(), in_export), today):
            if previous is not None and member.id not in previous:
                continue
            if recipients.extra_filter and not recipients.extra_filter(mailing, member):
                continue
            if is_suppressed(suppressed, mailing.category, member.address_key):
                continue
            keep.add(member.id)
            if mailing.is_open(now) or member.id in open_rows:
                factory.check(member)
                yield Planned(member.id, member.address_key, member.to_record())

    planned = state.deliveries.plan(
        mailing.id, mailing.kind, mailing.series, candidates(), now, key, mailing.expires_at
    )
    if planned is None:  # another sender planned the same a moment ago (and dropped what it had to)
        return 0, 0
    gone = [m for m in open_rows if m not in in_export]
    left_audience = [m for m in open_rows if m in in_export and m not in keep]
    dropped = state.deliveries.drop_open(mailing.id, gone, now, "no longer in the member list")
    dropped += state.deliveries.drop_open(
        mailing.id, left_audience, now, "no longer in the audience or unsubscribed"
    )
    return planned, dropped


def _tracked(members: Iterable[Member], seen: set[str]) -> Iterator[Member]:
    for m in members:
        seen.add(m.id)
        yield m
