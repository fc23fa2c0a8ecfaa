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
`Unreadable`: one warning, nothing recorded.
"""

from __future__ import annotations

import email.policy
import hashlib
import logging
import re
import time
from dataclasses import dataclass, field
from email.feedparser import BytesFeedParser
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses, parseaddr
from functools import cache
from typing import Literal

from mailer.project.textclean import clip

Verdict = Literal["hard", "soft", "complaint", "auto_reply", "unrecognised"]

MAX_PARTS = 200
"""A bounce has a handful of MIME parts (a report, its status, the returned message)."""
MAX_SECONDS = 2.0
"""CPU time one message may take to read; a real bounce takes a few milliseconds."""
MAX_REFERENCES = 50
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
    return Finding(
        found.verdict,
        key,
        found.failures,
        text,
        found.note,
        found.originals,
        refs,
        digest_key(data),
    )


def _classify(msg: Message, key: str, text: str, deadline: float) -> Finding:
    report_type = msg.get_param("report-type", "", header="content-type")
    report_type = str(report_type).lower() if isinstance(report_type, str) else ""
    if msg.get_content_type() == "multipart/report" and report_type == "feedback-report":
        return _complaint(msg, key, text)
    dsn = _delivery_status(msg)
    if dsn is not None:
        failures = tuple(dsn)
        if not failures:
            return Finding("unrecognised", key, note="a delivery report without failures")
        return Finding(_worst(failures), key, failures, text)
    if _is_away(msg):
        return Finding("auto_reply", key, note="an automatic reply")
    _in_time(deadline)
    failures = tuple(_heuristic(msg))
    if failures:
        return Finding(_worst(failures), key, failures, text)
    if str(msg.get("Auto-Submitted", "")).lower().startswith("auto-replied"):
        return Finding("auto_reply", key, note="an automatic reply")
    return Finding("unrecognised", key, note="neither a bounce nor a complaint")


def _worst(failures: tuple[Failure, ...]) -> Verdict:
    kinds = {f.kind for f in failures}
    return "hard" if "hard" in kinds else "soft"


def _delivery_status(msg: Message) -> list[Failure] | None:
    """Failures per recipient of an RFC 3464 report; None when the message has no such part."""
    found = False
    out: list[Failure] = []
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        found = True
        blocks = part.get_payload()
        if not isinstance(blocks, list):
            blocks = [HeaderParser().parsestr(b) for b in str(blocks).split("\n\n") if b.strip()]
        for block in blocks:
            failure = _recipient_block(block)
            if failure:
                out.append(failure)
    return out if found else None


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
            originals += [a.casefold() for _, a in getaddresses(original.get_all("To", [])) if "@" in a]
    feedback = str(report.get("Feedback-Type", "abuse")).strip().lower() if report else "abuse"
    if feedback not in ("abuse", "fraud", "virus", "other"):
        return Finding("unrecognised", key, note=f"a feedback report of type {feedback}")
    rcpts = [_typed_address(str(v)) for v in (report.get_all("Original-Rcpt-To", []) if report else [])]
    addresses = [a for a in rcpts if a] or originals
    reason = f"complaint ({feedback}) reported by {_reporter(msg, report)}"
    failures = tuple(Failure(a, "complaint", None, reason) for a in dict.fromkeys(addresses))
    return Finding("complaint", key, failures, text, originals=tuple(originals))


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
    if str(msg.get("X-Auto-Response-Suppress", "")) and AWAY_SUBJECT.search(_subject(msg)):
        return True
    return bool(AWAY_SUBJECT.search(_subject(msg)))


def _subject(msg: Message) -> str:
    from email.header import decode_header, make_header

    raw = str(msg.get("Subject", ""))
    try:
        return str(make_header(decode_header(raw)))
    except (ValueError, LookupError, UnicodeDecodeError):
        return raw


def _heuristic(msg: Message) -> list[Failure]:
    """Non-standard bounces, through flufl.bounce; the status code and reason from the body."""
    temporary, permanent = _detected(msg)
    body = _plain_text(msg)
    out = []
    for raw, kind in [(a, "hard") for a in permanent] + [(a, "soft") for a in temporary - permanent]:
        address = clip(raw.decode("ascii", "replace").casefold(), ADDRESS_LIMIT)
        status = STATUS.search(body)
        out.append(Failure(address, kind, status.group(0) if status else None, _reason(body, address)))  # type: ignore[arg-type]
    return out


def _detected(msg: Message) -> tuple[frozenset[bytes], frozenset[bytes]]:
    """(temporary, permanent) addresses from the first detector that finds any.

    flufl.bounce's own `all_failures` gives up on the whole message when one detector raises;
    here a detector that trips over a message just does not recognise it, and the next one tries.
    """
    for detector in _detectors():
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
