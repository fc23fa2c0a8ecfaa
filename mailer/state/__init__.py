"""The state folder's database, one module per kind of record over one connection.

A new kind of state is a new small module here and a new step in `migrations`, not new
methods on a big class: `State` only opens the file and hands out the record kinds.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from mailer.state.answers import RsvpAnswers
from mailer.state.approvals import Approvals
from mailer.state.archive import Archive
from mailer.state.attendance import Attendance
from mailer.state.bounces import BounceStore
from mailer.state.consent import ConsentLog
from mailer.state.consultations import Answers
from mailer.state.database import connect
from mailer.state.deliveries import Deliveries
from mailer.state.events import Events
from mailer.state.members import MemberStore
from mailer.state.meta import Meta
from mailer.state.newcomers import Newcomers
from mailer.state.notices import Notices
from mailer.state.preferences import Preferences
from mailer.state.register import Register
from mailer.state.requests import MemberRequests
from mailer.state.resubscriptions import Resubscriptions
from mailer.state.rsvps import Rsvps
from mailer.state.suppressions import Suppressions


class State:
    """The open state database of one project (`.mailer/state.db`)."""

    def __init__(self, path: Path, secret: bytes, wait: float = 30.0):
        self.path = path
        self.secret = secret
        self.db = connect(path, wait)

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
