"""SQL of authorisations and their uses."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, and_, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import Authorisation


async def add(session: AsyncSession, values: dict[str, Any]) -> Authorisation:
    row = Authorisation(**values)
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row


async def locked(session: AsyncSession, authorisation_id: uuid.UUID) -> Authorisation | None:
    """The grant, its row locked until the transaction ends: every hub process reads its state
    fresh from here on each use and change, and concurrent uses of one grant are counted one after
    another (no process cache: a revocation holds from the very next request)."""
    result = await session.scalars(
        select(Authorisation)
        .where(Authorisation.id == authorisation_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return result.first()


async def lock_due(session: AsyncSession, now: dt.datetime, limit: int) -> list[Authorisation]:
    """Active or paused grants past their validity, locked; rows another process holds are skipped
    (SKIP LOCKED), so sweeps in several processes never wait for or repeat each other."""
    rows = await session.scalars(
        select(Authorisation)
        .where(Authorisation.state.in_(["active", "paused"]), Authorisation.valid_until <= now)
        .order_by(Authorisation.valid_until)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows.all())


async def get(session: AsyncSession, authorisation_id: uuid.UUID) -> Authorisation | None:
    result = await session.scalars(
        select(Authorisation)
        .where(Authorisation.id == authorisation_id)
        .execution_options(populate_existing=True)
    )
    return result.first()


async def set_state(session: AsyncSession, row: Authorisation, state: str, **values: Any) -> Authorisation:
    await session.execute(
        update(Authorisation)
        .where(Authorisation.uscc == row.uscc, Authorisation.id == row.id)
        .values(state=state, **values)
    )
    refreshed = await get(session, row.id)
    assert refreshed is not None
    return refreshed


async def locked_for_use(
    session: AsyncSession, authorisation_id: uuid.UUID, day: dt.date
) -> tuple[Authorisation, int] | None:
    """The grant, locked as by `locked`, and its reads on `day` (kept on its own row, so they are
    as fresh as the lock: PostgreSQL re-reads a row it waited for, not another table)."""
    row = await locked(session, authorisation_id)
    if row is None:
        return None
    return row, row.reads_that_day if row.reads_day == day else 0


# One more read, in all and on the day, in one statement (the grant's row is locked by then);
# authorisation_uses keeps the count of every day.
_COUNT_USE = text(
    """
    WITH total AS (
        UPDATE authorisations SET reads_used = reads_used + 1,
            reads_that_day = CASE WHEN reads_day = :day THEN reads_that_day + 1 ELSE 1 END,
            reads_day = :day
        WHERE uscc = :uscc AND id = :id
        RETURNING reads_used, reads_that_day
    ), history AS (
        INSERT INTO authorisation_uses (uscc, authorisation_id, day, reads) VALUES (:uscc, :id, :day, 1)
        ON CONFLICT (uscc, authorisation_id, day) DO UPDATE SET reads = authorisation_uses.reads + 1
    )
    SELECT reads_used, reads_that_day FROM total
    """
)


async def count_use(
    session: AsyncSession, uscc: str, authorisation_id: uuid.UUID, day: dt.date
) -> tuple[int, int]:
    """One more read of the grant, in all and on `day`: (reads in all, reads that day) after it."""
    row = (await session.execute(_COUNT_USE, {"uscc": uscc, "id": authorisation_id, "day": day})).one()
    return int(row[0]), int(row[1])


def _page(
    query: Select[Authorisation],
    states: Sequence[str] | None,
    after: tuple[dt.datetime, uuid.UUID] | None,
) -> Select[Authorisation]:
    if states:
        query = query.where(Authorisation.state.in_(list(states)))
    if after is not None:
        at, last = after
        query = query.where(
            or_(
                Authorisation.requested_at < at,
                and_(Authorisation.requested_at == at, Authorisation.id > last),
            )
        )
    return query.order_by(Authorisation.requested_at.desc(), Authorisation.id)


async def page(
    session: AsyncSession,
    *,
    grantor: str | None,
    grantee: str | None,
    states: Sequence[str] | None,
    after: tuple[dt.datetime, uuid.UUID] | None,
    limit: int,
) -> list[Authorisation]:
    """Grants newest request first: of one grantor, of one grantee, or (both None) all."""
    query = select(Authorisation)
    if grantor is not None:
        query = query.where(Authorisation.uscc == grantor)
    if grantee is not None:
        query = query.where(Authorisation.grantee == grantee)
    rows = await session.scalars(_page(query, states, after).limit(limit))
    return list(rows.all())
