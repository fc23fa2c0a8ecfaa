"""How a send stops on purpose: SIGTERM or Ctrl-C ends every delivery after the messages in flight."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable

STOP = threading.Event()
"""Set by the scheduler's signal handler: every delivery ends after the message in flight."""


def stop_on_signals(loop: asyncio.AbstractEventLoop, stop: Callable[[], None]) -> Callable[[], None]:
    """SIGTERM/SIGINT finish the messages in flight, then end the run."""
    installed = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            pass

    def restore() -> None:
        for sig in installed:
            loop.remove_signal_handler(sig)

    return restore
