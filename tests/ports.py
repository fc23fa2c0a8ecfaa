"""Ports for the servers the tests start."""

from __future__ import annotations

import os
import socket
from pathlib import Path


def free_port() -> int:
    """A port of 127.0.0.1 that nobody listens on at this moment (another process may take it
    before the caller binds it: the servers' starters try another then)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listens(pid: int, port: int) -> bool:
    """Whether process `pid` holds the socket listening on 127.0.0.1:`port` (Linux /proc)."""
    wanted = f"0100007F:{port:04X}"
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == wanted and fields[3] == "0A":  # LISTEN
            inodes.add(f"socket:[{fields[9]}]")
    fds = Path(f"/proc/{pid}/fd")
    try:
        return any(os.readlink(fd) in inodes for fd in fds.iterdir())
    except (FileNotFoundError, ProcessLookupError):
        return False
