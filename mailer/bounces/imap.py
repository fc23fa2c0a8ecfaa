"""Fetching returned mail from an IMAP folder over TLS, for `run-due` and the scheduler.

New messages (by UID, above the last one read in this folder) are read and recorded; what was
processed moves to another folder. A message that is not a bounce stays where it is for a
person to read, as does one over MAX_MESSAGE (its size is asked first; it is never fetched). A
server that is down or refuses the login costs one warning line: bounces are read next time,
and sending goes on.
"""

from __future__ import annotations

import imaplib
import re
import ssl
from collections.abc import Callable

from mailer.bounces.mailbox import MAX_MESSAGE, TOO_LARGE, Skipped
from mailer.delivery.runner import Runner
from mailer.project.settings import Settings

LEAVE = ("unrecognised", "broken")
_UID, _SIZE = re.compile(rb"\bUID (\d+)"), re.compile(rb"\bRFC822\.SIZE (\d+)")


class MailboxProblem(Exception):
    """The IMAP server answered, but not as needed (no such folder, a refused command)."""


def collect(runner: Runner, warn: Callable[[str], None]) -> str | None:
    """Read the bounce folder when MAILER_BOUNCE_IMAP_HOST is set; a summary line if anything was new."""
    settings = runner.project.settings
    if not settings.bounce_imap_host:
        return None
    where = f"bounce mailbox {settings.bounce_imap_host}:{settings.bounce_imap_port}"
    try:
        read, report = fetch(runner, settings, warn)
    except imaplib.IMAP4.error as exc:
        warn(
            f"{where}: {_text(exc)}; check MAILER_BOUNCE_IMAP_*; bounces are read next time, sending goes on"
        )
        return None
    except (OSError, MailboxProblem) as exc:
        warn(f"{where}: {_text(exc)}; bounces are read next time, sending goes on")
        return None
    return f"{where}: {report}" if read else None


def _text(exc: BaseException) -> str:
    text = str(exc.args[0] if exc.args else exc)
    if text.startswith(("b'", 'b"')):
        text = text[2:-1]
    if isinstance(exc, ConnectionRefusedError):
        return "cannot connect (connection refused)"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or text}"
    if isinstance(exc, imaplib.IMAP4.error) and "auth" in text.lower():
        return f"login refused: {text.rstrip('.')}"
    return " ".join(text.split())[:200].rstrip(".") or "the connection failed"


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def fetch(runner: Runner, settings: Settings, warn: Callable[[str], None]) -> tuple[int, str]:
    """(new messages read, the import's summary line); a skipped message is one warning line."""
    from mailer.bounces.commands import processor

    cafile = str(settings.bounce_imap_cafile) if settings.bounce_imap_cafile else None
    context = ssl.create_default_context(cafile=cafile)
    host, folder, done = (
        settings.bounce_imap_host,
        settings.bounce_imap_folder,
        settings.bounce_imap_done_folder,
    )
    with imaplib.IMAP4_SSL(
        host, settings.bounce_imap_port, ssl_context=context, timeout=settings.smtp_timeout
    ) as imap:
        password = settings.bounce_imap_password.get_secret_value() if settings.bounce_imap_password else ""
        imap.login(settings.bounce_imap_username or "", password)
        typ, data = imap.select(_quote(folder))
        if typ != "OK":
            raise MailboxProblem(f"no folder {folder} (MAILER_BOUNCE_IMAP_FOLDER)")
        validity = imap.response("UIDVALIDITY")[1][0]
        key = f"imap:{host}:{folder}:{validity.decode() if isinstance(validity, bytes) else validity}"
        last = int(runner.state.meta.get(key) or 0)
        typ, data = imap.uid("SEARCH", None, f"UID {last + 1}:*")
        uids = [int(u) for u in (data[0] or b"").split() if int(u) > last]
        sizes = _sizes(imap, last) if uids else {}
        proc = processor(runner, "imap")
        processed = []
        for uid in sorted(uids):
            message = TOO_LARGE if sizes.get(uid, 0) > MAX_MESSAGE else _body(imap, uid)
            if message is None:
                continue
            outcome = proc.handle(f"{folder} message {uid}", message)
            for line in proc.report.warnings:
                warn(line)
            proc.report.warnings.clear()
            if outcome not in LEAVE:
                processed.append(uid)
            runner.state.meta.set(key, str(uid))
        if processed:
            _move(imap, processed, done)
        new = proc.report.read - proc.report.already_read
        return new, proc.report.line()


def _sizes(imap: imaplib.IMAP4, last: int) -> dict[int, int]:
    """Each new message's size by UID, asked before any is fetched."""
    typ, data = imap.uid("FETCH", f"{last + 1}:*", "(RFC822.SIZE)")
    sizes: dict[int, int] = {}
    for item in data if typ == "OK" else []:
        line = item[0] if isinstance(item, tuple) else item
        uid, size = (_UID.search(line), _SIZE.search(line)) if isinstance(line, bytes) else (None, None)
        if uid and size:
            sizes[int(uid[1])] = int(size[1])
    return sizes


def _body(imap: imaplib.IMAP4, uid: int) -> bytes | Skipped | None:
    """The message; TOO_LARGE should its size have lied (no more than that is fetched); None
    when the server gives nothing."""
    typ, parts = imap.uid("FETCH", str(uid), f"(BODY.PEEK[]<0.{MAX_MESSAGE + 1}>)")
    raw = next((p[1] for p in parts if isinstance(p, tuple)), None)
    if typ != "OK" or not isinstance(raw, bytes):
        return None
    return TOO_LARGE if len(raw) > MAX_MESSAGE else raw


def _move(imap: imaplib.IMAP4, uids: list[int], folder: str) -> None:
    """MOVE where the server has it (RFC 6851), else copy, flag deleted, expunge."""
    imap.create(_quote(folder))  # "already exists" is fine
    uid_set = ",".join(str(u) for u in uids)
    capabilities = imap.capabilities
    if "MOVE" in capabilities:
        typ, _ = imap.uid("MOVE", uid_set, _quote(folder))
    else:
        typ, _ = imap.uid("COPY", uid_set, _quote(folder))
        if typ == "OK":
            imap.uid("STORE", uid_set, "+FLAGS", "(\\Deleted)")
            imap.expunge()
    if typ != "OK":
        raise MailboxProblem(f"could not move processed messages to {folder}")
