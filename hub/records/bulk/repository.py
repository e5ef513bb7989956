"""SQL of the bulk push: COPY into a staging table, then set-based merge into `records`."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

STAGE_COLUMNS = (
    "line_no",
    "uscc",
    "source_dept",
    "source_record_id",
    "record_type",
    "type_version",
    "content",
    "content_hash",
    "decision_date",
    "severity",
    "publicity_rule",
    "published",
    "repair_from",
    "publish_until",
    "late",
    "party_name",
    "is_person",
    "entity_kind",
    "scheme_version",
    "sealed",
    "tags",
    "key_version",
    "wrapped_key",
    "id_index",
    "errors",
)


async def _driver(session: AsyncSession) -> Any:
    """The asyncpg connection under the session's transaction (COPY is not in SQLAlchemy)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


async def create_stage(session: AsyncSession) -> None:
    # Content is jsonb already here: PostgreSQL parses it during the COPY, while the hub is still busy
    # preparing rows, instead of in the merge, when the hub waits (-3.7 s of 1M rows).
    await session.execute(text("DROP TABLE IF EXISTS bulk_stage"))
    await session.execute(
        text(
            """
            CREATE TEMP TABLE bulk_stage (
                line_no integer NOT NULL, uscc text, source_dept text, source_record_id text,
                record_type text, type_version integer, content jsonb, content_hash bytea,
                decision_date date, severity text, publicity_rule text, published boolean,
                repair_from date, publish_until date, late boolean, party_name text, is_person boolean,
                entity_kind text, scheme_version integer, sealed jsonb, tags jsonb, key_version integer,
                wrapped_key bytea, id_index integer[], errors text
            ) ON COMMIT DROP
            """
        )
    )


async def copy_stage(session: AsyncSession, rows: AsyncIterable[tuple[Any, ...]]) -> None:
    driver = await _driver(session)
    await driver.copy_records_to_table("bulk_stage", records=rows, columns=STAGE_COLUMNS)


async def move_rejections(session: AsyncSession, receipt_id: uuid.UUID) -> None:
    """Rows that failed validation travelled in the same COPY stream (so memory stays flat)."""
    await session.execute(
        text(
            """
            WITH gone AS (DELETE FROM bulk_stage WHERE errors IS NOT NULL RETURNING line_no, source_record_id, errors)
            INSERT INTO bulk_rejections (receipt_id, line_no, source_record_id, errors)
            SELECT :receipt, line_no, source_record_id, errors::jsonb FROM gone
            """
        ),
        {"receipt": receipt_id},
    )


async def reject_duplicates(session: AsyncSession, receipt_id: uuid.UUID) -> int:
    """The same record twice in one file: the last line wins, earlier ones are rejected."""
    result = await session.execute(
        text(
            """
            WITH last AS (
                SELECT source_record_id, max(line_no) AS keep
                FROM bulk_stage GROUP BY source_record_id HAVING count(*) > 1
            ), gone AS (
                DELETE FROM bulk_stage s USING last
                WHERE s.source_record_id = last.source_record_id AND s.line_no <> last.keep
                RETURNING s.line_no, s.source_record_id, last.keep
            )
            INSERT INTO bulk_rejections (receipt_id, line_no, source_record_id, errors)
            SELECT :receipt, line_no, source_record_id, jsonb_build_array(jsonb_build_object(
                'code', 'DUPLICATE_IN_FILE', 'path', 'RECORD_ID',
                'message', 'superseded by line ' || keep || ' of this file'))
            FROM gone
            """
        ),
        {"receipt": receipt_id},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def classify(session: AsyncSession) -> None:
    """Note, per staged line, the version in force of the same record: its number, whether its content
    is the same and whether it belongs to another party. One join with `records`, before anything in it
    changes: a statement that probed `records` while inserting into it would, when the statistics say
    the table is empty (a first load), scan it whole for every row, its own new rows included.
    """
    # A temp table gets no statistics from autovacuum; the joins below are planned on these (the join
    # columns only: sampling the JSON content would cost more than all of them).
    await session.execute(text("ANALYZE bulk_stage (line_no, uscc, source_dept, source_record_id)"))
    await session.execute(text("DROP TABLE IF EXISTS bulk_known"))
    await session.execute(
        text(
            """
            CREATE TEMP TABLE bulk_known ON COMMIT DROP AS
            SELECT s.line_no, r.version, r.content_hash = s.content_hash AS same, r.uscc <> s.uscc AS moved
            FROM bulk_stage s JOIN records r
              ON r.current AND r.source_dept = s.source_dept AND r.source_record_id = s.source_record_id
            """
        )
    )
    await session.execute(text("ANALYZE bulk_known"))


async def reject_subject_changes(session: AsyncSession, receipt_id: uuid.UUID) -> int:
    result = await session.execute(
        text(
            """
            WITH moved AS (
                DELETE FROM bulk_stage s USING bulk_known k
                WHERE k.moved AND k.line_no = s.line_no
                RETURNING s.line_no, s.source_record_id
            )
            INSERT INTO bulk_rejections (receipt_id, line_no, source_record_id, errors)
            SELECT :receipt, line_no, source_record_id, jsonb_build_array(jsonb_build_object(
                'code', 'SUBJECT_CHANGED', 'path', 'XDR_SHXYM',
                'message', 'a record cannot move to another party; withdraw it and push a new record'))
            FROM moved
            """
        ),
        {"receipt": receipt_id},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def merge(session: AsyncSession, receipt_id: uuid.UUID, pushed_by: str) -> tuple[int, int, int, int]:
    """Retire changed versions, insert new ones, register entities. Returns (staged, created, updated, late)."""
    await session.execute(text("DROP TABLE IF EXISTS bulk_retired"))
    await session.execute(
        text(
            """
            CREATE TEMP TABLE bulk_retired ON COMMIT DROP AS
            WITH retired AS (
                UPDATE records r SET current = false
                FROM bulk_stage s JOIN bulk_known k ON k.line_no = s.line_no AND NOT k.same
                WHERE r.current AND r.source_dept = s.source_dept AND r.source_record_id = s.source_record_id
                RETURNING r.source_record_id, r.version, r.content || coalesce(r.tags, '{}') AS compared
            )
            SELECT * FROM retired
            """
        )
    )
    counts = (
        await session.execute(
            text(
                """
                WITH inserted AS (
                    INSERT INTO records (
                        uscc, source_dept, source_record_id, version, current, record_type, type_version,
                        content, content_hash, decision_date, severity, publicity_rule, published, repair_from,
                        publish_until, late, changed_fields, pushed_by, receipt_id, scheme_version,
                        sealed, tags, key_version, wrapped_key, id_index)
                    SELECT s.uscc, s.source_dept, s.source_record_id, coalesce(t.version, 0) + 1, true,
                        s.record_type, s.type_version, s.content, s.content_hash, s.decision_date,
                        s.severity, s.publicity_rule, s.published, s.repair_from, s.publish_until, s.late,
                        -- Personal fields are compared by their change tags (their values are sealed).
                        CASE WHEN t.version IS NULL THEN NULL ELSE ARRAY(
                            SELECT key FROM jsonb_each(s.content || coalesce(s.tags, '{}')) n
                            FULL JOIN jsonb_each(t.compared) o USING (key)
                            WHERE n.value IS DISTINCT FROM o.value ORDER BY key) END,
                        :pushed_by, :receipt, s.scheme_version, s.sealed, s.tags, s.key_version, s.wrapped_key,
                        s.id_index
                    FROM bulk_stage s
                    LEFT JOIN bulk_known k ON k.line_no = s.line_no
                    LEFT JOIN bulk_retired t ON t.source_record_id = s.source_record_id
                    WHERE k.line_no IS NULL OR NOT k.same
                    RETURNING version, late
                )
                SELECT (SELECT count(*) FROM bulk_stage),
                       count(*) FILTER (WHERE version = 1),
                       count(*) FILTER (WHERE version > 1),
                       count(*) FILTER (WHERE late)
                FROM inserted
                """
            ),
            {"pushed_by": pushed_by, "receipt": receipt_id},
        )
    ).one()
    # A record never renames its entity: the first line about an unknown entity names it.
    await session.execute(
        text(
            """
            INSERT INTO entities (uscc, name, kind, district)
            SELECT DISTINCT ON (uscc) uscc, party_name, entity_kind, substr(uscc, 3, 6)
            FROM bulk_stage WHERE NOT is_person ORDER BY uscc, line_no
            ON CONFLICT (uscc) DO NOTHING
            """
        )
    )
    return int(counts[0]), int(counts[1]), int(counts[2]), int(counts[3])


async def warn_name_differs(session: AsyncSession, receipt_id: uuid.UUID, message: str) -> int:
    """Stored lines whose XDR_MC is not the registered name (after the merge, so that a later line about
    an entity the file itself registered is compared too): they keep XDR_MC as pushed, with a warning."""
    result = await session.execute(
        text(
            """
            INSERT INTO bulk_warnings (receipt_id, line_no, source_record_id, warnings)
            SELECT :receipt, s.line_no, s.source_record_id, jsonb_build_array(jsonb_build_object(
                'code', 'NAME_DIFFERS', 'path', 'XDR_MC', 'message', CAST(:message AS text)))
            FROM bulk_stage s JOIN entities e ON e.uscc = s.uscc
            WHERE NOT s.is_person AND s.party_name IS DISTINCT FROM e.name
            """
        ),
        {"receipt": receipt_id, "message": message},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def staged_subjects(session: AsyncSession) -> list[tuple[str, str | None]]:
    """(uscc, domain named in JGLY) of the staged rows: where evaluations just landed."""
    rows = await session.execute(
        text("SELECT DISTINCT uscc, content::jsonb ->> 'JGLY' FROM bulk_stage WHERE errors IS NULL")
    )
    return [(r[0], r[1]) for r in rows]
