"""A small project with one consultation, sent through the real CLI; shared by the consultation tests.

Dates are relative to today: `mailer serve` runs on the real clock, and the form closes at
the deadline.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

from conftest import Received, mailer, small_project
from webapp import approve_by_cli

OSLO = ZoneInfo("Europe/Oslo")
TODAY = dt.datetime.now(OSLO).date()
SEND_DAY = TODAY - dt.timedelta(days=2)
DEADLINE = TODAY + dt.timedelta(days=20)
REMINDER_1 = f"{(DEADLINE - dt.timedelta(days=7)).isoformat()}T09:00"
REMINDER_2 = f"{(DEADLINE - dt.timedelta(days=1)).isoformat()}T09:00"
SEND_AT = f"{SEND_DAY.isoformat()}T09:00"
ID = "horing-lokalvalg"

MEMBERS = """\
1,Åse,Ødegård,ase@example.org,Ås,Ås Senterparti,"medlem, lokallagsleder",2020-01-01,nb
2,Bjørn,Bråten,bjorn@example.org,Ås,Ås Senterparti,"medlem, lokallagsleder",2021-05-05,nn
3,Kari,Berg,kari@example.org,Bærum,Bærum Senterparti,lokallagsleder,2019-01-01,nb
4,Per,Vanlig,per@example.org,Asker,Asker Senterparti,medlem,2019-01-01,nb
5,Hilde,Styre,hilde@example.org,Nordre Follo,Nordre Follo Senterparti,fylkesstyremedlem,2022-01-01,nb
"""
LEADERS = {"ase@example.org", "bjorn@example.org", "kari@example.org"}


REMINDERS = '[{days_before: 7, at: "09:00"}, {days_before: 1, at: "09:00"}]'


def schedule(deadline: str, reminders: str = REMINDERS) -> str:
    return f"""\
  horing:
    kind: consultation
    template: consultation
    audience: ledere
    answer_per: chapter
    deadline: {deadline}
    reminders: {reminders}
    attachments: [agenda/horingsnotat.pdf]
"""


DRAFT = """\
---
subject: "Høring: saker til lokalvalget"
mailing: horing
send_at: {send_at}
questions:
  - id: saker
    text: Hvilke saker er viktigst?
    kind: text
    required: true
    max_length: 200
  - id: fylkessak
    text: Hvilken fylkessak bør vi løfte?
    kind: choice
    options: [Veier, Skoler, Tannhelse]
    required: true
  - id: beredskap
    text: Hvor klare er dere?
    kind: scale
---
Fylkesstyret vil høre fra lokallagene.
"""


def make_project(
    root: Path,
    deadline: str = DEADLINE.isoformat(),
    send_at: str = SEND_AT,
    draft: str = DRAFT,
    reminders: str = REMINDERS,
) -> Path:
    project = small_project(root, MEMBERS, schedule(deadline, reminders))
    text = (project / "schedules.yaml").read_text("utf-8")
    text = text.replace("audiences:\n", "audiences:\n  ledere: {roles: [lokallagsleder]}\n", 1)
    (project / "schedules.yaml").write_text(text, "utf-8")
    (project / "agenda").mkdir()
    (project / "agenda" / "horingsnotat.pdf").write_bytes(b"%PDF-1.4\n% horingsnotat\n%%EOF\n")
    (project / "drafts" / f"{ID}.md").write_text(draft.format(send_at=send_at), "utf-8")
    return project


def send_consultation(project: Path, env: dict[str, str], now: str = SEND_AT) -> None:
    approve_by_cli(project, ID, env)
    result = mailer(project, "run-due", "--now", now, env=env)
    assert result.code == 0, result.err


def form_link(received: Received) -> str:
    html = received.message.get_body(("html",)).get_content()
    match = re.search(r'href="(https://[^"]+/h/[^"]+)"', html)
    assert match, html
    return match.group(1)
