"""What the secretary does for one person: erase them, or stop mail to them."""

from __future__ import annotations

from collections.abc import Callable

from mailer.delivery.runner import Runner
from mailer.errors import UserError
from mailer.project.addresses import check_email

Print = Callable[..., None]


def forget(runner: Runner, email: str, out: Print, member_id: str | None = None) -> None:
    """Erase the person at `email`; where a household shares it, only the member `member_id` names.

    An address several members hold is refused without `member_id`: erasing it would erase them
    all, and an erasure cannot be undone.
    """
    from mailer.delivery import register

    try:
        address = check_email(email.strip()).casefold()
    except ValueError as exc:
        raise UserError(f"'{email}' is not an email address: {exc}") from None
    with runner.lock(wait=True, alone=True):  # no run sends to them while, or after, they go
        holders = _holders(runner, address)
        if member_id is not None and member_id not in holders:
            raise UserError(
                f"member {member_id} does not have the address {address} "
                f"({_listed(holders) or 'no member has it'}); nothing was erased"
            )
        if len(holders) > 1:
            if member_id is None:
                raise UserError(
                    f"{address} is shared by {len(holders)} members: {_listed(holders)}; "
                    f"erase one with `mailer forget {address} --member ID`; nothing was erased"
                )
            removed = register.erase_all(runner.state, runner.project.state_dir, [(member_id, None)])
            others = _listed({i: n for i, n in holders.items() if i != member_id})
            out(
                f"erased member {member_id} ({holders[member_id]}) of {address}: {removed} deliveries "
                f"folded into anonymous counts; the address and its choices stay with {others}; "
                "remove the person from the member export too, or they are added again"
            )
            _unfinished(runner)
            return
        ids = runner.state.register.member_ids_for(address)
        if not ids and not _known(runner, address):
            raise UserError(
                f"nothing is known about {address} (no member, delivery, unsubscribe, answer, "
                "registration or bounce; or it was erased before); check the spelling, nothing was erased"
            )
        people = [(i, address) for i in ids or [None]]
        removed = register.erase_all(runner.state, runner.project.state_dir, people)
    out(
        f"erased {address}: {removed} deliveries folded into anonymous counts; "
        "remove the person from the member export too, or they are added again"
    )
    _unfinished(runner)


def _unfinished(runner: Runner) -> None:
    from mailer.cli.context import warn

    if runner.state.db.erasure_pending():
        warn(
            f"another process was reading {runner.state.db.where} throughout, so older copies "
            "of the erased rows are still in its -wal file; the next mailer command (a cron run-due) "
            "removes them once that process lets go"
        )


def _holders(runner: Runner, address: str) -> dict[str, str]:
    """Member id → name of each member whose address this is now: in the export, or, for one
    who left it, as the state last knew them (guests and old addresses do not count)."""
    from mailer.state.erasure import identify

    try:
        export = {m.id: m for m in runner.members()}
    except UserError:
        export = {}  # an export that cannot be read names no one
    held = {i: m.name for i, m in export.items() if m.address_key == address}
    register = runner.state.register
    for member_id in register.member_ids_for(address):
        left = member_id not in export and register.first_seen(member_id) is not None
        if left and register.address_of(member_id) == address:
            names = sorted(identify(runner.state, member_id, None).spoken_names)
            held.setdefault(member_id, names[0] if names else "(name not kept)")
    return dict(sorted(held.items(), key=lambda item: (len(item[0]), item[0])))


def _listed(holders: dict[str, str]) -> str:
    return ", ".join(f"{member_id} {name}" for member_id, name in holders.items())


def _known(runner: Runner, address: str) -> bool:
    """Anything in the state, the outbox, the previews or the member export about `address`."""
    from mailer.state.erasure import is_known
    from mailer.state.folder import mentioned_in_files
    from mailer.state.traces import Needles, address_forms

    if is_known(runner.state, address):
        return True
    if mentioned_in_files(runner.project.state_dir, Needles.of(address_forms(address))):
        return True
    try:
        return any(m.email.casefold() == address for m in runner.members())
    except UserError:
        return False  # an export that cannot be read names no one


def unsubscribe(runner: Runner, email: str, category: str, out: Print) -> None:
    try:
        address = check_email(email.strip()).casefold()
    except ValueError as exc:
        raise UserError(f"'{email}' is not an email address: {exc}") from None
    known = set(runner.project.config.mailings) | set(runner.project.config.events) | {"*"}
    if category not in known:
        raise UserError(
            f"unknown category '{category}'; use '*' or one of: {', '.join(sorted(known - {'*'}))}"
        )
    new = runner.state.suppressions.add(address, category, runner.now, "secretary")
    what = "everything" if category == "*" else category
    out(f"{address} {'unsubscribed' if new else 'was already unsubscribed'} from {what}")
