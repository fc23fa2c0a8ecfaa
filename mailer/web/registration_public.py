"""A public event's form (`/p/EVENT`): anyone may fill it in; it counts once the address's owner
confirms it by the link mailed to them.

The answer is the same page whatever became of the registration (already registered, a robot
caught by the hidden field, a new one), so the form tells no one who is registered.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
from dataclasses import dataclass, field

from mailer.delivery.runner import Runner
from mailer.events import actions
from mailer.events.answers import check_answers
from mailer.events.places import Who
from mailer.project.addresses import check_email
from mailer.project.event_config import EventConfig
from mailer.project.textclean import has_controls
from mailer.state.registrations import new_guest_id
from mailer.web import pages
from mailer.web.registration_pages import render, texts
from mailer.web.registration_view import Answer, Visit, called_off, common, no_event, said
from mailer.web.responses import form_number

log = logging.getLogger("mailer.web")
PUBLIC_FORM_MINUTES = 240

"""How long a public form, once shown, may be sent (its CSRF value says when it was shown)."""


def public_csrf(secret: bytes, name: str, minute: int) -> str:
    mac = hmac.new(secret, f"public-form\0{name}\0{minute}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"{minute}.{mac}"


def public_csrf_ok(secret: bytes, name: str, value: str, now: dt.datetime) -> bool:
    minute = form_number(value.partition(".")[0])
    if minute is None:
        return False
    age = int(now.timestamp() // 60) - minute
    return 0 <= age <= PUBLIC_FORM_MINUTES and hmac.compare_digest(public_csrf(secret, name, minute), value)


def public(runner: Runner, name: str, form: dict[str, str] | None, same_origin: bool) -> Answer:
    org = runner.project.config.organisation
    cfg = runner.project.config.events.get(name)
    if cfg is None or cfg.open_to != "public":
        return no_event(runner, org.language)
    lang = org.language
    c = texts(lang)
    visit = Visit(runner, name, cfg, Who("", "", "", lang, guest=True), "")
    shown = common(visit)
    secret = runner.signer().secret
    off = called_off(visit)
    if off is not None:
        return off
    if runner.now >= cfg.closes(runner.project.tz):
        return Answer(200 if form is None else 410, said(lang, c["closed_title"], c["closed"], shown))
    csrf = public_csrf(secret, name, int(runner.now.timestamp() // 60))
    if form is None:
        return Answer(200, _public_form(lang, csrf, cfg, shown))
    if not same_origin or not public_csrf_ok(secret, name, form.get("csrf", ""), runner.now):
        return Answer(403, pages.message(lang, org.name, cfg.title, c["forged"]))
    checked = _check_guest(form, cfg, lang)
    if isinstance(checked, tuple):
        values, errors = checked
        return Answer(400, _public_form(lang, csrf, cfg, shown, values, errors, c["fix"]))
    thanks = said(lang, c["check_mail_title"], c["check_mail"], shown)
    if form.get("website"):  # the field people never see: a robot filled it in
        log.info("public registration for %s dropped: the hidden field was filled in", name)
        return Answer(200, thanks)
    done = actions.register(runner, name, checked, checked.answers)  # type: ignore[attr-defined]
    if done.outcome == "closed":
        return Answer(410, said(lang, c["closed_title"], c["closed"], shown))
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
    if not name or len(name) > 100 or has_controls(name):
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
    shown: dict[str, object],
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
) -> str:
    return render(
        "event_form.html", lang, public=True, first_name="", csrf=csrf, values=values or {},
        errors=errors or {}, notice=notice, questions=cfg.questions, **shown,
    )  # fmt: skip
