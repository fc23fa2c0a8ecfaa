"""Signed tokens for the links in a message (unsubscribe, RSVP): they name a member, not an address."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from mailer.errors import UserError


class BadToken(Exception):
    """The token was tampered with, truncated or is not ours."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")


def _unb64(text: str) -> bytes:
    """Strict: only the URL-safe alphabet, and only the one spelling `_b64` makes of the bytes."""
    if not _ALPHABET.fullmatch(text):
        raise BadToken("not base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(data) != text:
        raise BadToken("not canonical base64url")
    return data


@dataclass(frozen=True)
class Signer:
    secret: bytes

    def sign(self, purpose: str, member_id: str, subject: str, issued: int) -> str:
        """`purpose` is u (unsubscribe) or r (RSVP); `subject` a category or occurrence id."""
        payload = _b64(json.dumps([purpose, member_id, subject, issued], separators=(",", ":")).encode())
        mac = hmac.new(self.secret, payload.encode(), hashlib.sha256).digest()[:16]
        return f"{payload}.{_b64(mac)}"

    def verify(self, token: str) -> tuple[str, str, str, int]:
        try:
            payload, mac = token.split(".")
            expected = hmac.new(self.secret, payload.encode(), hashlib.sha256).digest()[:16]
            if not hmac.compare_digest(expected, _unb64(mac)):
                raise BadToken("signature does not match")
            purpose, member_id, subject, issued = json.loads(_unb64(payload))
            return str(purpose), str(member_id), str(subject), int(issued)
        except BadToken:
            raise
        except Exception:
            raise BadToken("malformed token") from None


def load_secret(configured: str | None, state_dir: Path) -> bytes:
    """MAILER_SECRET, or one generated on first use and kept in the state folder."""
    if configured:
        if len(configured) < 16:
            raise UserError("MAILER_SECRET is too short; use at least 16 characters")
        return configured.encode()
    path = state_dir / "secret"
    if not path.is_file():
        state_dir.mkdir(parents=True, exist_ok=True)
        tmp = state_dir / f".secret.{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32))
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)  # atomic: two first runs at once agree on one secret
        tmp.unlink()
    return path.read_text().strip().encode()
