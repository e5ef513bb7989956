"""SQL of double-random inspections: inspector pools, conflicts, frozen plans and their draws.

Candidate lists can hold a million rows: they travel by COPY, in both directions, as the
canonical "USCC,category" lines the published hash covers.
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


async def _copy_out(session: AsyncSession, query: str, *args: object) -> str:
    chunks: list[bytes] = []

    async def collect(chunk: bytes) -> None:
        chunks.append(chunk)

    await (await _driver(session)).copy_from_query(query, *args, output=collect)
    return b"".join(chunks).decode()


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


async def add_plan_inspectors(
    session: AsyncSession, plan_id: uuid.UUID, inspectors: Sequence[tuple[str, str]]
) -> None:
    """Freeze the pool: (id, name) of each active inspector, exactly as the published hash covers them."""
    await session.execute(
        text(
            """
            INSERT INTO plan_inspectors (plan_id, inspector_id, name)
            SELECT :plan, i, n FROM unnest(CAST(:ids AS text[]), CAST(:names AS text[])) AS t(i, n)
            """
        ),
        {"plan": plan_id, "ids": [i for i, _ in inspectors], "names": [n for _, n in inspectors]},
    )


# ---- reading and drawing -----------------------------------------------------------------------


async def plan(session: AsyncSession, plan_id: uuid.UUID, *, lock: bool = False) -> InspectionPlan | None:
    statement = select(InspectionPlan).where(InspectionPlan.id == plan_id)
    if lock:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).one_or_none()


async def candidates_by_category(
    session: AsyncSession, plan_id: uuid.UUID, categories: Sequence[str]
) -> dict[str, list[str]]:
    """The USCCs of the given categories of the frozen list, in one COPY (unordered: the draw sorts)."""
    body = await _copy_out(
        session,
        "SELECT category, uscc FROM plan_candidates WHERE plan_id = $1 AND category = ANY($2::text[])",
        plan_id,
        list(categories),
    )
    found: dict[str, list[str]] = {c: [] for c in categories}
    for line in body.splitlines():
        category, _, uscc = line.partition("\t")
        found[category].append(uscc)
    return found


async def candidate_lines(session: AsyncSession, plan_id: uuid.UUID) -> str:
    """The frozen list as its canonical text ("USCC,category\\n" sorted by USCC)."""
    return await _copy_out(
        session,
        "SELECT uscc || ',' || category FROM plan_candidates WHERE plan_id = $1 ORDER BY uscc",
        plan_id,
    )


async def plan_inspectors(session: AsyncSession, plan_id: uuid.UUID) -> list[tuple[str, str]]:
    rows = await session.execute(
        text("SELECT inspector_id, name FROM plan_inspectors WHERE plan_id = :plan ORDER BY inspector_id"),
        {"plan": plan_id},
    )
    return [(r[0], r[1]) for r in rows]


async def store_draw(
    session: AsyncSession, plan_id: uuid.UUID, assignments: Sequence[tuple[str, str, str]]
) -> None:
    """Mark the drawn candidates with their two inspectors (uscc, inspector a, inspector b)."""
    await session.execute(text("DROP TABLE IF EXISTS plan_draw_stage"))
    await session.execute(
        text("CREATE TEMP TABLE plan_draw_stage (uscc text, a text, b text) ON COMMIT DROP")
    )
    await (await _driver(session)).copy_records_to_table(
        "plan_draw_stage", records=assignments, columns=["uscc", "a", "b"]
    )
    await session.execute(text("ANALYZE plan_draw_stage"))
    await session.execute(
        text(
            """
            UPDATE plan_candidates c SET drawn = true, inspector_a = t.a, inspector_b = t.b
            FROM plan_draw_stage t
            WHERE c.plan_id = :plan AND c.uscc = t.uscc
            """
        ),
        {"plan": plan_id},
    )


async def drawn(session: AsyncSession, plan_id: uuid.UUID) -> list[tuple[str, str, str, str, str | None]]:
    """(uscc, category, inspector a, inspector b, registered name) of the drawn entities, by USCC."""
    rows = await session.execute(
        text(
            """
            SELECT c.uscc, c.category, c.inspector_a, c.inspector_b, e.name
            FROM plan_candidates c LEFT JOIN entities e ON e.uscc = c.uscc
            WHERE c.plan_id = :plan AND c.drawn
            ORDER BY c.uscc
            """
        ),
        {"plan": plan_id},
    )
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]


async def domain_has_candidates(session: AsyncSession, domain: str) -> bool:
    row = await session.execute(
        text("SELECT EXISTS (SELECT 1 FROM classifications WHERE domain = :d)"), {"d": domain}
    )
    return bool(row.scalar_one())


async def freeze_candidates(
    session: AsyncSession, plan_id: uuid.UUID, domain: str
) -> tuple[str, dict[str, int]]:
    """Copy the domain's entities with their stored category into the plan, inside PostgreSQL, and
    return the SHA-256 of the canonical list ("USCC,category\n" sorted by USCC in code-point order,
    which COLLATE "C" gives for these ASCII codes) and the count per category."""
    await session.execute(
        text(
            """
            INSERT INTO plan_candidates (plan_id, uscc, category)
            SELECT :plan, uscc, category FROM classifications WHERE domain = :domain
            """
        ),
        {"plan": plan_id, "domain": domain},
    )
    digest = await session.execute(
        text(
            """
            SELECT encode(sha256(convert_to(coalesce(string_agg(uscc || ',' || category || chr(10), ''
                       ORDER BY uscc COLLATE "C"), ''), 'UTF8')), 'hex')
            FROM plan_candidates WHERE plan_id = :plan
            """
        ),
        {"plan": plan_id},
    )
    counts = await session.execute(
        text("SELECT category, count(*) FROM plan_candidates WHERE plan_id = :plan GROUP BY category"),
        {"plan": plan_id},
    )
    return str(digest.scalar_one()), {r[0]: int(r[1]) for r in counts}


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
