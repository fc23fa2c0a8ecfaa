"""A small project for the preference page: a newsletter, a regional series anyone in Follo may
leave, a leaders' series their office requires, and members of each kind; helpers that follow
the links in the mail as a member would. Dates are relative to today: `mailer serve` runs on
the real clock.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.parse
from pathlib import Path
from zoneinfo import ZoneInfo

from conftest import Received, base_env, mailer, small_project
from webapp import SECRET, WebServer, approve_by_cli

from mailer.delivery.tokens import Signer

OSLO = ZoneInfo("Europe/Oslo")
TODAY = dt.datetime.now(OSLO).date()
MEMBERS = """\
1,Åse,Ødegård,ase@example.org,Ås,Ås Senterparti,medlem,2020-01-01,nb
2,Bjørn,Bråten,bjorn@example.org,Nordre Follo,Nordre Follo Senterparti,medlem,2021-05-05,nn
3,Hilde,Leder,hilde@example.org,Ås,Ås Senterparti,lokallagsleder,2019-01-01,nb
4,Per,Vest,per@example.org,Bærum,Bærum Senterparti,medlem,2022-01-01,nb
"""
MEETING_DAYS = [TODAY + dt.timedelta(days=d) for d in (10, 20, 75)]
SERIES = f"""\
  regionmote-follo:
    kind: invitation
    template: invitation
    audience: follo
    subject: "Regionmøte i Follo {{{{ meeting.start|date }}}}"
    meeting:
      title: Regionmøte Follo
      location: Ski rådhus
      time: "19:00"
      duration: 2h
      dates: [{", ".join(d.isoformat() for d in MEETING_DAYS)}]
    invite: {{days_before: 3, at: "09:00"}}
  lederforum:
    kind: invitation
    template: invitation
    audience: tillitsvalgte
    subject: "Lederforum {{{{ meeting.start|date }}}}"
    meeting:
      title: Lederforum
      location: Digitalt
      time: "18:00"
      duration: 1h
      dates: [{", ".join(d.isoformat() for d in MEETING_DAYS)}]
    invite: {{days_before: 3, at: "09:00"}}
"""
ISSUE = "---\nsubject: Nyhetsbrev {n}\n---\n## Nytt nummer {n}\n\nHei {{{{ member.first_name }}}}!\n"
SECRETARY = "sekretaer@testfylket.example"


def make_project(tmp_path: Path) -> Path:
    return small_project(tmp_path / "fylke", MEMBERS, SERIES)


def env_for(smtp_env: dict[str, str]) -> dict[str, str]:
    return base_env(MAILER_SECRET=SECRET, MAILER_WEB_REQUESTS_PER_MINUTE="2000", **smtp_env)


def token(member_id: str, purpose: str = "i", subject: str = "", issued: dt.date = TODAY) -> str:
    return Signer(SECRET.encode()).sign(purpose, member_id, subject, issued.toordinal())


def newsletter(root: Path, env: dict[str, str], n: int, *now: str) -> None:
    """Write issue `n`, approve it and send it (at `now` when given)."""
    name = f"nyhetsbrev-{n}"
    (root / "drafts" / f"{name}.md").write_text(ISSUE.format(n=n), encoding="utf-8")
    approve_by_cli(root, name, env)
    result = mailer(root, "send", name, *(("--now", now[0]) if now else ()), env=env)
    assert result.code == 0, result.err


def invitation(root: Path, env: dict[str, str], series: str, day: dt.date, *now: str) -> None:
    result = mailer(root, "send", f"{series}@{day.isoformat()}", *(("--now", now[0]) if now else ()), env=env)
    assert result.code == 0, result.err


def recipients(received: list[Received], subject_part: str) -> set[str]:
    return {r.rcpt_tos[0] for r in received if subject_part in str(r.message["Subject"])}


def page_link(got: Received) -> str:
    html = got.message.get_body(("html",)).get_content()
    match = re.search(r'href="(https://[^"]+/i/[^"]+)"', html)
    assert match, "no preference link in the message"
    return match.group(1)


def csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match, html
    return match.group(1)


def post(server: WebServer, path: str, fields: list[tuple[str, str]], **headers: str):
    """POST one of the page's forms as a browser on the same site would (the first form: save)."""
    if not any(name == "action" for name, _ in fields):
        fields = [("action", "save"), *fields]
    with server.client() as client:
        page = client.get(path)
        assert page.status_code == 200, page.text
        return client.post(
            path, content=form([("csrf", csrf(page.text)), *fields]), headers={**FORM, **headers}
        )


FORM = {"content-type": "application/x-www-form-urlencoded"}


def form(fields: list[tuple[str, str]]) -> str:
    """A urlencoded body that may repeat a name (checkboxes do)."""
    return urllib.parse.urlencode(fields)


def confirmation_link(got: Received) -> str:
    html = got.message.get_body(("html",)).get_content()
    match = re.search(r'href="(https://[^"]+/c/[^"]+)"', html)
    assert match, "no confirmation link in the message"
    return match.group(1)


def confirm(server: WebServer, got: Received):
    path = server.local(confirmation_link(got))
    with server.client() as client:
        page = client.get(path)
        assert page.status_code == 200, page.text
        return client.post(path, data={"csrf": csrf(page.text)})


def preferences(root: Path, env: dict[str, str], email: str) -> dict:
    result = mailer(root, "preferences", email, "--json", env=env)
    assert result.code == 0, result.err
    return json.loads(result.out)


def actions(record: dict) -> list[tuple[str, str]]:
    return [(e["action"], e["category"]) for e in record["history"]]
