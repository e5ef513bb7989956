"""SQL of double-random inspections: inspector pools, conflicts, frozen plans and their draws.

Candidate lists can hold a million rows: they travel by COPY, in both directions, as the
canonical "USCC,category" lines the published hash covers.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
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


async def copy_candidates(session: AsyncSession, plan_id: uuid.UUID, chunks: Iterable[str]) -> None:
    """COPY the canonical text ("USCC,category\\n" lines, sorted), given in chunks, as the candidates."""
    prefix = f"{plan_id},"

    async def source() -> AsyncIterator[bytes]:
        for chunk in chunks:
            # Every line gets the plan id in front: one C-level replace per chunk, no loop over rows.
            yield (prefix + chunk.replace("\n", "\n" + prefix))[: -len(prefix)].encode()

    await (await _driver(session)).copy_to_table(
        "plan_candidates", source=source(), columns=["plan_id", "uscc", "category"], format="csv"
    )


async def conflicts_of(session: AsyncSession, department: str) -> list[tuple[str, str]]:
    """(inspector id, USCC) of every conflict declared in the department's pool."""
    rows = await session.execute(
        text(
            """
            SELECT inspector_id, uscc FROM inspector_conflicts
            WHERE department_code = :department ORDER BY inspector_id, uscc
            """
        ),
        {"department": department},
    )
    return [(r[0], r[1]) for r in rows]


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
