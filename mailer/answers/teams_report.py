"""Who came, from the file a meeting leaves behind: a Teams attendance report or a typed list.

Teams downloads its report as UTF-16 with a BOM, tab-separated, in numbered sections
(`1. Summary`, `2. Participants`, `3. In-Meeting Activities`, or as Norwegian Teams writes
them); a secretary's list for a physical meeting is a CSV with an e-mail or a name column.
Sections and columns are found by name, never by position. Pure: bytes in, participants out.

The file comes from outside: a name, an address or a role longer than its limit (NAME_LIMIT,
EMAIL_LIMIT, ROLE_LIMIT) is cut before it is stored or printed.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass

from mailer.errors import UserError
from mailer.project.textclean import clip

EXPECTED = (
    "expected a Teams attendance report (sections '1. Summary', '2. Participants', …) "
    "or a CSV with an e-mail or name column (e.g. 'E-post' or 'Navn')"
)
PARTICIPANTS = {"participants", "deltakere", "deltagere", "deltakarar"}
NAME = {"name", "navn", "namn", "full name", "fullt navn", "fullt namn", "deltaker", "participant"}
EMAIL = {"email", "e-mail", "e-post", "epost", "e-postadresse", "email address", "mail"}
UPN = {"participant id (upn)", "deltaker-id (upn)", "upn"}
ROLE = {"role", "rolle"}
FIRST = {"first_name", "first name", "fornavn", "førenamn"}
LAST = {"last_name", "last name", "etternavn", "etternamn"}
_SECTION = re.compile(r"^\s*(\d)\.\s+(.+?)\s*$")
NAME_LIMIT = 200
EMAIL_LIMIT = 254
ROLE_LIMIT = 100
MAX_FILE_BYTES = 5 * 1024 * 1024
"""An attendance report is small: Teams' report of a meeting of 300 is well under 1 MB."""


@dataclass(frozen=True)
class Participant:
    """One line of the file: a name, an address (either may be empty) and its line number."""

    name: str
    email: str
    role: str
    line: int


def decode(data: bytes, label: str) -> str:
    """UTF-16 (as Teams writes it), UTF-8 with or without BOM, or Windows-1252."""
    head = data[:512]
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in head:
        # Without a BOM (a report saved again by another program), UTF-16 shows as NUL bytes:
        # on the odd positions little-endian, on the even ones big-endian. Text has none.
        bare = "utf-16-le" if head[1::2].count(0) >= head[0::2].count(0) else "utf-16-be"
        try:
            return data.decode("utf-16" if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else bare)
        except UnicodeDecodeError:
            raise UserError(f"{label}: starts like UTF-16 but does not decode; {EXPECTED}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _key(header: str) -> str:
    return " ".join(header.strip().strip('"').casefold().split())


def _columns(header: list[str]) -> dict[str, int]:
    """Which column holds what, by header name (the first match of each kind)."""
    found: dict[str, int] = {}
    for i, cell in enumerate(header):
        key = _key(cell)
        for kind, names in (
            ("name", NAME),
            ("email", EMAIL),
            ("upn", UPN),
            ("role", ROLE),
            ("first", FIRST),
            ("last", LAST),
        ):
            if key in names or (kind == "upn" and key.endswith("(upn)")):
                found.setdefault(kind, i)
    return found


def _cell(row: list[str], columns: dict[str, int], kind: str) -> str:
    i = columns.get(kind)
    return row[i].strip() if i is not None and i < len(row) else ""


def _participant(row: list[str], columns: dict[str, int], line: int) -> Participant | None:
    name = _cell(row, columns, "name")
    if not name:
        name = " ".join(p for p in (_cell(row, columns, "first"), _cell(row, columns, "last")) if p)
    email = _cell(row, columns, "email") or _cell(row, columns, "upn")
    if "@" not in email:
        email = ""
    if not name and not email:
        return None
    role = _cell(row, columns, "role")
    return Participant(clip(name, NAME_LIMIT), clip(email, EMAIL_LIMIT), clip(role, ROLE_LIMIT), line)


def _teams(lines: list[str], start: int, label: str) -> list[Participant]:
    """The participants table: the first non-empty line after the heading names its columns."""
    i = start + 1
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i >= len(lines):
        raise UserError(f"{label}: line {start + 1}: the participants section is empty; {EXPECTED}")
    header = lines[i].split("\t")
    columns = _columns(header)
    if "name" not in columns and "email" not in columns:
        raise UserError(
            f"{label}: line {i + 1}: the participants table has no Name (Navn) or Email (E-post) "
            "column; export the attendance report again from Teams"
        )
    out = []
    for n in range(i + 1, len(lines)):
        text = lines[n]
        if not text.strip():
            break
        if _SECTION.match(text) and "\t" not in text:
            break
        found = _participant(text.split("\t"), columns, n + 1)
        if found:
            out.append(found)
    return out


def _delimiter(text: str) -> str:
    """The header line decides: `;` as Norwegian Excel writes, `,` or a tab (a long cell below it
    cannot confuse the choice, as it can a sniffer)."""
    header = next((line for line in text.splitlines() if line.strip()), "")[:4096]
    counts = {d: header.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv(text: str, label: str) -> list[Participant]:
    dialect = _delimiter(text)
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FILE_BYTES))  # long cells are cut, not refused
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=dialect))
    except csv.Error as exc:
        raise UserError(f"{label}: not a CSV file this program can read ({exc}); {EXPECTED}") from None
    header_at = next((i for i, r in enumerate(rows) if any(c.strip() for c in r)), None)
    if header_at is None:
        raise UserError(f"{label}: the file is empty; {EXPECTED}")
    columns = _columns(rows[header_at])
    if not ({"name", "email"} & columns.keys() or {"first", "last"} <= columns.keys()):
        raise UserError(f"{label}: line {header_at + 1}: no e-mail or name column; {EXPECTED}")
    out = []
    for n, row in enumerate(rows[header_at + 1 :], start=header_at + 2):
        found = _participant(row, columns, n)
        if found:
            out.append(found)
    return out


def parse(data: bytes, label: str) -> list[Participant]:
    """The participants a file lists; UserError naming the file when it is neither format."""
    text = decode(data, label)
    if not text.strip():
        raise UserError(f"{label}: the file is empty; {EXPECTED}")
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = _SECTION.match(line)
        if m and "\t" not in line.strip() and _key(m[2]) in PARTICIPANTS:
            return _teams(lines, i, label)
    if any(_SECTION.match(line) for line in lines[:3]):
        raise UserError(f"{label}: a report without a participants section ('2. Participants'); {EXPECTED}")
    return _csv(text, label)
