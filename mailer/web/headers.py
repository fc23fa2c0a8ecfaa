"""ASGI middleware: security headers on every response, and a trailing slash dropped safely.

Routes set their own policy (`pages.page`); anything else (404, 413, 429, a static file)
gets the strictest one here, so no response leaves without CSP, nosniff and frame-ancestors.
Starlette's own slash redirect builds an absolute URL from the Host header, which a
client chooses; this one answers with a path only.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from starlette.requests import Request

from mailer.web.limits import ASGIApp, Scope

STRICT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
DEFAULTS = {
    b"content-security-policy": STRICT_CSP.encode(),
    b"x-content-type-options": b"nosniff",
    b"x-frame-options": b"DENY",
    b"referrer-policy": b"no-referrer",
}


def same_origin(request: Request) -> bool:
    """A form's POST came from a page of this server: its Origin names this host, or it has none
    (an HTTP client; the CSRF value still has to match). `Origin: null` (a page sent with
    no-referrer, a sandboxed frame, a file) is refused: form pages send Referrer-Policy same-origin."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urllib.parse.urlsplit(origin).netloc == request.headers.get("host")


class SecurityHeaders:
    """Adds each of `DEFAULTS` that a response does not set itself."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in DEFAULTS.items() if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def slash_target(path: str, query: str) -> str | None:
    """Where `path/` should go instead: a path on this server, never another host (`//evil`)."""
    if path == "/" or not path.endswith("/"):
        return None
    target = "/" + path.strip("/")
    return urllib.parse.quote(target) + (f"?{query}" if query else "")


class DropTrailingSlash:
    """`/board/` → 308 to `/board`, with a relative Location."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":  # lifespan has no path
            await self.app(scope, receive, send)
            return
        target = slash_target(scope["path"], scope.get("query_string", b"").decode("latin-1"))
        if target is None:
            await self.app(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 308,
                "headers": [
                    (b"location", target.encode("latin-1")),
                    (b"content-length", b"0"),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})
