"""A small project with one event, dated relative to now, and helpers to drive it end to end.

`mailer serve` runs on the real clock, so every date here is relative to the moment the test
runs and no command is given `--now` unless it moves every command's clock forward together.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from conftest import Received, SMTPServer, mailer, small_project

OSLO = ZoneInfo("Europe/Oslo")
NOW = dt.datetime.now(OSLO).replace(second=0, microsecond=0)
START = (NOW + dt.timedelta(days=10)).replace(hour=18, minute=0)
END = START + dt.timedelta(hours=2)
EVENT = "medlemstreff"

MEMBERS = """\
1,Åse,Ødegård,ase@example.org,Ås,Ås Senterparti,medlem,2026-09-01,nb
2,Bjørn,Bråten,bjorn@example.org,Ås,Ås Senterparti,medlem,2026-09-02,nn
3,Kari,Berg,kari@example.org,Bærum,Bærum Senterparti,medlem,2026-09-03,nb
4,Per,Vanlig,per@example.org,Asker,Asker Senterparti,medlem,2026-09-04,nb
5,Hilde,Styre,hilde@example.org,Nordre Follo,Nordre Follo Senterparti,fylkesstyremedlem,2020-01-01,nb
6,Olav,Øye,olav@example.org,Ås,Ås Senterparti,medlem,2026-09-05,nb
7,Randi,Ås,randi@example.org,Ås,Ås Senterparti,medlem,2026-09-06,nb
8,Sigrid,Lie,sigrid@example.org,Bærum,Bærum Senterparti,medlem,2026-09-07,nb
9,Trond,Hauge,trond@example.org,Asker,Asker Senterparti,medlem,2026-09-08,nb
10,Ulla,Moe,ulla@example.org,Ås,Ås Senterparti,medlem,2026-09-09,nb
"""


def local(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M")


def event_block(name: str = EVENT, **fields: object) -> str:
    """One event under `events:`; `fields` replace or add keys (None removes one)."""
    values: dict[str, object] = {
        "title": "Medlemstreff på Stortinget",
        "description": "Omvisning og en prat med stortingsrepresentantene.",
        "start": local(START),
        "end": local(END),
        "location": "Stortinget, Karl Johans gate 22, Oslo",
        "audience": "alle",
        "capacity": 2,
        "waitlist": "true",
        "registration_closes": local(START - dt.timedelta(days=1)),
        "questions": (
            "\n      - {id: fodselsdato, label: Fødselsdato, type: date, required: true}"
            "\n      - {id: hensyn, label: Allergier eller andre hensyn, type: text}"
        ),
        "invite": '{days_before: 14, at: "09:00"}',
        "reminder": '{days_before: 1, at: "09:00"}',
    }
    values.update(fields)
    lines = [f"  {name}:"]
    for key, value in values.items():
        if value is not None:
            lines.append(f"    {key}: {value}")
    return "\n".join(lines) + "\n"


def make_project(root: Path, *blocks: str, members: str = MEMBERS) -> Path:
    project = small_project(root, members)
    body = "".join(blocks) if blocks else event_block()
    with open(project / "schedules.yaml", "a", encoding="utf-8") as f:
        f.write("events:\n" + body)
    return project


def run_due(project: Path, env: dict[str, str], *now: str) -> None:
    result = mailer(project, "run-due", *(("--now", now[0]) if now else ()), env=env)
    assert result.code == 0, result.err


def links(received: list[Received], path: str, mailing: str | None = None) -> dict[str, str]:
    """Recipient address → the first link to `path` (e.g. /p/) in their message's HTML
    (only in messages of `mailing`, when given)."""
    out: dict[str, str] = {}
    for got in received:
        if mailing is not None and got.message["X-Mailer-Mailing"] != mailing:
            continue
        html = got.message.get_body(("html",)).get_content()
        match = re.search(rf'href="(https://[^"]+{re.escape(path)}[^"]+)"', html)
        if match:
            for rcpt in got.rcpt_tos:
                out.setdefault(rcpt.lower(), match.group(1))
    return out


def hidden(page: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))


def wait_for(smtp: SMTPServer, count: int, seconds: float = 30.0) -> list[Received]:
    """The server's messages once there are at least `count` (the web part sends after answering)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if len(smtp.received) >= count:
            time.sleep(0.2)
            return list(smtp.received)
        time.sleep(0.05)
    raise AssertionError(f"expected {count} messages within {seconds} s, got {len(smtp.received)}")


def status(project: Path, env: dict[str, str], name: str = EVENT) -> dict[str, object]:
    result = mailer(project, "event", "status", name, "--json", env=env)
    assert result.code == 0, result.err
    return json.loads(result.out)


def subject_of(got: Received) -> str:
    return str(got.message["Subject"])
