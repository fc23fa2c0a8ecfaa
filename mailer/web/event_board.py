"""The board's view of events (`/board/p`): places and the waiting list, and a check-in button per person.

Behind the board's login. Looking changes nothing; a check-in is a POST with a CSRF value tied
to the board member and the event, recorded under the board member's name. Answers to the
questions are not shown here (the date of birth goes only into `mailer event export`).
"""

from __future__ import annotations

import hashlib
import hmac
import urllib.parse
from collections.abc import Callable
from functools import cache

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from mailer.errors import UserError
from mailer.events import organiser
from mailer.project.dates import date_year_and_time
from mailer.web import pages
from mailer.web.headers import same_origin
from mailer.web.projects import Projects
from mailer.web.responses import FORM_HEADERS, TooLarge, form_number, read_form

LIST = """{% extends "board_base.html" %}{% block main %}<h1>Arrangementer med påmelding</h1>
<table><thead><tr><th>Arrangement</th><th>Når</th><th>Plasser</th><th>Venteliste</th><th>Møtt</th></tr></thead>
<tbody>{% for s in rows %}<tr><td><a href="/board/p/{{ s.name }}">{{ s.cfg.title }}</a></td>
<td>{{ when(s.start) }}{% if s.called_off %} (avlyst){% endif %}</td>
<td>{{ s.taken }}{% if s.cfg.capacity %} av {{ s.cfg.capacity }}{% endif %}</td>
<td>{{ s.counts.get("waiting", 0) }}</td><td>{{ s.checked_in }}</td></tr>
{% else %}<tr><td colspan="5">Ingen arrangementer.</td></tr>{% endfor %}</tbody></table>{% endblock %}"""
ONE = """{% extends "board_base.html" %}{% block main %}<h1>{{ s.cfg.title }}</h1>
<p>{{ when(s.start) }}. {{ s.taken }}{% if s.cfg.capacity %} av {{ s.cfg.capacity }}{% endif %} plasser tatt,
{{ s.counts.get("waiting", 0) }} på venteliste, {{ s.checked_in }} har møtt.</p>
{% if s.called_off %}<p class="notice">Avlyst {{ when(s.called_off.at.astimezone(s.start.tzinfo)) }}{% if
s.called_off.reason %}: {{ s.called_off.reason }}{% endif %}. {{ s.counts.get("called_off", 0) }} påmeldte
fikk beskjed.</p>{% endif %}
{% if message %}<p class="notice">{{ message }}</p>{% endif %}
<table><thead><tr><th>Navn</th><th>Status</th><th>Møtt</th></tr></thead><tbody>
{% for row in s.rows if row.registration.status in ("placed", "offered", "waiting", "unconfirmed") %}
{% set r = row.registration %}<tr><td>{{ r.name }}{% if r.guest %} (gjest){% endif %}</td>
<td>{{ names.get(r.status, r.status) }}{% if row.position %} nr. {{ row.position }}{% endif %}</td><td>
{% if r.status == "placed" %}<form method="post" action="/board/p/{{ s.name }}/checkin">
<input type="hidden" name="csrf" value="{{ csrf }}">
<input type="hidden" name="registration" value="{{ r.id }}">
{% if row.checked_in %}Ja <input type="hidden" name="undo" value="1"><button type="submit"
class="secondary">Angre</button>{% else %}<button type="submit">Sjekk inn</button>{% endif %}</form>
{% endif %}</td></tr>
{% else %}<tr><td colspan="3">{% if s.called_off %}Ingen påmeldinger står: arrangementet er avlyst.{% else
%}Ingen påmeldte ennå.{% endif %}</td></tr>{% endfor %}</tbody></table>{% endblock %}"""


@cache
def _env() -> jinja2.Environment:
    loader = jinja2.ChoiceLoader(
        [jinja2.DictLoader({"list.html": LIST, "one.html": ONE}), pages._env().loader]
    )  # type: ignore[list-item]
    return jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined)


def csrf_value(secret: bytes, user: str, event: str) -> str:
    return hmac.new(secret, f"checkin\0{user}\0{event}".encode(), hashlib.sha256).hexdigest()[:32]


def routes(
    login: Callable[[Request], str | Response], projects: Projects, page: Callable[..., Response]
) -> list[Route]:
    """`/board/p`, `/board/p/{event}` and the check-in, behind the board's login (`login` gives the
    board member's name, or the 401/429 to answer with)."""

    def show(request: Request, name: str | None, message: str = "") -> Response:
        user = login(request)
        if isinstance(user, Response):
            return user
        with projects.runner() as runner:
            org = runner.project.config.organisation.name
            context = {"org": org, "user": user, "title": "Påmeldinger", "when": date_year_and_time}
            try:
                if name is None:
                    rows = [organiser.status(runner, n) for n in runner.project.config.events]
                    html = _env().get_template("list.html").render(rows=rows, **context)
                else:
                    s = organiser.status(runner, name)
                    csrf = csrf_value(runner.signer().secret, user, name)
                    html = (
                        _env()
                        .get_template("one.html")
                        .render(s=s, csrf=csrf, names=organiser.STATUS_NAMES, message=message, **context)
                    )
            except UserError as exc:
                return page(pages.message("nb", org, "Det gikk ikke", str(exc)), 404, pages.BOARD_CSP)
            return page(html, csp=pages.BOARD_CSP, **FORM_HEADERS)  # the check-in form checks Origin

    def check_in(request: Request, name: str, form: dict[str, str]) -> Response:
        user = login(request)
        if isinstance(user, Response):
            return user
        with projects.runner() as runner:
            org = runner.project.config.organisation.name
            expected = csrf_value(runner.signer().secret, user, name)
            if not hmac.compare_digest(expected, form.get("csrf", "")) or not same_origin(request):
                text = "Skjemaet kom ikke fra denne siden. Last siden på nytt og prøv igjen."
                return page(pages.message("nb", org, "Det gikk ikke", text), 403, pages.BOARD_CSP)
            registration = form_number(form.get("registration"))
            refused = "Skjemaet nevnte ingen påmelding. Last siden på nytt og prøv igjen."
            if registration is not None:
                try:
                    organiser.check_in(runner, name, registration, user, bool(form.get("undo")))
                    refused = ""
                except UserError:  # the command line's words are English: the board reads these
                    refused = "Den påmeldingen har ikke plass (den kan være avmeldt). Last siden på nytt."
            if refused:
                return page(pages.message("nb", org, "Det gikk ikke", refused), 409, pages.BOARD_CSP)
        return RedirectResponse(
            f"/board/p/{urllib.parse.quote(name)}", status_code=303, headers={"Cache-Control": "no-store"}
        )

    async def listing(request: Request) -> Response:
        return await run_in_threadpool(show, request, None)

    async def one(request: Request) -> Response:
        return await run_in_threadpool(show, request, request.path_params["event"])

    async def checkin(request: Request) -> Response:
        try:
            form = await read_form(request)
        except TooLarge:
            return Response("too large\n", 413, media_type="text/plain")
        return await run_in_threadpool(check_in, request, request.path_params["event"], form)

    return [
        Route("/board/p", listing),
        Route("/board/p/{event}", one),
        Route("/board/p/{event}/checkin", checkin, methods=["POST"]),
    ]
