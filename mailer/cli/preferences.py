"""`mailer preferences [EMAIL]` and `mailer suppressions [--history]`: members' choices for the secretary."""

from __future__ import annotations

import datetime as dt
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
        tz = runner.project.tz
        for r in rows:
            parts = [f"language {r['language']}"] if r["language"] else []
            parts += [f"paused until {_local(r['paused_until'], tz)}"] if r["paused_until"] else []
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
    tz = runner.project.tz
    lang = record["language"]
    if lang["chosen"]:
        out(f"language: {lang['chosen']}, chosen on the page (the export says {lang['export'] or '-'})")
    else:
        out(f"language: {lang['export'] or '-'}, from the export")
    if record["paused_until"]:
        out(f"paused until {_local(record['paused_until'], tz)} (what an office requires still goes)")
    for h in record["held"]:
        hashed = ", kept as a hash" if h["hashed"] else ""
        out(f"  {_name(h['category'])}: off since {_local(h['since'], tz, 10)} ({h['source']}{hashed})")
    for c in record["categories"]:
        state = "on" if c["on"] else "off"
        if c["required_by"]:
            state += f", required ({', '.join(c['required_by'])})"
        out(f"  {c['category']}: {state}")
    for w in record["waiting_confirmation"]:
        until = _local(w["until"], tz)
        out(f"  waiting for confirmation by mail until {until}: {', '.join(w['categories'])}")
    out("history:" if record["history"] else "history: none")
    for e in record["history"]:
        out(f"  {_entry(e, tz)} {_detail(e['detail'] or '', tz)}".rstrip())


def _local(stamp: str, tz: dt.tzinfo, width: int = 16) -> str:
    """A stored time (UTC) as the secretary reads it: in the organisation's zone, not UTC's date."""
    try:
        when = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return stamp[:width]
    if when.tzinfo is None:
        return stamp[:width]
    return when.astimezone(tz).isoformat(sep=" ")[:width]


def _detail(text: str, tz: dt.tzinfo) -> str:
    """A pause's end is a time: shown like the others; any other detail as it is."""
    try:
        return _local(text, tz) if dt.datetime.fromisoformat(text).tzinfo else text
    except ValueError:
        return text


def _entry(e: dict[str, str], tz: dt.tzinfo) -> str:
    what = _name(e["category"]) if e["category"] else ""
    return f"{_local(e['at'], tz, 19)}  {e['action']}  {what}  ({e['source']})"


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
            out(f"{e.as_json()['email']}  {_entry(e.as_json(), runner.project.tz)}")
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
        out(f"{a}  {_name(c)}  since {_local(t, runner.project.tz, 10)} ({s})")
