"""The outbox writer: changes the provincial platform must learn of, written in the changing transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import OutboxEvent


async def add_outbox(session: AsyncSession, events: Sequence[dict[str, Any]]) -> None:
    if events:
        await session.execute(insert(OutboxEvent), list(events))
