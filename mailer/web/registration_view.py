"""What every page of an event's registration shares: the answer, the visit, the facts shown."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from mailer.delivery.runner import Runner
from mailer.events.places import Who
from mailer.project.dates import date_and_time
from mailer.project.event_config import EventConfig
from mailer.web import pages
from mailer.web.registration_pages import render, texts


@dataclass
class Answer:
    status: int
    html: str
    delivery_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Visit:
    runner: Runner
    name: str
    cfg: EventConfig
    who: Who
    token: str

    @property
    def lang(self) -> str:
        return self.who.language


def common(visit: Visit) -> dict[str, object]:
    """What every page of the event shows: its title, when and where, and how full it is."""
    runner, cfg, c = visit.runner, visit.cfg, texts(visit.lang)
    tz = runner.project.tz
    event = {"location": cfg.location, "online": cfg.online, "description": cfg.description.strip()}
    when = f"{date_and_time(cfg.starts(tz), visit.lang)}–{cfg.ends(tz):%H.%M}"
    closes = cfg.closes(tz)
    if closes.time() == dt.time(0):
        closes -= dt.timedelta(minutes=1)
    room = ""
    if cfg.capacity is not None:
        free = cfg.capacity - runner.state.registrations.taken(visit.name)
        waiting = runner.state.waitlist.waiting(visit.name)
        if free > 0 and not waiting:
            room = c["places_left"].format(n=free)
        else:
            room = c["full_list"] if cfg.waitlist else c["full"]
    return {
        "org": runner.project.config.organisation.name,
        "title": cfg.title,
        "event": event,
        "when": when[:1].upper() + when[1:],
        "closes": c["closes"].format(when=date_and_time(closes, visit.lang)),
        "room": room,
    }


def said(
    lang: str, heading: str, text: str, common: dict[str, object], notice: str = "", csrf: str = ""
) -> str:
    """A page that tells where things stand, with nothing to press."""
    return render(
        "event_status.html", lang, heading=heading, paragraphs=[text], buttons=[], note="", notice=notice,
        csrf=csrf, **common,
    )  # fmt: skip


def called_off(visit: Visit) -> Answer | None:
    """The page of an event called off (410: nothing can be done there any more), else None."""
    off = visit.runner.state.event_changes.called_off(visit.name)
    if off is None:
        return None
    c = texts(visit.lang)
    paragraphs = [c["called_off"].format(title=visit.cfg.title)]
    if off.reason:
        paragraphs.append(c["called_off_reason"].format(reason=off.reason))
    html = render(
        "event_status.html", visit.lang, heading=c["called_off_title"], paragraphs=paragraphs, buttons=[],
        note="", notice="", csrf="", **common(visit),
    )  # fmt: skip
    return Answer(410, html)


def gone(visit: Visit, posted: bool) -> Answer:
    """A guest's own link once their registration is erased (never confirmed within the day,
    `mailer forget`, or after the event): not "too old", and the same page for every such link,
    so it says nothing of the person. Nothing of the guest is kept to tell an erased registration
    from one never made, hence 404 (and 400 for a click, which finds nothing to act on)."""
    off = called_off(visit)
    if off is not None:
        return off
    runner, c = visit.runner, texts(visit.lang)
    paragraphs = [c["gone"]]
    if runner.now < visit.cfg.closes(runner.project.tz):
        paragraphs.append(c["again"])
    html = render(
        "event_status.html",
        visit.lang,
        heading=c["gone_title"],
        paragraphs=paragraphs,
        buttons=[],
        note="",
        notice="",
        csrf="",
        **common(visit),
    )
    return Answer(400 if posted else 404, html)


def bad_link(runner: Runner, lang: str) -> Answer:
    org = runner.project.config.organisation
    t = pages.texts(lang)
    text = t["bad_link_text"].format(contact=(org.reply_to or org.sender).email)
    return Answer(400, pages.message(lang, org.name, t["bad_link"], text))


def no_event(runner: Runner, lang: str) -> Answer:
    c = texts(lang)
    return Answer(
        404, pages.message(lang, runner.project.config.organisation.name, c["no_event"], c["no_event_text"])
    )
