"""Email addresses: checked fast for the common case, by email-validator for the rest."""

from __future__ import annotations

import re

_SIMPLE_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,63}))"
)
_RESERVED_TLDS = {"arpa", "invalid", "local", "localhost", "onion", "test"}


def check_email(address: str) -> str:
    """The address in normal form, or ValueError saying what is wrong with it."""
    match = _SIMPLE_EMAIL.fullmatch(address)
    if match and len(address) <= 254 and match[2].lower() not in _RESERVED_TLDS:
        local = address[: match.start(1) - 1]
        if len(local) <= 64:
            return f"{local}@{match[1].lower()}"
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None


def ascii_domain(address: str) -> str:
    """The address with a domain such as `bærum.no` in its ASCII (IDNA) form, as SMTP and headers need.

    The part before the @ is left as it is: letters outside ASCII there need SMTPUTF8.
    """
    local, _, domain = address.rpartition("@")
    if domain.isascii():
        return address
    try:
        return f"{local}@{domain.encode('idna').decode('ascii')}"
    except UnicodeError:
        return address
