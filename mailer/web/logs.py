"""The server's log lines: no full address and no raw control character, whatever a request held.

`mailer serve` faces the internet and its log goes to journald or a file that more people
read than the state folder; a login name or a member row can hold escape sequences.
"""

from __future__ import annotations

import logging

from mailer.project.textclean import escape_controls, mask_addresses


class SafeFormatter(logging.Formatter):
    """Formats as usual, then masks addresses (`ka…@example.org`) and escapes control characters."""

    def format(self, record: logging.LogRecord) -> str:
        return escape_controls(mask_addresses(super().format(record)))
