"""A run: the project, its ledger and transport, and `now`, shared by every command that sends."""

from __future__ import annotations

import asyncio
import datetime as dt
import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mailer import announcements, register
from mailer.bounces import expiry, refused
from mailer.bounces.verp import Verp
from mailer.errors import TransportUnavailable, UserError
from mailer.ledger import Ledger
from mailer.mailings import Mailing
from mailer.members import Member
from mailer.progress import Progress, Silent
from mailer.project import Project
from mailer.ratelimit import Clock, RateLimiter
from mailer.sending import (
    Delivery,
    Recipients,
    Report,
    check_approval,
    is_suppressed,
    plan,
    plan_key,
)
from mailer.tokens import Signer, load_secret
from mailer.transport import OutboxTransport, Transport, make_transport

if TYPE_CHECKING:
    from mailer.messages import CompiledMailing, Links, MessageFactory


KEEP_MEMBERS = 20_000


@contextmanager
def run_lock(state_dir: Path, wait: bool) -> Iterator[bool]:
    """One sending process per project at a time; a killed process releases it at once."""
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(state_dir / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


@dataclass
class Runner:
    project: Project
    now: dt.datetime
    progress: Callable[[], Progress] = Silent
    transport: Transport | None = None
    _ledger: Ledger | None = None
    _compiled: dict[str, CompiledMailing] = field(default_factory=dict)
    _warned: set[str] = field(default_factory=set)
    _leaders: dict[str, str] | None = None
    _members: list[Member] | None = None
    clock: Clock = field(init=False)

    def __post_init__(self) -> None:
        self.clock = Clock(self.now)

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            self._ledger = Ledger(self.project.state_dir / "state.db")
        return self._ledger

    def close(self) -> None:
        if self._ledger is not None:
            self._ledger.close()

    def get_transport(self) -> Transport:
        if self.transport is None:
            self.transport = make_transport(self.project.settings, self.project.state_dir)
        return self.transport

    @property
    def outbox(self) -> Path | None:
        transport = self.get_transport()
        return transport.root if isinstance(transport, OutboxTransport) else None

    # -- links and messages --------------------------------------------------------------

    def signer(self) -> Signer:
        secret = self.project.settings.secret
        return Signer(load_secret(secret.get_secret_value() if secret else None, self.project.state_dir))

    def verp(self) -> Verp:
        """The envelope sender that names each delivery (MAILER_BOUNCE_ADDRESS must be set)."""
        return Verp.of(self.project.settings.bounce_address or "", self.signer().secret)

    def links(self) -> Links:
        from mailer.messages import Links

        org = self.project.config.organisation
        mailto = org.unsubscribe_email or (org.reply_to.email if org.reply_to else org.sender.email)
        base = org.base_url
        if not base:
            return Links(
                unsubscribe=lambda m, c: f"mailto:{mailto}?subject=unsubscribe%20{c}",
                unsubscribe_mailto=mailto,
            )
        signer = self.signer()
        issued = self.now.date().toordinal()

        def unsubscribe(member: Member, category: str) -> str:
            return f"{base}/u/{signer.sign('u', member.id, category, issued)}"

        def rsvp(member: Member, occurrence: str, answer: str) -> str:
            return f"{base}/r/{signer.sign('r', member.id, occurrence, issued)}/{answer}"

        return Links(unsubscribe, rsvp, mailto, one_click=base.startswith("https://"))

    def compiled(self, mailing: Mailing) -> CompiledMailing:
        key = f"{mailing.id}|{mailing.event.sequence if mailing.event else ''}"
        if key not in self._compiled:
            from mailer.messages import compile_mailing

            self._compiled[key] = compile_mailing(self.project.renderer, mailing)
        return self._compiled[key]

    def factory(self, compiled: CompiledMailing, subject_prefix: str = "") -> MessageFactory:
        from mailer.messages import MessageFactory

        return MessageFactory(
            compiled,
            self.project.config.organisation,
            self.links(),
            self.now,
            subject_prefix,
            fields={"chapter_leader": self.chapter_leader},
            seal=self.seal(),
        )

    def seal(self) -> Callable[[bytes], bytes] | None:
        """What signs each message before it leaves (DKIM), or None when no key is configured."""
        from mailer import dkim

        sender = self.project.config.organisation.sender.email
        return dkim.sealer(self.project.settings, sender.rsplit("@", 1)[1])

    def chapter_leader(self, member: Member) -> str:
        """The local chapter's leader by name, from the member list (read once per run)."""
        if self._leaders is None:
            self._leaders = {}
            for m in self.members():
                if "lokallagsleder" in m.roles:
                    self._leaders.setdefault(m.chapter, m.name)
        fallback = "ikkje vald enno" if member.language == "nn" else "ikke valgt ennå"
        return self._leaders.get(member.chapter, fallback)

    def warn(self, line: str) -> None:
        if line not in self._warned:
            self._warned.add(line)
            if self.project.warn:
                self.project.warn(line)

    # -- recipients ------------------------------------------------------------------------

    def member_files_key(self) -> str:
        folder = self.project.root / "recipients"
        files = sorted(folder.glob("*.csv")) if folder.is_dir() else []
        stats = [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files]
        return repr((stats, self.project.config_path.stat().st_mtime_ns))

    def members(self) -> Iterator[Member]:
        """The export's valid members; kept after the first full read when the list is small.

        A run reads the export for the register, then for each mailing it plans; a list of
        up to KEEP_MEMBERS is read once, a larger one streams each time (memory stays flat).
        """
        if self._members is not None:
            yield from self._members
            return
        kept: list[Member] | None = []
        for member in self.project.members(self.now.date()):
            if kept is not None:
                kept.append(member)
                if len(kept) > KEEP_MEMBERS:
                    kept = None
            yield member
        self._members = kept

    def sync_register(self) -> None:
        """Note who joined and who left since the last run (see `register`)."""
        register.sync(self.ledger, self.members(), self.now, self.member_files_key())

    def recipients(self) -> Recipients:
        today = self.now.date()
        ledger = self.ledger

        def welcome_filter(mailing: Mailing, member: Member) -> bool:
            window = mailing.new_members_within
            return window is None or register.is_new(ledger, member, window, today)

        return Recipients(
            members=self.members,
            suppressed=ledger.suppressed,
            inputs=repr((self.member_files_key(), ledger.suppression_version())),
            extra_filter=welcome_filter,
        )

    # -- sending -----------------------------------------------------------------------------

    def prepare(self, mailing: Mailing) -> Mailing:
        """The mailing as the ledger knows it (calendar sequence numbers)."""
        return announcements.with_sequence(self.ledger, mailing)

    def send(self, mailing: Mailing, retry_all_deferred: bool = False) -> Report:
        """Plan and deliver one mailing; refuses an unapproved newsletter."""
        mailing = self.prepare(mailing)
        recipients = self.recipients()
        if self.ledger.mailing_inputs(mailing.id) == plan_key(
            mailing, recipients, self.now
        ) and not self.ledger.has_work(mailing.id, self.now, retry_all_deferred):
            return Report(mailing.id)
        compiled = self.compiled(mailing)
        check_approval(self.ledger, compiled)
        factory = self.factory(compiled)
        now = self.clock.now()
        if mailing.event and mailing.event.cancelled and mailing.change != "cancel":
            rows = [m for m, _ in self.ledger.open_member_ids(mailing.id)]
            report = Report(mailing.id)
            report.dropped = self.ledger.drop_open(mailing.id, rows, now, "the meeting is cancelled")
            return report
        previous = announcements.previous_recipients(self.ledger, mailing)
        planned, dropped = plan(self.ledger, mailing, factory, recipients, now, previous)
        expired = expiry.expire(self.ledger, mailing, now)
        announcements.record_announced(self.ledger, mailing, now)
        self._warn_missing_nynorsk(compiled)
        settings = self.project.settings
        limiter = RateLimiter(
            settings.rate_per_minute,
            settings.rate_per_hour,
            settings.rate_per_day,
            self.ledger.sent_times,
            self.ledger.sent_count,
            self.clock,
        )
        delivery = Delivery(
            ledger=self.ledger,
            transport=self.get_transport(),
            factory=factory,
            mailing=mailing,
            sender=self.project.config.organisation.sender.email,
            clock=self.clock,
            limiter=limiter,
            suppressed=self.ledger.suppressed,
            progress=self.progress(),
            envelope=self.verp().sender if self.project.settings.bounce_address else None,
        )
        try:
            report = asyncio.run(delivery.run(retry_all_deferred))
        except TransportUnavailable as exc:
            waiting = self.ledger.count_open(mailing.id)
            raise TransportUnavailable(
                f"{exc}; nothing was lost: {mailing.id} has {waiting} deliveries waiting for the next run"
            ) from None
        report.planned, report.dropped = planned, report.dropped + dropped
        report.expired += expired
        refused.record_refusals(self.ledger, mailing.id, self.clock.now())
        return report

    def would_send(self, mailing: Mailing) -> tuple[int, int, int]:
        """(new recipients, already in the ledger, unsubscribed) without writing anything."""
        today = self.now.date()
        recipients = self.recipients()
        suppressed = recipients.suppressed()
        known = {m for m, _ in self.ledger.open_member_ids(mailing.id)}
        known |= set(self.ledger.member_ids_of(mailing.id))
        previous = announcements.previous_recipients(self.ledger, mailing)
        new = already = unsubscribed = 0
        for member in mailing.audience.select(recipients.members(), today):
            if previous is not None and member.id not in previous:
                continue
            if recipients.extra_filter and not recipients.extra_filter(mailing, member):
                continue
            if member.id in known:
                already += 1
            elif is_suppressed(suppressed, mailing.category, member.address_key):
                unsubscribed += 1
            else:
                new += 1
        return new, already, unsubscribed

    def _warn_missing_nynorsk(self, compiled: CompiledMailing) -> None:
        mailing = compiled.mailing
        if mailing.kind == "newsletter" or not compiled.fallbacks():
            return
        waiting = self.ledger.open_count_in_language(mailing.id, "nn")
        for file in compiled.fallbacks() if waiting else ():
            self.warn(
                f"{file} has no nynorsk version ({file.replace('.mjml', '.nn.mjml')}); "
                f"{waiting} members of {mailing.id} who prefer nynorsk get the bokmål text"
            )

    def member(self, member_id: str | None, mailing: Mailing) -> Member:
        """One member to preview as: the given id, else the first member of the audience."""
        today = self.now.date()
        members = list(self.members())
        if member_id is None:
            for m in mailing.audience.select(members, today):
                return m
            for m in members:
                return m
            raise UserError("there are no valid members to preview as; add some to recipients/")
        for m in members:
            if m.id == member_id:
                return m
        raise UserError(f"no member with id {member_id} in recipients/")
