"""The project as the web sees it: read again when its files change, one state database per thread.

A member's click is answered in well under a millisecond, so what does not change between
clicks is kept: the project itself until schedules.yaml or .env change, and what follows
from its files alone (`memo`: the signer, a meeting's date, a page's HTML) with it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from mailer import clock
from mailer.delivery.runner import Runner
from mailer.delivery.tokens import Signer
from mailer.errors import UserError
from mailer.project.folder import Project
from mailer.state.members import stat_key

log = logging.getLogger("mailer.web")
POOL = 8  # PostgreSQL connections one `mailer serve` holds at most
T = TypeVar("T")
MEMO_LIMIT = 4096
"""Entries kept per project; memo keys come from verified tokens, so this is a safety net."""


class Projects:
    """The project folder, read again when schedules.yaml or .env change (no restart needed)."""

    def __init__(self, root: Path):
        self.root = root
        self._watched = [os.fspath(root / name) for name in ("schedules.yaml", ".env")]
        self._lock = threading.Lock()
        self._key: tuple[int, ...] | None = None
        self._project: Project | None = None
        self._memo: dict[Hashable, object] = {}
        self._members_key: str | None = None
        self._warned: set[str] = set()
        self._local = threading.local()

    def _stamp(self) -> tuple[int, ...]:
        out: list[int] = []
        for path in self._watched:
            try:
                stat = os.stat(path)
                out += [stat.st_mtime_ns, stat.st_size]
            except OSError:
                out += [0, 0]
        return tuple(out)

    def current(self) -> Project:
        key = self._stamp()
        with self._lock:
            if self._project is None or key != self._key:
                self._project = Project(self.root, warn=self._warn_once)
                self._key = key
                self._memo = {}
                self._members_key = None
            return self._project

    def settled(self) -> bool:
        """Nothing to read again: the project is loaded and unchanged, and the member export is
        the one a request last found imported. Such a click costs a few reads, so the app answers
        it on the event loop instead of handing it to a thread (and one that may import goes to a
        thread, so that the loop keeps answering meanwhile)."""
        project = self._project
        if project is None or self._members_key is None or self._stamp() != self._key:
            return False
        try:
            return stat_key(project.member_inputs()) == self._members_key
        except (OSError, UserError):
            return False

    def memo(self, project: Project, key: Hashable, make: Callable[[], T]) -> T:
        """`make()`, kept while `project` is the current one: only for what its files decide."""
        memo = self._memo
        if key in memo and self._project is project:
            return memo[key]  # type: ignore[return-value]
        value = make()
        with self._lock:
            if self._project is project:
                if len(self._memo) >= MEMO_LIMIT:
                    self._memo = {}
                self._memo[key] = value
        return value

    def signer(self, runner: Runner) -> Signer:
        """The project's signer, made once (its secret may be a file in the state folder)."""
        return self.memo(runner.project, "signer", runner.signer)

    def _warn_once(self, line: str) -> None:
        """A bad row in the member export is logged once, not at every click."""
        if line not in self._warned:
            self._warned.add(line)
            log.warning("%s", line)

    @contextmanager
    def runner(self) -> Iterator[Runner]:
        """A runner for one request: on PostgreSQL a connection from the pool, given back after it;
        on SQLite this thread's open state database (opened once per thread)."""
        project = self.current()
        if project.settings.database_url is not None:
            pooled = Runner(project, clock.now(project.tz), report_row_problems=False, pool=POOL)
            try:
                yield pooled
            finally:
                pooled.close()
            return
        local = self._local
        if getattr(local, "project", None) is not project:
            if getattr(local, "state", None) is not None:
                local.state.close()
            local.project, local.state = project, None
        runner = Runner(project, clock.now(project.tz), report_row_problems=False, shared_state=local.state)
        try:
            yield runner
        finally:
            if runner.opened_state is not None:
                local.state = runner.shared_state = runner.opened_state
                if project is self._project:
                    self._members_key = local.state.members.confirmed
