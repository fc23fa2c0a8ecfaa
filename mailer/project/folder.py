"""One organisation's folder: schedules.yaml, recipients/, templates/, drafts/ and its state."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from mailer.errors import ProblemList, UserError
from mailer.project import (
    calendar,
    consultations,
    event_mailings,
    look,
    pictures,
    reader_calendar,
    subjects,
    upcoming,
    validation,
)
from mailer.project.audiences import Audience, audience
from mailer.project.config import Config, parse_config
from mailer.project.config_base import Mailbox
from mailer.project.drafts import ID, Draft, draft_files, read_draft
from mailer.project.mailing_config import InvitationConfig, NewsletterConfig, WelcomeConfig
from mailer.project.mailings import Event, Mailing
from mailer.project.meeting_config import SendRule, agenda_text
from mailer.project.members import Member, MemberReader, RowProblem, member_files
from mailer.project.settings import Settings, load_settings

_OCCURRENCE_ID = re.compile(
    r"(?P<series>[a-z0-9][a-z0-9_-]*)@(?P<day>\d{4}-\d\d-\d\d)(?:/(?P<change>reminder))?"
)
HORIZON = dt.timedelta(days=400)


@dataclass
class Project:
    root: Path
    warn: Any = field(default=None, repr=False)
    _listed: tuple[int | None, list[Path]] | None = field(default=None, init=False, repr=False, compare=False)

    @cached_property
    def config_path(self) -> Path:
        return self.root / "schedules.yaml"

    @cached_property
    def config(self) -> Config:
        """The validated configuration: the file's own shape, then calendars and templates."""
        cfg = self.parsed_config
        problems = self.calendar_and_template_problems()
        if problems:
            raise ProblemList(problems)
        return cfg

    @cached_property
    def parsed_config(self) -> Config:
        if not self.root.is_dir():
            what = "is a file, not a folder" if self.root.exists() else "does not exist"
            raise UserError(f"project folder {self.root} {what}; --project names the organisation's folder")
        label = self.label_path(self.config_path)
        if self.config_path.is_dir():
            raise UserError(f"{self.config_path} is a folder; it should be the file with the schedule")
        if not self.config_path.is_file():
            raise UserError(
                f"{self.config_path}: not found; is {self.root} a mailer project? "
                "(`mailer init DIR` starts one)"
            )
        return parse_config(label, self.config_path.read_bytes())

    @cached_property
    def settings(self) -> Settings:
        return load_settings(self.root)

    @cached_property
    def state_dir(self) -> Path:
        configured = self.settings.state_dir
        if configured is None:
            return self.root / ".mailer"
        return configured if configured.is_absolute() else self.root / configured

    @cached_property
    def recipients_dir(self) -> Path:
        return self.root / "recipients"

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    @property
    def tz(self) -> dt.tzinfo:
        return self.parsed_config.organisation.tz

    def label_path(self, path: Path) -> Path:
        try:
            return path.relative_to(self.root)
        except ValueError:
            return path

    # -- members ---------------------------------------------------------------------

    def member_reader(self, today: dt.date) -> MemberReader:
        return MemberReader(self.recipients_dir, self.parsed_config, today, self.root)

    def member_inputs(self) -> list[Path]:
        """What the member list is read from: the export's files and the schedule (roles, regions).

        `serve` asks at every click; the folder is listed again only when its modification
        time changed, or is too recent to tell a change within the same tick.
        """
        folder = self.recipients_dir
        try:
            changed = os.stat(folder).st_mtime_ns
        except OSError:
            changed = None
        listed = self._listed
        if changed is None or listed is None or listed[0] != changed:
            files = [*member_files(folder, self.root), self.config_path]
            settled = changed is not None and time.time_ns() - changed > 2_000_000_000
            self._listed = (changed, files) if settled else None
            return files
        return listed[1]

    def read_members(self) -> tuple[Iterator[Member], list[RowProblem]]:
        """The export's valid members, streamed, and the list their row problems are added to.

        Joined dates are not judged against a day here (the member store does it when read).
        """
        reader = self.member_reader(dt.date.max)
        return iter(reader), reader.problems

    def audience(self, name: str) -> Audience:
        return audience(self.config, name)

    # -- drafts and mailings ---------------------------------------------------------------

    def drafts(self, problems: list[str] | None = None) -> list[Draft]:
        """Every draft. With `problems`, one that cannot be read is named there and left out, so
        that a half-written draft or an Explorer copy does not hold back every other mailing."""
        return upcoming.readable(draft_files(self.root / "drafts"), self.label_path, problems)

    def _newsletter_config(self, draft: Draft) -> tuple[str, NewsletterConfig]:
        options = {k: m for k, m in self.config.mailings.items() if isinstance(m, NewsletterConfig)}
        label = self.label_path(draft.path)
        if draft.front.mailing:
            if draft.front.mailing not in options:
                raise UserError(
                    f"{label}: mailing '{draft.front.mailing}' is not a newsletter in schedules.yaml"
                )
            return draft.front.mailing, options[draft.front.mailing]
        by_prefix = [k for k in options if draft.id.startswith(f"{k}-")]
        if len(by_prefix) == 1:
            return by_prefix[0], options[by_prefix[0]]
        if len(options) != 1:
            raise UserError(
                f"{label}: say which newsletter this is (mailing: … in the front matter, or a file "
                f"name that starts with one of: {', '.join(sorted(options))})"
            )
        return next(iter(options.items()))

    def draft_mailings(self, draft: Draft, now: dt.datetime) -> list[Mailing]:
        """A newsletter issue, or a consultation and its reminders."""
        found = consultations.config_for(self.config, draft)
        if found:
            return consultations.mailings(self, draft, *found, now)
        return [self.newsletter(draft, now)]

    def newsletter(self, draft: Draft, now: dt.datetime) -> Mailing:
        found = consultations.config_for(self.config, draft)
        if found:
            return consultations.mailings(self, draft, *found, now)[0]
        series, cfg = self._newsletter_config(draft)
        send_at = draft.send_at(self.tz) or now
        cache = self.state_dir / pictures.CACHE
        refs = pictures.references(
            draft.body, self.root / "drafts", str(self.label_path(draft.path)), draft.body_line, cache
        )
        versions: dict[str, tuple[str, dict[str, Any]]] = {}
        if draft.nynorsk:
            nn = draft.nynorsk
            refs += pictures.references(
                nn.body, self.root / "drafts", str(self.label_path(nn.path)), nn.body_line, cache
            )
            versions["nn"] = (nn.body, {"draft": draft.front.model_copy(update=nn.front.model_dump())})
        inline = (cfg.pictures or ("hosted" if self._hosted else "inline")) == "inline"
        lifetime = dt.timedelta(hours=cfg.lifetime_hours)
        audience = self.audience(draft.front.audience or cfg.audience)
        archive = cfg.archive if draft.front.archive is None else draft.front.archive
        public = audience.everyone if archive is None else archive
        web_url = self._web_url(draft.id) if public else None
        if web_url and "nn" in versions:  # nynorsk readers' link opens the nynorsk page
            versions["nn"][1]["web_url"] = f"{web_url}/nn"
        return Mailing(
            id=draft.id,
            kind="newsletter",
            series=series,
            audience=audience,
            template=cfg.template,
            subject=cfg.subject,
            send_at=send_at,
            closes_at=send_at + lifetime,
            expires_at=None,
            retry_lifetime=lifetime,
            context=self._context(draft=draft.front, draft_id=draft.id, web_url=web_url),
            markdown_body=draft.body,
            approvals_required=cfg.approvals_required or self.config.organisation.approvals_required,
            pictures=tuple(refs),
            language_versions=versions,
            pictures_inline=inline,
            logo=self.logo,
            calendar=self._reader_calendar(cfg, draft, reader_calendar.planned_from(send_at, lifetime, now)),
            calendar_shown_from=max(send_at, now),
            archive=archive,
        )

    def _reader_calendar(
        self, cfg: NewsletterConfig, draft: Draft, since: dt.datetime
    ) -> tuple[reader_calendar.SeriesDates, ...]:
        wanted = cfg.calendar if draft.front.calendar is None else draft.front.calendar
        if not wanted:
            return ()
        return reader_calendar.upcoming(self.config, since, cfg.calendar_weeks, self.audience)

    def with_calendar_from(self, mailing: Mailing, first_sent: dt.datetime) -> Mailing:
        """A late issue's calendar as planned on the day it was first sent (see `Runner.prepare`)."""
        cfg = self.config.mailings[mailing.series]
        assert isinstance(cfg, NewsletterConfig)
        since = reader_calendar.planned_from(mailing.send_at, mailing.closes_at - mailing.send_at, first_sent)
        dates = reader_calendar.upcoming(self.config, since, cfg.calendar_weeks, self.audience)
        return dataclasses.replace(mailing, calendar=dates)

    @cached_property
    def logo(self) -> pictures.PictureRef | None:
        label = str(self.label_path(self.config_path))
        return look.logo(self.root, self.config.organisation, label, self.state_dir / pictures.CACHE)

    def _web_url(self, draft_id: str) -> str | None:
        """The issue's public page in the archive (`mailer serve`), when there is a web address."""
        base = self.config.organisation.base_url
        return f"{base}/arkiv/{draft_id}" if base else None

    @property
    def _hosted(self) -> bool:
        return bool(self.config.organisation.base_url)

    def _context(self, **extra: Any) -> dict[str, Any]:
        org = self.config.organisation
        return {"organisation": org, "links": org.links, "rsvp": bool(org.base_url), **extra}

    def event(self, series: str, cfg: InvitationConfig, occ: calendar.Occurrence) -> Event:
        meeting = cfg.meeting
        change = occ.change
        org = self.config.organisation
        organiser = meeting.organiser or Mailbox(
            name=org.sender.name, email=self.settings.organiser_email or org.sender.email
        )
        attachments = tuple(
            self.root / a for a in (meeting.attachments + (change.attachments if change else []))
        )
        return Event(
            uid=f"{occ.series}-{occ.day.isoformat()}@{org.sender.email.split('@')[1]}",
            series=series,
            occurrence=occ.day,
            start=occ.start,
            end=occ.end,
            title=meeting.title,
            organiser=organiser,
            location=(change.location if change and change.location else meeting.location),
            video_url=meeting.video_url,
            description=meeting.description.strip(),
            agenda=(change.agenda if change and change.agenda else meeting.agenda),
            attachments=attachments,
            cancelled=occ.cancelled,
        )

    def invitation(
        self, series: str, cfg: InvitationConfig, occ: calendar.Occurrence, reminder: bool
    ) -> Mailing:
        rule: SendRule = cfg.reminder if reminder and cfg.reminder else cfg.invite
        event = self.event(series, cfg, occ)
        return Mailing(
            id=occ.id + ("/reminder" if reminder else ""),
            kind="invitation",
            series=series,
            audience=self.audience(cfg.audience),
            template=cfg.template,
            subject=subjects.with_change(cfg.subject, "reminder" if reminder else None),
            send_at=calendar.send_time(occ, rule),
            closes_at=occ.start,
            expires_at=occ.start,
            retry_lifetime=occ.start - calendar.send_time(occ, rule),
            context=self.event_context(event, cfg, "reminder" if reminder else None),
            event=event,
            change="reminder" if reminder else None,
            answers=frozenset(cfg.reminder.to) if reminder and cfg.reminder else None,
            pictures_inline=not self._hosted,
            logo=self.logo,
        )

    def event_context(self, event: Event, cfg: InvitationConfig | None, change: str | None) -> dict[str, Any]:
        meeting = {
            "title": event.title,
            "start": event.start,
            "end": event.end,
            "location": event.location,
            "video_url": event.video_url,
            "description": event.description,
            "agenda": agenda_text(self.root, event.agenda),
            "organiser": event.organiser,
            "cancelled": event.cancelled,
            "attendance_goal": cfg.meeting.attendance_goal if cfg else None,
            "attachments": [p.name for p in event.attachments],
        }
        return self._context(meeting=meeting, change=change)

    def welcome(self, series: str, cfg: WelcomeConfig, now: dt.datetime) -> Mailing:
        send_at = cfg.send_time(now.date(), self.tz)
        return Mailing(
            id=series,
            kind="welcome",
            series=series,
            audience=self.audience(cfg.audience),
            template=cfg.template,
            subject=cfg.subject,
            send_at=send_at,
            closes_at=send_at + dt.timedelta(days=1),
            expires_at=None,
            retry_lifetime=dt.timedelta(days=cfg.window_days),
            context=self._context(window_days=cfg.window_days),
            new_members_within=cfg.window_days,
            pictures_inline=not self._hosted,
            logo=self.logo,
        )

    def mailing(self, mailing_id: str, now: dt.datetime) -> Mailing:
        """Any mailing by its id: a draft's file name, `series@date[/reminder]`, or a welcome."""
        m = _OCCURRENCE_ID.fullmatch(mailing_id)
        if m:
            cfg = self.config.mailings.get(m["series"])
            if not isinstance(cfg, InvitationConfig):
                raise UserError(f"unknown meeting series '{m['series']}' in '{mailing_id}'")
            occ = calendar.find(
                m["series"], cfg.meeting, self.config.organisation.tz, dt.date.fromisoformat(m["day"])
            )
            if occ is None:
                raise UserError(f"{m['series']} has no meeting on {m['day']}; see `mailer schedule`")
            if m["change"] and not cfg.reminder:
                raise UserError(f"{m['series']} sends no reminder (add reminder: in schedules.yaml)")
            return self.invitation(m["series"], cfg, occ, reminder=bool(m["change"]))
        event = event_mailings.by_id(self, mailing_id)
        if event is not None:
            return event
        reminder = consultations.reminder_by_id(self, mailing_id, now)
        if reminder is not None:
            return reminder
        cfg_any = self.config.mailings.get(mailing_id)
        if isinstance(cfg_any, WelcomeConfig):
            return self.welcome(mailing_id, cfg_any, now)
        path = self.root / "drafts" / f"{mailing_id}.md"
        if ID.fullmatch(mailing_id) and (path in draft_files(self.root / "drafts") or path.is_file()):
            return self.newsletter(read_draft(path, str(self.label_path(path))), now)
        raise UserError(
            f"no mailing '{mailing_id}': not a draft in drafts/, a meeting (series@YYYY-MM-DD), an "
            "event's invitation (EVENT/invitation) or a welcome; `mailer schedule` lists them"
        )

    def upcoming(
        self, now: dt.datetime, until: dt.datetime, problems: list[str] | None = None
    ) -> list[Mailing]:
        """Newsletters with a planned time and meeting mailings whose meeting is still ahead.
        With `problems`, a draft that cannot be read or built is named there and left out."""
        return upcoming.mailings(self, now, until, problems)

    # -- validation beyond the file's own shape ------------------------------------------

    def calendar_and_template_problems(self) -> list[str]:
        """Templates exist; each series fires; sends come before meetings; attachments exist."""
        try:
            cache: Path | None = self.state_dir / pictures.CACHE
        except UserError:  # the settings' own error is reported where a command needs them
            cache = None
        return validation.calendar_and_template_problems(
            self.root, self.parsed_config, self.templates_dir, str(self.label_path(self.config_path)), cache
        )
