"""DKIM: every message signed with the organisation's key, so that mailbox providers trust it.

Gmail, Yahoo and Outlook want bulk mail signed over the headers that matter, one-click
unsubscribe included, by the domain in From. The settings refuse a key that is configured
but unusable, so every command stops at start and nothing leaves unsigned by accident.

dkimpy signs with pure-Python RSA, about 9 ms a message: a send to thousands would spend
more time signing than sending. Here the key is parsed once per run and OpenSSL (through
`cryptography`) signs, about 0.5 ms; the canonicalisation follows RFC 6376 "relaxed" as
dkimpy implements it, and the tests hold every signature to dkimpy's verifier.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mailer.errors import UserError
from mailer.project.settings import read_private_key

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

    from mailer.project.settings import Settings

SIGNED_HEADERS = (
    "From",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "To",
    "MIME-Version",
    "Content-Type",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
)
"""Each is listed twice in h= (oversigned), so that a copy added on the way, above or below,
or a header added where a message has none (List-Id on an invitation), breaks the signature."""

CRLF = b"\r\n"
_WIDTH = 72


def sealer(settings: Settings, sender_domain: str) -> Callable[[bytes], bytes] | None:
    """What signs one message's bytes, or None when DKIM is not configured."""
    key, selector = settings.dkim_private_key, settings.dkim_selector
    if key is None or not selector:
        return None
    domain = settings.dkim_domain or sender_domain
    try:
        stat = key.stat()
    except OSError as exc:
        raise UserError(f"MAILER_DKIM_PRIVATE_KEY: cannot read {key}: {exc.strerror or exc}") from None
    return _sealer(str(key), stat.st_mtime_ns, stat.st_size, selector, domain)


@functools.lru_cache(maxsize=4)
def _sealer(path: str, mtime: int, size: int, selector: str, domain: str) -> Sealer:
    return Sealer(read_private_key(Path(path)), selector, domain)


class Sealer:
    """Signs messages for one key, selector and domain: rsa-sha256, relaxed/relaxed.

    What is the same for every message (the parsed key, h=, the fixed tags) is made once.
    """

    def __init__(
        self,
        key: RSAPrivateKey,
        selector: str,
        domain: str,
        headers: tuple[str, ...] = SIGNED_HEADERS * 2,
    ) -> None:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        self._key = key
        self._padding = padding.PKCS1v15()
        self._hash = hashes.SHA256()
        self._wanted = tuple(h.lower().encode() for h in headers)
        self._head = (
            f"v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain}; i=@{domain}; q=dns/txt; s={selector}; t="
        ).encode()
        self._h = b"h=" + b" : ".join(self._wanted)

    def __call__(self, data: bytes) -> bytes:
        """The message with a DKIM-Signature header in front; `data` uses CRLF line ends."""
        end = data.find(CRLF + CRLF)
        head, body = (data, b"") if end < 0 else (data[: end + 2], data[end + 4 :])
        bh = base64.b64encode(hashlib.sha256(relaxed_body(body)).digest())
        tags = [self._head + str(int(time.time())).encode(), self._h, b"bh=" + bh, b"b="]
        value = b"; ".join(tags)
        signed = b"".join(relaxed_header(n, v) for n, v in select(fields(head), self._wanted))
        signed += b"dkim-signature:" + squeeze(value).strip()
        b = base64.b64encode(self._key.sign(signed, self._padding, self._hash))
        return b"DKIM-Signature: " + fold(tags[:-1]) + b";" + CRLF + b" b=" + fold_base64(b) + CRLF + data


def fields(head: bytes) -> list[tuple[bytes, bytes]]:
    """The header fields as (name, value), folded lines joined back with their CRLF."""
    out: list[list[bytes]] = []
    for line in head.split(CRLF):
        if line[:1] in (b" ", b"\t") and out:
            out[-1][1] += CRLF + line
        elif line:
            name, _, value = line.partition(b":")
            out.append([name, value])
    return [(n, v) for n, v in out]


def select(headers: list[tuple[bytes, bytes]], wanted: tuple[bytes, ...]) -> list[tuple[bytes, bytes]]:
    """The fields h= names, each the bottom-most copy not yet taken (RFC 6376 5.4.2).

    A name listed more often than the message has it signs nothing more, so that any copy
    added later breaks the signature.
    """
    copies: dict[bytes, list[tuple[bytes, bytes]]] = {}
    for field in headers:
        copies.setdefault(field[0].lower(), []).append(field)
    out = []
    for name in wanted:
        left = copies.get(name)
        if left:
            out.append(left.pop())
    return out


def relaxed_header(name: bytes, value: bytes) -> bytes:
    return name.lower().rstrip() + b":" + squeeze(value.replace(CRLF, b"").replace(b"\n", b"")).strip() + CRLF


def squeeze(text: bytes) -> bytes:
    """Every run of blanks as one space: bytes.replace scans in C, a regular expression does not."""
    if b"\t" in text:
        text = text.replace(b"\t", b" ")
    while b"  " in text:
        text = text.replace(b"  ", b" ")
    return text


def relaxed_body(body: bytes) -> bytes:
    """RFC 6376 3.4.4, as dkimpy applies it: no trailing blanks, runs of blanks as one, no empty end lines."""
    body = squeeze(body)
    if b" \r\n" in body:
        body = body.replace(b" \r\n", CRLF)
    end = len(body)
    while body.endswith(CRLF, 0, end):
        end -= 2
    body = body[:end] + CRLF
    return b"" if body == CRLF else body


def fold(tags: list[bytes]) -> bytes:
    """Tags joined by "; " in lines of at most 72 columns, broken only where there is a space."""
    lines: list[bytes] = []
    line = b""
    width = _WIDTH - len(b"DKIM-Signature: ")
    for word in b"; ".join(tags).split(b" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line, width = word, _WIDTH - 1
        else:
            line = line + b" " + word if line else word
    lines.append(line)
    return (CRLF + b" ").join(lines)


def fold_base64(value: bytes) -> bytes:
    """b= on lines of its own: FWS may fall anywhere in it, and verifiers drop it."""
    step = _WIDTH - 3
    return (CRLF + b"  ").join(value[i : i + step] for i in range(0, len(value), step))
