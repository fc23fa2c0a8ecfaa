"""The registration links (`/p/`): a person's own page for an event, and a public event's form.

`/p/TOKEN` is in the invitation and in every mail about a registration; the token names a
person (a member's id, or a guest's made-up one) and an event. GET shows the form or where
they stand; POST with an `action` registers, cancels, accepts an offer or confirms a guest's
address. `/p/EVENT` is the form of an event that is `open_to: public`: anyone may fill it in,
and it counts once the address's owner clicks the link mailed to them.

GET never records anything (mail scanners open every link); every POST carries a CSRF value
and must come from this site; a body over `MAX_FORM_BYTES` is refused unread. What may happen
is decided in `mailer.events`; this module only reads the form and picks the page.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mailer.delivery.runner import Runner
from mailer.events import actions
from mailer.events.answers import check_answers
from mailer.events.places import Who
from mailer.project.addresses import check_email
from mailer.project.dates import date_and_time
from mailer.project.event_config import ID, EventConfig
from mailer.state.registrations import Registration, new_guest_id
from mailer.web import clicks, pages
from mailer.web.projects import Projects
from mailer.web.registration_pages import render, texts
from mailer.web.responses import TooLarge, read_form

log = logging.getLogger("mailer.web")
PUBLIC_FORM_MINUTES = 240
"""How long a public form, once shown, may be sent (its CSRF value says when it was shown)."""


@dataclass
class Answer:
    status: int
    html: str
    delivery_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Visit:
    runner: Runner
    name: str
    cfg: EventConfig
    who: Who
    token: str

    @property
    def lang(self) -> str:
        return self.who.language


def csrf_value(secret: bytes, token: str) -> str:
    return hmac.new(secret, f"event\0{token}".encode(), hashlib.sha256).hexdigest()[:32]


def public_csrf(secret: bytes, name: str, minute: int) -> str:
    mac = hmac.new(secret, f"public-form\0{name}\0{minute}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"{minute}.{mac}"


def public_csrf_ok(secret: bytes, name: str, value: str, now: dt.datetime) -> bool:
    minute_text, _, _ = value.partition(".")
    if not minute_text.isdigit() or len(minute_text) > 12:
        return False
    minute = int(minute_text)
    age = int(now.timestamp() // 60) - minute
    return 0 <= age <= PUBLIC_FORM_MINUTES and hmac.compare_digest(public_csrf(secret, name, minute), value)


# -- the person's own page ------------------------------------------------------------------------


def personal(runner: Runner, token: str, form: dict[str, str] | None, same_origin: bool) -> Answer:
    org = runner.project.config.organisation
    try:
        click = clicks.verify(runner.signer(), token, "p", runner.now.date())
    except clicks.BadLink as exc:
        log.info("registration link refused: %s", exc)
        return _bad_link(runner, org.language)
    cfg = runner.project.config.events.get(click.subject)
    if cfg is None:
        return _no_event(runner, org.language)
    who = _who(runner, click.subject, click.member_id)
    if who is None:
        if click.member_id.startswith("guest-"):
            return _bad_link(runner, org.language)
        t = pages.texts(org.language)
        contact = (org.reply_to or org.sender).email
        html = pages.message(
            org.language, org.name, t["not_found"], t["not_found_text"].format(contact=contact)
        )
        return Answer(404, html)
    visit = Visit(runner, click.subject, cfg, who, token)
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
    return Who(member.id, member.name, member.address_key, member.language)


def act(visit: Visit, form: dict[str, str]) -> Answer:
    runner, c = visit.runner, texts(visit.lang)
    if runner.now >= visit.cfg.starts(runner.project.tz):
        return view(visit, status=410)
    reg = runner.state.registrations.latest(visit.name, visit.who.person)
    action = form.get("action", "")
    if action == "register" and not visit.who.guest:
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
    common = _common(visit)
    csrf = csrf_value(runner.signer().secret, visit.token)
    started = runner.now >= cfg.starts(tz)
    if reg is not None and reg.standing:
        heading, paragraphs, buttons, note = _standing(visit, reg)
        if started:
            heading, paragraphs, buttons, note = c["started_title"], [c["started"]], [], ""
        html = render(
            "event_status.html", visit.lang, heading=heading, paragraphs=paragraphs, buttons=buttons,
            note=note, notice=notice, csrf=csrf, **common,
        )  # fmt: skip
        return Answer(status, html)
    ended = _ended(visit, reg, outcome)
    if ended is not None or started or runner.now >= cfg.closes(tz) or visit.who.guest:
        heading, text = ended or (
            (c["started_title"], c["started"]) if started else (c["closed_title"], c["closed"])
        )
        html = render(
            "event_status.html", visit.lang, heading=heading, paragraphs=[text], buttons=[], note="",
            notice=notice, csrf=csrf, **common,
        )  # fmt: skip
        return Answer(status, html)
    first_name = visit.who.name.split(" ")[0]
    if reg is not None and reg.status == "cancelled" and not notice:
        notice = c["cancelled"].format(title=cfg.title)
    elif reg is not None and reg.status == "expired" and not notice:
        notice = f"{c['expired_title']}. {c['expired']}"
    html = render(
        "event_form.html", visit.lang, public=False, first_name=first_name, csrf=csrf, values=values or {},
        errors=errors or {}, notice=notice, questions=cfg.questions, **common,
    )  # fmt: skip
    return Answer(status, html)


def _common(visit: Visit) -> dict[str, object]:
    """What every page of the event shows: its title, when and where, and how full it is."""
    runner, cfg, c = visit.runner, visit.cfg, texts(visit.lang)
    tz = runner.project.tz
    event = {"location": cfg.location, "online": cfg.online, "description": cfg.description.strip()}
    when = f"{date_and_time(cfg.starts(tz), visit.lang)}–{cfg.ends(tz):%H.%M}"
    closes = cfg.closes(tz)
    if closes.time() == dt.time(0):
        closes -= dt.timedelta(minutes=1)
    room = ""
    if cfg.capacity is not None:
        free = cfg.capacity - runner.state.registrations.taken(visit.name)
        waiting = runner.state.waitlist.waiting(visit.name)
        if free > 0 and not waiting:
            room = c["places_left"].format(n=free)
        else:
            room = c["full_list"] if cfg.waitlist else c["full"]
    return {
        "org": runner.project.config.organisation.name,
        "title": cfg.title,
        "event": event,
        "when": when[:1].upper() + when[1:],
        "closes": c["closes"].format(when=date_and_time(closes, visit.lang)),
        "room": room,
    }


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


# -- a public event's form ------------------------------------------------------------------------


def public(runner: Runner, name: str, form: dict[str, str] | None, same_origin: bool) -> Answer:
    org = runner.project.config.organisation
    cfg = runner.project.config.events.get(name)
    if cfg is None or cfg.open_to != "public":
        return _no_event(runner, org.language)
    lang = org.language
    c = texts(lang)
    visit = Visit(runner, name, cfg, Who("", "", "", lang, guest=True), "")
    common = _common(visit)
    secret = runner.signer().secret
    if runner.now >= cfg.closes(runner.project.tz):
        return Answer(200 if form is None else 410, _said(lang, c["closed_title"], c["closed"], common))
    csrf = public_csrf(secret, name, int(runner.now.timestamp() // 60))
    if form is None:
        return Answer(200, _public_form(lang, csrf, cfg, common))
    if not same_origin or not public_csrf_ok(secret, name, form.get("csrf", ""), runner.now):
        return Answer(403, pages.message(lang, org.name, cfg.title, c["forged"]))
    checked = _check_guest(form, cfg, lang)
    if isinstance(checked, tuple):
        values, errors = checked
        return Answer(400, _public_form(lang, csrf, cfg, common, values, errors, c["fix"]))
    thanks = _said(lang, c["check_mail_title"], c["check_mail"], common)
    if form.get("website"):  # the field people never see: a robot filled it in
        log.info("public registration for %s dropped: the hidden field was filled in", name)
        return Answer(200, thanks)
    done = actions.register(runner, name, checked, checked.answers)  # type: ignore[attr-defined]
    if done.outcome == "closed":
        return Answer(410, _said(lang, c["closed_title"], c["closed"], common))
    return Answer(200, thanks, done.delivery_ids)  # the same page whatever became of it: no oracle


@dataclass(frozen=True)
class _Guest(Who):
    answers: dict[str, str] = field(default_factory=dict)


def _check_guest(
    form: dict[str, str], cfg: EventConfig, lang: str
) -> _Guest | tuple[dict[str, str], dict[str, str]]:
    c = texts(lang)
    values, errors = check_answers(cfg.questions, form, lang)
    name = " ".join(form.get("name", "").split())
    email = form.get("email", "").strip()
    values.update(name=name, email=email)
    if not name or len(name) > 100 or any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 for ch in name):
        errors["name"] = c["bad_name"]
    try:
        email = check_email(email)
    except ValueError:
        errors["email"] = c["bad_email"]
    if errors:
        return values, errors
    answers = {q.id: values[q.id] for q in cfg.questions}
    return _Guest(new_guest_id(), name, email.casefold(), lang, True, answers)


def _public_form(
    lang: str,
    csrf: str,
    cfg: EventConfig,
    common: dict[str, object],
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
) -> str:
    return render(
        "event_form.html", lang, public=True, first_name="", csrf=csrf, values=values or {},
        errors=errors or {}, notice=notice, questions=cfg.questions, **common,
    )  # fmt: skip


def _said(
    lang: str, heading: str, text: str, common: dict[str, object], notice: str = "", csrf: str = ""
) -> str:
    """A page that tells where things stand, with nothing to press."""
    return render(
        "event_status.html", lang, heading=heading, paragraphs=[text], buttons=[], note="", notice=notice,
        csrf=csrf, **common,
    )  # fmt: skip


# -- answers that say no --------------------------------------------------------------------------


def _bad_link(runner: Runner, lang: str) -> Answer:
    org = runner.project.config.organisation
    t = pages.texts(lang)
    text = t["bad_link_text"].format(contact=(org.reply_to or org.sender).email)
    return Answer(400, pages.message(lang, org.name, t["bad_link"], text))


def _no_event(runner: Runner, lang: str) -> Answer:
    c = texts(lang)
    return Answer(
        404, pages.message(lang, runner.project.config.organisation.name, c["no_event"], c["no_event_text"])
    )


def _same_origin(request: Request) -> bool:
    import urllib.parse

    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urllib.parse.urlsplit(origin).netloc == request.headers.get("host")


def routes(projects: Projects, page: Callable[..., Response]) -> list[Route]:
    """`/p/{key}`: GET shows, POST acts; the messages a POST decided go out after the answer."""

    def handle(key: str, form: dict[str, str] | None, same_origin: bool) -> Answer:
        with projects.runner() as runner:
            if ID.fullmatch(key):
                return public(runner, key, form, same_origin)
            return personal(runner, key, form, same_origin)

    def send_now(ids: list[int]) -> None:
        from mailer.delivery import notices

        with projects.runner() as runner:
            notices.send(runner, ids)

    async def endpoint(request: Request) -> Response:
        form = None
        if request.method == "POST":
            try:
                form = await read_form(request)
            except TooLarge:
                lang = projects.current().config.organisation.language
                org = projects.current().config.organisation.name
                return page(pages.message(lang, org, org, texts(lang)["too_large"]), 413)
        key = request.path_params["key"]
        answer = await run_in_threadpool(handle, key, form, _same_origin(request))
        # With the default no-referrer, browsers send `Origin: null` with a form's POST, which the
        # same-origin check must refuse; same-origin keeps the token out of other sites' logs.
        response = page(answer.html, answer.status, **{"Referrer-Policy": "same-origin"})
        if answer.delivery_ids:
            response.background = BackgroundTask(send_now, answer.delivery_ids)
        return response

    return [Route("/p/{key}", endpoint, methods=["GET", "POST"])]
