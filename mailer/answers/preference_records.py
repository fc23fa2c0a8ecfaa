"""What the secretary sees of members' own choices: one address in full, or everyone who chose.

`mailer preferences EMAIL` shows what the member sees on their page (each category, on or off,
and what their office requires), their language and pause, and the dated consent log; without
an address, one line per address with anything chosen or held.
"""

from __future__ import annotations

from typing import Any

from mailer.answers import choices
from mailer.delivery.runner import Runner
from mailer.errors import UserError
from mailer.project.members import Member
from mailer.state.suppressions import address_digest


def _member(runner: Runner, address: str) -> Member | None:
    return next((m for m in runner.members() if m.address_key == address), None)


def one(runner: Runner, address: str) -> dict[str, Any]:
    """Everything chosen and held for one address (a UserError when mailer knows nothing of it)."""
    state, now = runner.state, runner.now
    member = _member(runner, address)
    history = state.consent.of(address, address_digest(state.secret, address))
    held = state.suppressions.of(address)
    choice = state.preferences.of(address)
    if member is None and not (history or held or choice):
        raise UserError(
            f"{address} is not in the member export and has no choices or suppressions; check the spelling"
        )
    out: dict[str, Any] = {
        "email": address,
        "member_id": member.id if member else None,
        "name": member.name if member else None,
        "language": {
            "chosen": choice.language if choice else None,
            "export": member.language if member else None,
        },
        "paused_until": choice.paused_until.isoformat() if choice and choice.paused_at(now) else None,
        "held": [
            {"category": h.category, "since": h.since, "source": h.source, "hashed": h.hashed} for h in held
        ],
        "waiting_confirmation": [
            {
                "categories": r.categories,
                "requested_at": r.requested_at.isoformat(),
                "until": r.expires_at.isoformat(),
            }
            for r in state.resubscriptions.pending(address, now)
        ],
        "categories": [],
        "history": [e.as_json() for e in history],
    }
    if member is not None:
        v = choices.view(runner, member)
        out["categories"] = [
            {
                "category": line.name,
                "receives": line.on and not (v.paused_until and not line.required_by),
                "on": line.on,
                "required_by": list(line.required_by),
            }
            for line in v.lines
        ]
    return out


def everyone(runner: Runner) -> list[dict[str, Any]]:
    """One row per address with a language, a pause, a suppression or a request waiting."""
    state, now = runner.state, runner.now
    rows: dict[str, dict[str, Any]] = {}

    def row(address: str) -> dict[str, Any]:
        return rows.setdefault(
            address, {"email": address, "language": None, "paused_until": None, "off": [], "waiting": []}
        )

    for address, choice in state.preferences.all().items():
        if choice.language:
            row(address)["language"] = choice.language
        if choice.paused_at(now) and choice.paused_until:
            row(address)["paused_until"] = choice.paused_until.isoformat()
    for address, category, _, _ in state.suppressions.rows():
        row(address)["off"].append(category)
    for request in state.resubscriptions.all_pending(now):
        row(request.address)["waiting"].extend(request.categories)
    return [rows[a] for a in sorted(rows)]
