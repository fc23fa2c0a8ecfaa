"""Pictures already checked and scaled, kept in the state folder's `scaled/` by their file's hash.

A camera's photo (4000×3000, 8 MB) takes about 0.15 s to check and 0.3 s to scale, and every
preview, approval and send of a newsletter did both for each picture, the check once per
language. A picture whose bytes were checked and scaled before is read back instead. The key
is the SHA-256 of the file's bytes with `VERSION` (raise it when checking or scaling changes
what it makes), and the width: a changed file, width or rule is checked and scaled again. An
entry that cannot be read is made again; one that cannot be written only costs the time.
Entries no preview, approval or send has used for `KEEP_DAYS` go when a new one is kept, so the
folder holds the pictures of the newsletters in the works, not every picture ever sent.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

VERSION = b"1"
KEEP_DAYS = 90
"""An entry unused this long is removed (a picture that comes back is checked and scaled again)."""
TYPES = {"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif"}


@dataclass(frozen=True)
class Scaled:
    """A scaled picture as kept: its bytes, their type and the size it is shown at."""

    ext: str
    data: bytes
    width: int
    height: int


def digest(data: bytes) -> str:
    """The key of a picture file's bytes under the current rules."""
    return hashlib.sha256(VERSION + b"\0" + data).hexdigest()[:40]


def was_checked(folder: Path, key: str) -> bool:
    """Whether these bytes passed the check before (and were scaled then); marks the entry used."""
    return _used(folder / f"{key}.checked")


def read(folder: Path, key: str, width: int) -> Scaled | None:
    """The picture scaled to at most `width`, as kept, or None."""
    try:
        meta = json.loads((folder / f"{key}-{width}.json").read_text("utf-8"))
        ext = meta["ext"]
        if ext not in TYPES:
            return None
        data = (folder / f"{key}-{width}.{ext}").read_bytes()
        if hashlib.sha256(data).hexdigest() != meta["sha256"]:
            return None
        shown_width, shown_height = int(meta["width"]), int(meta["height"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not 0 < shown_width <= width or shown_height <= 0:
        return None
    _used(folder / f"{key}.checked")
    return Scaled(ext, data, shown_width, shown_height)


def keep(folder: Path, key: str, width: int, scaled: Scaled) -> None:
    """Keep a checked and scaled picture (the description last: it makes the entry whole)."""
    meta = {
        "ext": scaled.ext,
        "sha256": hashlib.sha256(scaled.data).hexdigest(),
        "width": scaled.width,
        "height": scaled.height,
    }
    with suppress(OSError):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write(folder / f"{key}-{width}.{scaled.ext}", scaled.data)
        _write(folder / f"{key}-{width}.json", json.dumps(meta).encode())
        _write(folder / f"{key}.checked", b"")
        prune(folder)


def prune(folder: Path, days: int = KEEP_DAYS) -> None:
    """Remove the entries (and any half-written file) that nothing has used for `days`."""
    oldest = time.time() - days * 86_400
    used = set()
    files = list(folder.iterdir())
    for path in files:
        with suppress(OSError):
            if path.suffix == ".checked" and path.stat().st_mtime >= oldest:
                used.add(path.stem)
    for path in files:
        with suppress(OSError):
            if path.name.split("-", 1)[0].split(".", 1)[0] not in used and path.stat().st_mtime < oldest:
                path.unlink()


def _used(checked: Path) -> bool:
    """Whether the entry exists, telling `prune` it is in use."""
    try:
        os.utime(checked)
    except FileNotFoundError:
        return False
    except OSError:  # a folder this process may read but not change: the entry is still good
        return checked.is_file()
    return True


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_bytes(data)
    tmp.replace(path)
