"""The public copy of a newsletter issue, for the web version and the archive (`/arkiv`).

Each member's values are filled with neutral words ("Hei medlem,"), the unsubscribe link
with the organisation's address instead of a personal token (the preference link with the
organisation's web address), and inline pictures point at
their hosted copies: nothing in it identifies a member, so anyone may read it.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Mapping
from pathlib import Path

from mailer.project.config import Organisation
from mailer.render.messages import CompiledMailing
from mailer.state.archive import Issue

NEUTRAL = {
    "nb": {"member.first_name": "medlem", "member.name": "medlem"},
    "nn": {"member.first_name": "medlem", "member.name": "medlem"},
}


def public_issues(compiled: CompiledMailing, org: Organisation, sent_at: dt.datetime) -> list[Issue]:
    """One personal-data-free copy per language of a sent newsletter."""
    mailing = compiled.mailing
    contact = org.unsubscribe_email or (org.reply_to.email if org.reply_to else org.sender.email)
    unsubscribe = f"mailto:{contact}?subject=unsubscribe%20{mailing.category}"
    out = []
    for language, variant in sorted(compiled.variants.items()):
        words: Mapping[str, str] = NEUTRAL.get(language, NEUTRAL["nb"])
        public = {"unsubscribe_url": unsubscribe, "preferences_url": org.base_url or ""}
        values = [public.get(key, words.get(key, "")) for key in variant.slot_keys]
        html = variant.html.fill([_escape(v) for v in values])
        for picture in compiled.pictures:
            html = html.replace(f"cid:{picture.cid}", f"/bilder/{picture.name}")
        out.append(Issue(mailing.id, language, sent_at, variant.subject.fill(values), html))
    return out


def _escape(value: str) -> str:
    import html

    return html.escape(value)


def record(
    db: sqlite3.Connection, compiled: CompiledMailing, org: Organisation, now: dt.datetime, state_dir: Path
) -> None:
    """Keep the issue's public copy, and its pictures where `mailer serve` finds them."""
    from mailer.project import pictures
    from mailer.state.archive import Archive

    pictures.publish(state_dir / "pictures", compiled.pictures)
    archive = Archive(db)
    for issue in public_issues(compiled, org, now):
        archive.record(issue)
