"""Where returned messages are read from: one message file, an mbox, a Maildir, or stdin.

Yields each message's bytes with a label for warnings. One broken, huge or unreadable message
does not stop the rest (it is skipped with one warning line); an empty or missing source is the
user's to fix. A Maildir may be live: a mail program that reads a message meanwhile moves it
from new/ to cur/, where it is read.
"""

from __future__ import annotations

import mailbox
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mailer.errors import UserError

MAX_MESSAGE = 10 * 1024 * 1024
"""A bounce is small; anything larger is skipped, so a stray huge file cannot fill memory."""


@dataclass(frozen=True)
class Skipped:
    """A message that is not read, and why, in words for the warning line."""

    why: str


TOO_LARGE = Skipped("larger than a bounce can be")
GONE = Skipped("gone before it was read (another mail program moved or deleted it)")


def messages(source: str) -> Iterator[tuple[str, bytes | Skipped]]:
    """(label, bytes) for each message, or (label, Skipped) for one that is skipped."""
    if source == "-":
        data = sys.stdin.buffer.read(MAX_MESSAGE + 1)
        if not data.strip():
            raise UserError("standard input is empty: pipe one bounce or complaint message to it")
        yield "standard input", TOO_LARGE if len(data) > MAX_MESSAGE else data
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
    yield str(path), TOO_LARGE if size > MAX_MESSAGE else _read(path)


def _read(file: Path) -> bytes | Skipped:
    try:
        return file.read_bytes()
    except OSError as exc:
        return _unreadable(exc)


def _unreadable(exc: OSError) -> Skipped:
    return Skipped(f"cannot be read ({os.strerror(exc.errno) if exc.errno else 'read error'})")


def _maildir(path: Path) -> Iterator[tuple[str, bytes | Skipped]]:
    files = sorted(f for sub in ("new", "cur") for f in (path / sub).iterdir() if f.is_file())
    listed = set(files)
    for file in files:
        if file.name.startswith("."):
            continue
        data = _take(file)
        if data is None:  # a mail program moved it meanwhile, or deleted it
            moved = _moved(path, file)
            if moved in listed:  # read at its own turn
                continue
            file, data = (moved, _take(moved)) if moved else (file, None)
        yield f"{path}/{file.parent.name}/{file.name}", GONE if data is None else data


def _take(file: Path) -> bytes | Skipped | None:
    """Its bytes (TOO_LARGE past MAX_MESSAGE); None when it is no longer there."""
    try:
        return TOO_LARGE if file.stat().st_size > MAX_MESSAGE else file.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return _unreadable(exc)


def _moved(path: Path, file: Path) -> Path | None:
    """Where a message went: a mail program moves new/NAME to cur/NAME:2,FLAGS, and renames
    that as its flags change (the Maildir convention)."""
    name = file.name.split(":", 1)[0]
    try:
        return next((f for f in (path / "cur").iterdir() if f.name.split(":", 1)[0] == name), None)
    except OSError:
        return None


def _mbox(path: Path) -> Iterator[tuple[str, bytes | Skipped]]:
    """Split on 'From ' lines as mbox readers do; a message with broken headers still comes out."""
    box = mailbox.mbox(path, factory=None, create=False)
    try:
        for n, key in enumerate(box.iterkeys(), start=1):
            with box.get_file(key) as f:
                data = f.read(MAX_MESSAGE + 1)
            yield f"{path} message {n}", TOO_LARGE if len(data) > MAX_MESSAGE else data
    finally:
        box.close()
