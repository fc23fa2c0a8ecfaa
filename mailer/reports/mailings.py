"""Per mailing: how many it was for, sent, failed, deferred, and who unsubscribed after it."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from mailer.errors import UserError
from mailer.reports.model import NO_OPENS, Bars, Cell, Column, Note, Report, county_total, summed, table
from mailer.state.figures import Figures

OPEN = ("pending", "sending")
NOTHING_SENT = Note(
    "nothing sent yet: the ledger holds no mailing", "Ingenting er sendt ennå: loggen har ingen utsendinger."
)


@dataclass(frozen=True)
class Sent:
    """One mailing and its deliveries by status (erased members' counts included)."""

    id: str
    kind: str
    series: str
    planned_at: str
    statuses: dict[str, int]
    unsubscribed: int

    def count(self, *statuses: str) -> int:
        return sum(self.statuses.get(s, 0) for s in statuses)


def mailings_of(figures: Figures) -> list[Sent]:
    """Every mailing; the notices to one person each (confirmations, offers, …) as one row per
    what they are about, `EVENT (notices)`."""
    statuses = figures.statuses()
    gone = figures.unsubscribed_after()
    out: list[Sent] = []
    notices: dict[str, Sent] = {}
    for mid, kind, series, planned in figures.mailings():
        if kind != "notice":
            out.append(Sent(mid, kind, series, planned, dict(statuses.get(mid, {})), gone.get(mid, 0)))
            continue
        group = notices.get(series)
        if group is None:
            group = notices[series] = Sent(f"{series} (notices)", kind, series, planned, defaultdict(int), 0)
            out.append(group)
        for status, n in statuses.get(mid, {}).items():
            group.statuses[status] += n
    return out


def _day(text: str) -> Cell:
    return dt.datetime.fromisoformat(text).date().isoformat()


COLUMNS: list[Column[Sent]] = [
    Column("mailing", "mailing", "Utsending", lambda s: s.id),
    Column("kind", "kind", "Type", lambda s: s.kind),
    Column("planned", "planned", "Planlagt", lambda s: _day(s.planned_at)),
    Column("recipients", "recipients", "Mottakere", lambda s: sum(s.statuses.values())),
    Column("sent", "sent", "Sendt", lambda s: s.count("sent")),
    Column("failed", "failed", "Feilet", lambda s: s.count("failed")),
    Column("bounced", "bounced after", "Kom i retur", lambda s: s.count("bounced")),
    Column("deferred", "deferred", "Utsatt", lambda s: s.count("deferred")),
    Column("open", "not yet tried", "Venter", lambda s: s.count(*OPEN)),
    Column("dropped", "dropped or expired", "Droppet", lambda s: s.count("dropped", "expired")),
    Column("unsubscribed", "unsubscribed after", "Meldte seg av etterpå", lambda s: s.unsubscribed),
]


@dataclass(frozen=True)
class County:
    """Every mailing of the report at once."""

    name: str
    mailings: list[Sent]


COUNTY_COLUMNS: list[Column[County]] = [
    Column("county", "county", "Fylke", lambda c: c.name),
    Column("mailings", "mailings", "Utsendinger", lambda c: len(c.mailings)),
    *(summed(col, lambda c: c.mailings) for col in COLUMNS if col.key not in ("mailing", "kind", "planned")),
]


def mailings_report(figures: Figures, now: dt.datetime, county: str, only: str | None = None) -> Report:
    """Every mailing in the ledger (or `only` that one), oldest first, and the county's totals."""
    sent = mailings_of(figures)
    if only is not None:
        sent = [s for s in sent if s.id == only]
        if not sent:
            raise UserError(
                f"no mailing '{only}' in the ledger; `mailer report mailings` lists those sent so far"
            )
    recent = sent[-20:]
    chart = Bars("Sendt per utsending", [s.id for s in recent], [s.count("sent") for s in recent])
    return Report(
        "mailings",
        "Mailings",
        "Utsendinger",
        now,
        {
            "mailings": table("Mailings", "Utsendinger", COLUMNS, sent),
            "county": county_total(COUNTY_COLUMNS, County(county, sent)),
        },
        charts=[chart] if sent else [],
        notes=[NO_OPENS],
        empty=None if sent else NOTHING_SENT,
    )
