"""SQL of authorisations and their uses."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, and_, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import Authorisation, AuthorisationUse


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


async def reads_on(session: AsyncSession, uscc: str, authorisation_id: uuid.UUID, day: dt.date) -> int:
    found = await session.scalar(
        select(AuthorisationUse.reads).where(
            AuthorisationUse.uscc == uscc,
            AuthorisationUse.authorisation_id == authorisation_id,
            AuthorisationUse.day == day,
        )
    )
    return int(found or 0)


_COUNT_TOTAL = text(
    "UPDATE authorisations SET reads_used = reads_used + 1 WHERE uscc = :uscc AND id = :id "
    "RETURNING reads_used"
)


async def count_use(
    session: AsyncSession, uscc: str, authorisation_id: uuid.UUID, day: dt.date
) -> tuple[int, int]:
    """One more read of the grant, in all and on `day`: (reads in all, reads that day) after it."""
    total = (await session.execute(_COUNT_TOTAL, {"uscc": uscc, "id": authorisation_id})).scalar_one()
    upsert = insert(AuthorisationUse).values(uscc=uscc, authorisation_id=authorisation_id, day=day, reads=1)
    statement = upsert.on_conflict_do_update(
        index_elements=[AuthorisationUse.uscc, AuthorisationUse.authorisation_id, AuthorisationUse.day],
        set_={"reads": AuthorisationUse.reads + 1},
    ).returning(AuthorisationUse.reads)
    today = (await session.execute(statement)).scalar_one()
    return int(total), int(today)


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
