"""Control characters out of what reaches a header or a log line, and fields cut to a length.

Member data comes from spreadsheets: a vertical tab, form feed, escape or a C1 character
in a name would otherwise land raw in `Subject:` and `To:`, or rewrite a terminal's log.
What arrives from outside (a bounce's diagnostic, a name in an attendance report) is cut to
a length before it is stored or printed: a 40-million-character "name" never reaches a
terminal or a row.
"""

from __future__ import annotations

import re

# C0 and C1 controls and DEL, but line breaks (callers refuse those); Unicode line separators;
# the bidirectional embeddings, overrides and isolates, with which a name can show its letters
# in another order than they are stored ("Trojan Source").
_BIDI = "\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(rf"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029{_BIDI}]")
_ANY_CONTROL = re.compile(rf"[\x00-\x1f\x7f-\x9f\u2028\u2029{_BIDI}]")
_ADDRESS = re.compile(r"([^\s@<>\"'(),;:]{1,2})[^\s@<>\"'(),;:]*@([^\s@<>\"'(),;:]+)")


def without_controls(text: str) -> str:
    """`text` with each control character (but line breaks) replaced by one space."""
    return _CONTROL.sub(" ", text)


def has_controls(text: str) -> bool:
    """Whether `text` holds a control character, a line break or a bidirectional override."""
    return _ANY_CONTROL.search(text) is not None


def escape_controls(text: str) -> str:
    """`text` with every control character written as an escape (`\\x0b`), for one log line."""
    return _ANY_CONTROL.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), text)


def mask_addresses(text: str) -> str:
    """Each e-mail address cut to its first letters and its domain: `ka…@example.org`."""
    return _ADDRESS.sub(lambda m: f"{m[1]}…@{m[2]}", text)


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending in '…' when something was cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"
