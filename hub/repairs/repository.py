"""SQL of credit repair applications and temporary shields."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import EntityShield, RepairApplication


async def add(session: AsyncSession, values: dict[str, Any]) -> RepairApplication:
    row = await session.execute(insert(RepairApplication).values(**values).returning(RepairApplication))
    return row.scalar_one()


async def pending_for(session: AsyncSession, key: tuple[str, str, str]) -> RepairApplication | None:
    row = await session.execute(
        select(RepairApplication).where(
            RepairApplication.uscc == key[0],
            RepairApplication.source_dept == key[1],
            RepairApplication.source_record_id == key[2],
            RepairApplication.status == "pending",
        )
    )
    return row.scalar_one_or_none()


async def lock(session: AsyncSession, uscc: str, application_id: int) -> RepairApplication | None:
    row = await session.execute(
        select(RepairApplication)
        .where(RepairApplication.uscc == uscc, RepairApplication.id == application_id)
        .with_for_update()
    )
    return row.scalar_one_or_none()


async def decide(
    session: AsyncSession, uscc: str, application_id: int, values: dict[str, Any]
) -> RepairApplication:
    row = await session.execute(
        update(RepairApplication)
        .where(RepairApplication.uscc == uscc, RepairApplication.id == application_id)
        .values(decided_at=text("now()"), **values)
        .returning(RepairApplication)
    )
    return row.scalar_one()


async def listing(
    session: AsyncSession,
    *,
    uscc: str | None,
    source_dept: str | None,
    pending_only: bool,
    overdue_on: dt.date | None,
    after_id: int | None,
    limit: int,
) -> list[RepairApplication]:
    """Applications, oldest first; `overdue_on`: pending ones past their decision day on that day."""
    query = select(RepairApplication)
    if uscc is not None:
        query = query.where(RepairApplication.uscc == uscc)
    if source_dept is not None:
        query = query.where(RepairApplication.source_dept == source_dept)
    if pending_only:
        query = query.where(RepairApplication.status == "pending")
    if overdue_on is not None:
        query = query.where(
            RepairApplication.status == "pending", RepairApplication.decision_due_on < overdue_on
        )
    if after_id is not None:
        query = query.where(RepairApplication.id > after_id)
    rows = await session.scalars(query.order_by(RepairApplication.id).limit(limit))
    return list(rows.all())


async def add_shield(session: AsyncSession, values: dict[str, Any]) -> EntityShield:
    row = await session.execute(insert(EntityShield).values(**values).returning(EntityShield))
    return row.scalar_one()


async def lock_shield(session: AsyncSession, uscc: str, shield_id: int) -> EntityShield | None:
    row = await session.execute(
        select(EntityShield).where(EntityShield.uscc == uscc, EntityShield.id == shield_id).with_for_update()
    )
    return row.scalar_one_or_none()


async def lift_shield(session: AsyncSession, uscc: str, shield_id: int, by: str) -> EntityShield:
    row = await session.execute(
        update(EntityShield)
        .where(EntityShield.uscc == uscc, EntityShield.id == shield_id)
        .values(lifted_at=text("now()"), lifted_by=by)
        .returning(EntityShield)
    )
    return row.scalar_one()


async def active_shield(session: AsyncSession, uscc: str, today: dt.date) -> EntityShield | None:
    row = await session.execute(
        select(EntityShield)
        .where(
            EntityShield.uscc == uscc,
            EntityShield.lifted_at.is_(None),
            EntityShield.shield_until >= today,
        )
        .order_by(EntityShield.id.desc())
        .limit(1)
        .with_for_update()
    )
    return row.scalar_one_or_none()
