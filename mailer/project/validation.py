"""Checks schedules.yaml cannot make on its own: templates and attachments exist, calendars fire."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from mailer.project import calendar, consultations, look
from mailer.project.config import Config
from mailer.project.event_config import NOTICE_TEMPLATES, EventConfig
from mailer.project.mailing_config import ConsultationConfig, InvitationConfig


def calendar_and_template_problems(
    root: Path, config: Config, templates_dir: Path, where: str, pictures: Path | None = None
) -> list[str]:
    """Templates exist; each series fires; sends come before meetings, a reminder on a day after
    the invitation (`delivery.reminder_days`); attachments exist.
    `pictures`: where checked pictures are kept (the logo is not decoded again)."""
    cfg_tz = config.organisation.tz
    problems = look.problems(root, config.organisation, where, pictures)
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
        if cfg.reminder is not None and cfg.reminder.days_before >= cfg.invite.days_before:
            problems.append(
                f"{where}: {key}.reminder.days_before: the reminder ({cfg.reminder.days_before} days "
                f"before) is not on a day after the invitation ({cfg.invite.days_before} days before); a "
                "reminder goes only to those invited on an earlier day"
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
    for name, event in config.events.items():
        problems += event_problems(where, name, event, templates_dir, cfg_tz)
        if not config.organisation.base_url:
            problems.append(
                f"{where}: events.{name}: registration is a form in `mailer serve`; "
                "set organisation.base_url to the address it is published at"
            )
    return problems


def event_problems(
    where: str, name: str, event: EventConfig, templates_dir: Path, tz: dt.tzinfo
) -> list[str]:
    """An event's templates exist; its invitation goes before registration closes, its reminder
    before it starts."""
    key = f"events.{name}"
    problems = []
    if not (templates_dir / f"{event.template}.mjml").is_file():
        problems.append(
            f"{where}: {key}.template: template '{event.template}' not found "
            f"(templates/{event.template}.mjml does not exist)"
        )
    for template in sorted(NOTICE_TEMPLATES.values()):
        if not (templates_dir / f"{template}.mjml").is_file():
            problems.append(
                f"{where}: {key}: template '{template}' not found (templates/{template}.mjml does not "
                "exist; `mailer init` writes one to copy)"
            )
    invite = event.invite_rule()
    if invite is not None and event.send_time(invite, tz) >= event.closes(tz):
        problems.append(
            f"{where}: {key}.invite: the invitation would go out after registration closes; send earlier"
        )
    if event.reminder is not None and event.send_time(event.reminder, tz) >= event.starts(tz):
        problems.append(
            f"{where}: {key}.reminder: the reminder would go out after the event starts; send earlier"
        )
    return problems
