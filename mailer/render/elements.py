"""MJML's own elements: a typo such as `<mj-txet>` is not an error to the compiler, which
passes the unknown element through as it is, into every member's mail."""

from __future__ import annotations

import difflib
import re

_TAG = re.compile(r"<(mj-[a-z0-9-]+)", re.IGNORECASE)
_NAMES = """head attributes all class breakpoint font html-attributes html-attribute selector
preview style title include body accordion accordion-element accordion-title accordion-text
button carousel carousel-image column divider group hero image navbar navbar-link raw section
social social-element spacer table text wrapper"""
MJML_ELEMENTS = frozenset(f"mj-{name}" for name in _NAMES.split())
"""MJML 4's elements (mjml.io/documentation)."""


def unknown(source: str) -> str | None:
    """What is wrong with the first element of `source` that MJML does not have, or None."""
    found = sorted({t.casefold() for t in _TAG.findall(source)} - MJML_ELEMENTS)
    if not found:
        return None
    near = difflib.get_close_matches(found[0], MJML_ELEMENTS, 1)
    return f"<{found[0]}> is not an MJML element" + (f" (did you mean <{near[0]}>?)" if near else "")
