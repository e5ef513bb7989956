"""SQL of objections."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import Objection


async def add(session: AsyncSession, values: dict[str, Any]) -> Objection:
    row = await session.execute(insert(Objection).values(**values).returning(Objection))
    return row.scalar_one()


async def lock(session: AsyncSession, uscc: str, objection_id: int) -> Objection | None:
    row = await session.execute(
        select(Objection).where(Objection.uscc == uscc, Objection.id == objection_id).with_for_update()
    )
    return row.scalar_one_or_none()


async def get(session: AsyncSession, uscc: str, objection_id: int) -> Objection | None:
    row = await session.execute(select(Objection).where(Objection.uscc == uscc, Objection.id == objection_id))
    return row.scalar_one_or_none()


async def decide(session: AsyncSession, uscc: str, objection_id: int, values: dict[str, Any]) -> Objection:
    row = await session.execute(
        update(Objection)
        .where(Objection.uscc == uscc, Objection.id == objection_id)
        .values(decided_at=text("now()"), **values)
        .returning(Objection)
    )
    return row.scalar_one()


async def listing(
    session: AsyncSession,
    *,
    uscc: str | None,
    source_dept: str | None,
    statuses: Sequence[str] | None,
    attention_from: dt.date | None,
    overdue_on: dt.date | None,
    after_id: int | None,
    limit: int,
) -> list[Objection]:
    """Objections, oldest first; `attention_from`: open ones whose attention day has come (by that
    day), `overdue_on`: open ones past their due day on that day."""
    query = select(Objection)
    if uscc is not None:
        query = query.where(Objection.uscc == uscc)
    if source_dept is not None:
        query = query.where(Objection.source_dept == source_dept)
    if statuses:
        query = query.where(Objection.status.in_(list(statuses)))
    if attention_from is not None:
        query = query.where(
            Objection.status == "open",
            Objection.attention_on <= attention_from,
            Objection.due_on >= attention_from,
        )
    if overdue_on is not None:
        query = query.where(Objection.status == "open", Objection.due_on < overdue_on)
    if after_id is not None:
        query = query.where(Objection.id > after_id)
    rows = await session.scalars(query.order_by(Objection.id).limit(limit))
    return list(rows.all())
