"""What the secretary does for one person: erase them, or stop mail to them."""

from __future__ import annotations

from collections.abc import Callable

from mailer.delivery.runner import Runner
from mailer.errors import UserError
from mailer.project.addresses import check_email

Print = Callable[..., None]


def forget(runner: Runner, email: str, out: Print) -> None:
    from mailer.delivery import register

    try:
        address = check_email(email.strip()).casefold()
    except ValueError as exc:
        raise UserError(f"'{email}' is not an email address: {exc}") from None
    with runner.lock(wait=True, alone=True):  # no run sends to them while, or after, they go
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
