"""What members chose, as planning and sending read it: suppressions with pauses, and a language.

The planner and each delivery ask `suppressed()` exactly as they read the suppression list
before: a running pause is part of it (it holds back the optional categories, never what an
office requires). The message factory asks `language_of` for each copy, so a member who chose
nynorsk gets it from their next message on, whatever the export's `målform` says.
"""

from __future__ import annotations

import time

from mailer.delivery.ratelimit import Clock
from mailer.project.members import Member
from mailer.state import State
from mailer.state.suppressions import SuppressionList


class MemberChoices:
    def __init__(self, state: State, pausable: frozenset[str], clock: Clock):
        self.state, self.pausable, self.clock = state, pausable, clock
        self._version = -1
        self._checked = float("-inf")
        self._languages: dict[str, str] = {}

    def suppressed(self) -> SuppressionList:
        out = self.state.suppressions.current()
        out.paused = self.state.preferences.paused(self.clock.now())
        out.pausable = self.pausable
        return out

    def language_of(self, member: Member) -> str:
        """The language the member chose, else the export's; changes count within a second."""
        t = time.monotonic()
        if t - self._checked >= 1.0:
            self._checked = t
            version = self.state.suppressions.version()
            if version != self._version:
                self._version, self._languages = version, self.state.preferences.languages()
        return self._languages.get(member.address_key, member.language)
