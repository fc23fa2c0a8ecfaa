"""A small project that has sent one newsletter with VERP senders, and the next newsletter."""

from __future__ import annotations

from pathlib import Path

from conftest import DRAFT, SMTPServer, base_env, mailer, small_project

FIXTURES = Path(__file__).parent / "bounces"
BOUNCE_ADDRESS = "bounces@testfylket.example"

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


def env_for(smtp: SMTPServer, **extra: str) -> dict[str, str]:
    return base_env(
        **smtp.env(), MAILER_BOUNCE_ADDRESS=BOUNCE_ADDRESS, MAILER_SECRET="s3cret-for-the-tests-only", **extra
    )


def send_newsletter(root: Path, env: dict[str, str], name: str) -> None:
    draft = root / "drafts" / f"{name}.md"
    draft.write_text(DRAFT, encoding="utf-8")
    assert mailer(root, "preview", name, env=env).code == 0
    assert mailer(root, "approve", name, "--by", "Kari Styre", env=env).code == 0
    result = mailer(root, "send", name, env=env)
    assert result.code == 0, result.err


def first_newsletter_sent(tmp_path: Path, smtp: SMTPServer, **extra: str) -> tuple[Path, dict[str, str]]:
    root = small_project(tmp_path / "fylke", MEMBERS, BOARD_MEETING)
    env = env_for(smtp, **extra)
    send_newsletter(root, env, "nyhetsbrev-2026-12")
    return root, env


def next_newsletter_recipients(root: Path, env: dict[str, str], smtp: SMTPServer) -> set[str]:
    """Send the next newsletter and return who the SMTP server got it for."""
    smtp.received.clear()
    send_newsletter(root, env, "nyhetsbrev-2027-01")
    return {a.lower() for r in smtp.received for a in r.rcpt_tos}


def import_file(root: Path, env: dict[str, str], name: str):  # type: ignore[no-untyped-def]
    return mailer(root, "bounces", "import", str(FIXTURES / name), env=env)
