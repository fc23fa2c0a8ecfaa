"""`mailer report chapters|meetings|mailings` and the board's web page: build, then print or write.

A report reads the state through `mailer.state` (its `figures`) and the members the caller
hands in; it never sends and never builds a delivery run.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal

from rich.console import Console

from mailer.errors import UserError
from mailer.exports import check_target, write_csv, write_private
from mailer.project.folder import Project
from mailer.project.members import Member
from mailer.reports import page, terminal
from mailer.reports.chapters import chapters_report
from mailer.reports.mailings import mailings_report
from mailer.reports.meetings import meetings_report
from mailer.reports.model import Cell, Report
from mailer.state.figures import Figures

Kind = Literal["chapters", "meetings", "mailings"]
KINDS: tuple[Kind, ...] = ("chapters", "meetings", "mailings")
Members = Callable[[], Iterable[Member]]


def build(
    project: Project,
    kind: Kind,
    name: str | None,
    now: dt.datetime,
    figures: Figures,
    members: Members,
) -> Report:
    if kind == "chapters":
        if name is not None:
            raise UserError("`mailer report chapters` takes no name: it covers every chapter and region")
        county = project.config.organisation.name
        return chapters_report(members(), list(project.config.regions), figures, now, county)
    if kind == "meetings":
        return meetings_report(project.config, figures, now, name)
    return mailings_report(figures, now, project.config.organisation.name, name)


def _html_target(path: Path) -> Path:
    folder = path.expanduser().resolve().parent
    if not folder.is_dir():
        raise UserError(f"--html {path}: the folder {folder} does not exist; create it or write elsewhere")
    return path


def report(
    project: Project,
    figures: Figures,
    members: Members,
    now: dt.datetime,
    kind: Kind,
    name: str | None,
    as_json: bool,
    html: Path | None,
    out: Callable[[str], None],
    emit: Callable[[Any], None],
    csv_file: Path | None = None,
) -> None:
    """Check the arguments first, so a bad one costs nothing; then print and write."""
    target = _html_target(html) if html is not None else None
    if csv_file is not None:
        check_target(csv_file, "--csv")
    result = build(project, kind, name, now, figures, members)
    if target is not None:
        write_private(target, page.page(project.config.organisation.name, [result]), "--html")
    if csv_file is not None:
        header, rows = csv_rows(result)
        write_csv(csv_file, header, rows, option="--csv")
    if as_json:
        emit(result.as_json())
        return
    terminal.show(result, Console(file=sys.stdout, width=160, highlight=False, soft_wrap=False))
    if target is not None:
        out(f"wrote {target} ({len(result.charts)} charts)")
    if csv_file is not None:
        out(f"wrote {csv_file} ({sum(len(t.rows) for t in result.tables.values())} rows)")


def csv_rows(result: Report) -> tuple[list[str], list[list[Cell]]]:
    """Every table of a report in one sheet: a first column naming the table, then the columns
    of all tables (Norwegian headings, as on the board's page); a cell a table lacks is empty."""
    keys: dict[str, str] = {}
    for t in result.tables.values():
        for key, _, label in t.columns:
            keys.setdefault(key, label)
    rows = [[t.label, *(row.get(k) for k in keys)] for t in result.tables.values() for row in t.rows]
    return ["tabell", *keys.values()], rows


def board_page(project: Project, figures: Figures, members: Members, now: dt.datetime) -> str:
    """All three reports on one page, for `/board/rapporter` in `mailer serve`."""
    reports = [build(project, kind, None, now, figures, members) for kind in KINDS]
    return page.page(project.config.organisation.name, reports, board=True)
