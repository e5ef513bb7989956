"""Benchmark: grading a whole domain from indicator values (`gradeDomain`), against one pure-SQL UPDATE.

N entities (BENCH_ENTITIES, default 1,000,000) of catering_services have values for the period under
a four-indicator model (one optional). Timed through the real app (GraphQL `gradeDomain`, a real
department token, committed): the first grading (every result a new record), a re-grade with the
same values (nothing written), and a re-grade after 10 % of the entities' values changed. Each
includes the domain's re-classification. Baseline, same run and database: one set-based
`UPDATE bench_grades SET grade = CASE … END` over a table of the same N scores (computed beforehand,
untimed, by SQL written independently of the hub's). The hub's grades and scores must equal it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.caller import Caller, Role
from hub.db import asyncpg_dsn, make_engine, make_sessionmaker
from hub.grading import admin
from hub.scoring import service as scoring
from hub.settings import Settings
from hub.web.app import create_app
from tests.bench import support

DATABASE = "hub_bench_regrade"
DOMAIN = "catering_services"  # catering_food_safety: A >= 90, B 75-<90, C 60-<75, below 60 no grade
PERIOD = str(dt.date.today().year)
MODEL: dict[str, Any] = {
    "domain": DOMAIN,
    "period": PERIOD,
    "title_zh": "餐饮服务食品安全信用评价模型（基准）",
    "public_indicator": "PUB",
    "indicators": [
        {"code": "PUB", "label_zh": "公共信用综合评价结果", "weight": "0.4", "min": "0", "max": "100"},
        {"code": "INS", "label_zh": "日常监督检查", "weight": "0.3", "min": "0", "max": "10"},
        {"code": "CMP", "label_zh": "投诉举报处理", "weight": "0.2", "min": "0", "max": "5"},
        {"code": "HON", "label_zh": "荣誉表彰", "weight": "0.1", "min": "0", "max": "1", "optional": True},
    ],
}
# The same score, written out for this model (HON optional: its weight is shared when it is empty).
BASELINE_SCORE = """round(100 * (0.4 * (v."values"->>'PUB')::numeric / 100 + 0.3 * (v."values"->>'INS')::numeric / 10
    + 0.2 * (v."values"->>'CMP')::numeric / 5 + coalesce(0.1 * (v."values"->>'HON')::numeric, 0))
    / (0.9 + CASE WHEN v."values" ? 'HON' THEN 0.1 ELSE 0 END), 2)"""
# The baseline grades from the indicator values, as the hub does: one UPDATE computing each
# entity's score and grade (no versions, history, outbox or classification).
_BASELINE_UPDATE = f"""UPDATE bench_grades b SET score = s.score,
    grade = CASE WHEN s.score >= 90 THEN 'A' WHEN s.score >= 75 THEN 'B' WHEN s.score >= 60 THEN 'C' END
    FROM (SELECT v.uscc, {BASELINE_SCORE} AS score FROM indicator_values v
          WHERE v.domain = 'DOMAIN_CODE' AND v.period = 'PERIOD_CODE') s
    WHERE b.uscc = s.uscc"""
BASELINE_UPDATE = _BASELINE_UPDATE.replace("DOMAIN_CODE", DOMAIN).replace("PERIOD_CODE", PERIOD)
GRADE = """mutation($d: String!, $p: String!) { gradeDomain(domain: $d, period: $p) { __typename
  ... on DomainGraded { entities scored incomplete ungraded created updated unchanged withdrawn population
        classificationChanges }
  ... on Problem { code message } } }"""


def bench_entities(default: int = 1_000_000) -> int:
    return int(os.environ.get("BENCH_ENTITIES", default))


def values_of(i: int, shift: int = 0) -> str:
    """Deterministic values spreading the entities over A, B, C and no grade."""
    pub, ins, cmp = 55 + (i * 13 + shift) % 46, 4 + (i * 3 + shift) % 7, 2 + (i * 7) % 4
    hon = f',"HON":{(i // 3) % 2}' if i % 3 == 0 else ""
    return f'{{"PUB":{pub},"INS":{ins},"CMP":{cmp}{hon}}}'


async def prepare(url: URL, entities: int) -> None:
    """The domain assigned, the model saved, N entities' values (half of them registered by name)."""
    engine = make_engine(url, pool_size=1)
    async with engine.begin() as conn:
        session = AsyncSession(bind=conn)
        await admin.assign_domain(session, DOMAIN, support.DEPT_CODE, "bench")
        caller = Caller(Role.DEPARTMENT, support.DEPT_CODE, support.DEPT_NAME)
        await scoring.save_model(session, caller, MODEL)
        await session.flush()
    await engine.dispose()

    async def values() -> AsyncIterator[tuple[Any, ...]]:
        for i in range(entities):
            yield support.company(i), DOMAIN, PERIOD, values_of(i), support.DEPT_CODE

    async def names() -> AsyncIterator[tuple[Any, ...]]:
        for i in range(0, entities, 2):
            uscc = support.company(i)
            yield uscc, f"哈尔滨市某某餐饮有限公司{i}", "enterprise", uscc[2:8]

    conn = await asyncpg.connect(asyncpg_dsn(support.owner_of(url)))
    try:
        columns = ("uscc", "domain", "period", "values", "loaded_by")
        await conn.copy_records_to_table("indicator_values", records=values(), columns=columns)
        await conn.copy_records_to_table(
            "entities", records=names(), columns=("uscc", "name", "kind", "district")
        )
        await conn.execute("VACUUM ANALYZE indicator_values, entities")
    finally:
        await conn.close()


async def baseline(url: URL) -> float:
    """Seconds of the one set-based UPDATE grading the N scores (committed)."""
    conn = await asyncpg.connect(asyncpg_dsn(support.owner_of(url)))
    try:
        await conn.execute("DROP TABLE IF EXISTS bench_grades")
        await conn.execute(
            f"""CREATE TABLE bench_grades AS SELECT v.uscc, NULL::numeric AS score, NULL::text AS grade
                FROM indicator_values v WHERE v.domain = '{DOMAIN}' AND v.period = '{PERIOD}'"""
        )
        await conn.execute("VACUUM ANALYZE bench_grades")
        started = time.perf_counter()
        async with conn.transaction():
            await conn.execute(BASELINE_UPDATE)
        return time.perf_counter() - started
    finally:
        await conn.close()


async def grade(client: httpx.AsyncClient, token: str) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    response = await client.post(
        "/graphql",
        json={"query": GRADE, "variables": {"d": DOMAIN, "p": PERIOD}},
        headers={"Authorization": f"Bearer {token}"},
    )
    seconds = time.perf_counter() - started
    response.raise_for_status()
    result: dict[str, Any] = response.json()["data"]["gradeDomain"]
    if result["__typename"] != "DomainGraded":
        raise RuntimeError(f"gradeDomain was refused: {result}")
    return seconds, result


async def compare(url: URL) -> dict[str, int]:
    """Results stored by the hub against the baseline's grades and scores."""
    conn = await asyncpg.connect(asyncpg_dsn(support.owner_of(url)))
    try:
        row = await conn.fetchrow(
            """
            SELECT count(*) FILTER (WHERE b.grade IS DISTINCT FROM r.content ->> 'PJDJ') AS grade_mismatches,
                   count(*) FILTER (WHERE r.uscc IS NOT NULL
                                    AND trim_scale(b.score)::text <> r.content ->> 'PJFS') AS score_mismatches,
                   count(r.uscc) AS results,
                   (SELECT count(*) FROM records WHERE record_type = 'industry_evaluation') AS versions
            FROM bench_grades b
            LEFT JOIN records r ON r.current AND r.record_type = 'industry_evaluation' AND r.uscc = b.uscc
            """
        )
        return {key: int(row[key]) for key in ("grade_mismatches", "score_mismatches", "results", "versions")}
    finally:
        await conn.close()


async def change_values(url: URL, every: int = 10) -> None:
    """New values for every `every`-th entity (and the baseline's scores and grades with them)."""
    conn = await asyncpg.connect(asyncpg_dsn(support.owner_of(url)))
    try:
        rows = [
            (support.company(i), values_of(i, shift=5))
            for i in range(0, await conn.fetchval("SELECT count(*) FROM indicator_values"), every)
        ]
        await conn.executemany(
            'UPDATE indicator_values SET "values" = $2::jsonb WHERE uscc = $1 AND domain = $3 AND period = $4',
            [(u, v, DOMAIN, PERIOD) for u, v in rows],
        )
        await conn.execute(BASELINE_UPDATE)
        await conn.execute("VACUUM ANALYZE indicator_values, bench_grades")
    finally:
        await conn.close()


async def analyze(url: URL) -> None:
    """Fresh statistics before each timed run (untimed), as autovacuum leaves them between two gradings.
    Right after a million-row change they are stale, and hub.grading.repository.store then picks a
    nested loop that takes minutes (see the report)."""
    conn = await asyncpg.connect(asyncpg_dsn(support.owner_of(url)))
    try:
        await conn.execute("ANALYZE records, classifications, classification_changes, indicator_values")
    finally:
        await conn.close()


async def run(
    entities: int | None = None, *, database: str = DATABASE, settings: Settings | None = None
) -> dict[str, Any]:
    entities = entities or bench_entities()
    settings = settings or support.bench_settings()
    url = await support.fresh_database(settings, database)
    dept = await support.department(url)
    started = time.perf_counter()
    await prepare(url, entities)
    prepared = time.perf_counter() - started
    baseline_seconds = await baseline(url)

    engine = make_engine(url, pool_size=2)
    app = create_app(settings, sessions=make_sessionmaker(engine))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub.bench", timeout=None
    ) as client:
        await analyze(url)
        first_seconds, first = await grade(client, dept.token)
        after_first = await compare(url)
        await analyze(url)
        same_seconds, same = await grade(client, dept.token)
        after_same = await compare(url)
        await change_values(url)
        await analyze(url)
        changed_seconds, changed = await grade(client, dept.token)
        after_changed = await compare(url)
    await engine.dispose()

    baseline_rate = entities / baseline_seconds
    return {
        "entities": entities,
        "prepare_seconds": prepared,
        "baseline_seconds": baseline_seconds,
        "baseline_entities_per_s": baseline_rate,
        "first": {**first, "seconds": first_seconds, **after_first},
        "same": {**same, "seconds": same_seconds, **after_same},
        "changed": {**changed, "seconds": changed_seconds, **after_changed},
        "ratio": entities / first_seconds / baseline_rate,
        "ratio_same": entities / same_seconds / baseline_rate,
        "ratio_changed": entities / changed_seconds / baseline_rate,
    }


async def drop_database(settings: Settings, name: str) -> None:
    await support.drop_database(settings, name)


def report(result: dict[str, Any]) -> list[str]:
    n = result["entities"]
    lines = [
        f"gradeDomain over {n:,} entities (values loaded in {result['prepare_seconds']:.1f} s)",
        f"  baseline one UPDATE … CASE   {result['baseline_entities_per_s']:>10,.0f} entities/s",
    ]
    for key, label, ratio in (
        ("first", "first grading", "ratio"),
        ("same", "re-grade, same values", "ratio_same"),
        ("changed", "re-grade, 10% changed", "ratio_changed"),
    ):
        run = result[key]
        lines.append(
            f"  {label:<28} {n / run['seconds']:>10,.0f} entities/s   ratio {result[ratio]:.2f} (target >= 0.3)   "
            f"created {run['created']:,} updated {run['updated']:,} unchanged {run['unchanged']:,} "
            f"classification changes {run['classificationChanges']:,}"
        )
    return lines


async def main() -> dict[str, Any]:
    result = await run()
    print("\n".join(report(result)), flush=True)
    return result


if __name__ == "__main__":
    asyncio.run(main())
