"""The project as the web sees it: read again when its files change, one state database per thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mailer import clock
from mailer.delivery.runner import Runner
from mailer.project.folder import Project

log = logging.getLogger("mailer.web")
POOL = 8  # PostgreSQL connections one `mailer serve` holds at most


class Projects:
    """The project folder, read again when schedules.yaml or .env change (no restart needed)."""

    def __init__(self, root: Path):
        self.root = root
        self._lock = threading.Lock()
        self._key: tuple[int, ...] | None = None
        self._project: Project | None = None
        self._warned: set[str] = set()
        self._local = threading.local()

    def _stamp(self) -> tuple[int, ...]:
        out = []
        for name in ("schedules.yaml", ".env"):
            try:
                stat = (self.root / name).stat()
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
            return self._project

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
