"""Public files of sent newsletters: hosted pictures under `/bilder/NAME`.

A picture's name is the hash of its bytes, so it never changes content and may be cached
for a year; names are checked against that shape, so no request reaches outside the folder.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mailer import pictures

_TYPES = {"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif"}


def picture_route(state_dir: Callable[[], Path]) -> Route:
    """`/bilder/NAME`, served from the state folder's `pictures/`."""

    async def picture(request: Request) -> Response:
        name = request.path_params["name"]
        if not pictures.NAME.fullmatch(name):
            return Response("not found\n", 404, media_type="text/plain")
        path = state_dir() / "pictures" / name
        try:
            data = await run_in_threadpool(path.read_bytes)
        except OSError:
            return Response("not found\n", 404, media_type="text/plain")
        return Response(
            data,
            media_type=_TYPES[name.rsplit(".", 1)[1]],
            headers={"Cache-Control": "public, max-age=31536000, immutable"},
        )

    return Route("/bilder/{name}", picture)
