"""The report as one self-contained HTML page: inline CSS and SVG, no script, nothing fetched.

The secretary attaches it to the board's papers, so it is in Norwegian and opens offline.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from mailer.project.mailings import KIND_NAMES
from mailer.reports import svg
from mailer.reports.model import Cell, Report, Table

STYLE = """
body{font-family:"DejaVu Sans",system-ui,sans-serif;color:#1f2933;margin:2rem auto;
max-width:70rem;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:.9rem}
th,td{border-bottom:1px solid #d8dee4;padding:.3rem .6rem;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}td.none{color:#7b8794;font-style:italic}
.charts{display:flex;flex-wrap:wrap;gap:1.5rem}.charts svg{max-width:100%;height:auto}
p.note{color:#52606d}table.total td{font-weight:bold}
"""
NOT_RECORDED_NB = "ikke registrert"
NORSK = {
    "held": "holdt",
    "ahead": "kommer",
    "cancelled": "avlyst",
    "rising": "stigende",
    "falling": "fallende",
    "flat": "jevn",
    "too few meetings": "for få møter",
    "missing": "mangler",
    **KIND_NAMES,
}


def _cell(value: Cell) -> str:
    if value is None:
        return f'<td class="none">{NOT_RECORDED_NB}</td>'
    cls = ' class="n"' if isinstance(value, int | float) else ""
    text = NORSK.get(str(value), str(value).replace(" of ", " av "))
    return f"<td{cls}>{escape(text)}</td>"


def _table(t: Table) -> str:
    head = "".join(f"<th>{escape(label)}</th>" for _, _, label in t.columns)
    rows = "".join("<tr>" + "".join(_cell(r[k]) for k, _, _ in t.columns) + "</tr>" for r in t.rows)
    cls = ' class="total"' if t.total else ""
    return (
        f"<h2>{escape(t.label)}</h2><table{cls}><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    )


def section(report: Report) -> str:
    """One report's heading, charts and tables, for this page or the board's web page."""
    parts = [f'<section class="report" id="{report.kind}"><h1>{escape(report.label)}</h1>']
    if report.empty:
        parts.append(f'<p class="empty">{escape(report.empty.norsk)}</p>')
    if report.charts:
        parts.append('<div class="charts">' + "".join(svg.render(c) for c in report.charts) + "</div>")
    parts.extend(_table(t) for t in report.tables.values() if t.rows and not (t.total and report.empty))
    parts.extend(f'<p class="note">{escape(n.norsk)}</p>' for n in report.notes)
    return "".join(parts) + "</section>"


BACK = (
    '<nav><a href="/board">&larr; Tilbake til utsendingene</a> &middot; <a href="/board/h">Høringer</a></nav>'
)
"""On the board's page in `mailer serve`: the way back to the rest of the board's pages."""


def page(organisation: str, reports: Sequence[Report], board: bool = False) -> str:
    """The whole page; `board`: served at /board/rapporter, with links back to the board's pages."""
    when = reports[0].generated_at.strftime("%d.%m.%Y kl. %H.%M") if reports else ""
    title = f"{organisation}: " + ", ".join(r.label.lower() for r in reports)
    return (
        '<!doctype html><html lang="nb"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        + (BACK if board else "")
        + f'<p class="note">{escape(organisation)}, laget {escape(when)}</p>'
        + "".join(section(r) for r in reports)
        + "</body></html>"
    )
