"""`mailer scheduler`: a long-running process that calls run-due every minute.

It owns its schedule in memory (APScheduler's job stores must not be shared between
processes; the ledger is what is shared, and the run lock keeps cron and the scheduler from
sending at the same moment). A late tick still runs (`misfire_grace_time=None`) and missed
ticks collapse into one (`coalesce=True`): run-due catches up on everything overdue anyway.
"""

from __future__ import annotations

import datetime
import signal
import threading
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
    runner = Runner(project, clock.now(project.tz), progress=progress)
    try:
        run_due(runner)
    except UserError as exc:
        warn(str(exc))
    finally:
        runner.close()


def run_forever(
    project: Project,
    run_due: RunDue,
    progress: Callable[[], Progress],
    out: Callable[..., None],
    warn: Callable[[str], None],
) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    project.config  # noqa: B018 - fail now, with a clear message, if the files are wrong
    project.settings  # noqa: B018 - and if a setting is (an unreadable DKIM key: nothing goes unsigned)
    done = threading.Event()

    def stop(signum: int, frame: object) -> None:
        out("stopping after the message in flight…")
        stopping.STOP.set()
        done.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    scheduler = BackgroundScheduler(
        timezone=project.config.organisation.timezone,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    scheduler.add_job(
        tick,
        "interval",
        seconds=TICK_SECONDS,
        args=(project, run_due, progress, warn),
        next_run_time=datetime.datetime.now(project.tz),  # APScheduler's timer: the machine's time
    )
    scheduler.start()
    out(f"scheduler running for {project.root} (every {TICK_SECONDS} s); stop with Ctrl-C or SIGTERM")
    done.wait()
    scheduler.shutdown(wait=True)
    out("scheduler stopped")
