"""Benchmark 3: `entity(uscc)` with its first 20 records, through the real app, against a bare route.

Both sides are served the same way: a uvicorn subprocess each (as `credit-hub serve` runs the hub),
loaded by the same asyncio keep-alive client (tests.bench.load) at the same concurrency. A real
server rather than the in-process ASGI transport: in-process, the client's own cost (httpx spends more
per request than the bare route) would be added to both sides and hide the difference being measured.
The bare route runs the very statements the GraphQL request runs, captured with hub.db.count_statements
(parameters and transaction boundaries with it), on an engine made like the hub's: the ratio is what
GraphQL, the ORM and the hub's own request handling cost on top of the same database work.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import socket
import sys
from typing import Any

import httpx
import orjson
from sqlalchemy import event
from sqlalchemy.engine import URL

from hub.db import count_statements, make_engine, make_sessionmaker
from hub.settings import PROJECT_ROOT, Settings
from hub.web.app import create_app
from tests.bench import load, support
from tests.bench.push_worker import push_once
from tests.bench.serve import SAMPLE

DATABASE = "hub_bench_lookup"
QUERY = """
query($uscc: String!) {
  entity(uscc: $uscc) {
    uscc name kind district
    records(first: 20) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node {
        recordType sourceDepartment sourceRecordId version current decisionDate severity publicityRule
        published repairFrom publishUntil late pushedAt fields withheldFields } }
    }
  }
}
"""
WORK_DIR = PROJECT_ROOT / ".data" / "bench"


async def load_entities(url: URL, settings: Settings, entities: int, per_entity: int, token: str) -> None:
    """entities × per_entity penalties, pushed through the hub itself."""
    path = WORK_DIR / f"{url.database}-{entities}x{per_entity}.csv"
    support.write_penalty_csv(path, entities * per_entity, support.DEPT_CODE, companies=entities)
    engine = make_engine(url, pool_size=2)
    app = create_app(settings, sessions=make_sessionmaker(engine))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub.bench", timeout=None
    ) as client:
        receipt = await push_once(client, token, path)
    await engine.dispose()
    path.unlink()
    if receipt["created"] != entities * per_entity:
        raise RuntimeError(f"loading the lookup data: {receipt}")


async def capture(url: URL, settings: Settings, token: str, uscc: str) -> list[list[tuple[str, Any]]]:
    """The statements one GraphQL lookup runs, with their parameters, grouped by transaction."""
    engine = make_engine(url, pool_size=2)
    app = create_app(settings, sessions=make_sessionmaker(engine))
    transactions: list[list[tuple[str, Any]]] = [[]]

    def statement(conn: Any, cursor: Any, text: str, params: Any, context: Any, many: bool) -> None:
        transactions[-1].append((text, list(params or ())))

    def end(conn: Any) -> None:
        transactions.append([])

    body = {"query": QUERY, "variables": {"uscc": uscc}}
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub") as client:
        await client.post("/graphql", json=body, headers=headers)  # warm: first connection, policy cache
        event.listen(engine.sync_engine, "before_cursor_execute", statement)
        event.listen(engine.sync_engine, "commit", end)
        event.listen(engine.sync_engine, "rollback", end)
        async with count_statements(engine) as seen:
            answer = (await client.post("/graphql", json=body, headers=headers)).json()
    await engine.dispose()
    if answer.get("errors") or not answer["data"]["entity"]["records"]["edges"]:
        raise RuntimeError(f"the lookup failed: {answer}")
    script = [t for t in transactions if t]
    if [s for t in script for s, _ in t] != seen:
        raise RuntimeError("the captured statements differ from count_statements'")
    # The sample entity's code becomes a placeholder the bare route fills per request.
    return [
        [
            (
                s,
                [
                    SAMPLE
                    if p == uscc
                    else [SAMPLE if q == uscc else q for q in p]
                    if isinstance(p, list)
                    else p
                    for p in params
                ],
            )
            for s, params in t
        ]
        for t in script
    ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def serve_and_load(
    args: list[str], url: URL, make_request: Any, requests: int, concurrency: int, check: Any
) -> load.LoadResult:
    port = _free_port()
    # What a look-up costs at concurrency 16: the adaptive admission limit, which serves one or two at
    # a time once the event loop is the bottleneck and answers the others 503 at once, is held at its
    # ceiling (hub.web.limits.AdmissionLimit); its looks at the loop still run.
    env = {
        **os.environ,
        "HUB_DATABASE_URL": url.render_as_string(hide_password=False),
        "HUB_MIN_CONCURRENT_REQUESTS": os.environ.get("HUB_MAX_CONCURRENT_REQUESTS", "100"),
    }
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.bench.serve",
        args[0],
        str(port),
        *args[1:],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with asyncio.timeout(60):
            await load.wait_until_up(port)
        # Warm-up: connections, prepared statements, caches.
        await load.run(port, make_request, max(requests // 10, concurrency), concurrency, check)
        return await load.run(port, make_request, requests, concurrency, check)
    finally:
        server.terminate()
        await server.wait()


async def run(
    requests: int = 10_000,
    *,
    entities: int = 10_000,
    per_entity: int = 3,
    concurrency: int = 16,
    database: str = DATABASE,
    settings: Settings | None = None,
) -> dict[str, Any]:
    settings = settings or support.bench_settings()
    url = await support.fresh_database(settings, database)
    dept = await support.department(url)
    await load_entities(url, settings, entities, per_entity, dept.token)
    usccs = [support.company(i) for i in range(entities)]
    script = await capture(url, settings, dept.token, usccs[0])
    script_path = WORK_DIR / f"{database}-script.pkl"
    script_path.write_bytes(pickle.dumps(script))

    auth = {"Authorization": f"Bearer {dept.token}", "Content-Type": "application/json"}
    graphql = [
        load.post("/graphql", orjson.dumps({"query": QUERY, "variables": {"uscc": u}}), auth) for u in usccs
    ]
    bare = [load.post("/entity", orjson.dumps({"uscc": u}), auth) for u in usccs]

    def graphql_ok(body: bytes) -> None:
        if b'"errors"' in body or b'"recordType"' not in body:
            raise RuntimeError(f"lookup failed: {body[:300]!r}")

    def bare_ok(body: bytes) -> None:
        if b'"XDR_MC"' not in body:
            raise RuntimeError(f"bare lookup failed: {body[:300]!r}")

    try:
        hub = await serve_and_load(
            ["hub"], url, lambda i: graphql[i % entities], requests, concurrency, graphql_ok
        )
        baseline = await serve_and_load(
            ["baseline", str(script_path)], url, lambda i: bare[i % entities], requests, concurrency, bare_ok
        )
    finally:
        script_path.unlink()
    return {
        "requests": requests,
        "concurrency": concurrency,
        "entities": entities,
        "records_per_entity": per_entity,
        "statements": sum(len(t) for t in script),
        "transactions": len(script),
        "hub_req_per_s": hub.rate,
        "hub_p50_ms": hub.percentile(50) * 1000,
        "hub_p99_ms": hub.percentile(99) * 1000,
        "baseline_req_per_s": baseline.rate,
        "baseline_p50_ms": baseline.percentile(50) * 1000,
        "baseline_p99_ms": baseline.percentile(99) * 1000,
        "ratio": hub.rate / baseline.rate,
        "p99_vs_baseline": hub.percentile(99) / baseline.percentile(99),
    }


def report(r: dict[str, Any]) -> list[str]:
    return [
        f"entity(uscc) lookup, {r['entities']:,} entities × {r['records_per_entity']} records, "
        f"{r['requests']:,} requests at concurrency {r['concurrency']} "
        f"({r['statements']} statements in {r['transactions']} transactions per lookup)",
        f"  bare route (same SQL) {r['baseline_req_per_s']:>8,.0f} req/s   "
        f"p50 {r['baseline_p50_ms']:.1f} ms   p99 {r['baseline_p99_ms']:.1f} ms",
        f"  GraphQL               {r['hub_req_per_s']:>8,.0f} req/s   "
        f"p50 {r['hub_p50_ms']:.1f} ms   p99 {r['hub_p99_ms']:.1f} ms",
        f"  ratio {r['ratio']:.2f} (target >= 0.55); p99 {r['p99_vs_baseline']:.2f}x the baseline's "
        "(target <= 2)",
    ]
