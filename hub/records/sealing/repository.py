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
           sealed, tags, key_version, wrapped_key
    FROM records
    WHERE key_version IS NOT NULL AND key_version < :current
    ORDER BY key_version, uscc, source_dept, source_record_id, version
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
    """
).columns(content=JSONB, sealed=JSONB, tags=JSONB)

# One statement per batch: the batch's new columns as arrays, joined back to the rows they came from.
# The guard on the old key version makes a row that moved meanwhile (it cannot: it is locked) a no-op.
_MOVE = text(
    """
    UPDATE records r SET content = CAST(m.content AS jsonb), content_hash = m.content_hash,
        sealed = CAST(m.sealed AS jsonb), tags = CAST(m.tags AS jsonb), key_version = m.key_version,
        wrapped_key = m.wrapped_key, id_index = coalesce(CAST(m.id_index AS integer[]), r.id_index)
    FROM unnest(
        CAST(:uscc AS text[]), CAST(:source_dept AS text[]), CAST(:source_record_id AS text[]),
        CAST(:version AS integer[]), CAST(:old_version AS integer[]), CAST(:content AS text[]),
        CAST(:content_hash AS bytea[]), CAST(:sealed AS text[]), CAST(:tags AS text[]),
        CAST(:key_version AS integer[]), CAST(:wrapped_key AS bytea[]), CAST(:id_index AS text[])
    ) AS m(uscc, source_dept, source_record_id, version, old_version, content, content_hash, sealed, tags,
           key_version, wrapped_key, id_index)
    WHERE r.uscc = m.uscc AND r.source_dept = m.source_dept AND r.source_record_id = m.source_record_id
      AND r.version = m.version AND r.key_version = m.old_version
    """
)
_MOVED_COLUMNS = (
    "uscc",
    "source_dept",
    "source_record_id",
    "version",
    "old_version",
    "content",
    "content_hash",
    "sealed",
    "tags",
    "key_version",
    "wrapped_key",
    "id_index",
)


async def rows_behind(session: AsyncSession, current: int, limit: int) -> list[Any]:
    return list((await session.execute(_BEHIND, {"current": current, "limit": limit})).all())


async def move_rows(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Write each row's new columns (`id_index` as an array literal, or None to keep the row's)."""
    if rows:
        await session.execute(_MOVE, {c: [r[c] for r in rows] for c in _MOVED_COLUMNS})


async def count_behind(session: AsyncSession, current: int) -> int:
    found = await session.execute(
        text("SELECT count(*) FROM records WHERE key_version IS NOT NULL AND key_version < :current"),
        {"current": current},
    )
    return int(found.scalar_one())


async def counts_by_version(session: AsyncSession) -> dict[int | None, int]:
    rows = await session.execute(text("SELECT key_version, count(*) FROM records GROUP BY key_version"))
    return {r[0]: int(r[1]) for r in rows}
