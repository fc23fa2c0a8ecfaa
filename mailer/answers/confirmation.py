"""Coming back: the mail that asks a member to confirm, and what the confirmation does.

The mail goes to the address on record, never to one typed into a form, so whoever holds a
forwarded mail or a page link cannot sign the owner up again. Its link names the request,
signed, and counts once within 48 hours; then the suppressions it names are lifted (also
those kept as a hash since the person was erased) and the next run sends again.
"""

from __future__ import annotations

from mailer.answers import category_labels
from mailer.delivery import notices
from mailer.delivery.runner import Runner
from mailer.project import categories
from mailer.project.members import Member
from mailer.state.resubscriptions import HOURS, Outcome, Request

TEMPLATE = "preferences-confirm"
CATEGORY = "preferences"
SUBJECT = (
    "{% if language == 'nn' %}Stadfest at du vil ha e-post frå oss att"
    "{% else %}Bekreft at du vil ha e-post fra oss igjen{% endif %}"
)


def link(runner: Runner, member_id: str, nonce: str) -> str:
    base = runner.project.config.organisation.base_url
    token = runner.signer().sign("c", member_id, nonce, runner.now.date().toordinal())
    return f"{base}/c/{token}"


def notice(runner: Runner, member: Member, request: Request) -> notices.Notice:
    return notices.Notice(
        key=f"{CATEGORY}/confirm-{request.id}",
        category=CATEGORY,
        to=member,
        template=TEMPLATE,
        subject=SUBJECT,
        context={
            "what": category_labels.both(runner.project.config, request.categories),
            "confirm_url": link(runner, member.id, request.nonce),
            "until": request.expires_at,
            "hours": HOURS,
        },
        expires_at=request.expires_at,
    )


def confirm(runner: Runner, nonce: str) -> tuple[Outcome, list[str]]:
    """Count the confirmation once, in time; the categories as they stand now decide "everything"."""
    names = [c.name for c in categories.categories(runner.project.config)]
    return runner.state.resubscriptions.confirm(nonce, names, runner.now)
