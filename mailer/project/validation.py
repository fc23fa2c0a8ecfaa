"""Checks schedules.yaml cannot make on its own: templates and attachments exist, calendars fire."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from mailer.project import calendar, consultations, look
from mailer.project.config import Config
from mailer.project.mailing_config import ConsultationConfig, InvitationConfig


def calendar_and_template_problems(root: Path, config: Config, templates_dir: Path, where: str) -> list[str]:
    """Templates exist; each series fires; sends come before meetings; attachments exist."""
    cfg_tz = config.organisation.tz
    problems = look.problems(root, config.organisation, where)
    for name, cfg in config.mailings.items():
        key = f"mailings.{name}"
        if not (templates_dir / f"{cfg.template}.mjml").is_file():
            problems.append(
                f"{where}: {key}.template: template '{cfg.template}' not found "
                f"(templates/{cfg.template}.mjml does not exist)"
            )
        if isinstance(cfg, ConsultationConfig):
            problems += consultations.config_problems(where, name, cfg, root, cfg_tz)
        if not isinstance(cfg, InvitationConfig):
            continue
        meeting = cfg.meeting
        if calendar.first_day(meeting) is None:
            problems.append(
                f"{where}: {key}.meeting.recurrence: the recurrence never fires; "
                "check start, until, day and weekday"
            )
        for rule_name, rule in (("invite", cfg.invite), ("reminder", cfg.reminder)):
            if rule is None:
                continue
            times = [meeting.time] + [d.time() for d in meeting.dates or [] if isinstance(d, dt.datetime)]
            if rule.days_before == 0 and any(rule.at >= t for t in times):
                problems.append(
                    f"{where}: {key}.{rule_name}.at: {rule.at:%H:%M} on the day is not before "
                    f"the meeting starts; send earlier"
                )
        for day, change in meeting.changes.items():
            if not calendar.planned_days(meeting, day, day):
                problems.append(
                    f"{where}: {key}.meeting.changes.{day}: the series has no meeting on that date"
                )
            for att in change.attachments:
                if not (root / att).is_file():
                    problems.append(f"{where}: {key}.meeting.changes.{day}.attachments: {att} not found")
        for att in meeting.attachments:
            if not (root / att).is_file():
                problems.append(f"{where}: {key}.meeting.attachments: {att} not found")
        if meeting.agenda and meeting.agenda.endswith(".md") and not (root / meeting.agenda).is_file():
            problems.append(f"{where}: {key}.meeting.agenda: {meeting.agenda} not found")
    return problems
