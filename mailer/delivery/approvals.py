"""Who approved what, by name: one person counts once, whatever the case or spacing.

`mailer approve --by "kari  nordmann"` and Kari Nordmann's login on the board's page are
the same person. When MAILER_BOARD_USERS names the board, an approval must name one of
them and is stored under that spelling; otherwise (a fresh example project) any name is
taken, tidied, and stored under the spelling first used for this mailing.

A newsletter goes out only with enough approvals of exactly this content (`check_approval`):
a change to the draft, template or subject after the vote asks the board again.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING

from mailer.errors import UserError

if TYPE_CHECKING:
    from mailer.project.mailings import Mailing
    from mailer.render.messages import CompiledMailing
    from mailer.state import State


def tidy(name: str) -> str:
    """Spaces collapsed and trimmed; the spelling kept."""
    return " ".join(name.split())


def key(name: str) -> str:
    """What two spellings of one person share: white space, letter case and Unicode form
    (`å` typed as one character or as `a` and a ring) aside."""
    return unicodedata.normalize("NFC", tidy(name)).casefold()


def canonical(name: str, board: Iterable[str], earlier: Iterable[str]) -> str:
    """The name to store: a board user's own spelling, an earlier approver's, or `name` tidied."""
    wanted = key(name)
    if not wanted:
        raise UserError("--by needs the approver's name")
    board = list(board)
    if board:
        for user in board:
            if key(user) == wanted:
                return user
        raise UserError(
            f"'{tidy(name)}' is not one of the board users in MAILER_BOARD_USERS "
            f"({', '.join(sorted(board))}); approve under your own board name"
        )
    for before in earlier:
        if key(before) == wanted:
            return before
    return tidy(name)


def names(state: State, mailing_id: str, fingerprint: str) -> list[str]:
    """The approvers of exactly this content, each person once."""
    people: dict[str, str] = {}
    for fp, by, _ in state.approvals.of(mailing_id):
        if fp == fingerprint:
            people.setdefault(key(by), by)
    return sorted(people.values())


def record(
    state: State, board: Iterable[str], mailing_id: str, fingerprint: str, by: str, now: dt.datetime
) -> bool:
    """Store `by`'s approval under their canonical name; False if they had approved already.

    `board` is the names in MAILER_BOARD_USERS (none: any name is taken).
    """
    earlier = [b for _, b, _ in state.approvals.of(mailing_id)]
    name = canonical(by, board, earlier)
    if key(name) in {key(b) for b in names(state, mailing_id, fingerprint)}:
        return False
    return state.approvals.approve(mailing_id, fingerprint, name, now)


def check_approval(state: State, compiled: CompiledMailing) -> None:
    """A newsletter goes out only with enough approvals of exactly this content."""
    mailing = compiled.mailing
    if not mailing.needs_approval:
        return
    fingerprint = compiled.fingerprint
    approvals = state.approvals.of(mailing.id)
    matching = {key(by) for fp, by, _ in approvals if fp == fingerprint}
    need = mailing.approvals_required
    if len(matching) >= need:
        return
    if approvals and not matching:
        raise UserError(
            f"{mailing.id} changed since it was approved (draft, template or subject; fingerprint "
            f"now {fingerprint}); run `mailer preview {mailing.id}` and approve it again"
        )
    raise _waiting(mailing, f"{len(matching)} of {need} approvals" if matching else "not approved")


def check_approved_at_all(state: State, mailing: Mailing) -> None:
    """The cheap part of `check_approval`: a mailing nobody approved waits, whatever its content
    (so `run-due` need not compile it every minute to say so)."""
    if mailing.needs_approval and not state.approvals.of(mailing.id):
        raise _waiting(mailing, "not approved")


def _waiting(mailing: Mailing, have: str) -> UserError:
    return UserError(
        f"{mailing.id} is {have}; the board previews it (`mailer preview {mailing.id}`) and "
        f"approves it (`mailer approve {mailing.id} --by NAME`) before it is sent"
    )
