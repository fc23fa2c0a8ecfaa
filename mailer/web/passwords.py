"""Board members' passwords: stored as scrypt hashes in MAILER_BOARD_USERS, never in clear."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import secrets

N, R, P = 2**14, 8, 1
_PREFIX = "scrypt"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    """`scrypt:N:r:p:salt:hash`, with colons so that shells and .env files leave it alone."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, dklen=32)
    return f"{_PREFIX}:{N}:{R}:{P}:{_b64(salt)}:{_b64(digest)}"


def _parse(encoded: str) -> tuple[int, int, int, bytes, bytes]:
    try:
        prefix, n, r, p, salt, digest = encoded.split(":")
        if prefix != _PREFIX:
            raise ValueError
        values = int(n), int(r), int(p), _unb64(salt), _unb64(digest)
    except (ValueError, binascii.Error):
        raise ValueError("not a hash made by `mailer hash-password`") from None
    if not (2 <= values[0] <= 2**20 and 1 <= values[1] <= 32 and 1 <= values[2] <= 16 and values[4]):
        raise ValueError("scrypt parameters out of range")
    return values


@functools.cache
def dummy_hash() -> str:
    """A hash to check unknown names against, so they take as long to refuse as wrong passwords."""
    return hash_password(secrets.token_urlsafe(16))


def check_hash(encoded: str) -> None:
    """Raise ValueError if `encoded` is not a hash this module can verify."""
    _parse(encoded)


def verify_password(password: str, encoded: str) -> bool:
    n, r, p, salt, digest = _parse(encoded)
    got = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=len(digest), maxmem=2**27)
    return hmac.compare_digest(got, digest)
