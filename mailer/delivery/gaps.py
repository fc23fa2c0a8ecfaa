"""Time that passed while nothing ran: mailings of meetings held meanwhile are never sent.

Cron catches up on everything still worth sending. A meeting that was held while mailer was
stopped (a server down for a week, a project folder restored from a year-old backup) gets
nothing, and run-due says so in numbers once, so the secretary knows what members missed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mailer.delivery.timing import ago
from mailer.project import calendar
from mailer.project.mailing_config import InvitationConfig
from mailer.state.database import stamp, unstamp

if TYPE_CHECKING:
    from mailer.delivery.runner import Runner

LAST_RUN = "last_run_due"


@dataclass(frozen=True)
class Gap:
    """Mailings whose send time fell between the last run and this one, for meetings already held."""

    since: dt.datetime
    mailings: int
    meetings: int

    def line(self, now: dt.datetime) -> str:
        return (
            f"since the last run ({self.since:%Y-%m-%d %H:%M}, {ago(self.since, now)}) {self.meetings} "
            f"meetings were held whose {self.mailings} invitations and reminders were due meanwhile; "
            "they are not sent now (`mailer schedule` shows what is still ahead)"
        )

    def as_json(self) -> dict[str, object]:
        return {"since": self.since.isoformat(), "mailings": self.mailings, "meetings": self.meetings}


def last_run(runner: Runner) -> dt.datetime | None:
    """The last run-due, or (a state from before this was kept) the last change in the ledger."""
    times = [
        t for t in (unstamp(runner.state.meta.get(LAST_RUN)), runner.state.deliveries.last_activity()) if t
    ]
    return max(times).astimezone(runner.project.tz) if times else None


def since_last_run(runner: Runner) -> Gap | None:
    """Meetings held since the last run whose mailings fell due in between and were never sent."""
    since, now = last_run(runner), runner.now
    if since is None or since >= now:
        return None
    project = runner.project
    due: list[tuple[str, str]] = []
    for series, cfg in project.config.mailings.items():
        if not isinstance(cfg, InvitationConfig):
            continue
        rules = [cfg.invite] + ([cfg.reminder] if cfg.reminder else [])
        for occ in calendar.occurrences(series, cfg.meeting, project.tz, since.date(), now.date()):
            if occ.cancelled or not since < occ.start <= now:
                continue
            for rule, suffix in zip(rules, ("", "/reminder"), strict=False):
                if since < calendar.send_time(occ, rule):
                    due.append((occ.id, occ.id + suffix))
    known = runner.state.deliveries.planned_mailings([m for _, m in due]) if due else set()
    missed = [(occ, m) for occ, m in due if m not in known]
    return Gap(since, len(missed), len({occ for occ, _ in missed})) if missed else None


def record_run(runner: Runner) -> None:
    runner.state.meta.set(LAST_RUN, stamp(runner.now))
