"""Where returned messages are read from: one message file, an mbox, a Maildir, or stdin.

Yields each message's bytes with a label for warnings. One broken message does not stop the
rest; an empty or missing source is the user's to fix.
"""

from __future__ import annotations

import mailbox
import sys
from collections.abc import Iterator
from pathlib import Path

from mailer.errors import UserError

MAX_MESSAGE = 10 * 1024 * 1024
"""A bounce is small; anything larger is skipped, so a stray huge file cannot fill memory."""


class TooLarge(Exception):
    """One message over MAX_MESSAGE bytes."""


def messages(source: str) -> Iterator[tuple[str, bytes | TooLarge]]:
    """(label, bytes) for each message, or (label, TooLarge) for one that is skipped."""
    if source == "-":
        data = sys.stdin.buffer.read(MAX_MESSAGE + 1)
        if not data.strip():
            raise UserError("standard input is empty: pipe one bounce or complaint message to it")
        yield "standard input", TooLarge() if len(data) > MAX_MESSAGE else data
        return
    path = Path(source)
    if path.is_dir():
        if not all((path / sub).is_dir() for sub in ("cur", "new")):
            raise UserError(
                f"{path} is a folder but not a Maildir (no cur/ and new/); give a Maildir or a file"
            )
        yield from _maildir(path)
        return
    if not path.is_file():
        raise UserError(f"{path}: no such file or folder; give a message file, an mbox, a Maildir or -")
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(5)
    if size == 0 or not head.strip():
        raise UserError(f"{path} is empty: nothing to import")
    if head == b"From ":
        yield from _mbox(path)
        return
    yield str(path), TooLarge() if size > MAX_MESSAGE else path.read_bytes()


def _maildir(path: Path) -> Iterator[tuple[str, bytes | TooLarge]]:
    files = sorted(f for sub in ("new", "cur") for f in (path / sub).iterdir() if f.is_file())
    for file in files:
        if file.name.startswith("."):
            continue
        label = f"{path}/{file.parent.name}/{file.name}"
        yield label, TooLarge() if file.stat().st_size > MAX_MESSAGE else file.read_bytes()


def _mbox(path: Path) -> Iterator[tuple[str, bytes | TooLarge]]:
    """Split on 'From ' lines as mbox readers do; a message with broken headers still comes out."""
    box = mailbox.mbox(path, factory=None, create=False)
    try:
        for n, key in enumerate(box.iterkeys(), start=1):
            with box.get_file(key) as f:
                data = f.read(MAX_MESSAGE + 1)
            yield f"{path} message {n}", TooLarge() if len(data) > MAX_MESSAGE else data
    finally:
        box.close()
