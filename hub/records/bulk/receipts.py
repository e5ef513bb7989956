"""Reading bulk receipts and their rejected and warned rows: only the organisation that pushed the file, and the
credit office (which runs the platform and helps pushers with a failed load)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.caller import Caller, Role
from hub.errors import Forbidden, Invalid, NotFound
from hub.models import BulkReceipt
from hub.records.bulk import receipt_repository as receipts

# The roles that push files (and so have receipts): the GraphQL field admits the same ones; the
# download route has no field rule, so it is said here too.
READERS = frozenset({Role.DEPARTMENT, Role.PROVINCE, Role.ASSOCIATION, Role.CREDIT_OFFICE})


async def receipt(session: AsyncSession, caller: Caller, receipt_id: str) -> BulkReceipt:
    if caller.role not in READERS:
        raise Forbidden("this operation is not permitted for your role")
    try:
        key = uuid.UUID(receipt_id)
    except ValueError as exc:
        raise Invalid("not a receipt id", code="BAD_ID", path="id") from exc
    row = await receipts.get(session, key)
    if row is None or not row.finished:
        raise NotFound(f"no receipt {receipt_id}", path="id")
    if caller.role is not Role.CREDIT_OFFICE and caller.organisation_code != row.organisation_code:
        # Same answer as a missing receipt would leak that it exists; be explicit instead: it is not yours.
        raise Forbidden("this receipt belongs to another organisation")
    return row


async def rejections(
    session: AsyncSession, caller: Caller, receipt_id: uuid.UUID, limit: int | None = None
) -> list[tuple[int, str | None, list[dict[str, Any]]]]:
    await receipt(session, caller, str(receipt_id))
    return [row async for row in receipts.rejections(session, receipt_id, limit)]


async def warnings(
    session: AsyncSession, caller: Caller, receipt_id: uuid.UUID, limit: int | None = None
) -> list[tuple[int, str | None, list[dict[str, Any]]]]:
    await receipt(session, caller, str(receipt_id))
    return [row async for row in receipts.warnings(session, receipt_id, limit)]


async def stream_rejections(
    session: AsyncSession, caller: Caller, receipt_id: str
) -> AsyncIterator[tuple[int, str | None, list[dict[str, Any]]]]:
    row = await receipt(session, caller, receipt_id)
    async for item in receipts.rejections(session, row.id):
        yield item
