"""The state folder's database, one module per kind of record over one connection.

A new kind of state is a new small module here and a new step in `migrations`, not new
methods on a big class: `State` only opens the file and hands out the record kinds.
"""

from __future__ import annotations

import secrets as _random
from functools import cached_property
from pathlib import Path

from mailer.state.answers import RsvpAnswers
from mailer.state.approvals import Approvals
from mailer.state.archive import Archive
from mailer.state.attendance import Attendance
from mailer.state.bounces import BounceStore
from mailer.state.checkins import Checkins
from mailer.state.connection import Connection
from mailer.state.consent import ConsentLog
from mailer.state.consultations import Answers
from mailer.state.database import Location, connect, transaction
from mailer.state.deliveries import Deliveries
from mailer.state.event_changes import EventChanges
from mailer.state.events import Events
from mailer.state.figures import Figures
from mailer.state.members import MemberStore
from mailer.state.meta import Meta
from mailer.state.newcomers import Newcomers
from mailer.state.notices import Notices
from mailer.state.personal_data import PersonalData
from mailer.state.preferences import Preferences
from mailer.state.register import Register
from mailer.state.registrations import Registrations
from mailer.state.requests import MemberRequests
from mailer.state.resubscriptions import Resubscriptions
from mailer.state.rsvps import Rsvps
from mailer.state.suppressions import Suppressions
from mailer.state.unverified import Unverified
from mailer.state.waitlist import Waitlist

SECRET_KEY = "secret"
_kept: dict[str, bytes] = {}  # the database's secret, read once per process


class State:
    """The open state of one project: `.mailer/state.db`, or its schema in PostgreSQL.

    `secret` signs links and hashes erased addresses: MAILER_SECRET, else the state folder's
    `secret` file (SQLite), else (PostgreSQL, where several machines share the state) one
    kept in the database itself, made on first use; `None` asks for the database's.
    """

    def __init__(self, where: Path | Location | Connection, secret: bytes | None, wait: float = 30.0):
        self.db: Connection = where if hasattr(where, "execute") else connect(where, wait)  # type: ignore[arg-type]
        self.path = where if isinstance(where, Path) else getattr(where, "path", None)
        self.secret = secret if secret is not None else self.kept_secret()

    def kept_secret(self) -> bytes:
        """The secret kept in the database (made once; two first runs at once agree on one)."""
        if self.db.where in _kept:
            return _kept[self.db.where]
        with transaction(self.db):
            self.db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                (SECRET_KEY, _random.token_urlsafe(32)),
            )
            _kept[self.db.where] = str(self.meta.get(SECRET_KEY)).encode()
        return _kept[self.db.where]

    def close(self) -> None:
        self.db.close()

    @cached_property
    def deliveries(self) -> Deliveries:
        return Deliveries(self.db)

    @cached_property
    def approvals(self) -> Approvals:
        return Approvals(self.db)

    @cached_property
    def suppressions(self) -> Suppressions:
        return Suppressions(self.db, self.secret)

    @cached_property
    def events(self) -> Events:
        return Events(self.db)

    @cached_property
    def register(self) -> Register:
        return Register(self.db)

    @cached_property
    def rsvps(self) -> Rsvps:
        return Rsvps(self.db)

    @cached_property
    def members(self) -> MemberStore:
        return MemberStore(self.db)

    @cached_property
    def meta(self) -> Meta:
        return Meta(self.db)

    @cached_property
    def rsvp_answers(self) -> RsvpAnswers:
        return RsvpAnswers(self.db)

    @cached_property
    def attendance(self) -> Attendance:
        return Attendance(self.db)

    @cached_property
    def newcomers(self) -> Newcomers:
        return Newcomers(self.db)

    @cached_property
    def consultations(self) -> Answers:
        return Answers(self.db)

    @cached_property
    def archive(self) -> Archive:
        return Archive(self.db)

    @cached_property
    def bounces(self) -> BounceStore:
        return BounceStore(self.db)

    @cached_property
    def notices(self) -> Notices:
        return Notices(self.db)

    @cached_property
    def registrations(self) -> Registrations:
        return Registrations(self.db)

    @cached_property
    def waitlist(self) -> Waitlist:
        return Waitlist(self.db)

    @cached_property
    def event_changes(self) -> EventChanges:
        return EventChanges(self.db)

    @cached_property
    def checkins(self) -> Checkins:
        return Checkins(self.db)

    @cached_property
    def unverified(self) -> Unverified:
        return Unverified(self.db)

    @cached_property
    def figures(self) -> Figures:
        return Figures(self.db)

    @cached_property
    def consent(self) -> ConsentLog:
        return ConsentLog(self.db)

    @cached_property
    def preferences(self) -> Preferences:
        return Preferences(self.db)

    @cached_property
    def resubscriptions(self) -> Resubscriptions:
        return Resubscriptions(self.db, self.suppressions)

    @cached_property
    def requests(self) -> MemberRequests:
        return MemberRequests(self.db)

    @cached_property
    def personal_data(self) -> PersonalData:
        return PersonalData(self.db)
