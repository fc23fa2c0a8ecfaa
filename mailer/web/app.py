"""The HTTP layer: routes, forms, login and headers; what a request means lives in links, clicks and board.

Unsubscribe (`/u/TOKEN`): GET shows a page with a choice and a button, so that link scanners
unsubscribe nobody; a POST with `List-Unsubscribe=One-Click` (RFC 8058) unsubscribes from
the link's category at once and answers 200. RSVP (`/r/TOKEN/yes|no`): GET asks, POST
records, for the same reason: scanners that fetch every link would otherwise answer both.
The board's pages (`/board`) sit behind HTTP Basic auth with scrypt-hashed passwords.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import math
import threading
import urllib.parse
from importlib import resources
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from mailer.delivery import approvals
from mailer.delivery.runner import Runner
from mailer.errors import UserError
from mailer.project.dates import date_and_time
from mailer.project.mailings import KIND_NAMES
from mailer.reports import command as reports
from mailer.web import archive, board, consultation, event_board, pages, preferences, registration
from mailer.web.headers import DropTrailingSlash, SecurityHeaders, same_origin
from mailer.web.limits import RateLimit, SlidingWindow, client_of
from mailer.web.links import MemberLinks
from mailer.web.passwords import dummy_hash, verify_password
from mailer.web.projects import Projects
from mailer.web.responses import FORM_HEADERS, TooLarge, page, read_form

log = logging.getLogger("mailer.web")
LOGIN_FAILURES = (10, 300.0)  # per client: this many wrong passwords in this many seconds, then 429
STATIC = {"board.js": "text/javascript", "board.css": "text/css"}
NOT_SHOWN = "Utsendingen finnes ikke eller kan ikke vises"  # then the reason, as `mailer` gives it


class Web:
    """The application's state: the project, failed logins, and logins already checked."""

    def __init__(self, root: Path):
        self.projects = Projects(root)
        self.failures = SlidingWindow(*LOGIN_FAILURES)
        self._lock = threading.Lock()
        self._verified: dict[bytes, str] = {}

    # -- the board ---------------------------------------------------------------------------

    def login(self, request: Request) -> str | Response:
        """The board member's name, or the 401/429 to answer with."""
        project = self.projects.current()
        users = project.settings.board_users
        client = client_of(request.scope)
        with self._lock:
            wait = self.failures.retry_after(client)
        if wait:
            retry = str(max(1, math.ceil(wait)))
            html = pages.locked_out(project.config.organisation.name, wait)
            return page(html, 429, pages.BOARD_CSP, **{"Retry-After": retry})
        base_url = project.config.organisation.base_url or ""
        if _plain_http(request) and base_url.startswith("https://"):
            return self._https_only(project.config.organisation.name, base_url)
        name, password = _basic(request.headers.get("authorization"))
        if name is not None and password is not None and name not in users:
            verify_password(password, dummy_hash())  # as slow as a wrong password: no name oracle
        if name is not None and password is not None and name in users:
            key = hashlib.sha256(f"{name}\0{password}\0{users[name]}".encode()).digest()
            with self._lock:
                if self._verified.get(key) == name:
                    return name
            try:
                good = verify_password(password, users[name])
            except ValueError:
                log.warning("MAILER_BOARD_USERS: the hash for %r is not from `mailer hash-password`", name)
                good = False
            if good:
                with self._lock:
                    if len(self._verified) > 256:
                        self._verified.clear()
                    self._verified[key] = name
                return name
        if name is not None:
            with self._lock:
                self.failures.hit(client)
            # An unknown name is not logged: it is often the password typed into the name field.
            log.warning(
                "board login failed for %s from %s",
                repr(name) if name in users else "an unknown name",
                client,
            )
        org = project.config.organisation.name
        text = "Siden er bare for styremedlemmer. Logg inn med navnet og passordet du har fått."
        if not users:
            text = "Ingen styremedlemmer er satt opp ennå (MAILER_BOARD_USERS)."
        return page(
            pages.message("nb", org, "Logg inn", text),
            401,
            pages.BOARD_CSP,
            **{"WWW-Authenticate": 'Basic realm="mailer board", charset="UTF-8"'},
        )

    def _https_only(self, org: str, base_url: str) -> Response:
        """No password prompt over plain HTTP: Basic sends the password in clear with every request,
        so the board is asked for it only on the https address the proxy publishes."""
        text = f"Styresidene åpnes bare over en sikker forbindelse: {base_url.rstrip('/')}/board"
        return page(pages.message("nb", org, "Bruk https", text), 403, pages.BOARD_CSP)

    def csrf(self, runner: Runner, user: str, mailing_id: str, fingerprint: str) -> str:
        data = f"approve\0{user}\0{mailing_id}\0{fingerprint}".encode()
        return hmac.new(runner.signer().secret, data, hashlib.sha256).hexdigest()[:32]

    def board_list(self, request: Request) -> Response:
        user = self.login(request)
        if isinstance(user, Response):
            return user
        days = _int(request.query_params.get("days"), 30, 1, 400)
        with self.projects.runner() as r:
            org = r.project.config.organisation.name
            try:
                listing = board.upcoming(r, days)
            except UserError as exc:
                return self._board_error(org, user, f"Listen kan ikke vises: {exc}", 500)
            html = pages.render(
                "board_list.html",
                org=org,
                user=user,
                title="Utsendinger",
                rows=listing.rows,
                problems=listing.problems,
                days=days,
            )
            return page(html, csp=pages.BOARD_CSP)

    def board_preview(self, request: Request, mailing_id: str, message: str = "") -> Response:
        user = self.login(request)
        if isinstance(user, Response):
            return user
        lang = "nn" if request.query_params.get("lang") == "nn" else "nb"
        with self.projects.runner() as r:
            org = r.project.config.organisation.name
            try:
                shown = board.preview(r, mailing_id, lang, record=False)
            except UserError as exc:
                return self._board_error(org, user, f"{NOT_SHOWN}: {exc}", 404)
            m = shown.mailing
            approvers = board.approvers(r, m.id, shown.fingerprint)
            if request.query_params.get("approved") and approvals.key(user) in map(approvals.key, approvers):
                message = "Godkjenningen din er registrert."
            html = pages.render(
                "board_preview.html",
                org=org,
                user=user,
                title=m.id,
                lang=lang,
                mailing_id=m.id,
                subject=shown.copy.subject,
                kind=KIND_NAMES.get(m.kind, m.kind),
                send_at=date_and_time(m.send_at),
                audience=m.audience.name,
                fingerprint=shown.fingerprint,
                required=m.approvals_required if m.needs_approval else 0,
                approvers=approvers,
                csrf=self.csrf(r, user, m.id, shown.fingerprint),
                text=shown.copy.text,
                message=message,
            )
            return page(html, csp=pages.BOARD_CSP, **FORM_HEADERS)  # the approval form checks Origin

    def board_html(self, request: Request, lang: str, mailing_id: str) -> Response:
        user = self.login(request)
        if isinstance(user, Response):
            return user
        with self.projects.runner() as r:
            try:
                shown = board.preview(r, mailing_id, "nn" if lang == "nn" else "nb", record=False)
            except UserError as exc:
                return self._board_error(r.project.config.organisation.name, user, f"{NOT_SHOWN}: {exc}", 404)
            wanted = request.query_params.get("fp")
            if wanted is not None and wanted != shown.fingerprint:  # the page around it showed other content
                text = f"{shown.mailing.id} er endret siden siden ble lastet. Last siden på nytt."
                return self._board_error(r.project.config.organisation.name, user, text, 409)
            return page(shown.copy.html, csp=pages.PREVIEW_CSP)

    def board_approve(self, request: Request, mailing_id: str, form: dict[str, str]) -> Response:
        user = self.login(request)
        if isinstance(user, Response):
            return user
        with self.projects.runner() as r:
            org = r.project.config.organisation.name
            fingerprint = form.get("fingerprint", "")
            expected = self.csrf(r, user, mailing_id, fingerprint)
            if not hmac.compare_digest(expected.encode(), form.get("csrf", "").encode()) or not same_origin(
                request
            ):
                text = "Skjemaet kom ikke fra denne siden. Last siden på nytt og prøv igjen."
                return self._board_error(org, user, text, 403)
            try:
                new = board.approve(r, mailing_id, fingerprint, user)
            except board.Refused as exc:
                return self._board_error(org, user, str(exc), 409)
            except UserError as exc:
                return self._board_error(org, user, f"{NOT_SHOWN}: {exc}", 404)
            log.info("%s approved %s (fingerprint %s, new: %s)", user, mailing_id, fingerprint, new)
        target = f"/board/m/{urllib.parse.quote(mailing_id)}?approved=1"
        return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})

    def board_reports(self, request: Request) -> Response:
        user = self.login(request)
        if isinstance(user, Response):
            return user
        with self.projects.runner() as r:
            return page(reports.board_page(r.project, r.state.figures, r.members, r.now), csp=pages.BOARD_CSP)

    def _board_error(self, org: str, user: str, text: str, status: int) -> Response:
        return page(pages.message("nb", org, "Det gikk ikke", text), status, pages.BOARD_CSP)


def _int(text: str | None, default: int, low: int, high: int) -> int:
    try:
        return min(max(int(text or default), low), high)
    except ValueError:
        return default


def _plain_http(request: Request) -> bool:
    """The browser reached the proxy over plain HTTP: a trusted proxy said so in X-Forwarded-Proto
    (uvicorn takes the scheme from it only for MAILER_WEB_TRUSTED_PROXIES)."""
    return request.url.scheme == "http" and "x-forwarded-proto" in request.headers


def _basic(header: str | None) -> tuple[str | None, str | None]:
    if not header or not header.lower().startswith("basic "):
        return None, None
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True)
    except (binascii.Error, ValueError):
        return "", None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    name, sep, password = text.partition(":")
    return (name, password) if sep else (name, None)


def create_app(root: Path) -> Starlette:
    web = Web(root)
    links = MemberLinks(web.projects)
    project = web.projects.current()

    async def healthz(request: Request) -> Response:
        return Response("ok\n", media_type="text/plain")

    async def home(request: Request) -> Response:
        org = web.projects.current().config.organisation.name
        text = "Her melder medlemmer seg av og svarer på invitasjoner, med lenkene i e-postene fra oss."
        return page(pages.message("nb", org, org, text))

    async def unsubscribe(request: Request) -> Response:
        if request.method == "GET" and web.projects.settled():
            return links.unsubscribe(request.path_params["token"], None)
        form = None
        if request.method == "POST":
            try:
                form = await read_form(request)
            except TooLarge:
                return Response("too large\n", 413, media_type="text/plain")
        return await run_in_threadpool(links.unsubscribe, request.path_params["token"], form)

    async def rsvp(request: Request) -> Response:
        answer = request.path_params["answer"]
        if answer not in ("yes", "no"):
            return Response("not found\n", 404, media_type="text/plain")
        if request.method == "POST":
            try:
                await read_form(request)
            except TooLarge:
                return Response("too large\n", 413, media_type="text/plain")
        token = request.path_params["token"]
        if request.method == "GET" and web.projects.settled():
            return links.rsvp(token, answer, False)
        return await run_in_threadpool(links.rsvp, token, answer, request.method == "POST")

    async def board_list(request: Request) -> Response:
        return await run_in_threadpool(web.board_list, request)

    async def board_preview(request: Request) -> Response:
        return await run_in_threadpool(web.board_preview, request, request.path_params["mailing_id"])

    async def board_html(request: Request) -> Response:
        p = request.path_params
        return await run_in_threadpool(web.board_html, request, p["lang"], p["mailing_id"])

    async def board_approve(request: Request) -> Response:
        try:
            form = await read_form(request)
        except TooLarge:
            return Response("too large\n", 413, media_type="text/plain")
        return await run_in_threadpool(web.board_approve, request, request.path_params["mailing_id"], form)

    async def board_reports(request: Request) -> Response:
        return await run_in_threadpool(web.board_reports, request)

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC:
            return Response("not found\n", 404, media_type="text/plain")
        data = (resources.files("mailer.web") / "static" / name).read_bytes()
        return Response(data, media_type=STATIC[name], headers={"Cache-Control": "max-age=300"})

    routes = [
        Route("/", home),
        Route("/healthz", healthz),
        Route("/u/{token}", unsubscribe, methods=["GET", "POST"]),
        Route("/r/{token}/{answer}", rsvp, methods=["GET", "POST"]),
        Route("/board", board_list),
        Route("/board/m/{mailing_id:path}", board_preview),
        Route("/board/html/{lang}/{mailing_id:path}", board_html),
        Route("/board/approve/{mailing_id:path}", board_approve, methods=["POST"]),
        Route("/board/rapporter", board_reports),
        Route("/static/{name}", static),
        *consultation.routes(web.projects, page),
        *registration.routes(web.projects, page),
        *preferences.routes(web.projects),
        *consultation.board_routes(web.login, web.projects, page),
        *event_board.routes(web.login, web.projects, page),
        *archive.routes(web.projects),
    ]

    async def broken(request: Request, exc: Exception) -> Response:
        log.error("the project cannot be used: %s", exc)
        text = "Tjenesten er midlertidig utilgjengelig. Prøv igjen senere."
        return page(pages.message("nb", "mailer", "Prøv igjen senere", text), 503, **{"Retry-After": "300"})

    async def failed(request: Request, exc: Exception) -> Response:
        """A fault of ours: a page with every security header (Starlette's own has none); the
        server's log keeps the traceback."""
        text = "Noe gikk galt hos oss. Prøv igjen senere."
        return page(pages.message("nb", "mailer", "Noe gikk galt", text), 500)

    limit = Middleware(
        RateLimit,
        per_minute=project.settings.web_requests_per_minute,
        org=project.config.organisation.name,
    )
    middleware = [Middleware(SecurityHeaders), limit, Middleware(DropTrailingSlash)]
    handlers = {UserError: broken, Exception: failed}
    app = Starlette(routes=routes, middleware=middleware, exception_handlers=handlers)
    app.router.redirect_slashes = False
    return app
