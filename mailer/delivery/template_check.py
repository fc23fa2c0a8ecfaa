"""`mailer check` for what is rendered without a draft, and for member values a copy lacks.

A typo in templates/invitation.mjml or in a series' subject in schedules.yaml is found by
`mailer check`, not by the cron job on the morning the invitation is due. Each meeting series
(its invitation and reminder; an update and a cancellation once per template) and each welcome
(with its follow-up and a chapter notice naming an invented new member) is compiled as `run-due`
compiles it: Jinja renders it with every per-member value as a placeholder, so a missing
variable or filter fails here. A copy that prints a column some member files lack is named with
the number of members of the audience it stops on; only then are the members looked at, so a
list of 100,000 costs nothing when no copy prints such a column.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Iterator

from mailer.delivery import announcements, newcomers
from mailer.errors import UserError
from mailer.project import calendar
from mailer.project.drafts import Draft
from mailer.project.folder import HORIZON, Project
from mailer.project.mailing_config import InvitationConfig, WelcomeConfig
from mailer.project.mailings import Mailing
from mailer.project.members import Member
from mailer.render import sample
from mailer.render.messages import CompiledMailing, MessageFactory, compile_mailing
from mailer.render.renderer import Renderer

Factory = Callable[[CompiledMailing], MessageFactory]


def problems(
    project: Project, renderer: Renderer, factory: Factory, members: list[Member], now: dt.datetime
) -> list[str]:
    """One line per problem of the mailings that have no draft; a template shared by several
    series is named once."""
    out: list[str] = []
    for build in scheduled(project, now):
        try:
            mailing = build()
            if mailing is None:
                continue
            out += checked(factory(compile_mailing(renderer, mailing)), members, now.date())
        except UserError as exc:
            out.append(str(exc))
    return list(dict.fromkeys(out))


def draft_problems(
    project: Project,
    renderer: Renderer,
    factory: Factory,
    draft: Draft,
    members: list[Member],
    now: dt.datetime,
) -> list[str]:
    """A draft's mailing (and a consultation's reminders): compiled, and the members it stops on.
    A template or draft that does not compile raises UserError."""
    out: list[str] = []
    for mailing in project.draft_mailings(draft, now):
        out += checked(factory(compile_mailing(renderer, mailing)), members, now.date())
    return list(dict.fromkeys(out))


def checked(made: MessageFactory, members: list[Member], today: dt.date) -> list[str]:
    """The members a compiled copy would stop on: looked for only when it prints a column of the
    member files (a member's copy is otherwise filled from fields every member has)."""
    if not made.may_lack_values():
        return []
    return missing_columns(made, made.compiled.mailing.audience.select(members, today), members)


def missing_columns(made: MessageFactory, audience: Iterable[Member], members: list[Member]) -> list[str]:
    """`FILE: 'member.X' has no value for N members of the audience …`, one line per value."""
    lacking: dict[tuple[str, str], Counter[str]] = {}
    kinds: dict[str, str] = {}
    for member in audience:
        variant, keys = made.missing(member)
        for key in keys:
            where = variant.file_of(key)
            kinds[where] = variant.kind_of(key)
            lacking.setdefault((where, key), Counter())[_file_of(member)] += 1
    out = []
    for (where, key), files in sorted(lacking.items()):
        column = key.partition(".")[2]
        named = []
        for file, n in sorted(files.items()):
            if any(column in m.extra for m in members if _file_of(m) == file):
                named.append(f"{n} rows of {file} end before that column")
            else:
                named.append(f"{file} has no '{column}' column")
        total = sum(files.values())
        out.append(
            f"{where}: '{key}' has no value for {total} member{'s' if total != 1 else ''} of the "
            f"audience ({'; '.join(named)}); add the column to the member file or remove it "
            f"from the {kinds[where]}"
        )
    return out


def _file_of(member: Member) -> str:
    return member.source.rsplit(":", 1)[0] or "recipients/"


def scheduled(project: Project, now: dt.datetime) -> Iterator[Callable[[], Mailing | None]]:
    """Every mailing of schedules.yaml that no draft starts, each as a way to make it."""
    announced: set[str] = set()  # an update and a cancellation are checked once per template
    for name, cfg in project.config.mailings.items():
        if isinstance(cfg, InvitationConfig):
            changes = ["invite", "reminder"] if cfg.reminder else ["invite"]
            if cfg.template not in announced:
                announced.add(cfg.template)
                changes += ["update", "cancel"]
            for change in changes:
                yield lambda name=name, cfg=cfg, change=change: _meeting(project, name, cfg, change, now)
        elif isinstance(cfg, WelcomeConfig):
            yield lambda name=name, cfg=cfg: project.welcome(name, cfg, now)
            if cfg.follow_up is not None:
                yield lambda name=name, cfg=cfg: _follow_up(project, name, cfg, now)
            if cfg.chapter_notice is not None:
                for office in (False, True):
                    yield lambda name=name, cfg=cfg, office=office: _notice(project, name, cfg, office, now)


def _occurrence(
    project: Project, name: str, cfg: InvitationConfig, now: dt.datetime
) -> calendar.Occurrence | None:
    """The series' next meeting, else its first (a series with no dates left is still checked);
    None when it never fires (schedules.yaml's own check names that)."""
    tz = project.config.organisation.tz
    ahead = calendar.occurrences(name, cfg.meeting, tz, now.date(), (now + HORIZON).date())
    for occ in ahead:
        if not occ.cancelled:
            return occ
    first = calendar.first_day(cfg.meeting)
    return calendar.find(name, cfg.meeting, tz, first) if first else None


def _meeting(
    project: Project, name: str, cfg: InvitationConfig, change: str, now: dt.datetime
) -> Mailing | None:
    """An invitation or reminder as run-due makes it; an update or cancellation as announcements do."""
    occ = _occurrence(project, name, cfg, now)
    if occ is None:
        return None
    mailing = project.invitation(name, cfg, occ, reminder=change == "reminder")
    if change in ("invite", "reminder"):
        return mailing
    return announcements.revision_of(project, mailing, change == "cancel", now)


def _follow_up(project: Project, name: str, cfg: WelcomeConfig, now: dt.datetime) -> Mailing:
    assert cfg.follow_up is not None
    return newcomers.follow_up_mailing(project, name, cfg, cfg.follow_up, now)


def _notice(project: Project, name: str, cfg: WelcomeConfig, office: bool, now: dt.datetime) -> Mailing:
    """The notice to a chapter's leaders (or the county office) naming an invented new member."""
    assert cfg.chapter_notice is not None
    new = sample.sample_member(project.config, project.audience(cfg.audience), "nb", now.date())
    nid = newcomers.notice_id(name, now.date(), new.chapter)
    return newcomers.notice_mailing(
        project, name, cfg, cfg.chapter_notice, nid, new.chapter, office, [new], now
    )
