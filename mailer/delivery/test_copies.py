"""The board's marked test copy: the same messages as the mailing, sent outside the ledger."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from mailer.delivery.transport import DeliveryError, Transport
from mailer.errors import UserError
from mailer.project.mailings import Mailing
from mailer.project.members import Member

if TYPE_CHECKING:
    from mailer.render.messages import MessageFactory


def send_test_copies(
    transport: Transport, factory: MessageFactory, mailing: Mailing, members: list[Member], sender: str
) -> int:
    """The board's marked test copy: the same messages, sent outside the ledger."""

    async def go() -> int:
        conn = await transport.connect(f"{mailing.id}.test-copies")
        sent = 0
        try:
            for member in members:
                out = factory.build(member)
                try:
                    await conn.send(sender, member.email, out.data)
                    sent += 1
                except DeliveryError as exc:
                    raise UserError(f"the test copy to {member.email} was refused: {exc.reply}") from None
        finally:
            await conn.close()
        return sent

    return asyncio.run(go())
