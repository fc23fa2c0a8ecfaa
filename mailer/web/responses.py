"""What every handler shares: an HTML answer with the right headers, and a POST body read with a cap."""

from __future__ import annotations

import functools
import re
import urllib.parse
from email.parser import BytesParser
from email.policy import HTTP

from starlette.requests import Request
from starlette.responses import HTMLResponse

from mailer.web import pages

MAX_FORM_BYTES = 16_384
FORM_HEADERS = {"Referrer-Policy": "same-origin"}
"""For a page with a form whose POST must come from this site (`Origin` is checked: /h/, /i/,
/c/, /p/, the board's approval and check-in). With no referrer at all Chromium posts such a
form with `Origin: null`, which the check refuses like another site's form; `same-origin` lets
the browser name this site, and still tells no other site anything (the token stays here)."""


_NUMBER = re.compile(r"[0-9]{1,18}")


def form_number(text: str | None) -> int | None:
    """A whole number a form sends back (a row id, a minute), or None: only ASCII digits, and
    few enough that a database integer holds it (`int` takes '²' and a thousand digits)."""
    return int(text) if text and _NUMBER.fullmatch(text) else None


def page(html: str, status: int = 200, csp: str = pages.MEMBER_CSP, **headers: str) -> HTMLResponse:
    return _Page(html, status, _encoded(csp, tuple(headers.items())))  # type: ignore[arg-type]


@functools.lru_cache(maxsize=64)
def _encoded(csp: str, extra: tuple[tuple[str, str], ...]) -> tuple[tuple[bytes, bytes], ...]:
    """The header block of a page with this policy, encoded once, not at every click."""
    frame = "SAMEORIGIN" if "frame-ancestors 'self'" in csp else "DENY"
    headers = {
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": frame,
        "Content-Security-Policy": csp,
        **dict(extra),
    }
    return tuple((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items())


class _Page(HTMLResponse):
    def init_headers(self, headers: tuple[tuple[bytes, bytes], ...]) -> None:  # type: ignore[override]
        length = (b"content-length", str(len(self.body)).encode())
        self.raw_headers = [*headers, length, (b"content-type", b"text/html; charset=utf-8")]


class TooLarge(Exception):
    pass


async def read_form(request: Request) -> dict[str, str]:
    """The form fields of a POST, urlencoded or multipart (RFC 8058 allows both); first value wins."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise TooLarge
    ctype = request.headers.get("content-type", "")
    fields: dict[str, str] = {}
    if ctype.lower().startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {ctype}\r\n\r\n".encode() + body)
        for part in message.iter_parts() if message.is_multipart() else ():
            name = part.get_param("name", header="content-disposition")
            if isinstance(name, str) and name not in fields:
                payload = part.get_payload(decode=True) or b""
                fields[name] = payload.decode("utf-8", "replace").strip()
        return fields
    for name, value in urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        fields.setdefault(name, value.strip())
    return fields
