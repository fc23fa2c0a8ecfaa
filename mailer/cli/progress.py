"""Progress of a send: a rich bar on a terminal, a plain line per 10% in cron logs."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from mailer.delivery.observer import Progress, Silent

QUIET_BELOW = 100
"""Mailings smaller than this print only their summary line."""


class PlainLines:
    """`nyhetsbrev-2026-12: 30% (900/3000), 412/s, about 5 s left` every 10%."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.label, self.total, self.done, self.next_mark, self.t0 = "", 0, 0, 10, 0.0

    def start(self, label: str, total: int) -> None:
        self.label, self.total, self.done, self.next_mark, self.t0 = label, total, 0, 10, time.monotonic()

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self.total < QUIET_BELOW:
            return
        percent = self.done * 100 // self.total
        if percent >= self.next_mark:
            elapsed = max(time.monotonic() - self.t0, 1e-6)
            rate = self.done / elapsed
            left = (self.total - self.done) / rate if rate else 0
            print(
                f"{self.label}: {percent}% ({self.done}/{self.total}), {rate:.0f}/s, about {left:.0f} s left",
                file=self.stream,
                flush=True,
            )
            self.next_mark = (percent // 10 + 1) * 10

    def finish(self) -> None:
        return None


class RichBar:
    def __init__(self, stream: TextIO):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )

        class _Rate(TextColumn):
            def render(self, task):  # type: ignore[no-untyped-def]
                from rich.text import Text

                return Text(f"{task.speed or 0:.0f}/s")

        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            _Rate(""),
            TimeRemainingColumn(),
            console=Console(file=stream),
            transient=False,
        )
        self.task = None

    def start(self, label: str, total: int) -> None:
        self.bar.start()
        self.task = self.bar.add_task(label, total=total)

    def advance(self, n: int = 1) -> None:
        if self.task is not None:
            self.bar.advance(self.task, n)

    def finish(self) -> None:
        self.bar.stop()


def for_stream(stream: TextIO = sys.stderr, quiet: bool = False) -> Progress:
    if quiet:
        return Silent()
    return RichBar(stream) if stream.isatty() else PlainLines(stream)
