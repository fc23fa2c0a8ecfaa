"""The public copy of a newsletter issue, for the web version and the archive (`/arkiv`).

Each member's values are filled with neutral words ("Hei medlem,"), the unsubscribe link
with the organisation's address instead of a personal token (the preference link with the
organisation's web address), and inline pictures point at their hosted copies: nothing in it
identifies a member. Whether anyone may read it is decided when it is sent
(`Mailing.published`: an audience of every member, or `archive: true`); a board-only issue is
stored unpublished and `/arkiv` never shows it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from mailer.errors import UserError
from mailer.project.config import Organisation
from mailer.project.drafts import ID
from mailer.project.mailings import Mailing
from mailer.render.messages import CompiledMailing
from mailer.state.archive import Archive, Issue

if TYPE_CHECKING:
    from mailer.project.folder import Project

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
        subject = variant.subject.fill(values)
        out.append(Issue(mailing.id, language, sent_at, subject, html, public=mailing.published))
    return out


def _escape(value: str) -> str:
    import html

    return html.escape(value)


def record(
    archive: Archive, compiled: CompiledMailing, org: Organisation, now: dt.datetime, state_dir: Path
) -> None:
    """Keep the issue's public copy, and its pictures where `mailer serve` finds them."""
    from mailer.project import pictures

    pictures.publish(state_dir / "pictures", compiled.pictures)
    for issue in public_issues(compiled, org, now):
        archive.record(issue)


def review(archive: Archive, project: Project, now: dt.datetime) -> list[str]:
    """Decide the issues archived before publishing was decided per issue; returns warnings.

    An issue stays published only if its draft still exists and is meant for everyone; one
    whose draft is gone is withdrawn. A draft that cannot be read now leaves its issue hidden
    (undecided) until it can.
    """
    warnings = []
    for mailing_id in archive.undecided():
        path = project.root / "drafts" / f"{mailing_id}.md"
        if not ID.fullmatch(mailing_id) or not path.is_file():
            archive.decide(mailing_id, False)
            continue
        try:
            mailing = project.mailing(mailing_id, now)
        except UserError as exc:
            warnings.append(f"archive: {mailing_id} stays hidden until its draft can be read: {exc}")
            continue
        archive.decide(mailing_id, mailing.published)
    return warnings


def published_url(project: Project, mailing_id: str) -> str:
    """Where an issue is published (the path alone when there is no base URL)."""
    return f"{project.config.organisation.base_url or ''}/arkiv/{mailing_id}"


def publishing_lines(
    project: Project, archive: Archive, mailings: list[Mailing], now: dt.datetime
) -> list[str]:
    """What `mailer check` says about the archive: drafts to be published, and those kept out."""
    lines = review(archive, project, now)
    sent = archive.sent_ids()
    for m in mailings:
        if m.kind != "newsletter" or m.id in sent:
            continue
        if m.published:
            where = (
                f"at {published_url(project, m.id)}"
                if project.config.organisation.base_url
                else "in the archive once organisation.base_url gives mailer serve's address"
            )
            lines.append(f"archive: {m.id} will be published {where}")
        elif m.archive is False:
            lines.append(f"archive: {m.id} is kept out of the archive (archive: false)")
        else:
            lines.append(
                f"archive: {m.id} is kept out of the archive (audience {m.audience.name} does not "
                "select every member; `archive: true` in its front matter publishes it)"
            )
    return lines
