"""SQL of double-random inspections: inspector pools, conflicts, frozen plans and their draws.

A candidate list can hold a million entities: it is frozen inside PostgreSQL as one document, the
canonical "USCC,category" text its published hash covers, and read back in one fetch. Only the
drawn entities become rows (plan_assignments), written by COPY.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import InspectionPlan, Inspector


async def _driver(session: AsyncSession) -> Any:
    """The asyncpg connection under the session's transaction (COPY is not in SQLAlchemy)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


# ---- the pool ----------------------------------------------------------------------------------


async def upsert_inspectors(
    session: AsyncSession, department: str, rows: Sequence[tuple[str, str, bool]]
) -> None:
    await session.execute(
        text(
            """
            INSERT INTO inspectors (department_code, inspector_id, name, active)
            SELECT :department, i, n, a
            FROM unnest(CAST(:ids AS text[]), CAST(:names AS text[]), CAST(:active AS boolean[])) AS t(i, n, a)
            ON CONFLICT (department_code, inspector_id)
            DO UPDATE SET name = excluded.name, active = excluded.active
            """
        ),
        {
            "department": department,
            "ids": [r[0] for r in rows],
            "names": [r[1] for r in rows],
            "active": [r[2] for r in rows],
        },
    )


async def inspectors_of(session: AsyncSession, department: str) -> list[Inspector]:
    rows = await session.scalars(
        select(Inspector).where(Inspector.department_code == department).order_by(Inspector.inspector_id)
    )
    return list(rows)


async def inspector(session: AsyncSession, department: str, inspector_id: str) -> Inspector | None:
    return await session.get(Inspector, (department, inspector_id))


async def upsert_conflict(
    session: AsyncSession, uscc: str, department: str, inspector_id: str, reason: str
) -> None:
    await session.execute(
        text(
            """
            INSERT INTO inspector_conflicts (uscc, department_code, inspector_id, reason)
            VALUES (:uscc, :department, :inspector, :reason)
            ON CONFLICT (uscc, department_code, inspector_id) DO UPDATE SET reason = excluded.reason
            """
        ),
        {"uscc": uscc, "department": department, "inspector": inspector_id, "reason": reason},
    )


# ---- freezing a plan ---------------------------------------------------------------------------


async def add_plan(session: AsyncSession, plan: InspectionPlan) -> None:
    session.add(plan)
    await session.flush()


async def _freeze_pairs(
    session: AsyncSession,
    table: str,
    columns: tuple[str, str],
    plan_id: uuid.UUID,
    pairs: Sequence[tuple[str, str]],
) -> None:
    """Insert (plan, a, b) rows into one of the plan's frozen tables (names are ours, never input)."""
    first, second = columns
    await session.execute(
        text(
            f"""
            INSERT INTO {table} (plan_id, {first}, {second})
            SELECT :plan, a, b FROM unnest(CAST(:a AS text[]), CAST(:b AS text[])) AS t(a, b)
            """
        ),
        {"plan": plan_id, "a": [a for a, _ in pairs], "b": [b for _, b in pairs]},
    )


async def add_plan_inspectors(
    session: AsyncSession, plan_id: uuid.UUID, inspectors: Sequence[tuple[str, str]]
) -> None:
    """Freeze the pool: (id, name) of each active inspector, exactly as the published hash covers them."""
    await _freeze_pairs(session, "plan_inspectors", ("inspector_id", "name"), plan_id, inspectors)


async def add_plan_conflicts(
    session: AsyncSession, plan_id: uuid.UUID, conflicts: Sequence[tuple[str, str]]
) -> None:
    """Freeze the declared conflicts (inspector id, USCC) the draw must honour."""
    await _freeze_pairs(session, "plan_conflicts", ("inspector_id", "uscc"), plan_id, conflicts)


async def freeze_candidates(
    session: AsyncSession, plan_id: uuid.UUID, domain: str, categories: Sequence[str]
) -> tuple[str, dict[str, int]]:
    """Freeze the domain's entities with their stored category as the plan's canonical list, in one
    statement (one snapshot, one pass), and return its SHA-256 and the count per category.

    The text is "USCC,category\n" sorted by USCC in code-point order, which COLLATE "C" gives.
    """
    counts = ", ".join(
        f"CAST(:c{i} AS text), count(*) FILTER (WHERE category = :c{i})" for i in range(len(categories))
    )
    row = await session.execute(
        text(
            f"""
            WITH listed AS (
                SELECT convert_to(coalesce(string_agg(uscc || ',' || category || chr(10), ''
                           ORDER BY uscc COLLATE "C"), ''), 'UTF8') AS canonical,
                       jsonb_build_object({counts}) AS counts
                FROM classifications WHERE domain = :domain
            ),
            stored AS (
                INSERT INTO plan_candidate_lists (plan_id, canonical)
                SELECT :plan, canonical FROM listed
                RETURNING 1
            )
            SELECT encode(sha256(canonical), 'hex'), counts, (SELECT count(*) FROM stored) FROM listed
            """
        ),
        {"plan": plan_id, "domain": domain, **{f"c{i}": c for i, c in enumerate(categories)}},
    )
    digest, found, _ = row.one()
    return str(digest), {str(c): int(n) for c, n in found.items()}


# ---- reading and drawing -----------------------------------------------------------------------


async def plan(session: AsyncSession, plan_id: uuid.UUID, *, lock: bool = False) -> InspectionPlan | None:
    statement = select(InspectionPlan).where(InspectionPlan.id == plan_id)
    if lock:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).one_or_none()


async def candidate_list(session: AsyncSession, plan_id: uuid.UUID) -> str:
    """The frozen list as its canonical text ("USCC,category\n" sorted by USCC)."""
    row = await session.execute(
        text("SELECT canonical FROM plan_candidate_lists WHERE plan_id = :plan"), {"plan": plan_id}
    )
    return bytes(row.scalar_one()).decode()


async def plan_inspectors(session: AsyncSession, plan_id: uuid.UUID) -> list[tuple[str, str]]:
    rows = await session.execute(
        text("SELECT inspector_id, name FROM plan_inspectors WHERE plan_id = :plan ORDER BY inspector_id"),
        {"plan": plan_id},
    )
    return [(r[0], r[1]) for r in rows]


async def plan_conflicts(session: AsyncSession, plan_id: uuid.UUID) -> list[tuple[str, str]]:
    """The frozen conflicts: (inspector id, USCC), sorted."""
    rows = await session.execute(
        text(
            "SELECT inspector_id, uscc FROM plan_conflicts WHERE plan_id = :plan ORDER BY inspector_id, uscc"
        ),
        {"plan": plan_id},
    )
    return [(r[0], r[1]) for r in rows]


async def store_draw(
    session: AsyncSession, plan_id: uuid.UUID, assignments: Sequence[tuple[str, str, str, str]]
) -> None:
    """The drawn entities (uscc, category, inspector a, inspector b), by COPY."""
    await (await _driver(session)).copy_records_to_table(
        "plan_assignments",
        records=[(plan_id, *a) for a in assignments],
        columns=["plan_id", "uscc", "category", "inspector_a", "inspector_b"],
    )


async def drawn(session: AsyncSession, plan_id: uuid.UUID) -> list[tuple[str, str, str, str, str | None]]:
    """(uscc, category, inspector a, inspector b, registered name) of the drawn entities, by USCC."""
    rows = await session.execute(
        text(
            """
            SELECT a.uscc, a.category, a.inspector_a, a.inspector_b, e.name
            FROM plan_assignments a LEFT JOIN entities e ON e.uscc = a.uscc
            WHERE a.plan_id = :plan
            ORDER BY a.uscc COLLATE "C"
            """
        ),
        {"plan": plan_id},
    )
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]


async def candidate_conflicts(session: AsyncSession, department: str, domain: str) -> list[tuple[str, str]]:
    """(inspector id, USCC) of the department's declared conflicts with entities of the domain."""
    rows = await session.execute(
        text(
            """
            SELECT c.inspector_id, c.uscc FROM inspector_conflicts c
            JOIN classifications k ON k.uscc = c.uscc AND k.domain = :domain
            WHERE c.department_code = :department ORDER BY c.inspector_id, c.uscc
            """
        ),
        {"department": department, "domain": domain},
    )
    return [(r[0], r[1]) for r in rows]


# ---- the public publication --------------------------------------------------------------------


async def public_document(session: AsyncSession, plan_id: uuid.UUID) -> bytes | None:
    row = await session.execute(
        text("SELECT document FROM plan_publications WHERE plan_id = :plan"), {"plan": plan_id}
    )
    found = row.scalar_one_or_none()
    return None if found is None else bytes(found)


async def keep_public_document(session: AsyncSession, plan_id: uuid.UUID, document: bytes) -> None:
    """Keep the first one built; a concurrent first reader's identical copy is dropped."""
    await session.execute(
        text(
            "INSERT INTO plan_publications (plan_id, document) VALUES (:plan, :document) "
            "ON CONFLICT (plan_id) DO NOTHING"
        ),
        {"plan": plan_id, "document": document},
    )
