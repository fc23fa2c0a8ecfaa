"""The member's own page (`/i/TOKEN`) and the confirmation of coming back (`/c/TOKEN`).

GET never changes anything (mail scanners open every link). A POST carries a CSRF value tied
to the link and must come from this site; what it may change is decided in
`answers.choices` and `answers.member_requests`, never here. A POST that the page could not
have made (an unknown category, a required one turned off, a month count not offered) is
refused whole: 400, nothing changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mailer.answers import category_labels, choices, confirmation, member_requests
from mailer.answers.choices import Refused, View
from mailer.delivery.runner import Runner
from mailer.project.dates import date_and_time, long_date
from mailer.project.textclean import mask_addresses
from mailer.web import clicks, pages, responses
from mailer.web.headers import same_origin
from mailer.web.preferences_page import render, words
from mailer.web.projects import Projects
from mailer.web.responses import MAX_FORM_BYTES

log = logging.getLogger("mailer.web")
Form = list[tuple[str, str]]
REFUSALS = {
    "unknown": "unknown",
    "required": "required_refused",
    "bounced": "bounced_refused",
    "language": "language_refused",
    "months": "months_refused",
    "report_empty": "report_empty",
    "report_long": "report_long",
}


def page(html: str, status: int = 200) -> Response:
    """Like every member page, except that the browser may tell this site which page a form came
    from (`responses.FORM_HEADERS`)."""
    return responses.page(html, status, **responses.FORM_HEADERS)


def csrf_value(secret: bytes, token: str) -> str:
    return hmac.new(secret, f"preferences\0{token}".encode(), hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True)
class Shown:
    name: str
    label: str
    on: bool
    locked: bool
    note: str


def _lines(runner: Runner, v: View, lang: str) -> list[Shown]:
    config, p = runner.project.config, words(lang)
    out = []
    for line in v.lines:
        label = category_labels.label(config, line.name, lang)
        reason = category_labels.because(line.required_by, lang) if line.required_by else ""
        if line.on:
            note = p["required"].format(reason=reason) if reason else ""
        elif line.waiting is not None:
            note = p["waiting"].format(
                when=date_and_time(line.waiting.expires_at.astimezone(runner.now.tzinfo), lang)
            )
        elif reason:
            note = p["required_off"].format(reason=reason)
        elif line.held is not None and line.held.category != "*" and line.held.liftable:
            note = p["since"].format(when=_day(line.held.since, runner, lang))
        else:
            note = ""
        locked = (line.on and bool(line.required_by)) or not (line.on or line.can_come_back)
        out.append(Shown(line.name, label, line.on, locked, note))
    return out


def _day(stamp: str, runner: Runner, lang: str) -> str:
    return long_date(dt.datetime.fromisoformat(stamp).astimezone(runner.now.tzinfo).date(), lang)


def page_html(
    runner: Runner, token: str, v: View, notices: list[str], error: str = "", text: str = ""
) -> str:
    lang = v.language
    every = v.everything
    return render(
        "preferences.html",
        lang,
        org=runner.project.config.organisation.name,
        title=words(lang)["title"],
        address=mask_addresses(v.address),
        notices=notices,
        error=error,
        bounced=every is not None and not every.liftable,
        everything_since=_day(every.since, runner, lang) if every is not None and every.liftable else "",
        lines=_lines(runner, v, lang),
        language=v.language,
        paused_until=long_date(v.paused_until.date(), lang) if v.paused_until else "",
        months=choices.PAUSE_MONTHS,
        csrf=csrf_value(runner.signer().secret, token),
        max_report=member_requests.MAX_REPORT,
        report_text=text,
    )


def _one(form: Form, name: str) -> str:
    return next((v for k, v in form if k == name), "")


def _all(form: Form, name: str) -> list[str]:
    return [v for k, v in form if k == name]


def act(runner: Runner, v: View, form: Form) -> tuple[int, list[str], str]:
    """Do what a POST asks; returns the status, what to tell the member, and the text to keep."""
    member, lang = v.member, v.language
    p = words(lang)
    action = _one(form, "action")
    config = runner.project.config
    if action == "save":
        saved = choices.save(
            runner, member, _all(form, "shown"), _all(form, "on"), _one(form, "language") or None
        )
        if saved.language_changed:
            lang = _one(form, "language")
            p = words(lang)
        said = [p["saved"]]
        if saved.turned_off:
            said.append(p["saved_off"].format(what=category_labels.both(config, saved.turned_off)[lang]))
        if saved.asked_back:
            said.append(p["saved_back"].format(what=category_labels.both(config, saved.asked_back)[lang]))
        if saved.next_confirmation:
            said.append(p["confirmations_used"].format(when=date_and_time(saved.next_confirmation, lang)))
        if saved.language_changed:
            said.append(p["saved_language"].format(language=p[lang].lower()))
        return 200, said, ""
    if action == "pause":
        until = choices.pause(runner, member, _one(form, "months"))
        return 200, [p["paused_now"].format(when=long_date(until.date(), lang))], ""
    if action == "resume":
        return 200, [p["resumed"] if choices.resume(runner, member) else p["not_paused"]], ""
    if action == "export":
        wait = member_requests.send_my_data(runner, member)
        if wait is not None:
            return 429, [p["data_later"].format(when=date_and_time(wait, lang))], ""
        return 200, [p["data_sent"]], ""
    if action == "report":
        text = _one(form, "text")
        try:
            wait = member_requests.report_error(runner, member, text)
        except Refused as exc:
            raise _Kept(exc, text) from None
        if wait is not None:
            return 429, [p["report_later"].format(when=date_and_time(wait, lang))], text
        return 200, [p["report_sent"]], ""
    raise Refused("action")


class _Kept(Exception):
    """A refusal that keeps what the member wrote in the form."""

    def __init__(self, refused: Refused, text: str):
        self.refused, self.text = refused, text


def _refusal(runner: Runner, refused: Refused, lang: str) -> str:
    p = words(lang)
    key = REFUSALS.get(refused.reason, "action_refused")
    what = category_labels.label(runner.project.config, refused.detail, lang) if refused.detail else ""
    return p[key].format(what=what)


def _bad(runner: Runner, status: int = 400) -> Response:
    org = runner.project.config.organisation
    t = pages.texts(org.language)
    text = t["bad_link_text"].format(contact=(org.reply_to or org.sender).email)
    return page(pages.message(org.language, org.name, t["bad_link"], text), status)


def handle(projects: Projects, token: str, form: Form | None, method: str, same_origin: bool) -> Response:
    with projects.runner() as runner:
        try:
            click = clicks.verify(runner.signer(), token, "i", runner.now.date())
        except clicks.BadLink as exc:
            log.info("preference link refused: %s", exc)
            return _bad(runner)
        who = clicks.who(runner, click.member_id)
        org = runner.project.config.organisation
        if who.member is None:
            t = pages.texts(who.language)
            text = t["not_found_text"].format(contact=(org.reply_to or org.sender).email)
            return page(pages.message(who.language, org.name, t["not_found"], text), 404)
        v = choices.view(runner, who.member)
        p = words(v.language)
        if method in ("GET", "HEAD"):
            return page(page_html(runner, token, v, []))
        if form is None:
            return page(pages.message(v.language, org.name, p["title"], p["too_large"]), 413)
        expected = csrf_value(runner.signer().secret, token)
        if not same_origin or not hmac.compare_digest(expected, _one(form, "csrf")):
            log.info("preference POST refused: no valid CSRF value or another origin")
            return page(pages.message(v.language, org.name, p["title"], p["forged"]), 403)
        kept = ""
        try:
            status, said, kept = act(runner, v, form)
            error = ""
        except (Refused, _Kept) as exc:
            refused, kept = (exc.refused, exc.text) if isinstance(exc, _Kept) else (exc, "")
            log.info("preference POST refused: %s", refused.reason)
            status, said, error = 400, [], _refusal(runner, refused, v.language)
        fresh = choices.view(runner, who.member)
        return page(page_html(runner, token, fresh, said, error, kept), status)


def handle_confirm(
    projects: Projects, token: str, form: Form | None, method: str, same_origin: bool
) -> Response:
    with projects.runner() as runner:
        try:
            click = clicks.verify(runner.signer(), token, "c", runner.now.date())
        except clicks.BadLink as exc:
            log.info("confirmation link refused: %s", exc)
            return _bad(runner)
        request = runner.state.resubscriptions.find(click.subject)
        if request is None or request.member_id != click.member_id:
            log.info("confirmation link refused: no such request")
            return _bad(runner)
        who = clicks.who(runner, click.member_id)
        lang = "nn" if who.language == "nn" else "nb"
        if who.member is not None:
            lang = choices.view(runner, who.member).language
        p, org = words(lang), runner.project.config.organisation.name
        if request.confirmed_at is not None:
            return page(pages.message(lang, org, p["already"], p["already_text"]), 410)
        if runner.now >= request.expires_at:
            return page(pages.message(lang, org, p["expired"], p["expired_text"]), 410)
        standing = runner.state.resubscriptions.standing(request)
        if not standing:
            return _replaced(runner, request.categories, lang)
        csrf = csrf_value(runner.signer().secret, token)
        if method in ("GET", "HEAD"):
            what, replaced = _what(runner, request.categories, standing, lang)
            shown = {"org": org, "title": p["confirm_title"], "what": what, "replaced": replaced}
            return page(render("confirm.html", lang, csrf=csrf, **shown))
        if form is None or not same_origin or not hmac.compare_digest(csrf, _one(form, "csrf")):
            log.info("confirmation POST refused: no valid CSRF value or another origin")
            return page(pages.message(lang, org, p["confirm_title"], p["forged"]), 403)
        outcome, counted = confirmation.confirm(runner, request.nonce)
        if outcome == "confirmed":
            what, replaced = _what(runner, request.categories, counted, lang)
            text = p["confirmed_text"].format(what=what)
            return page(pages.message(lang, org, p["confirmed"], text, *([replaced] if replaced else [])))
        if outcome == "already":
            return page(pages.message(lang, org, p["already"], p["already_text"]), 410)
        if outcome == "replaced":
            return _replaced(runner, request.categories, lang)
        return page(pages.message(lang, org, p["expired"], p["expired_text"]), 410)


def _what(runner: Runner, asked: list[str], counted: list[str], lang: str) -> tuple[str, str]:
    """What a confirmation brings back, and the sentence on what a newer choice kept off ("": nothing)."""
    config = runner.project.config
    kept_off = [c for c in asked if c not in counted]
    replaced = words(lang)["replaced_some"].format(what=category_labels.both(config, kept_off)[lang])
    return category_labels.both(config, counted)[lang], replaced if kept_off else ""


def _replaced(runner: Runner, asked: list[str], lang: str) -> Response:
    """The member said no again after asking to come back: their newest choice stands."""
    p, org = words(lang), runner.project.config.organisation.name
    text = p["replaced_text"].format(what=category_labels.both(runner.project.config, asked)[lang])
    return page(pages.message(lang, org, p["replaced"], text), 410)


async def _read(request: Request) -> Form | None:
    """The POST's fields, every value of each (checkboxes repeat a name); None when too large."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    return urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)


def routes(projects: Projects) -> list[Route]:
    def endpoint(handler: Callable[..., Response]) -> Callable[[Request], object]:
        async def serve(request: Request) -> Response:
            form = await _read(request) if request.method == "POST" else None
            token = request.path_params["token"]
            return await run_in_threadpool(
                handler, projects, token, form, request.method, same_origin(request)
            )

        return serve

    return [
        Route("/i/{token}", endpoint(handle), methods=["GET", "POST"]),
        Route("/c/{token}", endpoint(handle_confirm), methods=["GET", "POST"]),
    ]
