"""The sequencer as a background job of every hub process: each run is one unit of work; the
advisory lock (hub.audit.service.integrate) lets one process at a time integrate, the others skip."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.audit import service
from hub.db import unit_of_work
from hub.ports import KeyProvider
from hub.settings import Settings

log = logging.getLogger("hub.audit")


async def run_once(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, keys: KeyProvider
) -> service.Integration:
    async with unit_of_work(sessions) as session:
        return await service.integrate(session, settings, keys)


async def run_forever(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, keys: KeyProvider
) -> None:
    """Integrate every HUB_ACCESS_LOG_SEQUENCER_SECONDS (at once again while a backlog remains)."""
    while True:
        try:
            done = await run_once(sessions, settings, keys)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database is away: try again at the next tick
            log.warning("access-log sequencer failed", extra={"error_type": type(exc).__name__})
            done = None
        if done is None or done.added < settings.access_log_batch:
            await asyncio.sleep(settings.access_log_sequencer_seconds)
