"""SQL of record states: the record in force with its state, locked; a state stored and its change kept."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def lock_current(session: AsyncSession, uscc: str, source_dept: str, source_record_id: str) -> Any:
    """The record's version in force and its stored state (None: never changed), the record's row locked
    for the transaction: two cases on one record are decided one after the other."""
    row = await session.execute(
        text(
            """
            SELECT r.uscc, r.source_dept, r.source_record_id, r.version, r.record_type, r.decision_date,
                   r.severity, r.published, r.repair_from, r.publish_until, s.state AS stored_state
            FROM records r
            LEFT JOIN record_states s
              ON s.uscc = r.uscc AND s.source_dept = r.source_dept AND s.source_record_id = r.source_record_id
            WHERE r.current AND r.uscc = :uscc AND r.source_dept = :dept AND r.source_record_id = :id
            FOR UPDATE OF r
            """
        ),
        {"uscc": uscc, "dept": source_dept, "id": source_record_id},
    )
    return row.one_or_none()


async def store_state(
    session: AsyncSession,
    key: tuple[str, str, str],
    *,
    previous: str,
    state: str,
    cause: str,
    by: str,
) -> None:
    params = {"uscc": key[0], "dept": key[1], "id": key[2], "previous": previous, "state": state}
    params.update(cause=cause, by=by)
    await session.execute(
        text(
            """
            WITH kept AS (
                INSERT INTO record_states (uscc, source_dept, source_record_id, state, cause, changed_by)
                VALUES (:uscc, :dept, :id, :state, :cause, :by)
                ON CONFLICT (uscc, source_dept, source_record_id) DO UPDATE SET
                    state = excluded.state, cause = excluded.cause, changed_by = excluded.changed_by,
                    changed_at = now()
                RETURNING 1
            )
            INSERT INTO record_state_changes
                (uscc, source_dept, source_record_id, previous_state, state, cause, changed_by)
            SELECT :uscc, :dept, :id, :previous, :state, :cause, :by FROM kept
            """
        ),
        params,
    )
