"""A small project that has sent one newsletter with VERP senders, and the next newsletter.

The fixtures in tests/bounces/ are what providers send back; a real bounce answers a real
message, so `returned` puts the proof of that in: the VERP address of the delivery it answers
(where the bounce was delivered to) and that delivery's Message-ID in the returned headers
(the `<aN@testfylket.example>` placeholders). Without it, a fixture is what a forger sends.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

from conftest import Received, Result, SMTPServer, base_env, mailer, small_project

FIXTURES = Path(__file__).parent / "bounces"
BOUNCE_ADDRESS = "bounces@testfylket.example"
PLACEHOLDER = re.compile(rb"<a\d+@testfylket\.example>")

MEMBERS = """\
1,Åse,Ødegård,ase@example.org,Ås,,medlem,2020-01-01,nb
2,Bjørn,Bråten,bjorn@example.net,Bærum,,medlem,2021-05-05,nn
3,Kari,Styre,kari@example.com,Asker,,medlem,2019-01-01,nb
4,Per,Styre,per.gmail@example.com,Nordre Follo,,medlem;fylkesstyremedlem,2019-01-01,nb
5,Liv,Lie,liv@example.com,Ås,,medlem,2022-01-01,nb
6,Ola,Nord,ola@example.com,Asker,,medlem,2022-01-01,nb
7,Hanne,Hagen,hanne@example.org,Bærum,,medlem;fylkesstyremedlem,2022-01-01,nb
8,Siri,Sand,siri@example.org,Ås,,medlem,2022-01-01,nb
9,Kjell,Kvam,kjell@example.org,Asker,,medlem,2022-01-01,nb
"""

# The member each fixture is about.
ABOUT = {
    "postfix-user-unknown.eml": "ase@example.org",
    "postfix-queue-timeout.eml": "bjorn@example.net",
    "exim-failed.eml": "kari@example.com",
    "exchange-ndr.eml": "liv@example.com",
    "m365-ndr.eml": "ola@example.com",
    "gmail-no-such-user.eml": "per.gmail@example.com",
    "gmail-mailbox-full.eml": "siri@example.org",
    "yahoo-arf-complaint.eml": "hanne@example.org",
}

BOARD_MEETING = """\
  styremote:
    kind: invitation
    template: invitation
    audience: styret
    subject: "Styremøte"
    meeting:
      title: Fylkesstyremøte
      location: Fylkeskontoret
      time: "18:00"
      duration: 2h
      dates: [2027-01-12]
"""


def draft(subject: str = "Nyhetsbrev") -> str:
    """A newsletter due an hour ago, whatever the day the tests run."""
    send_at = (dt.datetime.now(ZoneInfo("Europe/Oslo")) - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    return (
        f'---\nsubject: "{subject}: Æ, Ø og Å"\nsend_at: {send_at}\n---\nHei {{{{ member.first_name }}}}!\n'
    )


def env_for(smtp: SMTPServer, **extra: str) -> dict[str, str]:
    """The environment of the tests; MAILER_BOUNCE_ADDRESS="" means no VERP."""
    settings = {"MAILER_BOUNCE_ADDRESS": BOUNCE_ADDRESS, "MAILER_SECRET": "s3cret-for-the-tests-only"}
    settings.update(extra)
    return base_env(**smtp.env(), **{k: v for k, v in settings.items() if v != ""})


def send_newsletter(root: Path, env: dict[str, str], name: str) -> None:
    (root / "drafts" / f"{name}.md").write_text(draft(), encoding="utf-8")
    assert mailer(root, "preview", name, env=env).code == 0
    assert mailer(root, "approve", name, "--by", "Kari Styre", env=env).code == 0
    result = mailer(root, "send", name, env=env)
    assert result.code == 0, result.err


def first_newsletter_sent(
    tmp_path: Path, smtp: SMTPServer, members: str = MEMBERS, **extra: str
) -> tuple[Path, dict[str, str]]:
    root = small_project(tmp_path / "fylke", members, BOARD_MEETING)
    env = env_for(smtp, **extra)
    send_newsletter(root, env, "nyhetsbrev-2026-12")
    return root, env


def next_newsletter_recipients(root: Path, env: dict[str, str], smtp: SMTPServer) -> set[str]:
    """Send the next newsletter and return who the SMTP server got it for."""
    smtp.received.clear()
    send_newsletter(root, env, "nyhetsbrev-2027-01")
    return {a.lower() for r in smtp.received for a in r.rcpt_tos}


def copy_to(smtp: SMTPServer, address: str) -> Received:
    """The message the SMTP server got for one address."""
    [got] = [r for r in smtp.received if r.rcpt_tos == [address]]
    return got


def returned(fixture: str, copy: Received | None, verp: bool = True, message_id: bool = True) -> bytes:
    """A fixture as it comes back for `copy`: at its VERP address, quoting its Message-ID."""
    data = (FIXTURES / fixture).read_bytes()
    if copy is None:
        return data
    if message_id:
        data = PLACEHOLDER.sub(str(copy.message["Message-ID"]).encode(), data)
    if verp and "+" in copy.mail_from:
        data = data.replace(BOUNCE_ADDRESS.encode(), copy.mail_from.encode())
    return data


def import_bytes(root: Path, env: dict[str, str], data: bytes, name: str = "bounce.eml") -> Result:
    path = root.parent / name
    path.write_bytes(data)
    return mailer(root, "bounces", "import", str(path), env=env)


def import_file(
    root: Path, env: dict[str, str], name: str, smtp: SMTPServer | None = None, **proof: bool
) -> Result:
    """Import a fixture; with `smtp`, as the real answer to the copy its member got."""
    copy = copy_to(smtp, ABOUT[name]) if smtp is not None else None
    return import_bytes(root, env, returned(name, copy, **proof), name)
