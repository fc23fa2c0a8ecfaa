"""A person's own page for an event (`/p/TOKEN`): the form, or where they stand and what they may do.

The token names a person (a member's id, or a guest's made-up one) and an event. GET shows;
POST with an `action` registers, cancels, accepts an offer or confirms a guest's address, if
its CSRF value is right and it comes from this site. `mailer.events` decides what happens.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging

from mailer.delivery.runner import Runner
from mailer.events import actions
from mailer.events.answers import check_answers
from mailer.events.places import Who
from mailer.project.dates import date_and_time
from mailer.state.registrations import Registration
from mailer.web import clicks, pages
from mailer.web.registration_pages import render, texts
from mailer.web.registration_view import Answer, Visit, bad_link, called_off, common, gone, no_event

log = logging.getLogger("mailer.web")


def csrf_value(secret: bytes, token: str) -> str:
    return hmac.new(secret, f"event\0{token}".encode(), hashlib.sha256).hexdigest()[:32]


def personal(runner: Runner, token: str, form: dict[str, str] | None, same_origin: bool) -> Answer:
    org = runner.project.config.organisation
    try:
        click = clicks.verify(runner.signer(), token, "p", runner.now.date())
    except clicks.BadLink as exc:
        log.info("registration link refused: %s", exc)
        return bad_link(runner, org.language)
    cfg = runner.project.config.events.get(click.subject)
    if cfg is None:
        return no_event(runner, org.language)
    who = _who(runner, click.subject, click.member_id)
    if who is None:
        if click.member_id.startswith("guest-"):  # a link we signed: the registration was erased
            erased = Who(click.member_id, "", "", org.language, guest=True)
            return gone(Visit(runner, click.subject, cfg, erased, token), posted=form is not None)
        t = pages.texts(org.language)
        contact = (org.reply_to or org.sender).email
        html = pages.message(
            org.language, org.name, t["not_found"], t["not_found_text"].format(contact=contact)
        )
        return Answer(404, html)
    visit = Visit(runner, click.subject, cfg, who, token)
    off = called_off(visit)
    if off is not None:  # GET or POST: nothing to register, accept or cancel any more
        return off
    if form is None:
        return view(visit)
    if not same_origin or not hmac.compare_digest(
        csrf_value(runner.signer().secret, token), form.get("csrf", "")
    ):
        return Answer(403, pages.message(visit.lang, org.name, cfg.title, texts(visit.lang)["forged"]))
    return act(visit, form)


def _who(runner: Runner, name: str, person: str) -> Who | None:
    if person.startswith("guest-"):
        reg = runner.state.registrations.latest(name, person)
        if reg is None or not reg.guest or not reg.address:
            return None
        return Who(person, reg.name, reg.address, reg.language, guest=True)
    member = runner.find_member(person)
    if member is None:
        return None
    return Who(member.id, member.name, member.address_key, clicks.language(runner, member))


SIGNUPS_A_DAY = 5
"""Registrations a person may make for one event in 24 hours through their link: each one (and
each cancellation) sends them a message, so a link that was forwarded, or a script, could
otherwise flood their inbox and use up the organisation's sending quota."""


def act(visit: Visit, form: dict[str, str]) -> Answer:
    runner, c = visit.runner, texts(visit.lang)
    if runner.now >= visit.cfg.starts(runner.project.tz):
        return view(visit, status=410)
    reg = runner.state.registrations.latest(visit.name, visit.who.person)
    action = form.get("action", "")
    if action == "register" and not visit.who.guest:
        since = runner.now - dt.timedelta(days=1)
        if runner.state.registrations.made_since(visit.name, visit.who.person, since) >= SIGNUPS_A_DAY:
            return view(visit, status=429, notice=c["too_often"].format(n=SIGNUPS_A_DAY))
        answers, errors = check_answers(visit.cfg.questions, form, visit.lang)
        if errors:
            return view(visit, status=400, values=answers, errors=errors, notice=c["fix"])
        done = actions.register(runner, visit.name, visit.who, answers)
    elif action in ("cancel", "accept", "confirm") and reg is not None:
        step = {"cancel": actions.cancel, "accept": actions.accept, "confirm": actions.confirm_guest}[action]
        done = step(runner, visit.name, reg.id)
    else:
        return view(visit, status=400)
    notice = {"already": c["already"], "not_standing": ""}.get(done.outcome, "")
    status = 409 if done.outcome in ("already", "not_standing") else 200
    if done.outcome in ("closed", "full"):
        status = 410 if done.outcome == "closed" else 409
    page = view(visit, status=status, notice=notice, outcome=done.outcome)
    page.delivery_ids = done.delivery_ids
    return page


def view(
    visit: Visit,
    status: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    outcome: str = "",
) -> Answer:
    """The page for where the person stands now: their registration, else the form."""
    runner, cfg, c = visit.runner, visit.cfg, texts(visit.lang)
    tz = runner.project.tz
    reg = runner.state.registrations.latest(visit.name, visit.who.person)
    shown = common(visit)
    csrf = csrf_value(runner.signer().secret, visit.token)
    started = runner.now >= cfg.starts(tz)
    if reg is not None and reg.standing:
        heading, paragraphs, buttons, note = _standing(visit, reg)
        if started:
            heading, paragraphs, buttons, note = c["started_title"], [c["started"]], [], ""
        html = render(
            "event_status.html", visit.lang, heading=heading, paragraphs=paragraphs, buttons=buttons,
            note=note, notice=notice, csrf=csrf, placed=reg.status == "placed", **shown,
        )  # fmt: skip
        return Answer(status, html)
    ended = _ended(visit, reg, outcome)
    if ended is not None or started or runner.now >= cfg.closes(tz) or visit.who.guest:
        heading, text = ended or (
            (c["started_title"], c["started"]) if started else (c["closed_title"], c["closed"])
        )
        html = render(
            "event_status.html", visit.lang, heading=heading, paragraphs=[text], buttons=[], note="",
            notice=notice, csrf=csrf, **shown,
        )  # fmt: skip
        return Answer(status, html)
    first_name = visit.who.name.split(" ")[0]
    if reg is not None and reg.status == "cancelled" and not notice:
        notice = c["cancelled"].format(title=cfg.title)
    elif reg is not None and reg.status == "expired" and not notice:
        notice = f"{c['expired_title']}. {c['expired']}"
    html = render(
        "event_form.html", visit.lang, public=False, first_name=first_name, csrf=csrf, values=values or {},
        errors=errors or {}, notice=notice, questions=cfg.questions, **shown,
    )  # fmt: skip
    return Answer(status, html)


def _standing(visit: Visit, reg: Registration) -> tuple[str, list[str], list[tuple[str, str, bool]], str]:
    c, state = texts(visit.lang), visit.runner.state
    if reg.status == "placed":
        return c["placed_title"], [c["placed"]], [("cancel", c["cancel_place"], True)], c["cancel_note"]
    if reg.status == "waiting":
        text = c["waiting"].format(n=state.waitlist.position(reg.id) or "?")
        return c["waiting_title"], [text], [("cancel", c["leave_list"], True)], ""
    if reg.status == "offered":
        expires = state.waitlist.offer_expires(reg.id)
        when = date_and_time(expires.astimezone(visit.runner.project.tz), visit.lang) if expires else ""
        buttons = [("accept", c["accept"], False), ("cancel", c["decline"], True)]
        return c["offered_title"], [c["offered"].format(when=when)], buttons, ""
    buttons = [("confirm", c["confirm"], False), ("cancel", c["not_me"], True)]
    return c["unconfirmed_title"], [c["unconfirmed"]], buttons, ""


def _ended(visit: Visit, reg: Registration | None, outcome: str) -> tuple[str, str] | None:
    """How a registration ended, when the person should be told so rather than shown the form."""
    c = texts(visit.lang)
    if outcome == "full" or (reg is not None and reg.status == "full"):
        return c["full_title"], c["full_text"]
    if reg is None:
        if visit.cfg.capacity is not None and not visit.cfg.waitlist and not _room_left(visit):
            return c["full_title"], c["full_text"]
        return None
    if reg.status == "expired":
        if reg.guest:
            return c["lapsed_title"], c["lapsed"]
        return (c["expired_title"], c["expired"]) if outcome else None  # then the form: join the list again
    if reg.status == "cancelled" and (visit.who.guest or outcome in ("cancelled", "not_standing")):
        return c["cancelled_title"], c["cancelled"].format(title=visit.cfg.title) + " " + c["again"]
    return None


def _room_left(visit: Visit) -> bool:
    capacity = visit.cfg.capacity
    return capacity is None or visit.runner.state.registrations.taken(visit.name) < capacity
