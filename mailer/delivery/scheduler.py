"""`mailer scheduler`: a long-running process that calls run-due every minute.

The minute is measured on the monotonic clock, never on the machine's time: a clock stepped
back (NTP correcting an hour) must not make the process sleep for the size of the step. Each
tick still asks the one clock (`clock.now`) what time it is. A tick that runs longer than a
minute is followed by the next one at once, and the ticks it missed collapse into that one:
run-due catches up on everything overdue anyway. The ledger is what is shared between
processes; the run lock keeps cron and the scheduler from sending at the same moment.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable

from mailer import clock
from mailer.delivery import stopping
from mailer.delivery.observer import Progress
from mailer.delivery.runner import Runner
from mailer.errors import UserError
from mailer.project.folder import Project

TICK_SECONDS = 60


RunDue = Callable[[Runner], object]
"""What one tick does with a fresh runner (the command line hands in `run-due`)."""


def tick(
    project: Project,
    run_due: RunDue,
    progress: Callable[[], Progress],
    warn: Callable[[str], None],
) -> None:
    """One run-due at the current time, with its own runner and lock."""
    if stopping.STOP.is_set():
        return
    try:
        runner = Runner(project, clock.now(project.tz), progress=progress)
        try:
            run_due(runner)
        finally:
            runner.close()
    except UserError as exc:
        warn(str(exc))
    except Exception as exc:  # one failed minute must not stop the ones after it
        warn(f"run-due failed: {type(exc).__name__}: {exc}; the next minute tries again")


def run_forever(
    project: Project,
    run_due: RunDue,
    progress: Callable[[], Progress],
    out: Callable[..., None],
    warn: Callable[[str], None],
) -> None:
    project.config  # noqa: B018 - fail now, with a clear message, if the files are wrong
    project.settings  # noqa: B018 - and if a setting is (an unreadable DKIM key: nothing goes unsigned)
    done = threading.Event()

    def stop(signum: int, frame: object) -> None:
        out("stopping after the message in flight…")
        stopping.STOP.set()
        done.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # The ticks run in a thread of their own: the signal handler (on the main thread) must never
    # interrupt a tick's own printing, and it ends the wait between ticks at once.
    ticks = threading.Thread(
        target=every_minute, args=(done, lambda: tick(project, run_due, progress, warn)), daemon=True
    )
    ticks.start()
    out(f"scheduler running for {project.root} (every {TICK_SECONDS} s); stop with Ctrl-C or SIGTERM")
    done.wait()
    ticks.join()
    out("scheduler stopped")


def every_minute(done: threading.Event, once: Callable[[], None]) -> None:
    """`once` now and then every TICK_SECONDS by the monotonic clock, until `done` is set."""
    due = time.monotonic()
    while not done.wait(max(0.0, due - time.monotonic())):
        once()
        due = max(due + TICK_SECONDS, time.monotonic())
