"""Consultations (høringsrunder): a draft with questions becomes one mailing and its reminders.

The first message goes through the board's approval like a newsletter. Each reminder is a
mailing of its own (`DRAFT/reminder-N`) that is open only until the next one is due, so a run
that finds several overdue sends only the latest; it goes to those who got the first message on
an earlier day (`delivery.consultation_reminders`) and whose chapter (or who themselves) has not
answered. A reminder on the send day would therefore remind no one: `mailer check` refuses it.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Protocol

from mailer.errors import UserError
from mailer.project.audiences import Audience
from mailer.project.config import Config
from mailer.project.dates import real
from mailer.project.drafts import ID, Draft, read_draft
from mailer.project.mailing_config import ConsultationConfig
from mailer.project.mailings import Consultation, Mailing

REMINDER_ID = re.compile(r"(?P<draft>[a-z0-9][a-z0-9._-]*)/reminder-(?P<n>\d+)")
REMINDER_SUBJECT = "{% if language == 'nn' %}Påminning{% else %}Påminnelse{% endif %}: "


class Folder(Protocol):
    """What a consultation's mailings need of the project folder (`folder.Project` has it all).

    Named here rather than imported, so the folder, which builds every mailing, can call this
    module without the two importing each other.
    """

    root: Path

    @property
    def config(self) -> Config: ...

    @property
    def tz(self) -> dt.tzinfo: ...

    def label_path(self, path: Path) -> Path: ...

    def audience(self, name: str) -> Audience: ...


def config_for(cfg: Config, draft: Draft) -> tuple[str, ConsultationConfig] | None:
    """The consultation a draft belongs to (front matter `mailing:` or file-name prefix), if any."""
    options = {k: m for k, m in cfg.mailings.items() if isinstance(m, ConsultationConfig)}
    if draft.front.mailing:
        found = options.get(draft.front.mailing)
        return (draft.front.mailing, found) if found else None
    by_prefix = [k for k in options if draft.id.startswith(f"{k}-")]
    return (by_prefix[0], options[by_prefix[0]]) if len(by_prefix) == 1 else None


def reminder_times(cfg: ConsultationConfig, tz: dt.tzinfo) -> list[dt.datetime]:
    """When each reminder goes out, earliest first."""
    return sorted(real(local, tz) for local in cfg.reminders_local(tz))


def config_problems(where: str, name: str, cfg: ConsultationConfig, root: Path, tz: dt.tzinfo) -> list[str]:
    """What `mailer check` says about a consultation's schedules.yaml entry alone."""
    problems = []
    deadline = cfg.closes_at(tz)
    for i, local in enumerate(cfg.reminders_local(tz)):
        when = real(local, tz)
        if when >= deadline:
            problems.append(
                f"{where}: mailings.{name}.reminders.{i}: {when:%Y-%m-%d %H:%M} is not before the "
                f"deadline ({deadline:%Y-%m-%d %H:%M}); send it earlier"
            )
    for att in cfg.attachments:
        if not (root / att).is_file():
            problems.append(f"{where}: mailings.{name}.attachments: {att} not found")
    return problems


def draft_problems(label: str, name: str, cfg: ConsultationConfig, draft: Draft, tz: dt.tzinfo) -> list[str]:
    """What is wrong with a consultation's draft given its schedules.yaml entry."""
    problems = []
    if not draft.front.questions:
        problems.append(f"{label}: questions: a consultation needs at least one question in the front matter")
    send_at, deadline = draft.send_at(tz), cfg.closes_at(tz)
    if send_at is not None and deadline <= send_at:
        problems.append(
            f"{label}: send_at: {send_at:%Y-%m-%d %H:%M} is not before mailings.{name}.deadline "
            f"({deadline:%Y-%m-%d %H:%M}); move the deadline or the send time"
        )
    for when in reminder_times(cfg, tz):
        if send_at is not None and when.date() <= send_at.date():
            problems.append(
                f"{label}: send_at: a reminder of mailings.{name}.reminders ({when:%Y-%m-%d %H:%M}) "
                f"is not on a day after the consultation is sent ({send_at:%Y-%m-%d %H:%M}); a reminder "
                "goes only to those who got the consultation on an earlier day"
            )
    return problems


def mailings(
    project: Folder, draft: Draft, name: str, cfg: ConsultationConfig, now: dt.datetime
) -> list[Mailing]:
    """The consultation's first message, then one mailing per reminder."""
    tz = project.tz
    problems = draft_problems(str(project.label_path(draft.path)), name, cfg, draft, tz)
    if problems:
        raise UserError("; ".join(problems))
    deadline = cfg.closes_at(tz)
    send_at = draft.send_at(tz) or now
    consultation = Consultation(draft.id, name, tuple(draft.front.questions), deadline, cfg.answer_per)
    day = cfg.deadline if not isinstance(cfg.deadline, dt.datetime) else None
    org = project.config.organisation
    attachments = tuple(project.root / a for a in cfg.attachments)
    context = {
        "organisation": org,
        "links": org.links,
        "draft": draft.front,
        "draft_id": draft.id,
        "consultation": {
            "deadline": deadline,
            "deadline_day": day,
            "answer_per": cfg.answer_per,
            "questions": [q.text for q in draft.front.questions],
            "attachments": [p.name for p in attachments],
        },
    }
    audience = project.audience(draft.front.audience or cfg.audience)
    first = Mailing(
        id=draft.id,
        kind="consultation",
        series=name,
        audience=audience,
        template=cfg.template,
        subject=cfg.subject,
        send_at=send_at,
        closes_at=deadline,
        expires_at=deadline,
        retry_lifetime=max(deadline - send_at, dt.timedelta(hours=1)),
        context={**context, "reminder": False},
        markdown_body=draft.body,
        approvals_required=cfg.approvals_required or org.approvals_required,
        consultation=consultation,
        attachments=attachments,
    )
    out = [first]
    times = reminder_times(cfg, tz)
    for n, when in enumerate(times, start=1):
        closes = times[n] if n < len(times) else deadline
        out.append(
            Mailing(
                id=f"{draft.id}/reminder-{n}",
                kind="consultation",
                series=name,
                audience=audience,
                template=cfg.template,
                subject=REMINDER_SUBJECT + cfg.subject,
                send_at=when,
                closes_at=closes,
                expires_at=deadline,
                retry_lifetime=max(deadline - when, dt.timedelta(hours=1)),
                context={**context, "reminder": True},
                markdown_body=draft.body,
                change="reminder",
                consultation=Consultation(
                    draft.id, name, consultation.questions, deadline, cfg.answer_per, reminder=n
                ),
                attachments=attachments,
            )
        )
    return out


def by_id(project: Folder, consultation_id: str, now: dt.datetime) -> list[Mailing]:
    """A consultation's mailings from its draft's id; UserError when it is not a consultation."""
    path = project.root / "drafts" / f"{consultation_id}.md"
    if not ID.fullmatch(consultation_id) or not path.is_file():  # an id never walks out of drafts/
        raise UserError(f"no consultation '{consultation_id}': there is no drafts/{consultation_id}.md")
    draft = read_draft(path, str(project.label_path(path)))
    found = config_for(project.config, draft)
    if found is None:
        raise UserError(f"'{consultation_id}' is not a consultation in schedules.yaml")
    return mailings(project, draft, *found, now)


def reminder_by_id(project: Folder, mailing_id: str, now: dt.datetime) -> Mailing | None:
    """`DRAFT/reminder-N`, or None when the id is not of that shape."""
    m = REMINDER_ID.fullmatch(mailing_id)
    if not m:
        return None
    for mailing in by_id(project, m["draft"], now)[1:]:
        if mailing.id == mailing_id:
            return mailing
    raise UserError(f"{m['draft']} has no reminder {m['n']}; see `mailer schedule`")
