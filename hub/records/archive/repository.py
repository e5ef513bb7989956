"""SQL of archive reads, written out: these run on every look-up, so they are plain statements with
fixed text (no query building per request) that return rows, not ORM objects."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

# A record's state (hub.records.states): its stored state (none: published), overridden by what the
# day makes of it. Repaired and revoked are final; a firm's temporary shield (暂时屏蔽) covers its
# dishonesty records (the rights profile's negative_record_types, read in the same statement); past
# its maximum publicity period a record is expired.
STATE_JOIN = """
    LEFT JOIN record_states s
      ON s.uscc = r.uscc AND s.source_dept = r.source_dept AND s.source_record_id = r.source_record_id
    LEFT JOIN LATERAL (
        SELECT true AS active FROM entity_shields sh
        WHERE sh.uscc = r.uscc AND sh.lifted_at IS NULL
          AND CAST(:today AS date) BETWEEN sh.shield_from AND sh.shield_until
        LIMIT 1
    ) shield ON true
    CROSS JOIN (
        SELECT ARRAY(SELECT jsonb_array_elements_text(body -> 'negative_record_types')) AS types
        FROM (SELECT body FROM catalog_documents WHERE kind = 'rights_profile' AND code = 'rights'
              ORDER BY version DESC LIMIT 1) d
        UNION ALL SELECT ARRAY[]::text[] LIMIT 1
    ) negative
"""
STATE = """
    CASE WHEN s.state IN ('repaired', 'revoked') THEN s.state
         WHEN shield.active AND r.record_type = ANY(negative.types) THEN 'shielded'
         WHEN r.publish_until < CAST(:today AS date) THEN 'expired'
         ELSE coalesce(s.state, 'published') END
"""

# Which current records a caller may list. NULL parameters switch a condition off; `public_on`
# keeps only what is under publicity that day (公示期内).
_FILTER_TEMPLATE = """
    r.current AND r.uscc = ANY(CAST(:usccs AS text[]))
    AND (CAST(:types AS text[]) IS NULL OR r.record_type = ANY(CAST(:types AS text[])))
    AND (CAST(:sources AS text[]) IS NULL OR r.source_dept = ANY(CAST(:sources AS text[])))
    AND (CAST(:decided_from AS date) IS NULL OR r.decision_date >= CAST(:decided_from AS date))
    AND (CAST(:decided_to AS date) IS NULL OR r.decision_date <= CAST(:decided_to AS date))
    AND (CAST(:public_on AS date) IS NULL
         OR (r.published AND (r.publish_until IS NULL OR r.publish_until >= CAST(:public_on AS date))))
    AND (CAST(:withheld AS text[]) IS NULL OR ({STATE}) <> ALL(CAST(:withheld AS text[])))
"""
_FILTER = _FILTER_TEMPLATE.replace("{STATE}", STATE)
_COLUMNS = """
    r.uscc, r.source_dept, r.source_record_id, r.version, r.current, r.record_type, r.type_version,
    r.content, r.decision_date, r.severity, r.publicity_rule, r.published, r.repair_from, r.publish_until,
    r.late, r.changed_fields, r.pushed_by, r.pushed_at, r.content_hash, r.sealed, r.key_version, r.wrapped_key,
    s.state = 'disputed' AS disputed, {STATE} AS state
""".replace("{STATE}", STATE)
# Newest decision first; rows "after" a cursor sort lower on (decision_date desc, dept, id).
_PAGE = text(
    f"""
    SELECT * FROM (
        SELECT {_COLUMNS}, row_number() OVER (
            PARTITION BY r.uscc ORDER BY r.decision_date DESC, r.source_dept, r.source_record_id) AS rank
        FROM records r
        {STATE_JOIN}
        WHERE {_FILTER}
          AND (CAST(:after_date AS date) IS NULL OR r.decision_date < CAST(:after_date AS date)
               OR (r.decision_date = CAST(:after_date AS date)
                   AND (r.source_dept, r.source_record_id) > (CAST(:after_dept AS text), CAST(:after_id AS text))))
    ) page
    WHERE rank <= :limit
    ORDER BY uscc, rank
    """
).columns(content=JSONB, sealed=JSONB)
_COUNT = text(f"SELECT r.uscc, count(*) FROM records r {STATE_JOIN} WHERE {_FILTER} GROUP BY r.uscc")
_SOURCES = text(
    f"""
    SELECT r.uscc, r.source_dept, count(*), max(r.decision_date) FROM records r {STATE_JOIN} WHERE {_FILTER}
    GROUP BY r.uscc, r.source_dept ORDER BY r.uscc, r.source_dept
    """
)


# Current records whose blind indexes include `index`: the candidates of a look-up by ID number.
_BY_ID_INDEX = text(
    f"""
    SELECT {_COLUMNS} FROM records r
    {STATE_JOIN}
    WHERE r.current AND r.id_index IS NOT NULL AND r.id_index @> ARRAY[CAST(:index AS integer)]
    ORDER BY r.decision_date DESC, r.uscc, r.source_dept, r.source_record_id
    LIMIT :limit
    """
).columns(content=JSONB, sealed=JSONB)


async def by_id_index(session: AsyncSession, index: int, limit: int, today: dt.date) -> list[Any]:
    found = await session.execute(_BY_ID_INDEX, {"index": index, "limit": limit, "today": today})
    return list(found.all())


def _params(
    usccs: Sequence[str],
    record_types: Sequence[str] | None = None,
    sources: Sequence[str] | None = None,
    decided_from: dt.date | None = None,
    decided_to: dt.date | None = None,
    public_on: dt.date | None = None,
    *,
    today: dt.date,
    withheld: Collection[str] | None,
) -> dict[str, Any]:
    return {
        "today": today,
        "withheld": sorted(withheld) if withheld else None,
        "usccs": list(usccs),
        "types": list(record_types) if record_types else None,
        "sources": list(sources) if sources else None,
        "decided_from": decided_from,
        "decided_to": decided_to,
        "public_on": public_on,
    }


async def page_of_records(
    session: AsyncSession,
    usccs: Sequence[str],
    *,
    record_types: Sequence[str] | None,
    sources: Sequence[str] | None,
    decided_from: dt.date | None,
    decided_to: dt.date | None,
    public_on: dt.date | None,
    after: tuple[dt.date, str, str] | None,
    limit: int,
    today: dt.date,
    withheld: Collection[str] | None,
) -> list[Any]:
    """Up to `limit` current records per entity after the cursor: one statement for any number of
    entities. Records in a `withheld` state (as of `today`) are left out."""
    params = _params(
        usccs, record_types, sources, decided_from, decided_to, public_on, today=today, withheld=withheld
    )
    after_date, after_dept, after_id = after if after is not None else (None, None, None)
    params.update(after_date=after_date, after_dept=after_dept, after_id=after_id, limit=limit)
    return list((await session.execute(_PAGE, params)).all())


async def count_records(
    session: AsyncSession,
    usccs: Sequence[str],
    *,
    record_types: Sequence[str] | None,
    sources: Sequence[str] | None,
    decided_from: dt.date | None,
    decided_to: dt.date | None,
    public_on: dt.date | None,
    today: dt.date,
    withheld: Collection[str] | None,
) -> dict[str, int]:
    rows = await session.execute(
        _COUNT,
        _params(
            usccs, record_types, sources, decided_from, decided_to, public_on, today=today, withheld=withheld
        ),
    )
    return {r[0]: r[1] for r in rows}


async def sources_for(
    session: AsyncSession,
    usccs: Sequence[str],
    public_on: dt.date | None,
    today: dt.date,
    withheld: Collection[str] | None,
) -> list[tuple[str, str, int, dt.date]]:
    """(uscc, source_dept, record count, latest decision date), counting what is visible on `public_on`."""
    if not usccs:
        return []
    rows = await session.execute(
        _SOURCES, _params(usccs, public_on=public_on, today=today, withheld=withheld)
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


_STATES = text(
    f"""
    SELECT r.uscc, r.source_dept, r.source_record_id, s.state = 'disputed' AS disputed, {STATE} AS state
    FROM records r {STATE_JOIN}
    WHERE r.current AND (r.uscc, r.source_dept, r.source_record_id) IN (
        SELECT * FROM unnest(CAST(:usccs AS text[]), CAST(:depts AS text[]), CAST(:ids AS text[])))
    """
)


async def states_of(
    session: AsyncSession, keys: Sequence[tuple[str, str, str]], today: dt.date
) -> dict[tuple[str, str, str], tuple[str, bool]]:
    """The state (and the disputed mark) of each record with a version in force."""
    if not keys:
        return {}
    rows = await session.execute(
        _STATES,
        {
            "usccs": [k[0] for k in keys],
            "depts": [k[1] for k in keys],
            "ids": [k[2] for k in keys],
            "today": today,
        },
    )
    return {(r[0], r[1], r[2]): (r[4], bool(r[3])) for r in rows}
