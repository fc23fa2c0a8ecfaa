"""The links in each message (unsubscribe, RSVP, consultation, event registration, preferences),
signed so the web app can trust them.

Without a base URL there is no web app to answer them: unsubscribing is a mail to the
organisation, and there are no RSVP or consultation links.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

from mailer.delivery.tokens import Signer
from mailer.project.config import Organisation
from mailer.project.members import Member

if TYPE_CHECKING:
    from mailer.render.messages import Links


def build(org: Organisation, signer: Callable[[], Signer], now: dt.datetime) -> Links:
    """The links for messages built at `now`; `signer` is asked for only when there is a base URL."""
    from mailer.render.messages import Links

    mailto = org.unsubscribe_email or (org.reply_to.email if org.reply_to else org.sender.email)
    base = org.base_url
    if not base:
        return Links(
            unsubscribe=lambda m, c: f"mailto:{mailto}?subject=unsubscribe%20{c}",
            unsubscribe_mailto=mailto,
        )
    sign = signer().sign
    issued = now.date().toordinal()

    def unsubscribe(member: Member, category: str) -> str:
        return f"{base}/u/{sign('u', member.id, category, issued)}"

    def rsvp(member: Member, occurrence: str, answer: str) -> str:
        return f"{base}/r/{sign('r', member.id, occurrence, issued)}/{answer}"

    def consultation(member: Member, consultation_id: str) -> str:
        return f"{base}/h/{sign('h', member.id, consultation_id, issued)}"

    def registration(member: Member, event_id: str) -> str:
        return f"{base}/p/{sign('p', member.id, event_id, issued)}"

    def preferences(member: Member) -> str:
        return f"{base}/i/{sign('i', member.id, '', issued)}"

    return Links(
        unsubscribe,
        rsvp,
        mailto,
        base.startswith("https://"),
        consultation,
        registration=registration,
        preferences=preferences,
    )
