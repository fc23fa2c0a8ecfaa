"""New members followed up: a daily notice to their chapter's leaders, and a second mail later.

Both hang off a welcome mailing in schedules.yaml (`chapter_notice:` and `follow_up:`) and
go out in the same run as the welcome, after it. The notice for a chapter on a day is one
mailing, `velkommen-lokallag@2026-11-24/as-sp`, listing the members welcomed and not named
in an earlier notice; it goes to the members with the leader role in the same chapter (never
to the new members themselves), or to the county office when the chapter has no leader. The
follow-up, `velkommen-oppfolging`, is one mailing whose recipients are those welcomed
`days_after` days ago; the per-person ledger makes each of them at most once per member.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from mailer.delivery.plan import Recipients
from mailer.delivery.report import Report
from mailer.project.audiences import Audience, Rule
from mailer.project.config import ChapterNoticeConfig, FollowUpConfig, WelcomeConfig, normalise_name
from mailer.project.mailings import Mailing
from mailer.project.members import Member

if TYPE_CHECKING:
    from mailer.delivery.runner import Runner
    from mailer.project.folder import Project

_EVERYONE = Rule(frozenset(), frozenset(), frozenset(), frozenset(), None)
_OWNED = re.compile(r"[a-z0-9][a-z0-9_-]*-(?:oppfolging|lokallag@\d{4}-\d\d-\d\d/[a-z0-9-]+)")
PHONE_COLUMNS = ("phone", "telefon", "mobil", "mobile", "mobiltelefon", "tlf")


def owns(mailing_id: str) -> bool:
    """Mailing ids this module builds (the generic rebuild in `due` leaves them to it)."""
    return _OWNED.fullmatch(mailing_id) is not None


def notice_id(series: str, day: dt.date, chapter: str) -> str:
    slug = re.sub(
        r"[^a-z0-9]+", "-", normalise_name(chapter).replace("æ", "ae").replace("ø", "o").replace("å", "a")
    )
    return f"{series}-lokallag@{day.isoformat()}/{slug.strip('-') or 'uten-lokallag'}"


def _phone(member: Member) -> str:
    return next((member.extra[k] for k in PHONE_COLUMNS if member.extra.get(k)), "")


def _context(project: Project, **extra: Any) -> dict[str, Any]:
    org = project.config.organisation
    return {"organisation": org, "links": org.links, "rsvp": False, **extra}


def notice_mailing(
    project: Project,
    series: str,
    welcome: WelcomeConfig,
    cfg: ChapterNoticeConfig,
    nid: str,
    chapter: str,
    office: bool,
    listed: list[Member],
    now: dt.datetime,
) -> Mailing:
    """The notice `nid` to a chapter's leaders (or to the county office: `office`) naming `listed`."""
    send_at = dt.datetime.combine(now.date(), welcome.at, tzinfo=project.tz)
    return Mailing(
        id=nid,
        kind="welcome",
        series=f"{series}-lokallag",
        audience=Audience(f"{nid} leaders", _EVERYONE, None),
        template=cfg.template,
        subject=cfg.subject,
        send_at=send_at,
        closes_at=send_at + dt.timedelta(days=1),
        expires_at=None,
        retry_lifetime=dt.timedelta(days=3),
        context=_context(
            project,
            chapter=chapter or "(uten lokallag)",
            office=office,
            new_members=[
                {"name": m.name, "email": m.email, "phone": _phone(m), "municipality": m.municipality}
                for m in listed
            ],
        ),
    )


def follow_up_mailing(
    project: Project, series: str, welcome: WelcomeConfig, cfg: FollowUpConfig, now: dt.datetime
) -> Mailing:
    """The follow-up mailing of a welcome series on `now`'s day (its recipients are chosen apart)."""
    send_at = dt.datetime.combine(now.date(), welcome.at, tzinfo=project.tz)
    return Mailing(
        id=f"{series}-oppfolging",
        kind="welcome",
        series=f"{series}-oppfolging",
        audience=project.audience(welcome.audience),
        template=cfg.template,
        subject=cfg.subject,
        send_at=send_at,
        closes_at=send_at + dt.timedelta(days=1),
        expires_at=None,
        retry_lifetime=dt.timedelta(days=welcome.window_days),
        context=_context(project, days_after=cfg.days_after),
    )


def _office(runner: Runner, chapter: str) -> Member:
    """The county office as the notice's recipient when a chapter has no leader."""
    org = runner.project.config.organisation
    box = org.reply_to or org.sender
    return Member("office", box.name, "", box.email, "", "", chapter, frozenset(), None, org.language)


def _fixed(runner: Runner, members: list[Member]) -> Recipients:
    key = repr((sorted(m.id for m in members), runner.state.suppressions.version()))
    return Recipients(members=lambda: members, suppressed=runner.choices.suppressed, inputs=key)


def send_notices(
    runner: Runner, series: str, welcome: WelcomeConfig, cfg: ChapterNoticeConfig
) -> list[Report]:
    """Today's notice for each chapter with newly welcomed members, and unfinished earlier ones."""
    now = runner.now
    store = runner.state.newcomers
    noted = store.noted()
    today = notice_id(series, now.date(), "x").rsplit("/", 1)[0] + "/"
    open_ = set(runner.state.deliveries.mailings_with_work(now))
    unnoted = [member_id for member_id in store.welcomed(series) if member_id not in noted]
    todays = {nid for nid in noted.values() if nid.startswith(today)}
    unplanned = todays - runner.state.deliveries.planned_mailings(sorted(todays))  # noted, then a crash
    if not unnoted and not unplanned and not any(nid in open_ for nid in noted.values()):
        return []  # nothing to note or send: the member list is not read (every run asks)
    members = {m.id: m for m in runner.members()}
    fresh: dict[str, list[str]] = defaultdict(list)
    for member_id in unnoted:
        if member_id in members:
            member = members[member_id]
            fresh[notice_id(series, now.date(), member.chapter)].append(member_id)
    for nid, ids in fresh.items():
        store.note(nid, ids, now)
    groups: dict[str, list[Member]] = defaultdict(list)
    for member_id, nid in store.noted().items():
        if member_id in members:
            groups[nid].append(members[member_id])
    role = normalise_name(cfg.leader_role)
    reports = []
    for nid, group in sorted(groups.items()):
        if not nid.startswith(today) and nid not in open_:
            continue
        chapter = group[0].chapter
        named = {m.id for m in group}
        leaders = [
            m
            for m in members.values()
            if role in m.roles
            and chapter
            and normalise_name(m.chapter) == normalise_name(chapter)
            and m.id not in named
        ]
        listed = sorted(group, key=lambda m: (m.last_name, m.first_name))
        mailing = notice_mailing(runner.project, series, welcome, cfg, nid, chapter, not leaders, listed, now)
        to = leaders or [_office(runner, chapter)]
        reports.append(runner.send(mailing, recipients=_fixed(runner, to)))
    return reports


def send_follow_up(runner: Runner, series: str, welcome: WelcomeConfig, cfg: FollowUpConfig) -> Report:
    """The second mail to members welcomed `days_after` days ago (within the welcome's window)."""
    now, tz = runner.now, runner.project.tz
    welcomed = runner.state.newcomers.welcomed(series)
    due = {
        member_id
        for member_id, at in welcomed.items()
        if cfg.days_after
        <= (now.date() - at.astimezone(tz).date()).days
        <= cfg.days_after + welcome.window_days
    }
    mailing = follow_up_mailing(runner.project, series, welcome, cfg, now)
    base = runner.recipients()
    recipients = Recipients(
        members=base.members,
        suppressed=base.suppressed,
        inputs=repr((base.inputs, sorted(due))),
        extra_filter=lambda _mailing, member: member.id in due,
    )
    return runner.send(mailing, recipients=recipients)


def run(runner: Runner) -> list[Report]:
    """Notices and follow-ups of every welcome whose time of day has come."""
    reports: list[Report] = []
    for name, cfg in runner.project.config.mailings.items():
        if not isinstance(cfg, WelcomeConfig) or runner.now.time() < cfg.at:
            continue
        if cfg.chapter_notice is not None:
            reports.extend(send_notices(runner, name, cfg, cfg.chapter_notice))
        if cfg.follow_up is not None:
            reports.append(send_follow_up(runner, name, cfg, cfg.follow_up))
    return reports
