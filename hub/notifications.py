"""PostgreSQL LISTEN/NOTIFY: how hub processes tell each other's subscribers about committed changes.

NOTIFY is delivered only when the notifying transaction commits, so a subscriber never hears of a
change that was rolled back, and every hub process behind a load balancer hears every change.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy.engine import URL

from hub.db import asyncpg_dsn


@asynccontextmanager
async def listening(url: URL, channel: str) -> AsyncIterator[asyncio.Queue[str]]:
    """A queue that receives the payload of every notification on `channel` while the block runs."""
    queue: asyncio.Queue[str] = asyncio.Queue(maxsize=10_000)
    connection: Any = await asyncpg.connect(asyncpg_dsn(url))

    def deliver(_connection: Any, _pid: int, _channel: str, payload: str) -> None:
        # A slow subscriber drops notifications rather than growing memory; it catches up by id.
        if not queue.full():
            queue.put_nowait(payload)

    try:
        await connection.add_listener(channel, deliver)
        yield queue
    finally:
        await connection.close()
