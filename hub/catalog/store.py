"""SQL for the versioned policy documents."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import CatalogDocument


async def latest_versions(session: AsyncSession) -> list[tuple[str, str, int, str]]:
    """(kind, code, version, checksum) of the newest version of every document."""
    rows = await session.execute(
        select(CatalogDocument.kind, CatalogDocument.code, CatalogDocument.version, CatalogDocument.checksum)
        .ext(distinct_on(CatalogDocument.kind, CatalogDocument.code))
        .order_by(CatalogDocument.kind, CatalogDocument.code, CatalogDocument.version.desc())
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


async def latest_origins(session: AsyncSession) -> dict[tuple[str, str], tuple[str, str]]:
    """(kind, code) → (checksum, loaded_by) of the newest version of every document."""
    rows = await session.execute(
        select(
            CatalogDocument.kind, CatalogDocument.code, CatalogDocument.checksum, CatalogDocument.loaded_by
        )
        .ext(distinct_on(CatalogDocument.kind, CatalogDocument.code))
        .order_by(CatalogDocument.kind, CatalogDocument.code, CatalogDocument.version.desc())
    )
    return {(r[0], r[1]): (r[2], r[3]) for r in rows}


async def latest_documents(session: AsyncSession) -> list[CatalogDocument]:
    rows = await session.scalars(
        select(CatalogDocument)
        .ext(distinct_on(CatalogDocument.kind, CatalogDocument.code))
        .order_by(CatalogDocument.kind, CatalogDocument.code, CatalogDocument.version.desc())
    )
    return list(rows.all())


async def document_history(session: AsyncSession, kind: str, code: str) -> list[CatalogDocument]:
    rows = await session.scalars(
        select(CatalogDocument)
        .where(CatalogDocument.kind == kind, CatalogDocument.code == code)
        .order_by(CatalogDocument.version.desc())
    )
    return list(rows.all())


async def add_document(
    session: AsyncSession, kind: str, code: str, body: dict[str, Any], checksum: str, by: str
) -> CatalogDocument:
    current = await session.scalar(
        select(func.max(CatalogDocument.version)).where(
            CatalogDocument.kind == kind, CatalogDocument.code == code
        )
    )
    document = CatalogDocument(
        kind=kind, code=code, version=(current or 0) + 1, body=body, checksum=checksum, loaded_by=by
    )
    session.add(document)
    await session.flush()
    return document


async def documents(
    session: AsyncSession, kind: str, keys: Sequence[tuple[str, int]]
) -> list[CatalogDocument]:
    """Given versions of documents of one kind."""
    rows = await session.scalars(
        select(CatalogDocument).where(
            CatalogDocument.kind == kind,
            tuple_(CatalogDocument.code, CatalogDocument.version).in_(list(keys)),
        )
    )
    return list(rows.all())


async def newest_version(session: AsyncSession, kind: str, code: str) -> tuple[int, str] | None:
    """The newest version number of one document and its checksum (an index look-up)."""
    row = (
        await session.execute(
            select(CatalogDocument.version, CatalogDocument.checksum)
            .where(CatalogDocument.kind == kind, CatalogDocument.code == code)
            .order_by(CatalogDocument.version.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else (row[0], row[1])
