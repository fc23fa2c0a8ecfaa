"""A run: the project, its ledger and transport, and `now`, shared by every command that sends."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from mailer.delivery import announcements, links, register, reminder_days, rsvp_rules
from mailer.delivery.approvals import check_approval
from mailer.delivery.choices import MemberChoices
from mailer.delivery.observer import Progress, Silent
from mailer.delivery.plan import Recipients, plan, plan_key
from mailer.delivery.ratelimit import Clock, RateLimiter
from mailer.delivery.report import Report
from mailer.delivery.runlock import run_lock
from mailer.delivery.sending import Delivery
from mailer.delivery.tokens import Signer, load_secret
from mailer.delivery.transport import OutboxTransport, Transport, make_transport
from mailer.delivery.verp import Verp
from mailer.errors import TransportUnavailable, UserError
from mailer.project import categories
from mailer.project.config import normalise_name
from mailer.project.folder import Project
from mailer.project.mailings import Mailing
from mailer.project.members import Member
from mailer.render import reasons
from mailer.state import State, expiry, refusals
from mailer.state.claims import Claims
from mailer.state.database import Location
from mailer.state.folder import secure
from mailer.state.members import MemberStore

if TYPE_CHECKING:
    from mailer.render.messages import CompiledMailing, Links, MessageFactory
    from mailer.render.renderer import Renderer


KEEP_MEMBERS = 20_000


@dataclass
class Runner:
    project: Project
    now: dt.datetime
    progress: Callable[[], Progress] = Silent
    transport: Transport | None = None
    report_row_problems: bool = True
    shared_state: State | None = None
    pool: int = 0
    """PostgreSQL: take the connection from a pool of this size (`mailer serve`)."""
    _state: State | None = None
    _compiled: dict[str, CompiledMailing] = field(default_factory=dict)
    _warned: set[str] = field(default_factory=set)
    _leaders: dict[str, list[tuple[str, str]]] | None = None
    _members: list[Member] | None = None
    _members_fresh: bool = False
    clock: Clock = field(init=False)

    def __post_init__(self) -> None:
        self.clock = Clock(self.now)

    def location(self) -> Location:
        """Where the state is: MAILER_DATABASE_URL (one schema per organisation), else state.db."""
        settings = self.project.settings
        if settings.database_url is not None:
            schema = self.project.config.organisation.schema
            url = settings.database_url.get_secret_value()
            owner = self.project.config.organisation.name
            return Location(url=url, schema=schema, wait=settings.state_wait, pool=self.pool, owner=owner)
        return Location(path=self.project.state_dir / "state.db", wait=settings.state_wait)

    @property
    def state(self) -> State:
        if self._state is None and self.shared_state is not None:
            self._state = self.shared_state
        if self._state is None:
            secure(self.project.state_dir)
            location = self.location()
            kept_in_database = location.url is not None and self.project.settings.secret is None
            self._state = State(location, None if kept_in_database else self.secret())
        return self._state

    @contextmanager
    def lock(self, wait: bool, alone: bool = False) -> Iterator[bool]:
        """The run lock (see `run_lock`); on a shared state the server's, which several senders
        hold at once and an erasure (`alone`) holds by itself."""
        db = self.state.db
        if db.shared:
            with db.held(alone, wait) as locked:  # type: ignore[attr-defined]
                yield locked
            return
        with run_lock(self.project.state_dir, wait) as locked:
            yield locked

    @property
    def opened_state(self) -> State | None:
        """The state database if this run opened (or was handed) it."""
        return self._state

    def close(self) -> None:
        if self._state is not None and self._state is not self.shared_state:
            self._state.close()
        self._state = None

    @cached_property
    def renderer(self) -> Renderer:
        from mailer.render.renderer import Renderer

        return Renderer(self.project.templates_dir, self.project.root)

    def get_transport(self) -> Transport:
        if self.transport is None:
            self.transport = make_transport(self.project.settings, self.project.state_dir)
        return self.transport

    @property
    def outbox(self) -> Path | None:
        transport = self.get_transport()
        return transport.root if isinstance(transport, OutboxTransport) else None

    # -- links and messages --------------------------------------------------------------

    def secret(self) -> bytes:
        """MAILER_SECRET; else the state folder's file (SQLite) or the database's (PostgreSQL)."""
        configured = self.project.settings.secret
        if configured is None and self.project.settings.database_url is not None:
            return self.state.secret
        return load_secret(configured.get_secret_value() if configured else None, self.project.state_dir)

    def signer(self) -> Signer:
        return Signer(self.secret())

    def verp(self) -> Verp:
        """The envelope sender that names each delivery (MAILER_BOUNCE_ADDRESS must be set)."""
        return Verp.of(self.project.settings.bounce_address or "", self.signer().secret)

    @cached_property
    def choices(self) -> MemberChoices:
        """What members chose (suppressions, pauses, language), as planning and sending read it."""
        return MemberChoices(self.state, categories.optional(self.project.config), self.clock)

    def links(self) -> Links:
        return links.build(self.project.config.organisation, self.signer, self.now)

    def compiled(self, mailing: Mailing) -> CompiledMailing:
        key = f"{mailing.id}|{mailing.event.sequence if mailing.event else ''}"
        if key not in self._compiled:
            from mailer.render.messages import compile_mailing

            compiled = self._compiled[key] = compile_mailing(self.renderer, mailing)
            if compiled.pictures and not mailing.pictures_inline:
                from mailer.project.pictures import publish

                publish(self.project.state_dir / "pictures", compiled.pictures)
        return self._compiled[key]

    def preview_factory(self, compiled: CompiledMailing, subject_prefix: str = "") -> MessageFactory:
        """The factory of the board's previews and test copies: its invented reader's calendar
        holds every series, so the template's calendar part is seen before it is approved."""
        factory = self.factory(compiled, subject_prefix)
        factory.every_series = True
        return factory

    def factory(self, compiled: CompiledMailing, subject_prefix: str = "") -> MessageFactory:
        from mailer.render.messages import MessageFactory

        return MessageFactory(
            compiled,
            self.project.config.organisation,
            self.links(),
            self.now,
            subject_prefix,
            fields={
                "chapter_leader": self.chapter_leader,
                "reason": reasons.explainer(compiled.mailing, self.project.config),
            },
            seal=self.seal(),
            language_of=self.choices.language_of,
        )

    def seal(self) -> Callable[[bytes], bytes] | None:
        """What signs each message before it leaves (DKIM), or None when no key is configured."""
        from mailer.delivery import dkim

        sender = self.project.config.organisation.sender.email
        return dkim.sealer(self.project.settings, sender.rsplit("@", 1)[1])

    def chapter_leader(self, member: Member) -> str:
        """The local chapter's leader by name, from the member list (read once per run).

        Never the member themself (a new member may lead their chapter), never across chapters;
        chapters compare as the notices compare them (`ÅS SENTERPARTI` is `Ås Senterparti`).
        """
        if self._leaders is None:
            self._leaders = {}
            for m in self.members():
                if "lokallagsleder" in m.roles and m.chapter:
                    self._leaders.setdefault(normalise_name(m.chapter), []).append((m.id, m.name))
        fallback = "ikkje vald enno" if member.language == "nn" else "ikke valgt ennå"
        chapter = normalise_name(member.chapter)
        others = [name for mid, name in self._leaders.get(chapter, []) if mid != member.id]
        return others[0] if others else fallback

    def warn(self, line: str) -> None:
        if line not in self._warned:
            self._warned.add(line)
            if self.project.warn:
                self.project.warn(line)

    # -- recipients ------------------------------------------------------------------------

    def member_store(self) -> MemberStore:
        """The members table, imported again first if the export or the schedule changed.

        Row problems are reported once per run, as `mailer check` lists them (a web request
        reports them only when it imported the export, not at every click).
        """
        store = self.state.members
        if not self._members_fresh:
            imported = store.refresh(self.project.member_inputs(), self.project.read_members)
            self._members_fresh = True
            for p in store.problems(self.now.date()) if imported or self.report_row_problems else ():
                self.warn(f"{p.where}: {p.message}" + ("; row skipped" if p.skipped else ""))
        return store

    def member_files_key(self) -> str:
        return self.member_store().key or ""

    def members(self) -> Iterator[Member]:
        """The export's valid members, from the member store; kept in memory when the list is small.

        A run reads the members for the register, then for each mailing it plans; a list of
        up to KEEP_MEMBERS is decoded once, a larger one streams each time (memory stays flat).
        """
        if self._members is not None:
            yield from self._members
            return
        kept: list[Member] | None = []
        for member in self.member_store().all(self.now.date()):
            if kept is not None:
                kept.append(member)
                if len(kept) > KEEP_MEMBERS:
                    kept = None
            yield member
        self._members = kept

    def find_member(self, member_id: str) -> Member | None:
        return self.member_store().get(member_id, self.now.date())

    def sync_register(self) -> None:
        """Note who joined and who left since the last run (see `register`)."""
        register.sync(self.state, self.now, self.member_files_key())

    def recipients(self) -> Recipients:
        today = self.now.date()
        state = self.state

        rsvps = state.rsvp_answers
        answered = rsvp_rules.by_answer(rsvps.of_occurrence)

        reminded = reminder_days.reaching(state)

        def welcome_filter(mailing: Mailing, member: Member) -> bool:
            if not reminded(mailing, member):
                return False
            window = mailing.new_members_within
            new = window is None or register.is_new(state, member, window, today)
            return new and answered(mailing, member)

        answers = state.consultations.latest_id()  # a reminder planned before an answer is planned again
        return Recipients(
            members=self.members,
            suppressed=self.choices.suppressed,
            inputs=repr((self.member_files_key(), state.suppressions.version(), rsvps.version(), answers)),
            extra_filter=welcome_filter,
        )

    # -- sending -----------------------------------------------------------------------------

    def prepare(self, mailing: Mailing) -> Mailing:
        """The mailing as the ledger knows it (calendar sequence numbers, a late issue's calendar)."""
        return self._calendar_of_first_send(announcements.with_sequence(self.state, mailing))

    def _calendar_of_first_send(self, mailing: Mailing) -> Mailing:
        """A newsletter sent by hand past its lifetime lists the meetings from the day it was first
        sent, not from the day of each later run, so its retries keep the approved fingerprint."""
        if not mailing.calendar or not mailing.past_lifetime(self.now):
            return mailing
        first = self.state.deliveries.first_planned_at(mailing.id)
        if first is None or first.astimezone(self.project.tz).date() == self.now.date():
            return mailing
        return self.project.with_calendar_from(mailing, first.astimezone(self.project.tz))

    def settled(
        self, mailing: Mailing, recipients: Recipients | None = None, retry_all_deferred: bool = False
    ) -> bool:
        """Nothing to do: planned from the same member list, suppressions and day as now, and
        no delivery open. (`mailing` as `prepare` makes it.)"""
        deliveries = self.state.deliveries
        return deliveries.inputs(mailing.id) == plan_key(
            mailing, recipients or self.recipients(), self.now
        ) and not deliveries.has_work(mailing.id, self.now, retry_all_deferred)

    def send(
        self, mailing: Mailing, retry_all_deferred: bool = False, recipients: Recipients | None = None
    ) -> Report:
        """Plan and deliver one mailing; refuses an unapproved newsletter.

        `recipients` replaces the member list for mailings to people chosen elsewhere (`newcomers`).
        """
        mailing = self.prepare(mailing)
        recipients = recipients or self.recipients()
        if self.settled(mailing, recipients, retry_all_deferred):
            return Report(mailing.id)
        compiled = self.compiled(mailing)
        check_approval(self.state, compiled)
        factory = self.factory(compiled)
        now = self.clock.now()
        if mailing.event and mailing.event.cancelled and mailing.change != "cancel":
            rows = [m for m, _ in self.state.deliveries.open_members(mailing.id)]
            report = Report(mailing.id)
            report.dropped = self.state.deliveries.drop_open(
                mailing.id, rows, now, "the meeting is cancelled"
            )
            return report
        previous = announcements.previous_recipients(self.state, mailing)
        planned, dropped = plan(self.state, mailing, factory, recipients, now, previous)
        expired = expiry.expire(self.state, mailing, now)
        announcements.record_announced(self.state, mailing, now)
        self._warn_missing_nynorsk(compiled)
        settings = self.project.settings
        limiter = RateLimiter(
            settings.rate_per_minute,
            settings.rate_per_hour,
            settings.rate_per_day,
            self.state.deliveries.sent_times,
            self.state.deliveries.sent_count,
            self.clock,
        )
        delivery = Delivery(
            state=self.state,
            transport=self.get_transport(),
            factory=factory,
            mailing=mailing,
            sender=self.project.config.organisation.sender.email,
            clock=self.clock,
            limiter=limiter,
            suppressed=recipients.suppressed,  # as planning read them: a receipt's are its own
            progress=self.progress(),
            envelope=self.verp().sender if self.project.settings.bounce_address else None,
            claims=Claims(self.state.db, settings.claim_seconds) if self.state.db.shared else None,
        )
        try:
            report = asyncio.run(delivery.run(retry_all_deferred))
        except TransportUnavailable as exc:
            waiting = self.state.deliveries.count_open(mailing.id)
            raise TransportUnavailable(
                f"{exc}; nothing was lost: {mailing.id} has {waiting} deliveries waiting for the next run"
            ) from None
        report.planned, report.dropped = planned, report.dropped + dropped
        if mailing.kind == "newsletter" and report.sent:
            from mailer.delivery import archiving

            org = self.project.config.organisation
            archiving.record(self.state.archive, compiled, org, self.clock.now(), self.project.state_dir)
        report.expired += expired
        refusals.record_refusals(self.state, mailing.id, self.clock.now())
        return report

    def _warn_missing_nynorsk(self, compiled: CompiledMailing) -> None:
        mailing = compiled.mailing
        if mailing.kind == "newsletter" or not compiled.fallbacks():
            return
        waiting = self.state.deliveries.open_count_in_language(mailing.id, "nn")
        for file in compiled.fallbacks() if waiting else ():
            self.warn(
                f"{file} has no nynorsk version ({file.replace('.mjml', '.nn.mjml')}); "
                f"{waiting} members of {mailing.id} who prefer nynorsk get the bokmål text"
            )

    def member(self, member_id: str | None, mailing: Mailing) -> Member:
        """One member to preview as: the given id, else the first member of the audience."""
        today = self.now.date()
        if member_id is None:
            for m in mailing.audience.select(self.members(), today):
                return m
            for m in self.members():
                return m
            raise UserError("there are no valid members to preview as; add some to recipients/")
        found = self.find_member(member_id)
        if found is not None:
            return found
        skipped = len(self.state.members.problems(today))
        rows = "1 row was" if skipped == 1 else f"{skipped} rows were"
        why = f"; {rows} skipped for a problem (`mailer check` names them)" if skipped else ""
        raise UserError(f"no member with id {member_id} among the members of recipients/{why}")
