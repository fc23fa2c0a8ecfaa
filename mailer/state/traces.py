"""Does a file in the state folder name a person? Asked of the text a reader would see.

An outbox message holds a name or an address in its encoded form (`Aslaug =C3=98stby`,
`=?utf-8?q?...?=`, base64, HTML entities, a folded calendar line), so matching the raw bytes
misses them. Each file is decoded once into one casefolded text (its header lines also as
written, so `x-mailer-mailing: …` is still found), and every needle of the erasure is tested
on it: an outbox may hold tens of thousands of messages.
"""

from __future__ import annotations

import binascii
import html
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from email.header import decode_header
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32
from pathlib import Path

_TAG = re.compile(r"<[^>]*>")
_FOLD = re.compile(r"\r?\n[ \t]")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def address_forms(address: str) -> set[str]:
    """The address as written with its domain in Unicode and in its IDNA (punycode) form."""
    address = _fold(address)
    local, at, domain = address.rpartition("@")
    forms = {address}
    if not at:
        return forms
    try:
        forms.add(f"{local}@{domain.encode('idna').decode('ascii')}")
        forms.add(f"{local}@{domain.encode('ascii').decode('idna')}")
    except UnicodeError:
        pass
    return {_fold(f) for f in forms}


@dataclass(frozen=True)
class Needles:
    """What identifies the people being erased: texts found anywhere (addresses, header lines)
    and full names, found as whole words with any white space between them.

    A name is only looked for with its first and last name together (`Person.full_names`):
    a first name alone ("Per") or a last name alone ("Berg") names many people, and erasing
    every message that holds one would erase other members' mail.
    """

    texts: frozenset[str]
    names: tuple[tuple[str, ...], ...]

    @classmethod
    def of(cls, texts: Iterable[str] = (), names: Iterable[str] = ()) -> Needles:
        kept = frozenset(t for t in (_fold(t) for t in texts if t) if len(t) >= 3)
        words = {tuple(_fold(n).split()) for n in names if n}
        return cls(kept, tuple(sorted(w for w in words if len(w) >= 2)))

    def __bool__(self) -> bool:
        return bool(self.texts or self.names)

    def __or__(self, other: Needles) -> Needles:
        return Needles(self.texts | other.texts, tuple(sorted(set(self.names) | set(other.names))))

    def found_in(self, text: str) -> bool:
        """Whether `text` (from `readable_text`) holds one of the needles."""
        if any(t in text for t in self.texts):
            return True
        return any(all(w in text for w in n) and _name_pattern(n).search(text) for n in self.names)


_patterns: dict[tuple[str, ...], re.Pattern[str]] = {}


def _name_pattern(name: tuple[str, ...]) -> re.Pattern[str]:
    pattern = _patterns.get(name)
    if pattern is None:
        body = r"\s+".join(re.escape(w) for w in name)
        pattern = _patterns.setdefault(name, re.compile(rf"(?<!\w){body}(?!\w)"))
    return pattern


def readable_text(path: Path) -> str:
    """The file's text as a reader would see it, casefolded: a message's headers decoded
    (RFC 2047, RFC 2231 file names) and each part decoded (quoted-printable, base64, its
    charset); HTML also with its tags and entities resolved; a calendar with its lines unfolded."""
    data = path.read_bytes()
    if path.suffix.casefold() == ".eml":
        pieces: list[str] = []
        _message_text(data, pieces, depth=0)
        return _fold("\n".join(pieces))
    pieces = [data.decode("utf-8", "replace")]
    if path.suffix.casefold() in (".html", ".htm"):
        pieces.append(_html(pieces[0]))
    elif path.suffix.casefold() == ".ics":
        pieces.append(_FOLD.sub("", pieces[0]))
    return _fold("\n".join(pieces))


_HEADERS = HeaderParser(policy=compat32)
_BLANK = re.compile(rb"\r?\n\r?\n")


def _message_text(data: bytes, pieces: list[str], depth: int) -> None:
    """Walks the MIME tree by hand: the standard parser compiles a regular expression for each
    boundary and reads line by line, several times slower on a large outbox."""
    if data.startswith((b"\r\n", b"\n")):
        head, body = b"", data.lstrip(b"\r").removeprefix(b"\n")
    else:
        found = _BLANK.search(data)
        head, body = (data[: found.start()], data[found.end() :]) if found else (data, b"")
    written = head.decode("utf-8", "replace")  # UTF-8 in a header: an RFC 6532 address
    pieces.append(written + "\r\n")  # as written: `x-mailer-mailing: …\r\n`
    part = _HEADERS.parsestr(written)
    for value in part.values():
        if "=?" in str(value):
            pieces.append(_header(value))
    filename = part.get_filename()
    if filename:
        pieces.append(str(filename))
    kind = part.get_content_type()
    boundary = part.get_boundary()
    if depth > 20:
        return
    if kind.startswith("multipart/") and boundary:
        for chunk in body.split(b"--" + boundary.encode("utf-8", "replace"))[1:]:
            if chunk.startswith(b"--"):
                break  # the closing delimiter: what follows is the epilogue
            _message_text(chunk.partition(b"\n")[2], pieces, depth + 1)
        return
    payload = _decoded(body, str(part.get("content-transfer-encoding", "")).strip().casefold())
    if kind == "message/rfc822":
        _message_text(payload, pieces, depth + 1)
        return
    text = payload.decode(_charset(part), "replace")
    pieces.append(text)
    if kind == "text/html":
        pieces.append(_html(text))
    elif kind == "text/calendar" or str(filename or "").casefold().endswith(".ics"):
        pieces.append(_FOLD.sub("", text))


def _decoded(body: bytes, encoding: str) -> bytes:
    try:
        if encoding == "quoted-printable":
            return binascii.a2b_qp(body)
        if encoding == "base64":
            return binascii.a2b_base64(body)
    except (binascii.Error, ValueError):
        pass
    return body


def _header(value: object) -> str:
    """Encoded words decoded piece by piece: `make_header` gives up on a whole header when a
    piece beside them is not ASCII (an RFC 6532 address such as `TONE.Fjære@…`)."""
    try:
        parts = decode_header(str(value))
    except (ValueError, LookupError, UnicodeError):
        return str(value)
    return "".join(text if isinstance(text, str) else _piece(text, charset) for text, charset in parts)


def _piece(raw: bytes, charset: str | None) -> str:
    if charset is None:  # not encoded: decode_header gave the text back as raw-unicode-escape
        return raw.decode("raw-unicode-escape", "replace")
    try:
        return raw.decode(charset, "replace")
    except LookupError:
        return raw.decode("utf-8", "replace")


def _charset(part: Message) -> str:
    charset = part.get_content_charset() or "utf-8"
    try:
        "".encode(charset)
    except LookupError:
        return "utf-8"
    return charset


def _html(text: str) -> str:
    return html.unescape(_TAG.sub(" ", text))
