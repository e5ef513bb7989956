"""SQL of key rotation: the rows still on an older key version, a batch at a time, and their update."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

# Keyset order on ix_records_key_version: the oldest version first, then the primary key. Rows a writer
# holds are skipped (SKIP LOCKED) and come back in a later batch; the others are locked until the
# batch commits, so a concurrent push cannot retire a row between its read here and its update.
_BEHIND = text(
    """
    SELECT uscc, source_dept, source_record_id, version, record_type, type_version, content, content_hash,
           sealed, key_version, wrapped_key
    FROM records
    WHERE key_version IS NOT NULL AND key_version < :current
    ORDER BY key_version, uscc, source_dept, source_record_id, version
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
    """
).columns(content=JSONB, sealed=JSONB)

_MOVE = text(
    """
    UPDATE records SET content = CAST(:content AS jsonb), content_hash = :content_hash,
        sealed = CAST(:sealed AS jsonb), tags = CAST(:tags AS jsonb), key_version = :key_version,
        wrapped_key = :wrapped_key, id_index = coalesce(CAST(:id_index AS integer[]), id_index)
    WHERE uscc = :uscc AND source_dept = :source_dept AND source_record_id = :source_record_id
      AND version = :version AND key_version = :old_version
    """
)


async def rows_behind(session: AsyncSession, current: int, limit: int) -> list[Any]:
    return list((await session.execute(_BEHIND, {"current": current, "limit": limit})).all())


async def move_rows(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(_MOVE, list(rows))


async def count_behind(session: AsyncSession, current: int) -> int:
    found = await session.execute(
        text("SELECT count(*) FROM records WHERE key_version IS NOT NULL AND key_version < :current"),
        {"current": current},
    )
    return int(found.scalar_one())


async def counts_by_version(session: AsyncSession) -> dict[int | None, int]:
    rows = await session.execute(text("SELECT key_version, count(*) FROM records GROUP BY key_version"))
    return {r[0]: int(r[1]) for r in rows}
