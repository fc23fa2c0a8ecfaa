"""Taking a published issue off the archive by hand, and putting it back (`mailer archive`).

What is published is decided when an issue is sent (`archiving`); the board may still find a
published issue should not be public (a name that should not be there, a mistake). A
withdrawal is its own record beside that decision: a later run of the same issue decides
`public` again but keeps the withdrawal, and undoing a withdrawal never publishes an issue that
was kept out for its audience.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mailer.delivery import archiving
from mailer.delivery.approvals import key, tidy
from mailer.errors import UserError
from mailer.project.drafts import ID
from mailer.project.textclean import clip, escape_controls, has_controls
from mailer.state.archive import Archive, Entry

if TYPE_CHECKING:
    from mailer.project.folder import Project

Warn = Callable[[str], None]
NAME_LIMIT = 200
CACHED = 5
"""Minutes a reader's browser may keep a page of the archive (web/archive.py: max-age=300)."""
STATES = ("published", "kept out", "withdrawn", "undecided")
SHOWN_IDS = 8
"""How many ids an unknown id's error names; `mailer archive` lists them all."""


def check_id(mailing_id: str) -> str:
    """An issue id as a draft's name: nothing that reads as a path or a control character."""
    if not ID.fullmatch(mailing_id):
        shown = escape_controls(clip(mailing_id, 60))
        raise UserError(
            f"'{shown}' is not an issue id: an id is its draft's file name without .md (lower-case "
            "letters, digits, '.', '_' and '-', no '/'); run `mailer archive` to list the issues"
        )
    return mailing_id


def board_name(by: str | None, board: list[str]) -> str:
    """The name `--by` gives, on one line; a board user's own spelling when MAILER_BOARD_USERS is set."""
    if by is None or not by.strip():
        raise UserError("--by needs the name of the board member who decided it: --by 'Kari Nordmann'")
    if has_controls(by):
        raise UserError("--by must be a name on one line, without line breaks or control characters")
    if len(by) > NAME_LIMIT:
        raise UserError(f"--by is {len(by)} characters long; give a name of at most {NAME_LIMIT}")
    for user in board:
        if key(user) == key(by):
            return user
    if board:
        raise UserError(
            f"'{tidy(by)}' is not one of the board users in MAILER_BOARD_USERS "
            f"({', '.join(sorted(board))}); give your own board name"
        )
    return tidy(by)


def entries(archive: Archive, project: Project, now: dt.datetime, warn: Warn) -> list[Entry]:
    """Every archived issue, issues of an older release judged first (as `check` does)."""
    for line in archiving.review(archive, project, now):
        warn(line)
    return archive.entries()


def find(archive: Archive, mailing_id: str) -> Entry:
    """The archived issue `mailing_id`; an unknown one is an error naming those there are."""
    entry = archive.entry(check_id(mailing_id))
    if entry is not None:
        return entry
    ids = [e.mailing_id for e in archive.entries()]
    if not ids:
        raise UserError(f"{mailing_id} is not in the archive: no newsletter has been sent yet")
    more = f" and {len(ids) - SHOWN_IDS} more" if len(ids) > SHOWN_IDS else ""
    raise UserError(
        f"{mailing_id} is not in the archive (only newsletters that were sent are); the archive holds "
        f"{', '.join(ids[:SHOWN_IDS])}{more}; run `mailer archive` to list them"
    )


def withdraw(
    archive: Archive, project: Project, mailing_id: str, by: str, now: dt.datetime, warn: Warn
) -> str:
    """Take an issue off `/arkiv` and its pages, every language. Asking again changes nothing."""
    entry = _judged(archive, project, mailing_id, now, warn)
    if entry.public is False:
        return (
            f"{mailing_id} is not published: it was kept out of the archive when it was sent "
            f"({kept_out_reason(project, mailing_id, now)}); nothing to withdraw"
        )
    if entry.withdrawn_at is not None:
        return (
            f"{mailing_id} was already withdrawn on {_local(entry.withdrawn_at, project)} "
            f"by {entry.withdrawn_by}; nothing changed"
        )
    archive.withdraw(mailing_id, by, now)
    pages = ", ".join(_path(mailing_id, lang) for lang in entry.languages)
    hidden = "" if entry.public else " (it was hidden until its draft can be judged; it now stays off)"
    return (
        f"{mailing_id} withdrawn by {by}: /arkiv no longer lists it and {pages} answer 404 from now "
        f"on (a copy a browser or proxy cached may still show for up to {CACHED} minutes){hidden}; "
        f"`mailer archive publish {mailing_id} --by NAME` puts it back"
    )


def publish(
    archive: Archive, project: Project, mailing_id: str, by: str, now: dt.datetime, warn: Warn
) -> str:
    """Undo a withdrawal by hand; an issue kept out when it was sent stays out (UserError)."""
    entry = _judged(archive, project, mailing_id, now, warn)
    if entry.public is False:
        raise UserError(
            f"{mailing_id} cannot be published: it was kept out of the archive when it was sent "
            f"({kept_out_reason(project, mailing_id, now)}), and `mailer archive publish` only "
            "undoes a withdrawal by hand"
        )
    if entry.public is None:
        raise UserError(
            f"{mailing_id} cannot be published now: archived by an older release, it waits to be judged "
            f"from drafts/{mailing_id}.md, which cannot be read; fix the draft and run `mailer check`"
        )
    if entry.withdrawn_at is None:
        return (
            f"{mailing_id} is published already ({archiving.published_url(project, mailing_id)}); "
            "nothing changed"
        )
    archive.publish_again(mailing_id, by, now)
    return (
        f"{mailing_id} published again by {by} (withdrawn on {_local(entry.withdrawn_at, project)} by "
        f"{entry.withdrawn_by}): {archiving.published_url(project, mailing_id)}"
    )


def kept_out_reason(project: Project, mailing_id: str, now: dt.datetime) -> str:
    """Why an issue was kept out when it was sent, as far as its draft still tells."""
    general = "not meant for every member"
    try:
        mailing = project.mailing(mailing_id, now)
    except UserError:
        return general
    if mailing.published:
        return general
    if mailing.archive is False:
        return "its draft says `archive: false`"
    return f"audience {mailing.audience.name} does not select every member"


def state(entry: Entry) -> str:
    """published, kept out, withdrawn or undecided: what the web shows of it, in a word."""
    if entry.public is False:
        return "kept out"
    if entry.withdrawn_at is not None:
        return "withdrawn"
    return "undecided" if entry.public is None else "published"


def lines(found: list[Entry], project: Project, now: dt.datetime) -> list[str]:
    """The listing: one line per issue, newest first, then the counts."""
    if not found:
        return ["the archive is empty: no newsletter has been sent yet"]
    width = max(len(e.mailing_id) for e in found)
    out = []
    for e in found:
        languages = ", ".join(e.languages)
        sent = _local(e.sent_at, project)
        out.append(f"{e.mailing_id:<{width}}  sent {sent}  {languages:<6}  {_says(e, project, now)}")
    counts = {s: sum(state(e) == s for e in found) for s in STATES}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    out.append(f"{len(found)} {'issue' if len(found) == 1 else 'issues'} in the archive: {summary}")
    return out


def as_json(found: list[Entry], project: Project) -> list[dict[str, Any]]:
    def when(at: dt.datetime | None) -> str | None:
        return at.astimezone(project.tz).isoformat(timespec="seconds") if at else None

    return [
        {
            "id": e.mailing_id,
            "sent_at": when(e.sent_at),
            "languages": list(e.languages),
            "state": state(e),
            "url": archiving.published_url(project, e.mailing_id) if state(e) == "published" else None,
            "withdrawn_at": when(e.withdrawn_at),
            "withdrawn_by": e.withdrawn_by,
            "published_again_at": when(e.published_again_at),
            "published_again_by": e.published_again_by,
        }
        for e in found
    ]


def _says(e: Entry, project: Project, now: dt.datetime) -> str:
    kind = state(e)
    if kind == "kept out":
        return f"kept out when sent ({kept_out_reason(project, e.mailing_id, now)})"
    if kind == "withdrawn":
        return f"withdrawn by hand on {_local(e.withdrawn_at, project)} by {e.withdrawn_by}"
    if kind == "undecided":
        return "hidden: archived by an older release, waiting until its draft can be read"
    again = (
        f" (published again on {_local(e.published_again_at, project)} by {e.published_again_by})"
        if e.published_again_at
        else ""
    )
    return f"published: {archiving.published_url(project, e.mailing_id)}{again}"


def _judged(archive: Archive, project: Project, mailing_id: str, now: dt.datetime, warn: Warn) -> Entry:
    """The issue, after issues of an older release are judged; an unknown id changes nothing."""
    find(archive, mailing_id)
    for line in archiving.review(archive, project, now):
        warn(line)
    return find(archive, mailing_id)


def _local(when: dt.datetime | None, project: Project) -> str:
    return when.astimezone(project.tz).strftime("%Y-%m-%d %H:%M") if when else "?"


def _path(mailing_id: str, language: str) -> str:
    return f"/arkiv/{mailing_id}" if language == "nb" else f"/arkiv/{mailing_id}/{language}"
