"""The run lock: one sending process per project at a time, unless the state is shared."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def run_lock(state_dir: Path, wait: bool) -> Iterator[bool]:
    """One sending process per project at a time; a killed process releases it at once.

    A shared state (PostgreSQL) has its lock on the server instead (`PostgresDatabase.held`),
    which several senders hold at once: they claim deliveries from each other.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(state_dir / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)
