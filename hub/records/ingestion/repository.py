"""SQL for records: current versions, set-based writes, reads for the archive."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import func, insert, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import Entity, IdempotentPush, Record
from hub.records.ingestion.prepare import PreparedRecord
from hub.records.sealing.fields import compared_content


async def current_by_identity(
    session: AsyncSession, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], tuple[str, int, bytes, dict[str, Any], bool | None]]:
    """(source_dept, source_record_id) -> (uscc, version, content_hash, content, late) of the current
    versions; `content` with its personal fields as their change tags."""
    if not keys:
        return {}
    rows = await session.execute(
        select(
            Record.source_dept,
            Record.source_record_id,
            Record.uscc,
            Record.version,
            Record.content_hash,
            Record.content,
            Record.late,
            Record.tags,
        ).where(Record.current, tuple_(Record.source_dept, Record.source_record_id).in_(list(keys)))
    )
    # Personal fields are compared by their change tags (their values are sealed).
    return {(r[0], r[1]): (r[2], r[3], r[4], compared_content(r[5], r[7]), r[6]) for r in rows}


async def retire_versions(session: AsyncSession, keys: Sequence[tuple[str, str, str]]) -> None:
    """Mark the current versions of (uscc, source_dept, source_record_id) as superseded."""
    if keys:
        await session.execute(
            update(Record)
            .where(
                Record.current,
                tuple_(Record.uscc, Record.source_dept, Record.source_record_id).in_(list(keys)),
            )
            .values(current=False)
        )


async def insert_versions(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(Record), list(rows))


def version_row(
    record: PreparedRecord, version: int, changed: list[str] | None, pushed_by: str
) -> dict[str, Any]:
    return {
        "uscc": record.uscc,
        "source_dept": record.source_dept,
        "source_record_id": record.source_record_id,
        "version": version,
        "current": True,
        "record_type": record.record_type,
        "type_version": record.type_version,
        "content": record.content,
        "content_hash": record.content_hash,
        "decision_date": record.decision_date,
        "severity": record.severity,
        "publicity_rule": record.publicity_rule,
        "published": record.published,
        "repair_from": record.repair_from,
        "publish_until": record.publish_until,
        "late": record.late,
        "changed_fields": changed,
        "pushed_by": pushed_by,
        "receipt_id": None,
        "scheme_version": record.scheme_version,
        "sealed": record.sealed,
        "tags": record.tags,
        "key_version": record.key_version,
        "wrapped_key": record.wrapped_key,
        "id_index": record.id_index,
    }


async def registered_names(session: AsyncSession, usccs: Collection[str]) -> dict[str, str]:
    """The registered name of each of `usccs` that is in the registry."""
    if not usccs:
        return {}
    rows = await session.execute(select(Entity.uscc, Entity.name).where(Entity.uscc.in_(list(usccs))))
    return {uscc: name for uscc, name in rows}


async def register_entities(session: AsyncSession, rows: Sequence[dict[str, str]]) -> None:
    """Register entities first seen in records. A registered entity keeps its name: a record's XDR_MC
    never renames it (a concurrent push that registered it first wins)."""
    if not rows:
        return
    await session.execute(
        pg_insert(Entity).values(list(rows)).on_conflict_do_nothing(index_elements=[Entity.uscc])
    )


async def find_idempotent(session: AsyncSession, organisation: str, key: str) -> IdempotentPush | None:
    return await session.get(IdempotentPush, (organisation, key))


async def lock_idempotency_key(session: AsyncSession, organisation: str, key: str) -> None:
    """Serialise concurrent pushes with the same key until the first one commits."""
    await session.execute(
        select(func.pg_advisory_xact_lock(func.hashtextextended(f"{organisation}|{key}", 0)))
    )


async def save_idempotent(
    session: AsyncSession, organisation: str, key: str, body_hash: bytes, answer: dict[str, Any]
) -> None:
    session.add(IdempotentPush(organisation_code=organisation, key=key, body_hash=body_hash, answer=answer))
    await session.flush()


# --- reads -------------------------------------------------------------------------------------


async def history_for(session: AsyncSession, keys: Sequence[tuple[str, str, str]]) -> list[Record]:
    """Every version of the given (uscc, source_dept, source_record_id), newest first."""
    if not keys:
        return []
    rows = await session.scalars(
        select(Record)
        .where(tuple_(Record.uscc, Record.source_dept, Record.source_record_id).in_(list(keys)))
        .order_by(Record.uscc, Record.source_dept, Record.source_record_id, Record.version.desc())
    )
    return list(rows.all())
