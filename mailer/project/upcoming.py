"""What lies ahead of a moment: the mailings whose send time falls before a horizon.

A draft that cannot be read or built holds back nothing else where the caller passes
`problems` (run-due, the schedule): it is named there and left out, and the meetings'
invitations still go.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from mailer.errors import UserError
from mailer.project import calendar, event_mailings
from mailer.project.drafts import Draft, read_draft
from mailer.project.mailing_config import InvitationConfig
from mailer.project.mailings import Mailing


class Project(event_mailings.Project, Protocol):
    """What is ahead needs of the folder (`folder.Project` has it all; named here so that the
    folder can call this module without the two importing each other)."""

    def drafts(self, problems: list[str] | None = None) -> list[Draft]: ...

    def draft_mailings(self, draft: Draft, now: dt.datetime) -> list[Mailing]: ...

    def invitation(
        self, series: str, cfg: InvitationConfig, occ: calendar.Occurrence, reminder: bool
    ) -> Mailing: ...


def readable(paths: list[Path], label: Callable[[Path], Path], problems: list[str] | None) -> list[Draft]:
    """The drafts at `paths`; without `problems`, the first that cannot be read raises."""
    out = []
    for path in paths:
        try:
            out.append(read_draft(path, str(label(path))))
        except UserError as exc:
            if problems is None:
                raise
            problems.append(str(exc))
    return out


def mailings(
    project: Project, now: dt.datetime, until: dt.datetime, problems: list[str] | None = None
) -> list[Mailing]:
    """Newsletters with a planned time and meeting mailings whose meeting is still ahead."""
    out: list[Mailing] = []
    for draft in project.drafts(problems):
        try:
            built = project.draft_mailings(draft, now) if draft.front.send_at is not None else []
        except UserError as exc:
            if problems is None:
                raise
            problems.append(str(exc))
            continue
        out += [m for m in built if m.send_at <= until and m.closes_at > now]
    tz = project.config.organisation.tz
    for series, cfg in project.config.mailings.items():
        if not isinstance(cfg, InvitationConfig):
            continue
        last_day = (until + dt.timedelta(days=max(cfg.invite.days_before, 0) + 1)).date()
        for occ in calendar.occurrences(series, cfg.meeting, tz, now.date(), last_day):
            if occ.cancelled or occ.start <= now:
                continue
            for reminder in (False, True) if cfg.reminder else (False,):
                mailing = project.invitation(series, cfg, occ, reminder)
                if mailing.send_at <= until:
                    out.append(mailing)
    out += event_mailings.upcoming(project, now, until)
    return sorted(out, key=lambda m: (m.send_at, m.id))
