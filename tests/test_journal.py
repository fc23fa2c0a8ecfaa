"""The send's journal, seen from the SMTP server: what the ledger says when a message arrives.

A kill -9 may repeat only the messages on the wire, because a delivery is committed as
`sending` before its message goes out, and a connection starts its next message only once
the previous one's outcome (`sent`) is committed. The server here reads the ledger through a
connection of its own each time a message arrives, on SQLite and on PostgreSQL (`engine`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.smtp import Envelope, Session
from conftest import DRAFT, Handler, base_env, mailer, running_smtp, small_project, state_rows

MAILING = "nyhetsbrev-2026-12"
COUNT = 60


@dataclass
class LedgerReader(Handler):
    """Accepts every message, and notes the ledger's word on it and on the connection's last one."""

    project: Path | None = None
    on_arrival: dict[str, str] = field(default_factory=dict)
    previous_on_arrival: dict[str, str] = field(default_factory=dict)
    last_of_session: dict[int, str] = field(default_factory=dict)
    guard: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session: Session, envelope: Envelope):
        assert self.project is not None
        [address] = [a.lower() for a in envelope.rcpt_tos]
        with self.guard:
            self.on_arrival[address] = status(self.project, address)
            previous = self.last_of_session.get(id(session))
            if previous is not None:
                self.previous_on_arrival[previous] = status(self.project, previous)
            self.last_of_session[id(session)] = address
        return await super().handle_DATA(server, session, envelope)


def status(project: Path, address: str) -> str:
    [(found,)] = state_rows(project, "SELECT status FROM deliveries WHERE address = ?", (address,))
    return str(found)


def members(count: int) -> str:
    return "".join(
        f"{i},Medlem{i},Lie,medlem{i}@example.org,Asker,,medlem,2020-01-01,nb\n" for i in range(1, count + 1)
    )


@pytest.mark.usefixtures("engine")
def test_every_message_is_sending_in_the_ledger_before_it_arrives_and_sent_before_the_next(tmp_path):
    handler = LedgerReader()
    with running_smtp(handler) as smtp:
        env = base_env(**smtp.env(), MAILER_POOL_SIZE="4")
        project = small_project(tmp_path / "fylke", members(COUNT))
        (project / "drafts" / f"{MAILING}.md").write_text(DRAFT, encoding="utf-8")
        assert mailer(project, "preview", MAILING, env=env).code == 0
        approved = mailer(project, "approve", MAILING, "--by", "Kari Styre", env=env)
        assert approved.code == 0, approved.err
        handler.project = project

        result = mailer(project, "send", MAILING, env=env)

    assert result.code == 0, result.err
    assert len(handler.on_arrival) == COUNT == len(handler.received)
    assert set(handler.on_arrival.values()) == {"sending"}, "committed before it went on the wire"
    # each of the 4 connections' last message has no next one to be seen from
    assert len(handler.previous_on_arrival) >= COUNT - 4
    assert set(handler.previous_on_arrival.values()) == {"sent"}, "committed before the next began"
