"""A message to one person, now, recorded in the ledger before and after it is attempted.

Mail that answers something a person did (a registration's confirmation, a waiting-list
place, an offer, a cancellation, a guest's "confirm your address", a data export, a note to
the secretary) is mail like any other: a delivery in the ledger, written before it is tried
and after, never sent twice, never lost if the process dies. Use it like this:

    from mailer.delivery import notices
    from mailer.state.database import transaction

    notice = notices.Notice(
        key=f"{event}/confirmation-{registration_id}",   # one message: the ledger sends a key once
        category=event,                                   # what it is about (`mailer status` groups by it)
        to=member,                                        # a Member (a guest: one made for the purpose)
        template="event-confirmation",                    # templates/event-confirmation(.nn).mjml
        subject="Du har plass: {{ event.title }}",        # Jinja, rendered in the sandbox
        context={"event": {...}, "manage_url": url},      # JSON values and datetimes
        calendar=event_entry,                             # optional: a text/calendar REQUEST (or CANCEL)
        expires_at=starts,                                # optional: give up if not sent by then
    )
    with transaction(runner.state.db):
        ...                                               # the writes that decided to send it
        delivery_id = notices.record(runner.state, notice, runner.now)
    notices.send(runner, [delivery_id])                   # now; what cannot go now, run-due sends

`record` inside the deciding transaction makes the decision and its message one commit.
`send` claims each delivery with a conditional UPDATE first (`state.notices.claim`), so when
the web part and `run-due` both see the same pending notice, exactly one of them sends it. The
notices to one person about one thing go in the order they were made: a later one waits until
the earlier one is over, and whoever sends the earlier one sends the later one next. A
temporary failure is deferred on the usual retry schedule and `send_due` (called by
`run-due`) tries again. Without an SMTP host the message goes to the outbox, as all mail
does. A notice goes to the person whatever they unsubscribed from (they asked for this one),
but never to an address that bounced hard. Its context is deleted once it is sent or given up.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mailer.delivery import retry
from mailer.delivery.ratelimit import RateLimiter
from mailer.delivery.report import Report
from mailer.delivery.transport import Connection, DeliveryError, OutboxTransport
from mailer.errors import TransportUnavailable, UserError
from mailer.project.audiences import Audience, Rule
from mailer.project.config_base import Mailbox
from mailer.project.mailings import Event, Mailing
from mailer.project.members import Member
from mailer.state import State
from mailer.state.database import transaction
from mailer.state.notices import Stored

if TYPE_CHECKING:
    from mailer.delivery.runner import Runner
    from mailer.render.messages import Outgoing

log = logging.getLogger("mailer.notices")
_ANYONE = Audience("notice", Rule(frozenset(), frozenset(), frozenset(), frozenset(), None), None)
WEB_QUOTA_WAIT = 5.0
"""Seconds a web request's notice may wait for room in the relay's quota before run-due takes it."""


@dataclass(frozen=True)
class Notice:
    """One message to one person; `key` is what the ledger promises to send at most once."""

    key: str
    category: str
    to: Member
    template: str
    subject: str
    context: Mapping[str, Any] = field(default_factory=dict)
    calendar: Event | None = None
    expires_at: dt.datetime | None = None
    attachments: tuple[tuple[str, str, str], ...] = ()
    """Files it carries, (name, content type, text): kept with the context until it is sent."""


ATTACHMENTS = "$attachments"


def record(state: State, notice: Notice, now: dt.datetime) -> int:
    """Write the notice as a pending delivery; returns its id (the first one's, if recorded before).

    Call it inside the transaction whose writes decided the message (`with transaction(state.db)`).
    """
    context = dict(notice.context)
    if notice.attachments:
        context[ATTACHMENTS] = [list(a) for a in notice.attachments]
    content = (notice.template, notice.subject, encode(context), _encode_event(notice.calendar))
    member = notice.to
    return state.notices.add(
        notice.key,
        notice.category,
        member.id,
        member.address_key,
        member.to_record(),
        content,
        notice.expires_at,
        now,
    )


def post(runner: Runner, notice: Notice) -> Report:
    """Record one notice in its own transaction and send it now."""
    with transaction(runner.state.db):
        delivery_id = record(runner.state, notice, runner.now)
    return send(runner, [delivery_id])


def send_due(runner: Runner) -> Report:
    """Every notice still waiting: new ones, deferred ones due again, and any a dead process left."""
    runner.state.notices.sweep()
    return send(runner, runner.state.notices.due(runner.clock.now()), quota_wait=None)


def send(runner: Runner, delivery_ids: Iterable[int], quota_wait: float | None = WEB_QUOTA_WAIT) -> Report:
    """Send these notices now, each only if this process wins its claim.

    Never raises for a delivery problem: what could not go stays in the ledger for `run-due`.
    `quota_wait` caps how long a message waits for room in the relay's per-minute and per-hour
    quota (None: as long as it takes, as `run-due` does).
    """
    ids = list(delivery_ids)
    report = Report("notices")
    if ids:
        asyncio.run(_Sender(runner, report, quota_wait).run(ids))
    return report


@dataclass
class _Sender:
    runner: Runner
    report: Report
    quota_wait: float | None
    conn: Connection | None = None
    unavailable: str = ""
    conn_for: str = ""
    """The mailing `conn` was opened for: the outbox files each message under its own."""

    async def run(self, ids: list[int]) -> None:
        settings = self.runner.project.settings
        state = self.runner.state
        limiter = RateLimiter(
            settings.rate_per_minute,
            settings.rate_per_hour,
            settings.rate_per_day,
            state.deliveries.sent_times,
            state.deliveries.sent_count,
            self.runner.clock,
        )
        queue, seen = sorted(ids), set(ids)
        try:
            while queue:
                delivery_id = queue.pop(0)
                if not state.notices.claim(delivery_id, self.runner.clock.now()):
                    continue
                stored = state.notices.get(delivery_id)
                if stored is None:
                    continue
                if await self._one(stored, limiter):
                    # what the same person was told next may have waited for this one
                    follow = state.notices.next_for(delivery_id)
                    if follow is not None and follow not in seen:
                        seen.add(follow)
                        queue.insert(0, follow)
        finally:
            if self.conn is not None:
                await self.conn.close()

    async def _one(self, stored: Stored, limiter: RateLimiter) -> bool:
        """Attempt one claimed notice; True when it is over (sent or given up), so the next may go."""
        state, now = self.runner.state, self.runner.clock.now()
        notices = state.notices
        expires = dt.datetime.fromisoformat(stored.expires_at) if stored.expires_at else None
        if expires is not None and now >= expires:
            notices.ended(stored.delivery_id, "expired", now, "too late: what it was about is over")
            self.report.expired += 1
            return True
        address = str(stored.member.get("email", ""))
        if notices.undeliverable(address):
            notices.ended(stored.delivery_id, "dropped", now, "the address bounced")
            self.report.dropped += 1
            return True
        if self.unavailable:
            notices.released(stored.delivery_id, now, self.unavailable)
            return False
        try:
            out = build(self.runner, stored)
        except UserError as exc:
            log.warning("notice %s cannot be built: %s", stored.mailing_id, exc)
            return self._defer(stored, now, f"cannot be built: {exc}", expires)
        if not await self._room(limiter):
            notices.released(stored.delivery_id, now, "no room in the sending quota now")
            return False
        conn = await self._connect(stored)
        if conn is None:
            notices.released(stored.delivery_id, now, self.unavailable)
            return False
        runner = self.runner
        sender = (
            runner.verp().sender(stored.delivery_id, stored.address)
            if runner.project.settings.bounce_address
            else runner.project.config.organisation.sender.email
        )
        try:
            reply = await conn.send(sender, out.member.email, out.data)
        except DeliveryError as error:
            now = runner.clock.now()
            over = True
            if error.outcome == "permanent":
                notices.ended(stored.delivery_id, "failed", now, error.reply)
                self.report.failed += 1
            else:
                over = self._defer(stored, now, error.reply, expires)
            if error.outcome == "connection" or error.code == 421:
                await conn.close()
                self.conn = None
            return over
        notices.sent(stored.delivery_id, runner.clock.now(), reply, out.message_id)
        self.report.sent += 1
        return True

    async def _room(self, limiter: RateLimiter) -> bool:
        if self.quota_wait is None:
            return await limiter.acquire()
        try:
            return await asyncio.wait_for(limiter.acquire(), self.quota_wait)
        except TimeoutError:
            return False

    async def _connect(self, stored: Stored) -> Connection | None:
        transport = self.runner.get_transport()
        if (
            self.conn is not None
            and isinstance(transport, OutboxTransport)
            and self.conn_for != stored.mailing_id
        ):
            await self.conn.close()  # a folder, not a server: cheap to open for each mailing
            self.conn = None
        if self.conn is None and not self.unavailable:
            try:
                self.conn = await transport.connect(stored.mailing_id)
                self.conn_for = stored.mailing_id
            except TransportUnavailable as exc:
                self.unavailable = str(exc)
        return self.conn

    def _defer(self, stored: Stored, now: dt.datetime, reply: str, expires: dt.datetime | None) -> bool:
        """Try again later on the retry schedule, or give up; True when given up."""
        notices = self.runner.state.notices
        retry_at = retry.next_attempt(stored.attempts, now)
        if expires is not None and retry_at >= expires:
            notices.ended(stored.delivery_id, "expired", now, f"gave up: {reply}")
            self.report.expired += 1
            return True
        notices.deferred(stored.delivery_id, now, reply, retry_at)
        self.report.deferred += 1
        return False


def preview(runner: Runner, notice: Notice) -> Outgoing:
    """The message a notice would be, without recording anything (`mailer check` renders each kind)."""
    content = encode(notice.context), _encode_event(notice.calendar)
    stored = Stored(
        0,
        notice.key,
        notice.to.email.casefold(),
        notice.category,
        notice.to.to_record(),
        notice.template,
        notice.subject,
        *content,
        None,
        0,
        None,
    )
    return build(runner, stored)


def build(runner: Runner, stored: Stored) -> Outgoing:
    """The message from what the ledger kept: the template compiled for this one person."""
    project = runner.project
    org = project.config.organisation
    event = _decode_event(stored.calendar, project.tz)
    context = decode(stored.context, project.tz)
    files = tuple((str(n), str(c), str(t).encode("utf-8")) for n, c, t in context.pop(ATTACHMENTS, []))
    now = runner.clock.now()
    mailing = Mailing(
        id=stored.mailing_id,
        kind="notice",
        series=stored.category,
        audience=_ANYONE,
        template=stored.template,
        subject=stored.subject,
        send_at=now,
        closes_at=now,
        expires_at=None,
        retry_lifetime=dt.timedelta(days=1),
        context={
            "organisation": org,
            "links": org.links,
            "rsvp": False,
            **context,
        },
        event=event,
        change="cancel" if event is not None and event.cancelled else None,
        pictures_inline=not org.base_url,
        logo=project.logo,
    )
    compiled = runner.compiled(mailing)
    if files:
        compiled = dataclasses.replace(compiled, attachments=(*compiled.attachments, *files))
    return runner.factory(compiled).build(Member.from_record(stored.member))


# -- the context as JSON, datetimes included ----------------------------------------------------


def encode(context: Mapping[str, Any]) -> str:
    return json.dumps(context, ensure_ascii=False, default=_tag, sort_keys=True)


def _tag(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"a notice's context cannot hold {type(value).__name__}")


def decode(text: str, tz: dt.tzinfo) -> dict[str, Any]:
    def untag(obj: dict[str, Any]) -> Any:
        if obj.keys() == {"$datetime"}:
            return dt.datetime.fromisoformat(obj["$datetime"]).astimezone(tz)
        if obj.keys() == {"$date"}:
            return dt.date.fromisoformat(obj["$date"])
        return obj

    return json.loads(text, object_hook=untag)


def _encode_event(event: Event | None) -> str | None:
    if event is None:
        return None
    return encode(
        {
            "uid": event.uid,
            "series": event.series,
            "occurrence": event.occurrence,
            "start": event.start,
            "end": event.end,
            "title": event.title,
            "organiser": {"name": event.organiser.name, "email": event.organiser.email},
            "location": event.location,
            "video_url": event.video_url,
            "description": event.description,
            "cancelled": event.cancelled,
            "sequence": event.sequence,
        }
    )


def _decode_event(text: str | None, tz: dt.tzinfo) -> Event | None:
    if text is None:
        return None
    data = decode(text, tz)
    data["organiser"] = Mailbox(**data["organiser"])
    return Event(**data)
