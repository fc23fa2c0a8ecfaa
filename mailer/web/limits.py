"""Requests per client, limited: a sliding window in memory, one process, no shared store.

The client is the address uvicorn reports; behind a reverse proxy that is the address the
proxy forwarded (uvicorn's proxy headers, trusted only from MAILER_WEB_TRUSTED_PROXIES). An
IPv6 client counts by its /64 network: one subscriber line gets a /64 and could otherwise
take a new address for every request. Memory stays bounded under a flood of distinct
clients: only clients that made a request are kept, at most MAX_CLIENTS, and the oldest
tenth goes at once when the limit is passed (so a flood costs no scan per request).
"""

from __future__ import annotations

import ipaddress
import itertools
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]
MAX_CLIENTS = 10_000


class SlidingWindow:
    """At most `limit` events per `window` seconds per key."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic):
        self.limit, self.window, self.clock = limit, window, clock
        self.hits: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        hits = self.hits.get(key)
        if hits is None:
            return deque()  # a client that only asks is not remembered
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        return hits

    def retry_after(self, key: str) -> float:
        """Seconds until `key` may go on; 0 if it may now (nothing is counted)."""
        now = self.clock()
        hits = self._recent(key, now)
        return 0.0 if len(hits) < self.limit else hits[0] + self.window - now

    def hit(self, key: str) -> float:
        """Count one event; returns `retry_after` as it was before (0: allowed and counted)."""
        wait = self.retry_after(key)
        if wait == 0:
            self.hits.setdefault(key, deque()).append(self.clock())
            if len(self.hits) > MAX_CLIENTS:
                self._forget_idle()
        return wait

    def _forget_idle(self) -> None:
        now = self.clock()
        for key in [k for k, v in self.hits.items() if not v or v[-1] <= now - self.window]:
            del self.hits[key]
        if len(self.hits) > MAX_CLIENTS:  # a flood of distinct clients: the oldest tenth goes
            for key in list(itertools.islice(self.hits, len(self.hits) - MAX_CLIENTS * 9 // 10)):
                del self.hits[key]


def client_of(scope: Scope) -> str:
    client = scope.get("client")
    if not client:
        return "unknown"
    host = str(client[0])
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return host


class RateLimit:
    """ASGI middleware: 429 with Retry-After once a client has used up its window."""

    def __init__(self, app: ASGIApp, per_minute: int, org: str, exempt: tuple[str, ...] = ("/healthz",)):
        self.app, self.org = app, org
        self.window = SlidingWindow(per_minute, 60.0)
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        wait = self.window.hit(client_of(scope))
        if wait == 0:
            await self.app(scope, receive, send)
            return
        from mailer.web import pages

        body = pages.too_many(self.org).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"text/html; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(max(1, math.ceil(wait))).encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
