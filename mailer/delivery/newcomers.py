"""New members followed up: a daily notice to their chapter's leaders, and a second mail later.

Both hang off a welcome mailing in schedules.yaml (`chapter_notice:` and `follow_up:`) and
go out in the same run as the welcome, after it. The notice for a chapter on a day is one
mailing, `velkommen-lokallag@2026-11-24/as-sp`, listing the members welcomed in the last day
and not named in an earlier notice (members welcomed after it went, from a later export that
day, get `…/as-sp-2`); it goes to the members with the leader role in the same chapter (never
to the new members themselves), or to the county office when the chapter has no leader the
notice can reach. The follow-up, `velkommen-oppfolging`, is one mailing whose recipients are
those welcomed `days_after` days ago; the per-person ledger makes each of them at most once per
member.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from mailer.delivery.plan import Recipients, is_suppressed
from mailer.delivery.report import Report
from mailer.errors import UserError
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
NOTED_WITHIN = dt.timedelta(days=1)
"""How old a welcome may be and still be news in a chapter notice."""


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
    send_at = welcome.send_time(now.date(), project.tz)
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
    send_at = welcome.send_time(now.date(), project.tz)
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
    """The county office as the notice's recipient when a chapter has no leader to reach."""
    org = runner.project.config.organisation
    box = org.reply_to or org.sender
    return Member("office", box.name, "", box.email, "", "", chapter, frozenset(), None, org.language)


def _fixed(runner: Runner, members: list[Member]) -> Recipients:
    key = repr((sorted(m.id for m in members), runner.state.suppressions.version()))
    return Recipients(members=lambda: members, suppressed=runner.choices.suppressed, inputs=key)


def _unsent_notice(runner: Runner, series: str, chapter: str, taken: dict[str, str]) -> str:
    """Today's notice id for a chapter that has not gone out yet: `…/as-sp`, else `…/as-sp-2`…

    A notice already planned is never changed; `taken` (notice id → chapter) holds the ids
    other chapters use, which a chapter named `As Sp 2` could share.
    """
    base = notice_id(series, runner.now.date(), chapter)
    for n in range(1, 1000):
        nid = base if n == 1 else f"{base}-{n}"
        if taken.get(nid, normalise_name(chapter)) != normalise_name(chapter):
            continue
        if not runner.state.deliveries.planned_mailings([nid]):
            return nid
    raise UserError(f"{base}: a thousand notices in one day; is run-due in a loop?")


def send_notices(
    runner: Runner, series: str, welcome: WelcomeConfig, cfg: ChapterNoticeConfig
) -> list[Report]:
    """Today's notices for each chapter with newly welcomed members, and unfinished earlier ones.

    A member is noted when their welcome went out within NOTED_WITHIN (a notice turned on later
    does not report old welcomes as news), in a notice not yet sent: a second export the same
    day gets a second notice. The leaders who unsubscribed or whose address bounces are left
    out; when that leaves none, the county office gets the notice, with a line saying so.
    """
    now = runner.now
    store = runner.state.newcomers
    noted = store.noted()
    today = notice_id(series, now.date(), "x").rsplit("/", 1)[0] + "/"
    open_ = set(runner.state.deliveries.mailings_with_work(now))
    unnoted = [
        member_id
        for member_id, at in runner.state.deliveries.sent_at(series).items()
        if member_id not in noted and now - at <= NOTED_WITHIN
    ]
    todays = {nid for nid in noted.values() if nid.startswith(today)}
    unplanned = todays - runner.state.deliveries.planned_mailings(sorted(todays))  # noted, then a crash
    if not unnoted and not unplanned and not any(nid in open_ for nid in noted.values()):
        return []  # nothing to note or send: the member list is not read (every run asks)
    members = {m.id: m for m in runner.members()}
    taken = {nid: normalise_name(members[m].chapter) for m, nid in noted.items() if m in members}
    fresh: dict[str, list[str]] = defaultdict(list)
    for member_id in unnoted:
        if member_id in members:
            fresh[normalise_name(members[member_id].chapter)].append(member_id)
    for key, ids in fresh.items():
        nid = _unsent_notice(runner, series, members[ids[0]].chapter, taken)
        store.note(nid, ids, now)
        taken[nid] = key
    groups: dict[str, list[Member]] = defaultdict(list)
    for member_id, nid in store.noted().items():
        if member_id in members and (nid.startswith(today) or nid in open_):
            groups[nid].append(members[member_id])
    done = runner.state.deliveries.planned_mailings(sorted(groups)) - open_
    role = normalise_name(cfg.leader_role)
    suppressed, category = runner.choices.suppressed(), f"{series}-lokallag"
    reports = []
    for nid, group in sorted(groups.items()):
        if nid in done:
            continue  # sent: a member noted later is in a notice of their own
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
        reached = [m for m in leaders if not is_suppressed(suppressed, category, m.address_key)]
        listed = sorted(group, key=lambda m: (m.last_name, m.first_name))
        mailing = notice_mailing(runner.project, series, welcome, cfg, nid, chapter, not reached, listed, now)
        to = reached or [_office(runner, chapter)]
        if leaders and not reached and nid not in open_:
            runner.warn(
                f"{nid}: every leader of {chapter} has unsubscribed from it or has an address that "
                f"bounces; the notice goes to the county office ({to[0].email}) instead"
            )
        reports.append(runner.send(mailing, recipients=_fixed(runner, to)))
    return reports


def send_follow_up(runner: Runner, series: str, welcome: WelcomeConfig, cfg: FollowUpConfig) -> Report:
    """The second mail to members welcomed `days_after` days ago (within the welcome's window)."""
    now, tz = runner.now, runner.project.tz
    welcomed = runner.state.deliveries.sent_at(series)
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
    now, tz = runner.now, runner.project.tz
    for name, cfg in runner.project.config.mailings.items():
        if not isinstance(cfg, WelcomeConfig) or now < cfg.send_time(now.date(), tz):
            continue
        if cfg.chapter_notice is not None:
            reports.extend(send_notices(runner, name, cfg, cfg.chapter_notice))
        if cfg.follow_up is not None:
            reports.append(send_follow_up(runner, name, cfg, cfg.follow_up))
    return reports
