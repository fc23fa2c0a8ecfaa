"""How a send stops on purpose: SIGTERM or Ctrl-C ends every delivery after the messages in flight."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable

STOP = threading.Event()
"""Set by a stop request (SIGTERM, Ctrl-C): every delivery ends after the message in flight, and
nothing more is begun in this process (run-due goes on to no other mailing)."""


def stop_on_signals(loop: asyncio.AbstractEventLoop, stop: Callable[[], None]) -> Callable[[], None]:
    """SIGTERM/SIGINT finish the messages in flight, then end the run; the handlers there were
    before (the scheduler's) are put back afterwards."""

    def on_signal() -> None:
        STOP.set()  # for the rest of the process: the signal is not sent twice
        stop()

    installed = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            before = signal.getsignal(sig)
            loop.add_signal_handler(sig, on_signal)
            installed.append((sig, before))
        except (NotImplementedError, RuntimeError, ValueError):
            pass

    def restore() -> None:
        for sig, before in installed:
            loop.remove_signal_handler(sig)
            if before is not None:
                signal.signal(sig, before)

    return restore
