"""`mailer preferences [EMAIL]` and `mailer suppressions [--history]`: members' choices for the secretary."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mailer.answers import preference_records
from mailer.delivery.runner import Runner
from mailer.errors import UserError
from mailer.project.addresses import check_email

Print = Callable[..., None]


def preferences(
    runner: Runner, email: str | None, as_json: bool, out: Print, emit: Callable[[Any], None]
) -> None:
    if email is None:
        rows = preference_records.everyone(runner)
        if as_json:
            emit(rows)
            return
        if not rows:
            out("no member has chosen anything yet")
        for r in rows:
            parts = [f"language {r['language']}"] if r["language"] else []
            parts += [f"paused until {r['paused_until'][:10]}"] if r["paused_until"] else []
            parts += [f"off: {', '.join(_name(c) for c in r['off'])}"] if r["off"] else []
            parts += [f"waiting for confirmation: {', '.join(r['waiting'])}"] if r["waiting"] else []
            out(f"{r['email']}  " + " · ".join(parts))
        return
    try:
        address = check_email(email.strip()).casefold()
    except ValueError as exc:
        raise UserError(f"'{email}' is not an email address: {exc}") from None
    record = preference_records.one(runner, address)
    if as_json:
        emit(record)
        return
    who = (
        f" (member {record['member_id']}, {record['name']})"
        if record["member_id"]
        else " (not in the export)"
    )
    out(record["email"] + who)
    lang = record["language"]
    if lang["chosen"]:
        out(f"language: {lang['chosen']}, chosen on the page (the export says {lang['export'] or '-'})")
    else:
        out(f"language: {lang['export'] or '-'}, from the export")
    if record["paused_until"]:
        out(f"paused until {record['paused_until']} (what an office requires still goes)")
    for h in record["held"]:
        hashed = ", kept as a hash" if h["hashed"] else ""
        out(f"  {_name(h['category'])}: off since {h['since'][:10]} ({h['source']}{hashed})")
    for c in record["categories"]:
        state = "on" if c["on"] else "off"
        if c["required_by"]:
            state += f", required ({', '.join(c['required_by'])})"
        out(f"  {c['category']}: {state}")
    for w in record["waiting_confirmation"]:
        out(f"  waiting for confirmation by mail until {w['until']}: {', '.join(w['categories'])}")
    out("history:" if record["history"] else "history: none")
    for e in record["history"]:
        out(f"  {_entry(e)} {e['detail']}".rstrip())


def _entry(e: dict[str, str]) -> str:
    what = _name(e["category"]) if e["category"] else ""
    return f"{e['at']}  {e['action']}  {what}  ({e['source']})"


def _name(category: str) -> str:
    return "everything" if category == "*" else category


def suppressions(
    runner: Runner, history: bool, as_json: bool, out: Print, emit: Callable[[Any], None]
) -> None:
    """The suppression list (each row with its dated history), or with `history` the whole consent log."""
    log = runner.state.consent.all()
    if history:
        if as_json:
            emit([e.as_json() for e in log])
            return
        if not log:
            out("the consent log is empty")
        for e in log:
            out(f"{e.as_json()['email']}  {_entry(e.as_json())}")
        return
    rows = runner.state.suppressions.rows()
    if as_json:
        by: dict[tuple[str, str], list[dict[str, str]]] = {}
        for e in log:
            by.setdefault((e.address, e.category), []).append(e.as_json())
        emit(
            [
                {"email": a, "category": c, "since": t, "source": s, "history": by.get((a, c), [])}
                for a, c, t, s in rows
            ]
        )
        return
    if not rows:
        out("nobody has unsubscribed")
    for a, c, t, s in rows:
        out(f"{a}  {_name(c)}  since {t[:10]} ({s})")
