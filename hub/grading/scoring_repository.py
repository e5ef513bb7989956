"""SQL of industry evaluation models: indicator values staged with COPY and merged set-based, and the
scoring of a whole domain in one statement into the records' bulk staging table (`bulk_stage`).

Indicator values travel through a temporary `indicator_stage` (one row per line of the load, rejected
lines included with their errors), are checked and completed there in a few set-based statements,
and land in `indicator_values` with one upsert. Rejected lines go to `bulk_rejections` under a
`bulk_receipts` row (record_type "indicator_values"), so the receipt and its rejections CSV can be
read like a bulk push's.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import BulkReceipt, CatalogDocument

RECEIPT_TYPE = "indicator_values"
VALUE_STAGE_COLUMNS = ("line_no", "uscc", "vals", "errors")


async def latest_model(
    session: AsyncSession, kind: str, domain: str, period: str | None
) -> CatalogDocument | None:
    """The newest version of the domain's model (for the period, when given)."""
    query = select(CatalogDocument).where(CatalogDocument.kind == kind, CatalogDocument.code == domain)
    if period is not None:
        query = query.where(CatalogDocument.body["period"].astext == period)
    return await session.scalar(query.order_by(CatalogDocument.version.desc()).limit(1))


# --- indicator values ----------------------------------------------------------------------------


async def _driver(session: AsyncSession) -> Any:
    """The asyncpg connection under the session's transaction (COPY is not in SQLAlchemy)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


async def create_value_stage(session: AsyncSession) -> None:
    await session.execute(text("DROP TABLE IF EXISTS indicator_stage"))
    await session.execute(
        text(
            """
            CREATE TEMP TABLE indicator_stage (
                line_no bigint NOT NULL, uscc text, vals jsonb, errors text,
                filled boolean NOT NULL DEFAULT false
            ) ON COMMIT DROP
            """
        )
    )


async def copy_value_stage(session: AsyncSession, rows: AsyncIterable[tuple[Any, ...]]) -> None:
    """Stream (line_no, uscc, values JSON text or None, errors JSON text or None) rows with COPY."""
    driver = await _driver(session)
    await driver.copy_records_to_table("indicator_stage", records=rows, columns=VALUE_STAGE_COLUMNS)


def _path(code_param: str) -> str:
    """The input path of an indicator in a rejected line: the CSV column, or entities.<i>.indicators.<code>."""
    return f"CASE WHEN :list_mode THEN 'entities.' || line_no || '.indicators.' || {code_param} ELSE {code_param} END"


async def fill_public(
    session: AsyncSession, code: str, label: str, low: Decimal, high: Decimal, today: dt.date, list_mode: bool
) -> int:
    """Fill an empty public indicator from the entity's current public comprehensive evaluation score
    (PJFS of its newest public_evaluation in force), then reject lines still without one or whose
    filled score lies outside the indicator's range. Returns how many lines were rejected."""
    await session.execute(
        text(
            """
            WITH wanted AS (
                SELECT DISTINCT uscc FROM indicator_stage WHERE errors IS NULL AND NOT (vals ? :code)
            ), public AS (
                SELECT DISTINCT ON (r.uscc) r.uscc, r.content ->> 'PJFS' AS score
                FROM records r JOIN wanted w ON w.uscc = r.uscc
                WHERE r.current AND r.record_type = 'public_evaluation'
                  AND (r.content ->> 'YXQZ')::date >= :today
                ORDER BY r.uscc, r.decision_date DESC, r.pushed_at DESC
            )
            UPDATE indicator_stage s
            SET vals = s.vals || jsonb_build_object(CAST(:code AS text), CAST(p.score AS numeric)), filled = true
            FROM public p
            WHERE p.uscc = s.uscc AND p.score IS NOT NULL AND s.errors IS NULL AND NOT (s.vals ? :code)
            """
        ),
        {"code": code, "today": today},
    )
    rejected = await session.execute(
        text(
            f"""
            UPDATE indicator_stage SET errors = jsonb_build_array(jsonb_build_object(
                'code', CASE WHEN vals ? :code THEN 'VALUE_OUT_OF_RANGE' ELSE 'MISSING_INDICATOR' END,
                'path', {_path("CAST(:code AS text)")},
                'message', CASE WHEN vals ? :code
                    THEN format('%s: the public comprehensive evaluation score %s (PJFS of the entity''s '
                                'current public evaluation) is outside %s to %s',
                                CAST(:code AS text), vals ->> :code, CAST(:low AS text), CAST(:high AS text))
                    ELSE format('%s (%s) is empty and the entity has no current public comprehensive '
                                'evaluation with a score (PJFS) to fill it from',
                                CAST(:code AS text), CAST(:label AS text)) END))::text
            WHERE errors IS NULL AND (NOT (vals ? :code) OR (filled AND
                  CAST(vals -> :code AS numeric) NOT BETWEEN CAST(:low AS numeric) AND CAST(:high AS numeric)))
            """
        ),
        {
            "code": code,
            "label": label,
            "low": str(low),
            "high": str(high),
            "list_mode": list_mode,
        },
    )
    return int(rejected.rowcount or 0)  # type: ignore[attr-defined]


async def reject_duplicates(session: AsyncSession, list_mode: bool) -> int:
    """The same entity twice in one load: the last line wins, earlier ones are rejected."""
    result = await session.execute(
        text(
            f"""
            WITH last AS (
                SELECT uscc, max(line_no) AS keep FROM indicator_stage
                WHERE errors IS NULL GROUP BY uscc HAVING count(*) > 1
            )
            UPDATE indicator_stage s SET errors = jsonb_build_array(jsonb_build_object(
                'code', 'DUPLICATE_IN_FILE', 'path', {_path("'USCC'")},
                'message', 'the same entity is given again on line ' || last.keep))::text
            FROM last WHERE s.uscc = last.uscc AND s.line_no <> last.keep AND s.errors IS NULL
            """
        ),
        {"list_mode": list_mode},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def open_receipt(
    session: AsyncSession, receipt_id: uuid.UUID, organisation: str, file_format: str, filename: str
) -> None:
    session.add(
        BulkReceipt(
            id=receipt_id,
            organisation_code=organisation,
            record_type=RECEIPT_TYPE,
            file_format=file_format,
            filename=filename[:255],
            total=0,
            created=0,
            updated=0,
            unchanged=0,
            rejected=0,
            late=0,
            finished=False,
        )
    )
    await session.flush()


async def move_rejections(session: AsyncSession, receipt_id: uuid.UUID) -> int:
    result = await session.execute(
        text(
            """
            WITH gone AS (
                DELETE FROM indicator_stage WHERE errors IS NOT NULL RETURNING line_no, uscc, errors
            )
            INSERT INTO bulk_rejections (receipt_id, line_no, source_record_id, errors)
            SELECT :receipt, line_no, left(uscc, 100), errors::jsonb FROM gone
            """
        ),
        {"receipt": receipt_id},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def merge_values(session: AsyncSession, domain: str, period: str, by: str) -> tuple[int, int, int, int]:
    """Upsert the staged values; a row whose values did not change is not written.

    Returns (staged, filled from the public evaluation, created, updated)."""
    row = (
        await session.execute(
            text(
                """
                WITH upserted AS (
                    INSERT INTO indicator_values (uscc, domain, period, "values", loaded_by)
                    SELECT uscc, :domain, :period, vals, :by FROM indicator_stage
                    ON CONFLICT (uscc, domain, period) DO UPDATE
                    SET "values" = excluded."values", loaded_by = excluded.loaded_by, loaded_at = now()
                    WHERE indicator_values."values" IS DISTINCT FROM excluded."values"
                    RETURNING (xmax = 0) AS inserted
                )
                SELECT (SELECT count(*) FROM indicator_stage),
                       (SELECT count(*) FROM indicator_stage WHERE filled),
                       count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
                FROM upserted
                """
            ),
            {"domain": domain, "period": period, "by": by},
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


async def close_receipt(session: AsyncSession, receipt_id: uuid.UUID, counts: dict[str, int]) -> None:
    await session.execute(
        update(BulkReceipt)
        .where(BulkReceipt.id == receipt_id)
        .values(
            total=counts["total"],
            created=counts["created"],
            updated=counts["updated"],
            unchanged=counts["unchanged"],
            rejected=counts["rejected"],
            late=0,
            finished=True,
        )
    )


async def rejections(
    session: AsyncSession, receipt_id: uuid.UUID, limit: int
) -> list[tuple[int, str | None, list[dict[str, Any]]]]:
    rows = await session.execute(
        text(
            """
            SELECT line_no, source_record_id, errors FROM bulk_rejections
            WHERE receipt_id = :receipt ORDER BY line_no LIMIT :limit
            """
        ),
        {"receipt": receipt_id, "limit": limit},
    )
    return [(r[0], r[1], r[2]) for r in rows]


# --- scoring -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Weighted:
    """An indicator as the scoring statement needs it."""

    code: str
    weight: Decimal
    low: Decimal
    high: Decimal
    optional: bool


@dataclass(frozen=True, slots=True)
class RunFields:
    """What every result of one run shares: its source, scheme, dates and publicity window."""

    domain: str
    period: str
    department: str
    department_name: str
    scheme: str
    scheme_version: int | None
    type_version: int
    today: dt.date
    valid_until: dt.date
    remark: str
    publicity_rule: str | None
    published: bool
    repair_from: dt.date | None
    publish_until: dt.date | None


def _score_sql(indicators: Sequence[Weighted]) -> tuple[str, str, dict[str, Any]]:
    """(completeness test, score expression, parameters) over `v."values"`, one term per indicator."""
    params: dict[str, Any] = {}
    checks, numerator, denominator = [], [], []
    for i, ind in enumerate(indicators):
        params.update({f"c{i}": ind.code, f"w{i}": ind.weight, f"lo{i}": ind.low, f"hi{i}": ind.high})
        params[f"sp{i}"] = ind.high - ind.low
        value = f'CAST(v."values" -> CAST(:c{i} AS text) AS numeric)'
        in_range = f"{value} BETWEEN CAST(:lo{i} AS numeric) AND CAST(:hi{i} AS numeric)"
        given = f'(v."values" ? CAST(:c{i} AS text))'
        checks.append(f"(NOT {given} OR {in_range})" if ind.optional else f"({given} AND {in_range})")
        term = f"CAST(:w{i} AS numeric) * ({value} - CAST(:lo{i} AS numeric)) / CAST(:sp{i} AS numeric)"
        numerator.append(f"coalesce({term}, 0)" if ind.optional else term)
        denominator.append(
            f"CASE WHEN {given} THEN CAST(:w{i} AS numeric) ELSE 0 END"
            if ind.optional
            else f"CAST(:w{i} AS numeric)"
        )
    complete = " AND ".join(checks)
    score = f"round(100 * ({' + '.join(numerator)}) / ({' + '.join(denominator)}), 2)"
    return complete, score, params


async def stage_scores(
    session: AsyncSession,
    indicators: Sequence[Weighted],
    bands: Sequence[tuple[str, Decimal | None, Decimal | None]],
    run: RunFields,
) -> tuple[int, int, int]:
    """Score and grade every entity with values for the period, in one statement, into `bulk_stage` as
    industry evaluation records (content built as jsonb in SQL). The content hash covers the
    content without the evaluation date (PJRQ), so a re-run reaching the same result is unchanged.
    Rows that cannot be stored carry a marker in `errors` (INCOMPLETE: values missing or out of the
    model's range; UNGRADED: no band holds the score). Returns (entities, incomplete, ungraded)."""
    complete, score, params = _score_sql(indicators)
    bands_json = orjson.dumps(
        [
            {"code": c, "lo": None if lo is None else str(lo), "hi": None if hi is None else str(hi)}
            for c, lo, hi in bands
        ]
    ).decode()
    statement = f"""
        WITH bands AS MATERIALIZED (
            SELECT code, lo, hi FROM jsonb_to_recordset(CAST(:bands AS jsonb)) AS b(code text, lo numeric, hi numeric)
        ), scored AS (
            SELECT v.uscc, CASE WHEN {complete} THEN {score} END AS score
            FROM indicator_values v WHERE v.domain = :domain AND v.period = :period
        ), graded AS (
            SELECT s.uscc, s.score, (
                SELECT b.code FROM bands b
                WHERE (b.lo IS NULL OR s.score >= b.lo) AND (b.hi IS NULL OR s.score < b.hi)
            ) AS grade,
            CAST(:domain AS text) || ':' || CAST(:period AS text) || ':' || s.uscc AS id
            FROM scored s
        ), staged AS (
            INSERT INTO bulk_stage (
                line_no, uscc, source_dept, source_record_id, record_type, type_version, content,
                content_hash, decision_date, publicity_rule, published, repair_from, publish_until,
                scheme_version, errors)
            SELECT row_number() OVER (), g.uscc, :dept, g.id, 'industry_evaluation', :type_version,
                   r.result || jsonb_build_object('PJRQ', CAST(:today_text AS text)),
                   decode(md5(r.result::text), 'hex'), :today, :rule, :published, :repair_from,
                   :publish_until, :scheme_version,
                   CASE WHEN g.score IS NULL THEN 'INCOMPLETE' WHEN g.grade IS NULL THEN 'UNGRADED' END
            FROM graded g
            LEFT JOIN entities e ON e.uscc = g.uscc
            CROSS JOIN LATERAL (SELECT jsonb_build_object(
                'XDR_MC', coalesce(e.name, g.uscc),
                'XDR_LB', CASE WHEN left(g.uscc, 2) = '92' THEN '个体工商户' ELSE '法人及非法人组织' END,
                'XDR_SHXYM', g.uscc,
                'PJBH', g.id,
                'JGLY', CAST(:domain AS text),
                'PJMX', CAST(:scheme AS text),
                'PJDJ', g.grade,
                'PJFS', trim_scale(g.score)::text,
                'YXQZ', CAST(:valid_until AS text),
                'PJJG', CAST(:dept_name AS text),
                'PJJGDM', CAST(:dept AS text),
                'LYDW', CAST(:dept_name AS text),
                'LYDWDM', CAST(:dept AS text),
                'BZ', CAST(:remark AS text)) AS result) r
            RETURNING errors
        )
        SELECT count(*), count(*) FILTER (WHERE errors = 'INCOMPLETE'),
               count(*) FILTER (WHERE errors = 'UNGRADED')
        FROM staged
    """
    params.update(
        {
            "bands": bands_json,
            "domain": run.domain,
            "period": run.period,
            "dept": run.department,
            "dept_name": run.department_name,
            "scheme": run.scheme,
            "scheme_version": run.scheme_version,
            "type_version": run.type_version,
            "today": run.today,
            "today_text": run.today.isoformat(),
            "valid_until": run.valid_until.isoformat(),
            "remark": run.remark,
            "rule": run.publicity_rule,
            "published": run.published,
            "repair_from": run.repair_from,
            "publish_until": run.publish_until,
        }
    )
    row = (await session.execute(text(statement), params)).one()
    return int(row[0]), int(row[1]), int(row[2])


async def withdraw_ungraded(session: AsyncSession, department: str) -> int:
    """Retire (current = false, no new version) the result in force of each entity whose score now lies
    in no band: the grade it states no longer holds. Returns how many were withdrawn."""
    result = await session.execute(
        text(
            """
            UPDATE records r SET current = false
            FROM bulk_stage s
            WHERE s.errors = 'UNGRADED' AND r.current AND r.source_dept = :dept
              AND r.source_record_id = s.source_record_id AND r.uscc = s.uscc
            """
        ),
        {"dept": department},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def drop_unscored(session: AsyncSession) -> None:
    await session.execute(text("DELETE FROM bulk_stage WHERE errors IS NOT NULL"))
