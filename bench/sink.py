"""An SMTP server that accepts every message and only counts it (the benchmark's receiving end).

    python bench/sink.py            # prints its port, then answers stdin lines:
                                    # `count` → messages so far, `reset` → zero, EOF → exit

It runs in its own process so that its CPU is not the sender's.
"""

from __future__ import annotations

import asyncio
import sys
import threading

from aiosmtpd.smtp import SMTP


class Count:
    def __init__(self) -> None:
        self.messages = 0

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.messages += 1
        return "250 OK"


def control(handler: Count, loop: asyncio.AbstractEventLoop, done: asyncio.Event) -> None:
    for line in sys.stdin:
        if line.strip() == "reset":
            handler.messages = 0
        print(handler.messages, flush=True)
    loop.call_soon_threadsafe(done.set)


async def main() -> None:
    handler = Count()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, decode_data=False, hostname="sink", data_size_limit=None),
        "127.0.0.1",
        0,
        backlog=128,
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    done = asyncio.Event()
    threading.Thread(target=control, args=(handler, loop, done), daemon=True).start()
    async with server:
        await done.wait()


if __name__ == "__main__":
    asyncio.run(main())
