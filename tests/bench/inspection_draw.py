"""Benchmark: commit + draw of a double-random plan (双随机) over N candidates, through the real app.

N = BENCH_CANDIDATES (default 1,000,000) entities of market_regulation, each with an industry
evaluation inserted by SQL (untimed): 70 % A, 20 % B, 8 % C, 2 % D under samr_risk, i.e. trustworthy,
minor, general, serious; 200 inspectors, 1,000 declared conflicts; the domain classified once.
Timed, each a GraphQL mutation with a real department token, committed: `commitInspectionPlan` at the
domain's highest ratios (0.05, 0.2, 0.6, all serious: about 143,000 drawn per million), which freezes
the candidate list as one document and hashes it inside PostgreSQL; then `drawInspectionPlan`, which
reads that document back, runs chub-draw-v1 in Python and COPYs the drawn entities. Memory: peak RSS growth of this
process over its RSS before the commit, sampled every 5 ms. Baseline, same run and database: COPY of
the same N canonical "USCC,category" lines into an unlogged table and back out (the I/O floor of any
freeze and draw).
"""

from __future__ import annotations

import asyncio
import io
import os
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import orjson
import psutil
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from hub.db import asyncpg_dsn, make_engine, make_sessionmaker
from hub.grading import admin
from hub.inspections.publication import parse, verify
from hub.web.app import create_app
from tests.bench import support

DATABASE = "hub_bench_inspections"
DOMAIN = "market_regulation"
LEVELS = (("A", 70), ("B", 20), ("C", 8), ("D", 2))  # percent of the population per samr_risk level
RATIOS = [
    {"category": "TRUSTWORTHY", "ratio": 0.05},
    {"category": "MINOR", "ratio": 0.2},
    {"category": "GENERAL", "ratio": 0.6},
]
INSPECTORS = 200
CONFLICTS = 1000
COMMIT = """mutation($d: String!, $r: [CategoryRatio!]) {
  commitInspectionPlan(domain: $d, period: "bench", title: "基准测试", ratios: $r) {
    __typename ... on InspectionPlan { id candidateCount } ... on Problem { code message } } }"""
PUBLICATION = "query($id: ID!) { inspectionPlan(id: $id) { ... on InspectionPlan { publication } } }"
DRAW = """mutation($id: ID!) { drawInspectionPlan(planId: $id) {
    __typename ... on InspectionPlan { categories { category drawn } } ... on Problem { code message } } }"""


def bench_candidates(default: int = 1_000_000) -> int:
    return int(os.environ.get("BENCH_CANDIDATES", default))


def level_of(i: int) -> str:
    bucket = i % 100
    for level, share in LEVELS:
        if bucket < share:
            return level
        bucket -= share
    return LEVELS[-1][0]


async def prepare(url: URL, n: int, owner: URL | None = None) -> list[str]:
    """The domain assigned, N evaluated entities, the pool with conflicts; returns the USCCs.
    `owner`: the database as its owner (default: `url`'s, a fresh_database of the benchmarks)."""
    engine = make_engine(url, pool_size=1)
    async with engine.begin() as conn:
        await admin.assign_domain(AsyncSession(bind=conn), DOMAIN, support.DEPT_CODE, "bench")
    await engine.dispose()
    usccs = [support.company(i) for i in range(n)]

    async def stage() -> AsyncIterator[tuple[Any, ...]]:
        for i, uscc in enumerate(usccs):
            yield uscc, level_of(i)

    conn = await asyncpg.connect(asyncpg_dsn(owner or support.owner_of(url)))
    try:
        await conn.execute("CREATE TEMP TABLE stage (uscc text, level text)")
        await conn.copy_records_to_table("stage", records=stage(), columns=("uscc", "level"))
        await conn.execute(
            """
            INSERT INTO records (uscc, source_dept, source_record_id, version, current, record_type,
                                 type_version, content, content_hash, decision_date, published, pushed_by,
                                 scheme_version)
            SELECT s.uscc, $1::text, 'PJ-' || s.uscc, 1, true, 'industry_evaluation', 1,
                   jsonb_build_object('XDR_MC', '哈尔滨市某某商贸有限公司', 'XDR_LB', '法人及非法人组织',
                       'XDR_SHXYM', s.uscc, 'PJBH', 'PJ-' || s.uscc, 'JGLY', $2::text, 'PJMX', 'samr_risk',
                       'PJDJ', s.level, 'PJRQ', current_date - 30, 'YXQZ', '2099-12-31'),
                   '\\x00000000000000000000000000000000'::bytea, current_date - 30, true, $1, 1
            FROM stage s
            """,
            support.DEPT_CODE,
            DOMAIN,
        )
        await conn.copy_records_to_table(
            "inspectors",
            records=[(support.DEPT_CODE, f"ZF{i:04d}", f"检查员{i}") for i in range(INSPECTORS)],
            columns=("department_code", "inspector_id", "name"),
        )
        await conn.copy_records_to_table(
            "inspector_conflicts",
            records=[
                (usccs[(i * 7919) % n], support.DEPT_CODE, f"ZF{i % INSPECTORS:04d}", "基准")
                for i in range(min(CONFLICTS, n))
            ],
            columns=("uscc", "department_code", "inspector_id", "reason"),
        )
        await conn.execute("VACUUM ANALYZE records, inspectors, inspector_conflicts")
    finally:
        await conn.close()
    return usccs


async def baseline(url: URL, usccs: list[str]) -> float:
    """Seconds to COPY the N canonical lines into an unlogged table and read them back sorted."""
    data = "".join(
        f"{u},{['trustworthy', 'minor', 'general', 'serious'][i % 4]}\n" for i, u in enumerate(usccs)
    )
    conn = await asyncpg.connect(asyncpg_dsn(support.owner_of(url)))
    chunks: list[bytes] = []

    async def collect(chunk: bytes) -> None:
        chunks.append(chunk)

    try:
        await conn.execute("DROP TABLE IF EXISTS bench_candidates")
        await conn.execute("CREATE UNLOGGED TABLE bench_candidates (uscc text PRIMARY KEY, category text)")
        started = time.perf_counter()
        await conn.copy_to_table("bench_candidates", source=io.BytesIO(data.encode()), format="csv")
        await conn.copy_from_query("SELECT uscc FROM bench_candidates ORDER BY uscc", output=collect)
        return time.perf_counter() - started
    finally:
        await conn.execute("DROP TABLE IF EXISTS bench_candidates")
        await conn.close()


class PeakRss:
    """Peak RSS growth of this process while the block runs, sampled on a thread."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.process = psutil.Process()
        self.start = self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self.start = self.peak = self.process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def growth_mib(self) -> float:
        return (self.peak - self.start) / 2**20


async def _call(
    client: httpx.AsyncClient, token: str, query: str, variables: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    if body.get("errors"):
        raise RuntimeError(f"request failed: {body['errors']}")
    return body["data"]


async def _fetch(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
    """The raw answer, unparsed: parsing it is the client's work, left out of the timings."""
    response = await client.request(method, url, **kwargs)
    response.raise_for_status()
    return {"body": response.content}


def _public_query(client: httpx.AsyncClient, plan_id: str) -> Awaitable[dict[str, Any]]:
    return _fetch(client, "POST", "/graphql", json={"query": PUBLICATION, "variables": {"id": plan_id}})


def _publication(answer: dict[str, Any]) -> dict[str, Any]:
    document: dict[str, Any] = orjson.loads(answer["body"])["data"]["inspectionPlan"]["publication"]
    return document


async def _kept(engine: AsyncEngine, plan_id: str) -> bool:
    async with engine.connect() as conn:
        found = await conn.execute(
            text("SELECT count(*) FROM plan_publications WHERE plan_id = CAST(:id AS uuid)"), {"id": plan_id}
        )
        return bool(found.scalar_one())


async def _seconds(work: Callable[[], Awaitable[dict[str, Any]]]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    result = await work()
    return time.perf_counter() - started, result


async def run(n: int | None = None, *, database: str = DATABASE) -> dict[str, Any]:
    n = n or bench_candidates()
    settings = support.bench_settings()
    url = await support.fresh_database(settings, database)
    dept = await support.department(url)
    usccs = await prepare(url, n)
    floor = await baseline(url, usccs)
    del usccs
    engine = make_engine(url, pool_size=2)
    app = create_app(settings, sessions=make_sessionmaker(engine))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://hub.bench", timeout=None
        ) as client:
            # Classify the domain once beforehand, as a department would keep it classified.
            await _call(
                client,
                dept.token,
                'mutation { reclassifyDomain(domain: "market_regulation") { __typename } }',
                {},
            )
            with PeakRss() as memory:
                commit_s, committed = await _seconds(
                    lambda: _call(client, dept.token, COMMIT, {"d": DOMAIN, "r": RATIOS})
                )
                plan = committed["commitInspectionPlan"]
                if plan["__typename"] != "InspectionPlan":
                    raise RuntimeError(f"commit refused: {plan}")
                draw_s, drawn = await _seconds(lambda: _call(client, dept.token, DRAW, {"id": plan["id"]}))
            if drawn["drawInspectionPlan"]["__typename"] != "InspectionPlan":
                raise RuntimeError(f"draw refused: {drawn}")
            # What the public downloads, and what anyone then checks with `credit-hub plan verify`.
            publish_s, published = await _seconds(lambda: _public_query(client, plan["id"]))
            document = _publication(published)
            # The first public read kept the publication (its own transaction); later ones are served it.
            if not await _kept(engine, plan["id"]):
                raise RuntimeError("the first public read did not keep the publication")
            kept_s, again = await _seconds(lambda: _public_query(client, plan["id"]))
            url = f"/plans/{plan['id']}/publication.json"
            download_s, downloaded = await _seconds(lambda: _fetch(client, "GET", url))
            if _publication(again) != document or orjson.loads(downloaded["body"]) != document:
                raise RuntimeError("the kept publication differs from the one first served")
            started = time.perf_counter()
            problems = verify(parse(document))
            verify_s = time.perf_counter() - started
            if problems:
                raise RuntimeError(f"the published plan does not verify: {problems[:3]}")
    finally:
        await engine.dispose()
    await support.drop_database(settings, database)
    counts = {c["category"].lower(): c["drawn"] for c in drawn["drawInspectionPlan"]["categories"]}
    return {
        "candidates": plan["candidateCount"],
        "drawn": counts,
        "commit_seconds": commit_s,
        "draw_seconds": draw_s,
        "total_seconds": commit_s + draw_s,
        "inspections_seconds": commit_s + draw_s,
        "baseline_copy_seconds": floor,
        "inspections_vs_baseline": (commit_s + draw_s) / floor if floor else float("inf"),
        "peak_rss_growth_mib": memory.growth_mib,
        "publication_seconds": publish_s,
        "kept_publication_seconds": kept_s,
        "download_seconds": download_s,
        "verify_seconds": verify_s,
    }


def report(r: dict[str, Any]) -> list[str]:
    drawn = sum(r["drawn"].values())
    return [
        f"double-random plan over {r['candidates']:,} candidates ({drawn:,} drawn)",
        f"  commit (candidates frozen and hashed in PostgreSQL) {r['commit_seconds']:.2f} s, "
        f"draw {r['draw_seconds']:.2f} s: total {r['total_seconds']:.2f} s",
        f"  freeze + draw {r['inspections_seconds']:.2f} s = {r['inspections_vs_baseline']:.1f}x the COPY in+out "
        f"floor ({r['baseline_copy_seconds']:.2f} s); peak RSS growth {r['peak_rss_growth_mib']:.0f} MiB",
        f"  public publication: first query (builds and keeps it) {r['publication_seconds']:.2f} s, later queries "
        f"{r['kept_publication_seconds']:.2f} s, download /plans/<id>/publication.json {r['download_seconds']:.2f} s; "
        f"verifying it (hashes and re-run) {r['verify_seconds']:.2f} s",
    ]


async def main() -> dict[str, Any]:
    """Run at BENCH_CANDIDATES and print the report (as `make bench` does)."""
    result = await run()
    print("\n".join(report(result)), flush=True)
    return result


if __name__ == "__main__":
    asyncio.run(main())
