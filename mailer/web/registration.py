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

import threading
from collections.abc import Callable

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mailer.project.event_config import ID
from mailer.web import pages
from mailer.web.headers import same_origin
from mailer.web.limits import SlidingWindow, client_of
from mailer.web.projects import Projects
from mailer.web.registration_member import csrf_value, personal
from mailer.web.registration_pages import texts
from mailer.web.registration_public import public
from mailer.web.registration_view import Answer
from mailer.web.responses import FORM_HEADERS, TooLarge, read_form

__all__ = ["csrf_value", "routes"]
PUBLIC_SENDS_PER_HOUR = 10
"""Public forms one client may send an hour: each can mail a stranger, so a robot gets few."""


def routes(projects: Projects, page: Callable[..., Response]) -> list[Route]:
    """`/p/{key}`: GET shows, POST acts; the messages a POST decided go out after the answer."""
    public_sends = SlidingWindow(PUBLIC_SENDS_PER_HOUR, 3600.0)
    lock = threading.Lock()

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
        if form is not None and ID.fullmatch(key):
            with lock:
                wait = public_sends.hit(client_of(request.scope))
            if wait:
                org = projects.current().config.organisation.name
                return page(pages.too_many(org), 429, **{"Retry-After": str(int(wait) + 1)})
        answer = await run_in_threadpool(handle, key, form, same_origin(request))
        response = page(answer.html, answer.status, **FORM_HEADERS)  # its forms' Origin is checked
        if answer.delivery_ids:
            response.background = BackgroundTask(send_now, answer.delivery_ids)
        return response

    return [Route("/p/{key}", endpoint, methods=["GET", "POST"])]
