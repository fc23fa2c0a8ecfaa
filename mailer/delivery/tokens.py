"""Signed tokens for the links in a message (unsubscribe, RSVP, consultation): a member, never an address.

A token is `PAYLOAD.MAC`, both strict base64url, the MAC 16 bytes of HMAC-SHA256. Links are
honoured for 400 days (`web.clicks.TOKEN_DAYS`), so `verify` reads both spellings that
mail has carried; `sign` makes only the second:

- v1 (until December 2026): the payload is the JSON `[purpose, member_id, subject, issued]`,
  the MAC is over the payload's base64 text, keyed with the secret itself. Anyone who sees
  the link can read the member id, and an export without an id column makes that the address.
- v2: the payload is a version byte 2, the purpose, the subject and the day of issue in clear
  (a mailing or meeting, nothing personal), then the member id enciphered: XOR with SHAKE-256
  of a key and the MAC (a synthetic IV, as in SIV: the same link always reads the same, and
  two different ids never share a key stream). So a forwarded or logged link names nobody.
  Both keys are derived from the secret, apart from v1's. It costs a few microseconds instead
  of JSON, a fresh HMAC and two base64 passes: a send builds up to three links a message.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from mailer.errors import UserError

MAC_BYTES = 16
V2 = 2
_MAX_ISSUED = 1 << 24  # three bytes: day ordinals up to year 9999 fit
_MAX_SUBJECT = 1 << 16


class BadToken(Exception):
    """The token was tampered with, truncated or is not ours."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")


def _unb64(text: str) -> bytes:
    """Strict: only the URL-safe alphabet, and only the one spelling `_b64` makes of the bytes."""
    if not _ALPHABET.fullmatch(text) or len(text) % 4 == 1:
        raise BadToken("not base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error:
        raise BadToken("not base64url") from None
    if _b64(data) != text:
        raise BadToken("not canonical base64url")
    return data


def _xor(data: bytes, stream: bytes) -> bytes:
    n = len(data)
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream[:n], "big")).to_bytes(n, "big")


@dataclass(frozen=True)
class Signer:
    secret: bytes
    _headers: dict[tuple[str, str, int], tuple[bytes, hmac.HMAC]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def sign(self, purpose: str, member_id: str, subject: str, issued: int) -> str:
        """`purpose` is u (unsubscribe), r (RSVP), h (consultation)…; `subject` a category or an id."""
        header, mac_state = self._header(purpose, subject, issued)
        plain = member_id.encode()
        h = mac_state.copy()
        h.update(plain)
        mac = h.digest()[:MAC_BYTES]
        return f"{_b64(header + _xor(plain, self._stream(mac, len(plain))))}.{_b64(mac)}"

    def verify(self, token: str) -> tuple[str, str, str, int]:
        """(purpose, member id, subject, day of issue) of a token made by `sign`, now or in v1."""
        try:
            payload, mac_text = token.split(".")
            data, mac = _unb64(payload), _unb64(mac_text)
            if len(mac) != MAC_BYTES:
                raise BadToken("signature of the wrong length")
            if data[:1] == b"[":
                return self._verify_v1(payload, mac)
            if data[:1] == bytes([V2]):
                return self._verify_v2(data, mac)
            raise BadToken("unknown token version")
        except BadToken:
            raise
        except Exception:
            raise BadToken("malformed token") from None

    # -- v2 ------------------------------------------------------------------------------------

    def _header(self, purpose: str, subject: str, issued: int) -> tuple[bytes, hmac.HMAC]:
        """The clear part of a v2 payload, and the MAC state after it (kept: a send reuses them)."""
        key = (purpose, subject, issued)
        found = self._headers.get(key)
        if found is None:
            p, s = purpose.encode(), subject.encode()
            if not 0 < len(p) < 256 or len(s) >= _MAX_SUBJECT or not 0 <= issued < _MAX_ISSUED:
                raise ValueError(f"cannot sign a link for {purpose!r}, {subject[:40]!r}, day {issued}")
            header = bytes([V2, len(p)]) + p + len(s).to_bytes(2, "big") + s + issued.to_bytes(3, "big")
            state = self._keys[0].copy()
            state.update(header)
            if len(self._headers) > 256:
                self._headers.clear()
            found = self._headers[key] = (header, state)
        return found

    @cached_property
    def _keys(self) -> tuple[hmac.HMAC, bytes]:
        """The MAC key (as a ready HMAC state) and the cipher key, both derived from the secret."""
        mac_key = hmac.digest(self.secret, b"mailer link v2: mac", "sha256")
        enc_key = hmac.digest(self.secret, b"mailer link v2: member id", "sha256")
        return hmac.new(mac_key, digestmod=hashlib.sha256), enc_key

    def _stream(self, mac: bytes, length: int) -> bytes:
        return hashlib.shake_256(self._keys[1] + mac).digest(length) if length else b""

    def _verify_v2(self, data: bytes, mac: bytes) -> tuple[str, str, str, int]:
        n = data[1]
        purpose = data[2 : 2 + n]
        at = 2 + n
        m = int.from_bytes(data[at : at + 2], "big")
        subject = data[at + 2 : at + 2 + m]
        at += 2 + m
        if not n or len(purpose) != n or len(subject) != m or len(data) < at + 3:
            raise BadToken("truncated")
        issued = int.from_bytes(data[at : at + 3], "big")
        cipher = data[at + 3 :]
        plain = _xor(cipher, self._stream(mac, len(cipher)))
        h = self._keys[0].copy()
        h.update(data[: at + 3])
        h.update(plain)
        if not hmac.compare_digest(h.digest()[:MAC_BYTES], mac):
            raise BadToken("signature does not match")
        return purpose.decode(), plain.decode(), subject.decode(), issued

    # -- v1, read only -------------------------------------------------------------------------

    def _verify_v1(self, payload: str, mac: bytes) -> tuple[str, str, str, int]:
        expected = hmac.digest(self.secret, payload.encode(), "sha256")[:MAC_BYTES]
        if not hmac.compare_digest(expected, mac):
            raise BadToken("signature does not match")
        purpose, member_id, subject, issued = json.loads(_unb64(payload))
        return str(purpose), str(member_id), str(subject), int(issued)


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
