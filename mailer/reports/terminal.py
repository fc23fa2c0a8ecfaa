"""The report as tables in the terminal (rich), for the secretary at the command line."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table as RichTable

from mailer.reports.model import NOT_RECORDED, Cell, Report


def _text(value: Cell) -> str:
    return NOT_RECORDED if value is None else str(value)


def show(report: Report, console: Console) -> None:
    console.print(f"[bold]{report.title}[/bold] ({report.generated_at:%Y-%m-%d %H:%M})")
    if report.empty:
        console.print(report.empty.text)
        return
    for t in report.tables.values():
        if not t.rows:
            continue
        out = RichTable(title=t.title, title_justify="left", style="bold" if t.total else None)
        for key, title, _ in t.columns:
            numeric = any(isinstance(r[key], int | float) for r in t.rows)
            out.add_column(title, justify="right" if numeric else "left")
        for row in t.rows:
            out.add_row(*(_text(row[k]) for k, _, _ in t.columns))
        console.print(out)
    for note in report.notes:
        console.print(f"note: {note.text}")
