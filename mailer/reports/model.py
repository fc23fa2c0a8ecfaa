"""What a report is, whatever it is printed as: tables of cells, charts, notes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Cell = int | float | str | None
"""A number or text; None means the state database does not record it (yet)."""

NOT_RECORDED = "not recorded"


@dataclass(frozen=True)
class Note:
    """A remark under a report: English in the terminal and JSON, bokmål on the page."""

    text: str
    norsk: str


NO_OPENS = Note(
    "opens are not measured: members' mail carries no tracking pixels",
    "Åpninger måles ikke: e-postene til medlemmene har ingen sporingspiksler.",
)
R = TypeVar("R")


@dataclass(frozen=True)
class Column(Generic[R]):
    """One column: `value` computes its cell from one row's facts."""

    key: str
    title: str
    label: str  # the Norwegian heading on the page the board attaches to its papers
    value: Callable[[R], Cell]


@dataclass(frozen=True)
class Table:
    title: str
    label: str
    columns: Sequence[tuple[str, str, str]]  # key, title, label
    rows: list[dict[str, Cell]]
    total: bool = False  # the county's one row, shown apart from the rows it adds up

    def not_recorded(self) -> list[str]:
        """Columns with no value in any row: the records behind them do not exist yet."""
        return [k for k, _, _ in self.columns if self.rows and all(r[k] is None for r in self.rows)]

    def as_json(self) -> dict[str, object]:
        return {"rows": self.rows, "not_recorded": self.not_recorded()}


def table(title: str, label: str, columns: Sequence[Column[R]], items: Iterable[R]) -> Table:
    return Table(
        title,
        label,
        [(c.key, c.title, c.label) for c in columns],
        [{c.key: c.value(item) for c in columns} for item in items],
    )


def county_total(columns: Sequence[Column[R]], whole: R) -> Table:
    """The county's totals in a row of their own: `whole` is everything the other tables split up.

    Its key in `--json` is `county`; the first column names the organisation.
    """
    return Table(
        "County total",
        "Hele fylket",
        [(c.key, c.title, c.label) for c in columns],
        [{c.key: c.value(whole) for c in columns}],
        total=True,
    )


def added(values: Iterable[Cell]) -> Cell:
    """The sum of a column's numbers; "not recorded" when there are rows and none has one."""
    cells = list(values)
    numbers = [v for v in cells if isinstance(v, int | float)]
    return None if cells and not numbers else sum(numbers)


W = TypeVar("W")


def summed(column: Column[R], parts: Callable[[W], Iterable[R]]) -> Column[W]:
    """The same column for a whole (the county): the cells of its parts added up."""
    return Column(
        column.key, column.title, column.label, lambda whole: added(map(column.value, parts(whole)))
    )


@dataclass(frozen=True)
class Bars:
    """A horizontal bar chart: one bar per label."""

    title: str
    labels: list[str]
    values: list[int]


@dataclass(frozen=True)
class Line:
    """Values over time against a goal (a dashed line when there is one)."""

    title: str
    labels: list[str]
    values: list[int]
    goal: int | None


Chart = Bars | Line


@dataclass(frozen=True)
class Report:
    kind: str
    title: str
    label: str
    generated_at: dt.datetime
    tables: dict[str, Table]
    charts: list[Chart] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    empty: Note | None = None  # why there is nothing to show yet

    def as_json(self) -> dict[str, object]:
        return {
            "report": self.kind,
            "generated_at": self.generated_at.isoformat(timespec="seconds"),
            "empty": self.empty.text if self.empty else None,
            "notes": [n.text for n in self.notes],
            **{name: t.as_json() for name, t in self.tables.items()},
        }
