"""Where each piece of a mailing's text was written, so that a problem names that file and key.

A mailing's subject is written in schedules.yaml, its body in a draft, its layout in a
template; a message that blames the template for a typo in schedules.yaml sends the reader
to the wrong file.
"""

from __future__ import annotations

from pathlib import Path

from mailer.errors import UserError
from mailer.project.mailings import Mailing
from mailer.project.yamlfile import line_of, load_yaml

_OWN_PARTS = (("-oppfolging", "follow_up"), ("-lokallag", "chapter_notice"))
"""A welcome's follow-up and chapter notice: their series is the welcome's name and this suffix."""


def draft_file(mailing: Mailing, language: str) -> str | None:
    """The draft a newsletter's or consultation's text comes from (drafts/ID.nn.md for nynorsk)."""
    draft_id = mailing.context.get("draft_id")
    if not isinstance(draft_id, str) or mailing.markdown_body is None:
        return None
    own = language != "nb" and language in mailing.language_versions
    return f"drafts/{draft_id}.{language}.md" if own else f"drafts/{draft_id}.md"


def subject_origin(root: Path, mailing: Mailing) -> str | None:
    """`schedules.yaml:LINE: mailings.NAME.subject`, where the mailing's subject is written (None:
    not in schedules.yaml). Asked only when the subject fails, so the file is read only then."""
    section = "events" if mailing.kind == "event" else "mailings"
    try:
        data, nodes = load_yaml(root / "schedules.yaml")
    except UserError:
        return None
    declared = data.get(section) if isinstance(data, dict) else None
    if mailing.kind == "notice" or not isinstance(declared, dict):
        return None
    key: tuple[str, ...] = (section, mailing.series, "subject")
    if mailing.series not in declared:
        owners = [(mailing.series.removesuffix(s), part) for s, part in _OWN_PARTS]
        found = [(owner, part) for owner, part in owners if owner != mailing.series and owner in declared]
        if not found:
            return None
        key = (section, found[0][0], found[0][1], "subject")
    line = line_of(nodes(), key)
    return f"schedules.yaml{f':{line}' if line else ''}: {'.'.join(key)}"
