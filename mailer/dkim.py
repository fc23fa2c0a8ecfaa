"""DKIM: every message signed with the organisation's key, so that mailbox providers trust it.

Gmail, Yahoo and Outlook want bulk mail signed over the headers that matter, one-click
unsubscribe included, by the domain in From. A key that is configured but unusable stops
every command at start (see `check_settings`): nothing may leave unsigned by accident.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mailer.errors import UserError

if TYPE_CHECKING:
    from mailer.settings import Settings

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


def check_settings(settings: Settings, project_dir: Path) -> Settings:
    """The settings with the key's path made absolute, or a UserError naming what is wrong."""
    key = settings.dkim_private_key if str(settings.dkim_private_key or "") not in ("", ".") else None
    selector = settings.dkim_selector or None
    if key is None and selector is None:
        return settings.model_copy(update={"dkim_private_key": None, "dkim_selector": None})
    if key is None:
        raise UserError("MAILER_DKIM_SELECTOR is set but MAILER_DKIM_PRIVATE_KEY is not; set both or neither")
    if not selector:
        raise UserError("MAILER_DKIM_PRIVATE_KEY is set but MAILER_DKIM_SELECTOR is not; set both or neither")
    path = key if key.is_absolute() else project_dir / key
    _read_key(path)
    return settings.model_copy(update={"dkim_private_key": path})


def _read_key(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(
            f"MAILER_DKIM_PRIVATE_KEY: cannot read {path}: {exc.strerror or exc}; nothing was sent"
        ) from None
    from dkim.crypto import UnparsableKeyError, parse_pem_private_key

    try:
        parse_pem_private_key(data.replace(b"\r\n", b"\n"))
    except (UnparsableKeyError, ValueError, IndexError, TypeError):
        raise UserError(
            f"MAILER_DKIM_PRIVATE_KEY: {path} is not an RSA private key in PEM format "
            "(make one with `openssl genrsa -out dkim.key 2048`); nothing was sent"
        ) from None
    return data.replace(b"\r\n", b"\n")


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
def _sealer(path: str, mtime: int, size: int, selector: str, domain: str) -> Callable[[bytes], bytes]:
    import dkim

    key = _read_key(Path(path))
    headers = [h.lower().encode() for h in SIGNED_HEADERS] * 2

    def seal(data: bytes) -> bytes:
        signature = dkim.sign(
            data,
            selector.encode(),
            domain.encode(),
            key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=headers,
        )
        return signature + data

    return seal
