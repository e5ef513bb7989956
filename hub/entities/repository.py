"""SQL for the entity registry."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import ColumnElement, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import Entity, EntityNameChange


class EntityRow(Protocol):
    """What a read of the registry returns: an ORM Entity or a plain row with these columns."""

    uscc: str
    name: str
    kind: str
    district: str


# Plain text: run on every archive look-up, so no query is built per request.
_GET_MANY = text("SELECT uscc, name, kind, district FROM entities WHERE uscc = ANY(CAST(:usccs AS text[]))")


async def get_many(session: AsyncSession, usccs: Sequence[str]) -> list[EntityRow]:
    if not usccs:
        return []
    return list((await session.execute(_GET_MANY, {"usccs": list(usccs)})).all())


def _escape_like(fragment: str) -> str:
    return fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def search(
    session: AsyncSession,
    *,
    name: str | None,
    district: str | None,
    kind: str | None,
    after: str | None,
    limit: int,
) -> tuple[list[Entity], int]:
    """A page of entities ordered by USCC (stable keyset paging), and the total matching."""
    conditions: list[ColumnElement[bool]] = []
    if name:
        conditions.append(Entity.name.ilike(f"%{_escape_like(name)}%", escape="\\"))
    if district:
        # A prefix of the division code selects a province, a city or a district.
        conditions.append(Entity.district.startswith(district))
    if kind:
        conditions.append(Entity.kind == kind)
    total = await session.scalar(select(func.count()).select_from(Entity).where(*conditions)) or 0
    query = select(Entity).where(*conditions)
    if after:
        query = query.where(Entity.uscc > after)
    rows = await session.scalars(query.order_by(Entity.uscc).limit(limit))
    return list(rows.all()), total


async def lock_name(session: AsyncSession, uscc: str) -> str | None:
    """The registered name, with the entity's row locked until the transaction ends (None: unknown)."""
    row = await session.execute(select(Entity.name).where(Entity.uscc == uscc).with_for_update())
    return row.scalar_one_or_none()


async def rename(
    session: AsyncSession, uscc: str, previous: str, name: str, reason: str, by: str
) -> EntityNameChange:
    await session.execute(update(Entity).where(Entity.uscc == uscc).values(name=name, updated_at=func.now()))
    change = EntityNameChange(uscc=uscc, previous_name=previous, name=name, reason=reason, changed_by=by)
    session.add(change)
    await session.flush()
    return change
