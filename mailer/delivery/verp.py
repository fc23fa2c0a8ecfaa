"""VERP: each message's envelope sender names its delivery, so a bounce finds its way home.

`bounces+<delivery>-<mac>@domain`: the delivery's row number and a short HMAC, under the
project's secret, of that number and the address the row was sent to. It reveals no address; a
bounce that hides the original recipient, or names a forwarding target instead, is still matched
to the member and mailing by the ledger row. The address is in the HMAC because a row number can
come again: SQLite gives the next row the highest number plus one, so once `mailer forget` has
deleted the last rows, a token from mail to the erased person would name someone else's
delivery. Lower case only, because some servers change the case of local parts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from mailer.errors import UserError
from mailer.project.addresses import check_email

MAC_LENGTH = 16


def _mac(secret: bytes, delivery_id: int, address: str) -> str:
    digest = hmac.new(secret, f"verp:{delivery_id}:{address}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:MAC_LENGTH]


@dataclass(frozen=True)
class Verp:
    """The configured bounce address, split, with the secret that signs its tokens."""

    local: str
    domain: str
    secret: bytes

    @classmethod
    def of(cls, bounce_address: str, secret: bytes) -> Verp:
        try:
            address = check_email(bounce_address.strip())
        except ValueError as exc:
            raise UserError(
                f"setting MAILER_BOUNCE_ADDRESS: '{bounce_address}' is not an email address ({exc}); "
                "use an address on the organisation's domain, e.g. bounces@example.org"
            ) from None
        local, domain = address.rsplit("@", 1)
        if "+" in local:
            raise UserError("setting MAILER_BOUNCE_ADDRESS: leave out the '+'; mailer adds '+token' itself")
        return cls(local, domain.lower(), secret)

    def sender(self, delivery_id: int, address: str) -> str:
        """The envelope sender (MAIL FROM) for one delivery, to `address` as its row has it."""
        return f"{self.local}+{delivery_id}-{_mac(self.secret, delivery_id, address)}@{self.domain}"

    def tokens(self, text: str) -> list[str]:
        """Every token addressed to our bounce address in a message's text, in order."""
        pattern = (
            rf"{re.escape(self.local)}\+([0-9a-z]{{1,20}}-[0-9a-z]{{{MAC_LENGTH}}})@{re.escape(self.domain)}"
        )
        return [m.group(1).lower() for m in re.finditer(pattern, text, re.IGNORECASE)]

    def number(self, token: str) -> int | None:
        """The delivery a token claims to name (None: not a token); `proves` says if it does."""
        number, _, _ = token.partition("-")
        return int(number) if number.isdigit() and len(number) <= 18 else None

    def proves(self, token: str, delivery_id: int, address: str) -> bool:
        """The token was made for this delivery to this address (not forged, and not a token
        of an erased delivery whose number a later one got)."""
        mac = token.partition("-")[2]
        return hmac.compare_digest(_mac(self.secret, delivery_id, address), mac)
