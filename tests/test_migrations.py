"""Migrations build the database; they go down and up again; models and migrations never drift."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession

from hub import migrate
from hub.db import make_engine
from hub.records.policy import sync_bundled


async def _tables(url: URL) -> set[str]:
    engine = make_engine(url, pool_size=1)
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
        found = {r[0] for r in rows}
    await engine.dispose()
    return found


async def test_upgrade_downgrade_upgrade_and_no_drift(test_url: URL, engine) -> None:
    # `engine` first: the session's database is built and its catalogue loaded before we tear it down.
    before = await _tables(test_url)
    assert {"records", "entities", "outbox", "api_tokens", "catalog_documents"} <= before
    await asyncio.to_thread(migrate.downgrade, test_url, "base")
    assert await _tables(test_url) == {"alembic_version"}
    await asyncio.to_thread(migrate.upgrade, test_url, "head")
    assert await _tables(test_url) == before
    await asyncio.to_thread(migrate.check, test_url)
    # Later tests need the catalogue the downgrade removed.
    async with engine.begin() as conn:
        await sync_bundled(AsyncSession(bind=conn))
