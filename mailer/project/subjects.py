"""Subjects that tell the change: a reminder, an update and a cancellation look different in the inbox.

A series whose subject template uses `change` decides for itself; every other subject gets a
Norwegian prefix, in nynorsk for members who prefer it (the subject renders per language).
"""

from __future__ import annotations

import jinja2
import jinja2.nodes

PREFIXES: dict[str, tuple[str, str]] = {
    "reminder": ("Påminnelse: ", "Påminning: "),
    "update": ("Endret: ", "Endra: "),
    "cancel": ("Avlyst: ", "Avlyst: "),
}


def handles_change(subject: str) -> bool:
    """Whether the subject template reads `change` itself."""
    try:
        parsed = jinja2.Environment().parse(subject)
    except jinja2.TemplateSyntaxError:
        return False  # the renderer reports it with the template's name
    return any(node.name == "change" for node in parsed.find_all(jinja2.nodes.Name))


def _prefix(nb: str, nn: str) -> str:
    return nb if nb == nn else f"{{% if language == 'nn' %}}{nn}{{% else %}}{nb}{{% endif %}}"


def without_prefix(subject: str) -> str:
    """The series' own subject, from one stored with a prefix (a reminder's, in the ledger)."""
    for nb, nn in PREFIXES.values():
        subject = subject.removeprefix(_prefix(nb, nn))
    return subject


def with_change(subject: str, change: str | None) -> str:
    """The subject template for one kind of mailing of a meeting."""
    subject = without_prefix(subject)
    if change not in PREFIXES or handles_change(subject):
        return subject
    return _prefix(*PREFIXES[change]) + subject
