"""The public side of sent newsletters: `/arkiv` (a list by date), `/arkiv/ID[/nn]` (one
issue, the web version members' messages link to) and `/bilder/NAME` (hosted pictures).

What is shown was stored without personal data when the issue was sent (`mailer.archiving`).
Search engines are asked not to index it unless `organisation.archive_indexed` is true.
A picture's name is the hash of its bytes; names are checked against that shape, so no
request reaches outside the pictures folder.
"""

from __future__ import annotations

import html
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from mailer.project import pictures
from mailer.project.dates import long_date_year
from mailer.project.folder import Project
from mailer.state.archive import Archive
from mailer.web.projects import Projects

_TYPES = {"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif"}
_CSP = (
    "default-src 'none'; img-src 'self' https: data:; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
_LIST = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">{robots}
<title>{title} – {org}</title><style>body{{font-family:system-ui,Helvetica,Arial,sans-serif;margin:0;
background:{bg};color:{text};line-height:1.5}}header{{background:{primary};color:{on};padding:14px 20px;
font-weight:bold;font-size:19px}}main{{max-width:600px;margin:0 auto;padding:8px 20px 32px}}
a{{color:{primary}}}li{{margin:8px 0}}.date{{color:#555;font-size:15px}}</style></head>
<body><header>{org}</header><main><h1>{title}</h1>{items}</main></body></html>"""


def _not_found() -> Response:
    return Response("not found\n", 404, media_type="text/plain")


def _headers(indexed: bool) -> dict[str, str]:
    headers = {
        "Content-Security-Policy": _CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "public, max-age=300",
    }
    if not indexed:
        headers["X-Robots-Tag"] = "noindex"
    return headers


def list_page(project: Project, archive: Archive) -> Response:
    org = project.config.organisation
    issues = archive.issues()
    items = "".join(
        f'<li><a href="/arkiv/{html.escape(i.mailing_id)}">{html.escape(i.subject)}</a> '
        f'<span class="date">{long_date_year(i.sent_at.date(), "nb")}</span></li>'
        for i in issues
    )
    body = _LIST.format(
        lang="nb",
        robots="" if org.archive_indexed else '<meta name="robots" content="noindex">',
        title="Nyhetsbrev",
        org=html.escape(org.name),
        bg=org.colours.background,
        text=org.colours.text,
        primary=org.colours.primary,
        on=org.colours.on_primary,
        items=f"<ul>{items}</ul>" if items else "<p>Ingen nyhetsbrev er sendt ennå.</p>",
    )
    return HTMLResponse(body, headers=_headers(org.archive_indexed))


def issue_page(project: Project, archive: Archive, mailing_id: str, language: str) -> Response:
    org = project.config.organisation
    issue = archive.get(mailing_id, language)
    if issue is None:
        return _not_found()
    page = issue.html
    if not org.archive_indexed:
        page = page.replace("<head>", '<head><meta name="robots" content="noindex">', 1)
    return HTMLResponse(page, headers=_headers(org.archive_indexed))


def picture(state_dir: Path, name: str) -> Response:
    if not pictures.NAME.fullmatch(name):
        return _not_found()
    try:
        data = (state_dir / "pictures" / name).read_bytes()
    except OSError:
        return _not_found()
    return Response(
        data,
        media_type=_TYPES[name.rsplit(".", 1)[1]],
        headers={"Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff"},
    )


def routes(projects: Projects) -> list[Route]:
    """The archive's routes, reading the project as it is at each request."""

    def listing() -> Response:
        with projects.runner() as r:
            return list_page(r.project, r.state.archive)

    def issue(mailing_id: str, language: str) -> Response:
        with projects.runner() as r:
            return issue_page(r.project, r.state.archive, mailing_id, language)

    async def arkiv(request: Request) -> Response:
        return await run_in_threadpool(listing)

    async def one(request: Request) -> Response:
        p = request.path_params
        language = p.get("lang", "nb")
        if language not in ("nb", "nn"):
            return _not_found()
        return await run_in_threadpool(issue, p["mailing_id"], language)

    async def bilde(request: Request) -> Response:
        return await run_in_threadpool(picture, projects.current().state_dir, request.path_params["name"])

    return [
        Route("/arkiv", arkiv),
        Route("/arkiv/{mailing_id}", one),
        Route("/arkiv/{mailing_id}/{lang}", one),
        Route("/bilder/{name}", bilde),
    ]
