"""What a returned message says: a bounce (hard or soft), a complaint, an away message, or none.

Pure: bytes in, a `Finding` out. RFC 3464 delivery reports are read field by field (Action,
Status, Diagnostic-Code per recipient); ARF complaints (RFC 5965) by their feedback report;
other bounce formats (older Exchange, Exim, qmail, …) through GNU Mailman's `flufl.bounce`
detectors. Away messages are never bounces.

A finding also carries what could prove the message answers one of ours: the text (where a
VERP token may stand) and every Message-ID it quotes (the returned headers, In-Reply-To,
References, X-Original-Message-ID). Whether they prove anything is decided in `process`.

Anyone can send us a message, so reading one is bounded: more than MAX_PARTS MIME parts (counted
on the raw bytes before any parsing) or more than MAX_SECONDS of work, and the message is
`Unreadable`: one warning, nothing recorded. The detectors see only the first EXCERPT characters
of its text, and one message names at most MAX_FAILURES addresses.
"""

from __future__ import annotations

import copy
import email.policy
import hashlib
import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from email.feedparser import BytesFeedParser
from email.header import decode_header, make_header
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses, parseaddr
from functools import cache
from itertools import islice
from typing import Literal

from mailer.project.textclean import clip

Verdict = Literal["hard", "soft", "complaint", "auto_reply", "unrecognised"]

MAX_PARTS = 200
"""A bounce has a handful of MIME parts (a report, its status, the returned message)."""
MAX_SECONDS = 2.0
"""CPU time one message may take to read; a real bounce takes a few milliseconds."""
MAX_REFERENCES = 50
MAX_FAILURES = 10  # we send one recipient per message; a forged report may name 100,000
MAX_BLOCKS = 100  # recipient blocks read of a delivery report (a real one has one or two)
EXCERPT, EXCERPT_LINES = 64 * 1024, 2000
"""What the detectors see of a message's text: some try fifty patterns on every line (6 MB of
blank lines took minutes), and a bounce says what failed at its top."""
ADDRESS_LIMIT = 254
REASON_LIMIT = 500

STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_BOUNDARY = re.compile(rb"""boundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))""", re.IGNORECASE)
_CONTENT_TYPE = re.compile(rb"^content-type[ \t]*:", re.IGNORECASE | re.MULTILINE)
_DELIMITER = re.compile(rb"^--([^\r\n]{1,202}?)[ \t]*\r?$", re.MULTILINE)
_REFERENCE_FIELD = re.compile(
    r"^(?:[a-z-]*message-id|in-reply-to|references)[ \t]*:((?:[^\r\n]*)(?:\r?\n[ \t][^\r\n]*)*)",
    re.IGNORECASE | re.MULTILINE,
)
_MESSAGE_ID = re.compile(r"<([^<>\s@]{1,200}@[^<>\s@]{1,200})>")
_STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")  # RFC 3464, RFC 6533
_BLANK_LINES = re.compile(r"\r?\n(?:[ \t]*\r?\n)+")
AWAY_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto(matisk)?[ -]?(svar|reply|response)|out of (the )?office|"
    r"fraværsmelding|fråværsmelding|abwesenheit|away from)",
    re.IGNORECASE,
)


class NotAMessage(ValueError):
    """Bytes that are no email message at all (a stray text file): why, for the warning line."""


@dataclass(frozen=True)
class Failure:
    """One recipient a report is about."""

    address: str
    kind: Literal["hard", "soft", "complaint"]
    status: str | None
    reason: str


@dataclass(frozen=True)
class Finding:
    """What one message says, and what in it may prove that it answers a message of ours."""

    verdict: Verdict
    key: str
    failures: tuple[Failure, ...] = ()
    text: str = ""
    note: str = ""
    originals: tuple[str, ...] = field(default=())
    references: tuple[str, ...] = ()
    digest: str = ""


class Unreadable(Exception):
    """A message too costly to read (too many parts, too slow): skipped with one warning."""


def message_key(msg: Message, data: bytes) -> str:
    """Its Message-ID, or a digest of the bytes when it has none (so it is still read once)."""
    mid = str(msg.get("Message-ID", "") or "").strip()
    if mid and len(mid) < 300:
        return mid
    return digest_key(data)


def digest_key(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def mime_parts(data: bytes, limit: int = MAX_PARTS) -> int:
    """How many MIME parts the raw bytes hold, counted without parsing (stops past `limit`):
    the lines that delimit a declared boundary, or the Content-Type fields (nested messages
    need no boundary), whichever is more."""
    typed = 0
    for _ in _CONTENT_TYPE.finditer(data):
        typed += 1
        if typed > limit:
            return typed
    boundaries = {m[1] or m[2] for m in _BOUNDARY.finditer(data)}
    if len(boundaries) > limit:
        return len(boundaries)
    count = 0
    for m in _DELIMITER.finditer(data):
        line = m[1]
        if line in boundaries or (line.endswith(b"--") and line[:-2] in boundaries):
            count += 1
            if count > limit:
                break
    return max(count, typed)


def _parse(data: bytes, deadline: float) -> Message:
    """The stdlib parser, fed a slice at a time so that a slow message stops at the deadline."""
    parser = BytesFeedParser(policy=email.policy.compat32)
    view = memoryview(data)
    for start in range(0, len(data), 65536):
        parser.feed(view[start : start + 65536].tobytes())
        _in_time(deadline)
    return parser.close()


def _in_time(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise Unreadable(f"took more than {MAX_SECONDS:g} s to read")


def references(text: str) -> tuple[str, ...]:
    """Every Message-ID the message quotes in a header field (its own, returned ones, replies)."""
    found: dict[str, None] = {}
    for m in _REFERENCE_FIELD.finditer(text):
        for ref in _MESSAGE_ID.findall(m[1]):
            found[f"<{ref}>"] = None
            if len(found) >= MAX_REFERENCES:
                return tuple(found)
    return tuple(found)


def read(data: bytes, max_seconds: float = MAX_SECONDS) -> Finding:
    """Classify one message; a broken message comes out unrecognised, a costly one `Unreadable`."""
    parts = mime_parts(data)
    if parts > MAX_PARTS:
        raise Unreadable(f"more than {MAX_PARTS} MIME parts")
    deadline = time.monotonic() + max_seconds
    msg = _parse(data, deadline)
    if not msg.keys():
        raise NotAMessage("not an email message (it has no header lines)")
    key = message_key(msg, data)
    text = data.decode("latin-1")
    refs = references(text)
    found = _classify(msg, key, text, deadline)
    _in_time(deadline)
    return replace(found, text=text, references=refs, digest=digest_key(data))


def _classify(msg: Message, key: str, text: str, deadline: float) -> Finding:
    report_type = msg.get_param("report-type", "", header="content-type")
    report_type = str(report_type).lower() if isinstance(report_type, str) else ""
    if msg.get_content_type() == "multipart/report" and report_type == "feedback-report":
        return _complaint(msg, key, text)
    dsn = _delivery_status(msg)
    if dsn is not None:
        failures = _few(dsn)
        if not failures:
            return Finding("unrecognised", key, note="a delivery report without failures")
        return Finding(failures[0].kind, key, failures, text)
    if _is_away(msg):
        return Finding("auto_reply", key, note="an automatic reply")
    _in_time(deadline)
    failures = _few(_heuristic(_excerpt(msg), deadline))
    if failures:
        return Finding(failures[0].kind, key, failures, text)
    if str(msg.get("Auto-Submitted", "")).lower().startswith("auto-replied"):
        return Finding("auto_reply", key, note="an automatic reply")
    return Finding("unrecognised", key, note="neither a bounce nor a complaint")


_RANK = {"hard": 0, "complaint": 0, "soft": 1}


def _few(failures: Iterable[Failure]) -> tuple[Failure, ...]:
    """Each address once with its worst failure, the worst first (what a VERP token takes), at
    most MAX_FAILURES: a report that lists one address often, or many, is one bounce for a few."""
    worst: dict[str, Failure] = {}
    for f in failures:
        if f.address not in worst or _RANK[f.kind] < _RANK[worst[f.address].kind]:
            worst[f.address] = f
    return tuple(sorted(worst.values(), key=lambda f: _RANK[f.kind]))[:MAX_FAILURES]


def _delivery_status(msg: Message) -> list[Failure] | None:
    """Failures per recipient of an RFC 3464 (or RFC 6533) report; None when it has no such part."""
    parts = [part for part in msg.walk() if part.get_content_type() in _STATUS_TYPES]
    blocks = (block for part in parts for block in islice(_status_blocks(part), MAX_BLOCKS))
    return [failure for failure in map(_recipient_block, blocks) if failure] if parts else None


def _status_blocks(part: Message) -> Iterable[Message]:
    """Its field blocks. The parser splits only a plain message/delivery-status; a base64 or
    quoted-printable one, or a (UTF-8) message/global-delivery-status, is decoded, then split."""
    payload = part.get_payload()
    cte = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    plain = part.get_content_type() == _STATUS_TYPES[0] and cte in ("", "7bit", "8bit", "binary")
    if isinstance(payload, list) and plain:
        return payload
    if isinstance(payload, list):  # the bytes as they came: the raw fields, the text under them
        payload = "\n".join(
            "".join(f"{k}: {v}\n" for k, v in b.raw_items())
            + "\n"
            + (b.get_payload(decode=True) or b"").decode("ascii", "surrogateescape")
            for b in payload[:MAX_BLOCKS]
        )
    flat = copy.copy(part)
    flat.set_payload(str(payload or ""))
    data = flat.get_payload(decode=True)
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else ""
    blocks = _BLANK_LINES.split(text, maxsplit=MAX_BLOCKS)[:MAX_BLOCKS]
    return (HeaderParser().parsestr(b.strip("\r\n")) for b in blocks if b.strip())


def _recipient_block(block: Message) -> Failure | None:
    action = str(block.get("Action", "")).strip().lower()
    recipient = str(block.get("Original-Recipient", "") or block.get("Final-Recipient", ""))
    address = _typed_address(recipient) or _typed_address(str(block.get("Final-Recipient", "")))
    if not address or not action.startswith(("failed", "delayed", "error")):
        return None
    status_field = str(block.get("Status", "")).strip()
    status = STATUS.search(status_field)
    code = status.group(0) if status else None
    diagnostic = _one_line(str(block.get("Diagnostic-Code", "")))
    if diagnostic.lower().startswith("smtp;"):
        diagnostic = diagnostic[5:].strip()
    # Postfix reports a message that timed out in its queue as failed with a 4.x.x status.
    hard = action.startswith(("failed", "error")) or (code or "").startswith("5")
    reason = diagnostic or f"{action} {status_field}".strip()
    return Failure(address, "hard" if hard else "soft", code, clip(reason, REASON_LIMIT))


def _typed_address(value: str) -> str:
    """`rfc822; someone@example.org` → the address."""
    _, _, rest = value.partition(";")
    address = parseaddr(clip((rest or value).strip(), 2 * ADDRESS_LIMIT))[1].strip("<> ")
    return clip(address.casefold(), ADDRESS_LIMIT) if "@" in address else ""


def _complaint(msg: Message, key: str, text: str) -> Finding:
    """An ARF report: its Original-Rcpt-To, else the To of the message attached to it."""
    report: Message | None = None
    originals: list[str] = []
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/feedback-report":
            payload = part.get_payload()
            if isinstance(payload, list) and payload:
                report = payload[0]
            else:
                report = HeaderParser().parsestr(str(payload or "").strip())
        elif ctype in ("message/rfc822", "text/rfc822-headers"):
            payload = part.get_payload()
            original = (
                payload[0] if isinstance(payload, list) and payload else HeaderParser().parsestr(str(payload))
            )
            to = clip(", ".join(map(str, original.get_all("To", [])[:MAX_FAILURES])), EXCERPT)
            originals += [clip(a.casefold(), ADDRESS_LIMIT) for _, a in getaddresses([to]) if "@" in a]
    feedback = str(report.get("Feedback-Type", "abuse")).strip().lower() if report else "abuse"
    if feedback not in ("abuse", "fraud", "virus", "other"):
        return Finding("unrecognised", key, note=f"a feedback report of type {feedback}")
    claimed = report.get_all("Original-Rcpt-To", []) if report else []
    rcpts = [_typed_address(str(v)) for v in claimed[:MAX_BLOCKS]]
    addresses = [a for a in rcpts if a] or originals
    reason = f"complaint ({feedback}) reported by {_reporter(msg, report)}"
    failures = _few(Failure(a, "complaint", None, reason) for a in addresses)
    return Finding("complaint", key, failures, text, originals=tuple(dict.fromkeys(originals))[:MAX_FAILURES])


def _reporter(msg: Message, report: Message | None) -> str:
    agent = str(report.get("User-Agent", "")).strip() if report else ""
    sender = parseaddr(str(msg.get("From", "")))[1]
    return _one_line(agent or sender.rsplit("@", 1)[-1] or "the mailbox provider")[:80]


def _is_away(msg: Message) -> bool:
    """RFC 3834 and the headers Exchange, Gmail and vacation programs add to away messages."""
    if msg.get("X-Autoreply") or msg.get("X-Autorespond") or msg.get("X-Vacation"):
        return True
    if str(msg.get("Precedence", "")).strip().lower() == "auto_reply":
        return True
    return bool(AWAY_SUBJECT.search(_subject(msg)))


def _subject(msg: Message) -> str:
    raw = str(msg.get("Subject", ""))
    try:
        return str(make_header(decode_header(raw)))
    except (ValueError, LookupError, UnicodeDecodeError):
        return raw


def _heuristic(msg: Message, deadline: float) -> list[Failure]:
    """Non-standard bounces, through flufl.bounce; the status code and reason from the body."""
    temporary, permanent = _detected(msg, deadline)
    body = _plain_text(msg)
    out = []
    for raw, kind in [(a, "hard") for a in permanent] + [(a, "soft") for a in temporary - permanent]:
        address = clip(raw.decode("ascii", "replace").casefold(), ADDRESS_LIMIT)
        status = STATUS.search(body)
        out.append(Failure(address, kind, status.group(0) if status else None, _reason(body, address)))  # type: ignore[arg-type]
    return out


def _detected(msg: Message, deadline: float) -> tuple[frozenset[bytes], frozenset[bytes]]:
    """(temporary, permanent) addresses from the first detector that finds any.

    flufl.bounce's own `all_failures` gives up on the whole message when one detector raises;
    here a detector that trips over a message just does not recognise it, and the next one tries.
    """
    for detector in _detectors():
        _in_time(deadline)
        try:
            temporary, permanent = detector().process(msg)
        except Exception:  # a third-party heuristic on untrusted input
            continue
        if temporary or permanent:
            return frozenset(temporary), frozenset(permanent)
    return frozenset(), frozenset()


@cache
def _detectors() -> tuple[type, ...]:
    """GNU Mailman's detectors, most specific first, in flufl.bounce's own order (imported on first use).

    flufl.bounce logs a failing detector's traceback; a secretary reads one warning line per
    skipped message instead, so its logger is silenced.
    """
    from flufl.bounce import _scan

    log = logging.getLogger("flufl.bounce")
    log.addHandler(logging.NullHandler())
    log.propagate = False
    return tuple(_scan._DETECTORS)


def _excerpt(msg: Message, room: list[int] | None = None) -> Message:
    """A copy of `msg` whose parts hold together at most EXCERPT characters and EXCERPT_LINES
    lines of text, cut at a line's end (base64 still decodes); the headers as they are."""
    room = room or [EXCERPT, EXCERPT_LINES]
    clone, payload = copy.copy(msg), msg.get_payload()
    if isinstance(payload, list):
        clone.set_payload([_excerpt(p, room) for p in payload])
        return clone
    text = str(payload or "")
    head = text[: room[0]]
    if len(head) < len(text) and "\n" in head:
        head = head[: head.rindex("\n") + 1]
    lines = head.splitlines(keepends=True)[: room[1]]
    room[0], room[1] = room[0] - sum(map(len, lines)), room[1] - len(lines)
    clone.set_payload("".join(lines))
    return clone


def _plain_text(msg: Message) -> str:
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload.decode(part.get_content_charset() or "utf-8", "replace")
    return ""


def _reason(body: str, address: str) -> str:
    """The line of the bounce that gives a status code, or names the address."""
    lines = [ln.strip() for ln in body.splitlines() if ln.strip()]
    for ln in lines:
        if STATUS.search(ln) or re.search(r"\b[45]\d\d\b", ln):
            return _one_line(ln)[:300]
    for ln in lines:
        if address in ln.casefold():
            return _one_line(ln)[:300]
    return "returned as undeliverable"


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
