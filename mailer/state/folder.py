"""The state folder is readable by its owner only, and erasure leaves no trace in its files.

The folder holds who is a member of a political party (GDPR Art. 9): state.db and its WAL,
rendered previews, the outbox, the secret. The command line runs with umask 077, so what it
creates is 0700/0600 whatever the caller's umask; `secure` also tightens a folder that an
older version or another tool left open.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterable
from pathlib import Path

from mailer.errors import UserError
from mailer.state.traces import Needles, readable_text

TRACE_FOLDERS = ("outbox", "previews")
_secured: set[Path] = set()


def secure(state_dir: Path) -> None:
    """Create `state_dir` if needed; make it 0700 and everything in it 0700 (folders) or 0600.

    The walk runs once per process and folder: `mailer serve` opens the state at every request.
    """
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise UserError(
            f"the state folder {state_dir} (MAILER_STATE_DIR) is a file or lies under one; "
            "set MAILER_STATE_DIR to a folder, or move the file away"
        ) from None
    except OSError as exc:
        raise UserError(
            f"cannot create the state folder {state_dir} (MAILER_STATE_DIR): {exc.strerror}; "
            "set MAILER_STATE_DIR to a folder you may write to"
        ) from None
    state_dir.chmod(0o700)
    if state_dir in _secured:
        return
    _secured.add(state_dir)
    _tighten_tree(str(state_dir))


def _tighten_tree(folder: str) -> None:
    """Folders 0700 and files 0600 below `folder`, with one lstat an entry (an outbox may hold
    tens of thousands of messages). A symbolic link is left as it is: chmod would follow it."""
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        try:
            mode = entry.stat(follow_symlinks=False).st_mode
            if stat.S_ISDIR(mode):
                if mode & 0o077:
                    os.chmod(entry.path, 0o700)
                _tighten_tree(entry.path)
            elif stat.S_ISREG(mode) and mode & 0o077:
                os.chmod(entry.path, 0o600)
        except FileNotFoundError:
            pass


def readable_by_others(paths: Iterable[Path]) -> list[Path]:
    """The files among `paths` that group or others may read."""
    return [p for p in paths if p.is_file() and stat.S_IMODE(p.stat().st_mode) & 0o044]


def _needles(needles: Needles | Iterable[str]) -> Needles:
    return needles if isinstance(needles, Needles) else Needles.of(texts=needles)


def _trace_files(state_dir: Path) -> Iterable[tuple[str, Path]]:
    for top in TRACE_FOLDERS:
        root = state_dir / top
        if root.is_dir():
            yield from ((top, path) for path in sorted(root.rglob("*")) if path.is_file())


def _mentions(state_dir: Path, path: Path, needles: Needles) -> bool:
    try:
        text = readable_text(path)
    except FileNotFoundError:
        return False  # gone already: its preview folder went with a sibling
    return needles.found_in(str(path.relative_to(state_dir)).casefold() + "\n" + text)


def mentioned_in_files(state_dir: Path, needles: Needles | Iterable[str]) -> bool:
    """Whether an outbox message or a preview names someone by `needles`, in its decoded text
    and in any letter case (see `traces`)."""
    wanted = _needles(needles)
    return bool(wanted) and any(_mentions(state_dir, p, wanted) for _, p in _trace_files(state_dir))


def erase_files(state_dir: Path, needles: Needles | Iterable[str]) -> int:
    """Delete every outbox message and preview that names someone by `needles`, in its decoded
    text and in any letter case; plain strings are looked for as they are.

    Each file is read and decoded once, whatever the number of needles: erase many people with
    one call. A preview folder goes as a whole (its index, HTML, text and .eml show the same
    person). Returns how many files went.
    """
    wanted = _needles(needles)
    if not wanted:
        return 0
    removed = 0
    for top, path in _trace_files(state_dir):
        if not path.is_file() or not _mentions(state_dir, path, wanted):
            continue
        if top == "previews" and path.parent != state_dir / top:
            removed += sum(1 for p in path.parent.iterdir() if p.is_file())
            shutil.rmtree(path.parent)
        else:
            path.unlink()
            removed += 1
    return removed
