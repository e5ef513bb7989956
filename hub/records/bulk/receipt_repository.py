"""Bulk receipts: opened before the load (rejections refer to them), closed with the counts."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from hub.models import BulkReceipt, BulkRejection, BulkWarning


async def open_receipt(
    session: AsyncSession,
    receipt_id: uuid.UUID,
    organisation: str,
    record_type: str,
    file_format: str,
    filename: str,
) -> None:
    """A receipt for a load about to start (bulk records, indicator values): rejections refer to it."""
    counts = dict.fromkeys(("total", "created", "updated", "unchanged", "rejected", "late", "warned"), 0)
    session.add(
        BulkReceipt(
            id=receipt_id,
            organisation_code=organisation,
            record_type=record_type,
            file_format=file_format,
            filename=filename[:255],
            finished=False,
            **counts,
        )
    )
    await session.flush()


async def close_receipt(
    session: AsyncSession,
    receipt_id: uuid.UUID,
    counts: Mapping[str, int],
    key: str | None = None,
    body_hash: bytes | None = None,
) -> None:
    """Record the load's counts; with an idempotency key, the same file later replays this receipt."""
    await session.execute(
        update(BulkReceipt)
        .where(BulkReceipt.id == receipt_id)
        .values(**counts, finished=True, idempotency_key=key, body_hash=body_hash)
    )


async def discard(session: AsyncSession, receipt_id: uuid.UUID) -> None:
    await session.execute(delete(BulkReceipt).where(BulkReceipt.id == receipt_id))


async def lock_key(session: AsyncSession, organisation: str, key: str) -> None:
    await session.execute(
        select(func.pg_advisory_xact_lock(func.hashtextextended(f"bulk|{organisation}|{key}", 0)))
    )


async def find_by_key(session: AsyncSession, organisation: str, key: str) -> tuple[BulkReceipt, bytes] | None:
    receipt = await session.scalar(
        select(BulkReceipt).where(
            BulkReceipt.organisation_code == organisation,
            BulkReceipt.idempotency_key == key,
            BulkReceipt.finished,
        )
    )
    if receipt is None or receipt.body_hash is None:
        return None
    return receipt, receipt.body_hash


async def get(session: AsyncSession, receipt_id: uuid.UUID) -> BulkReceipt | None:
    return await session.get(BulkReceipt, receipt_id)


async def rejections(
    session: AsyncSession, receipt_id: uuid.UUID, limit: int | None = None
) -> AsyncIterator[tuple[int, str | None, list[dict[str, Any]]]]:
    """Rejected rows in line order, with their errors."""
    async for row in _lines(session, BulkRejection, BulkRejection.errors, receipt_id, limit):
        yield row


async def warnings(
    session: AsyncSession, receipt_id: uuid.UUID, limit: int | None = None
) -> AsyncIterator[tuple[int, str | None, list[dict[str, Any]]]]:
    """Stored rows that came with warnings, in line order."""
    async for row in _lines(session, BulkWarning, BulkWarning.warnings, receipt_id, limit):
        yield row


async def _lines(
    session: AsyncSession,
    table: type[BulkRejection] | type[BulkWarning],
    problems: InstrumentedAttribute[list[dict[str, Any]]],
    receipt_id: uuid.UUID,
    limit: int | None,
) -> AsyncIterator[tuple[int, str | None, list[dict[str, Any]]]]:
    """Lines of a receipt, streamed with a server-side cursor (a file can have millions)."""
    query = (
        select(table.line_no, table.source_record_id, problems)
        .where(table.receipt_id == receipt_id)
        .order_by(table.line_no)
    )
    if limit is not None:
        query = query.limit(limit)
    result = await session.stream(query.execution_options(yield_per=2000))
    async for row in result:
        yield row[0], row[1], row[2]
