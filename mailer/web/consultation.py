"""The consultation form (`/h/TOKEN`): a chapter's leaders answer, see the answer that stands, change it.

The token names a member and a consultation; the member must still be in the export and in
the consultation's audience. The form is plain HTML (no JavaScript), carries a CSRF value
tied to the token and the version it was made from, and is read-only after the deadline.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mailer.answers import consultation_report as report
from mailer.answers.consultation_form import SCALE, check_answers, field_name
from mailer.delivery.consultation_reminders import unit_of
from mailer.delivery.runner import Runner
from mailer.errors import UserError
from mailer.project import consultations
from mailer.project.dates import date_and_time
from mailer.project.mailings import Consultation
from mailer.web import clicks, pages
from mailer.web.headers import same_origin
from mailer.web.responses import FORM_HEADERS, form_number

if TYPE_CHECKING:
    from mailer.web.projects import Projects

log = logging.getLogger("mailer.web")
MAX_BODY = 65_536

TEXTS = {
    "nb": {
        "deadline": "Svarfrist: {when}.",
        "per_chapter": "Svaret gjelder for {chapter}. Alle i lokallagets ledelse kan endre det til fristen.",
        "last": "Sist besvart av {name}, {when}.",
        "none_yet": "Ingen har svart ennå.",
        "send": "Send svaret",
        "change": "Lagre endringene",
        "required": "må besvares",
        "choose": "Velg",
        "scale_low": "1 = lite",
        "scale_high": "5 = mye",
        "thanks": "Takk! Svaret er registrert.",
        "conflict": "{name} lagret et svar {when}, mens du fylte ut skjemaet. Det er dette svaret som "
        "gjelder nå. Ditt svar er tatt vare på, men gjelder ikke: det står i skjemaet under. Sammenlign, "
        "og send det på nytt om det skal gjelde i stedet.",
        "standing": "Svaret som gjelder nå",
        "yours": "Ditt svar",
        "instead": "Send mitt svar i stedet",
        "fix": "Noe må rettes før svaret kan lagres.",
        "closed": "Fristen er ute",
        "closed_text": "Det er ikke lenger mulig å svare eller endre svaret. Her er svaret som gjelder.",
        "closed_none": "Det er ikke lenger mulig å svare. Det kom ikke noe svar før fristen.",
        "not_in_audience": "Du er ikke blant dem som svarer på denne høringen.",
        "too_large": "Svaret er for stort til å tas imot. Gjør tekstsvarene kortere.",
        "forged": "Skjemaet kom ikke fra denne siden. Åpne lenken i e-posten på nytt og prøv igjen.",
    },
    "nn": {
        "deadline": "Svarfrist: {when}.",
        "per_chapter": "Svaret gjeld for {chapter}. Alle i leiinga i lokallaget kan endre det til fristen.",
        "last": "Sist svart av {name}, {when}.",
        "none_yet": "Ingen har svart enno.",
        "send": "Send svaret",
        "change": "Lagre endringane",
        "required": "må svarast på",
        "choose": "Vel",
        "scale_low": "1 = lite",
        "scale_high": "5 = mykje",
        "thanks": "Takk! Svaret er registrert.",
        "conflict": "{name} lagra eit svar {when}, medan du fylte ut skjemaet. Det er dette svaret som "
        "gjeld no. Svaret ditt er teke vare på, men gjeld ikkje: det står i skjemaet under. Samanlikn, "
        "og send det på nytt om det skal gjelde i staden.",
        "standing": "Svaret som gjeld no",
        "yours": "Svaret ditt",
        "instead": "Send svaret mitt i staden",
        "fix": "Noko må rettast før svaret kan lagrast.",
        "closed": "Fristen er ute",
        "closed_text": "Det er ikkje lenger mogleg å svare eller endre svaret. Her er svaret som gjeld.",
        "closed_none": "Det er ikkje lenger mogleg å svare. Det kom ikkje noko svar før fristen.",
        "not_in_audience": "Du er ikkje blant dei som svarer på denne høyringa.",
        "too_large": "Svaret er for stort til å takast imot. Gjer tekstsvara kortare.",
        "forged": "Skjemaet kom ikkje frå denne sida. Opne lenkja i e-posten på nytt og prøv igjen.",
    },
}

FORM = """{% extends "base.html" %}{% block main %}<h1>{{ title }}</h1>
<p>{{ c.deadline.format(when=deadline) }}</p>
{% if chapter %}<p>{{ c.per_chapter.format(chapter=chapter) }}</p>{% endif %}
<p class="note">{% if last %}{{ c.last.format(name=last.member_name, when=last_when) }}
{%- else %}{{ c.none_yet }}{% endif %}</p>
{% if notice %}<p><strong>{{ notice }}</strong></p>{% endif %}
{% if standing %}<h2>{{ c.standing }}</h2>
{% for q in questions %}<p><strong>{{ loop.index }}. {{ q.text }}</strong><br>
<span style="white-space:pre-wrap">{{ standing.answers.get(q.id, "") or "–" }}</span></p>
{% endfor %}<h2>{{ c.yours }}</h2>{% endif %}
<form method="post">
<input type="hidden" name="csrf" value="{{ csrf }}">
<input type="hidden" name="based_on" value="{{ based_on }}">
{% for q in questions %}<fieldset><legend><strong>{{ loop.index }}. {{ q.text }}</strong>
{%- if q.required %} ({{ c.required }}){% endif %}</legend>
{% if errors.get(q.id) %}<p><strong>{{ errors[q.id] }}</strong></p>{% endif %}
{% set value = values.get(q.id, "") %}
{% if q.kind == "text" %}<textarea name="{{ field(q) }}" rows="5" maxlength="{{ q.max_length }}"
style="width:100%;font:inherit"{% if readonly %} readonly{% endif %}>{{ value }}</textarea>
{% elif q.kind == "choice" %}{% for option in q.options %}<label><input type="radio" name="{{ field(q) }}"
value="{{ option }}"{% if option == value %} checked{% endif %}{% if readonly %} disabled{% endif %}>
{{ option }}</label>{% endfor %}
{% else %}<p class="note">{{ c.scale_low }}, {{ c.scale_high }}</p>{% for n in scale %}<label
style="display:inline-block;margin-right:14px"><input type="radio" name="{{ field(q) }}" value="{{ n }}"
{%- if n == value %} checked{% endif %}{% if readonly %} disabled{% endif %}> {{ n }}</label>{% endfor %}
{% endif %}</fieldset>
{% endfor %}{% if not readonly %}<button type="submit">
{{- c.instead if standing else c.change if last else c.send }}</button>{% endif %}
</form>{% endblock %}"""


@cache
def _env() -> jinja2.Environment:
    loader = jinja2.ChoiceLoader([jinja2.DictLoader({"consultation.html": FORM}), pages._env().loader])  # type: ignore[list-item]
    return jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined)


def csrf_value(secret: bytes, token: str) -> str:
    return hmac.new(secret, f"consultation\0{token}".encode(), hashlib.sha256).hexdigest()[:32]


@dataclass
class Visit:
    """A verified link: who, which consultation, whose answer, and the answer standing now."""

    runner: Runner
    lang: str
    org: str
    consultation: Consultation
    title: str
    member_id: str
    member_name: str
    unit: str
    chapter: str | None


class Refused(Exception):
    def __init__(self, status: int, html: str):
        self.status, self.html = status, html


def visit(runner: Runner, token: str) -> Visit:
    project = runner.project
    org = project.config.organisation
    contact = (org.reply_to or org.sender).email
    bad = Refused(400, pages.message(org.language, org.name, *_bad(org.language, contact)))
    try:
        click = clicks.verify(runner.signer(), token, "h", runner.now.date())
    except clicks.BadLink as exc:
        log.info("consultation link refused: %s", exc)
        raise bad from None
    try:
        first = consultations.by_id(project, click.subject, runner.now)[0]
    except UserError as exc:
        log.info("consultation link refused: %s", exc)
        raise bad from None
    who = clicks.who(runner, click.member_id)
    t = pages.texts(who.language)
    member = who.member
    if member is None:
        text = t["not_found_text"].format(contact=contact)
        raise Refused(404, pages.message(who.language, org.name, t["not_found"], text))
    if not any(True for _ in first.audience.select([member], runner.now.date())):
        text = TEXTS[_lang(who.language)]["not_in_audience"]
        raise Refused(403, pages.message(who.language, org.name, first.id, text))
    c = first.consultation
    assert c is not None
    unit = unit_of(c.answer_per, member)
    return Visit(
        runner,
        _lang(who.language),
        org.name,
        c,
        first.context["draft"].title or first.context["draft"].subject,
        member.id,
        member.name,
        unit,
        unit if unit == member.chapter else None,
    )


def _lang(language: str) -> str:
    return "nn" if language == "nn" else "nb"


def _bad(lang: str, contact: str) -> tuple[str, str]:
    t = pages.texts(lang)
    return t["bad_link"], t["bad_link_text"].format(contact=contact)


def form_page(
    v: Visit,
    token: str,
    values: dict[str, str] | None = None,
    conflict: bool = False,
    based_on: int | None = None,
    **extra: Any,
) -> str:
    """The form with `values` (default: the answer standing), made on top of the version
    `based_on` (default: the one standing). After a `conflict` it holds the leader's own answers,
    made on top of the answer standing now, which is shown above it: sent again, they replace
    that answer deliberately. A form sent back to be corrected keeps the version it came from,
    so an answer saved meanwhile is not overwritten unseen."""
    answers = v.runner.state.consultations
    last = answers.current(v.consultation.id, v.unit)
    readonly = not v.consultation.is_open(v.runner.now)
    c = TEXTS[v.lang]
    notice = extra.get("notice", "")
    standing = last if conflict and not readonly else None
    if standing is not None:
        when = date_and_time(standing.answered_at, v.lang)
        notice = c["conflict"].format(name=standing.member_name, when=when)
    if readonly:
        notice = c["closed_text"] if last else c["closed_none"]
    return (
        _env()
        .get_template("consultation.html")
        .render(
            lang=v.lang,
            t=pages.texts(v.lang),
            c=c,
            org=v.org,
            title=c["closed"] if readonly else v.title,
            deadline=v.consultation.deadline_label(v.lang),
            chapter=v.chapter,
            last=last,
            last_when=date_and_time(last.answered_at, v.lang) if last else "",
            questions=v.consultation.questions,
            values=values if values is not None else (last.answers if last else {}),
            errors=extra.get("errors", {}),
            notice=notice,
            standing=standing,
            readonly=readonly,
            csrf=csrf_value(v.runner.signer().secret, token),
            based_on=based_on if based_on is not None else last.id if last else 0,
            field=field_name,
            scale=SCALE,
        )
    )


def answer(v: Visit, token: str, form: dict[str, str], same_origin: bool) -> tuple[int, str]:
    """Record a POSTed form; returns the status and the page to show."""
    c = TEXTS[v.lang]
    if not v.consultation.is_open(v.runner.now):
        return 410, form_page(v, token)
    expected = csrf_value(v.runner.signer().secret, token)
    if not same_origin or not hmac.compare_digest(expected.encode(), form.get("csrf", "").encode()):
        return 403, pages.message(v.lang, v.org, v.title, c["forged"])
    based_on = form_number(form.get("based_on", "0"))
    based_on = -1 if based_on is None else based_on
    values, errors = check_answers(v.consultation.questions, form, v.lang)
    if errors:
        return 400, form_page(v, token, values, based_on=based_on, errors=errors, notice=c["fix"])
    answers = v.runner.state.consultations
    stands, _ = answers.record(
        v.consultation.id, v.unit, based_on, v.member_id, v.member_name, values, v.runner.now
    )
    if stands:
        return 200, form_page(v, token, notice=c["thanks"])
    return 409, form_page(v, token, values, conflict=True)


async def _read(request: Request) -> dict[str, str] | None:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return None
    fields: dict[str, str] = {}
    for name, value in urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        fields.setdefault(name, value)
    return fields


def routes(projects: Projects, page: Callable[..., Response]) -> list[Route]:
    """`/h/{token}`: GET shows the form, POST records; registered by the web app."""

    def handle(token: str, form: dict[str, str] | None, method: str, same_origin: bool) -> Response:
        with projects.runner() as runner:
            try:
                v = visit(runner, token)
            except Refused as exc:
                return page(exc.html, exc.status)
            if method in ("GET", "HEAD"):  # HEAD: the same answer, without its body
                return page(form_page(v, token), **FORM_HEADERS)
            if form is None:
                return page(pages.message(v.lang, v.org, v.title, TEXTS[v.lang]["too_large"]), 413)
            status, html = answer(v, token, form, same_origin)
            return page(html, status, **FORM_HEADERS)  # the form again, to correct or change

    async def endpoint(request: Request) -> Response:
        form = await _read(request) if request.method == "POST" else None
        token = request.path_params["token"]
        return await run_in_threadpool(handle, token, form, request.method, same_origin(request))

    return [Route("/h/{token}", endpoint, methods=["GET", "POST"])]


BOARD_LIST = """{% extends "board_base.html" %}{% block main %}<h1>Høringer</h1>
<table><thead><tr><th>Høring</th><th>Frist</th><th>Svart</th></tr></thead><tbody>
{% for s in rows %}<tr><td><a href="/board/h/{{ s.consultation.id }}">{{ s.consultation.id }}</a></td>
<td>{{ s.consultation.deadline_label() }}</td><td>{{ s.answered }} av {{ s.rows|length }}</td></tr>
{% else %}<tr><td colspan="3">Ingen høringer.</td></tr>{% endfor %}</tbody></table>{% endblock %}"""
BOARD_ONE = """{% extends "board_base.html" %}{% block main %}<h1>{{ s.consultation.id }}</h1>
<p>{{ s.answered }} av {{ s.rows|length }} {{ "lokallag" if s.consultation.answer_per == "chapter"
else "medlemmer" }} har svart. Frist: {{ s.consultation.deadline_label() }}.</p>
<table><thead><tr><th>{{ "Lokallag" if s.consultation.answer_per == "chapter" else "Medlem" }}</th>
<th>Svart av</th>{% for q in s.questions %}<th>{{ q.text }}</th>{% endfor %}</tr></thead><tbody>
{% for r in s.rows %}<tr><td>{{ r.label }}</td>
{% if r.answer %}<td>{{ r.answer.member_name }}<br>{{ when(r.answer.answered_at) }}</td>
{% for q in s.questions %}<td>{{ r.answer.answers.get(q.id, "") }}</td>{% endfor %}
{% else %}<td colspan="{{ s.questions|length + 1 }}">Ikke svart</td>{% endif %}</tr>
{% endfor %}</tbody></table>{% endblock %}"""


@cache
def _board_env() -> jinja2.Environment:
    own = jinja2.DictLoader({"list.html": BOARD_LIST, "one.html": BOARD_ONE})
    loader = jinja2.ChoiceLoader([own, pages._env().loader])  # type: ignore[list-item]
    return jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined)


def board_routes(
    login: Callable[[Request], str | Response], projects: Projects, page: Callable[..., Response]
) -> list[Route]:
    """`/board/h` and `/board/h/{id}`: the answers for the board, behind the board's login.

    `login` gives the board member's name, or the 401/429 to answer with (the app's own check).
    """

    def show(request: Request, consultation_id: str | None) -> Response:
        user = login(request)
        if isinstance(user, Response):
            return user
        with projects.runner() as runner:
            org = runner.project.config.organisation.name
            context = {"org": org, "user": user, "title": "Høringer", "when": date_and_time}
            try:
                if consultation_id is None:
                    rows = [report.status(runner, i) for i in report.consultation_ids(runner)]
                    html = _board_env().get_template("list.html").render(rows=rows, **context)
                else:
                    s = report.status(runner, consultation_id)
                    html = _board_env().get_template("one.html").render(s=s, **context)
            except UserError as exc:
                html, status = pages.message("nb", org, "Det gikk ikke", str(exc)), 404
                return page(html, status, pages.BOARD_CSP)
            return page(html, csp=pages.BOARD_CSP)

    async def listing(request: Request) -> Response:
        return await run_in_threadpool(show, request, None)

    async def one(request: Request) -> Response:
        return await run_in_threadpool(show, request, request.path_params["consultation_id"])

    return [Route("/board/h", listing), Route("/board/h/{consultation_id}", one)]
