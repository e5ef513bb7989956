"""Benchmark 1: bulk push of N administrative penalties, end to end, against raw COPY of the same rows.

Pipeline: the CSV file's bytes go through the real app (GraphQL multipart `pushRecordsFile`, a real
department token) until the receipt is committed; it runs in a subprocess (tests.bench.push_worker)
that also reports the push's peak RSS growth. Baseline: asyncpg `copy_records_to_table` of the same
rows, already prepared as the pipeline stores them, into the same `records` table with the same
indexes. Then the same file again: every row unchanged, and `records` must not grow.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession

from hub.catalog.policy import current_policy
from hub.crypto import StaticKeyProvider
from hub.db import asyncpg_dsn, make_engine
from hub.records.ingestion.prepare import RecordPreparer, RejectedRecord
from hub.records.validation.record import validator_for
from hub.settings import PROJECT_ROOT, Settings
from tests.bench import support

RECORD_TYPE = "administrative_penalty"
RECORD_COLUMNS = (
    "uscc",
    "source_dept",
    "source_record_id",
    "version",
    "current",
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
    "changed_fields",
    "pushed_by",
    "receipt_id",
    "scheme_version",
    "sealed",
    "tags",
    "key_version",
    "wrapped_key",
    "id_index",
)
WORK_DIR = PROJECT_ROOT / ".data" / "bench"


async def prepared_rows(
    url: URL, settings: Settings, path: Path
) -> tuple[list[tuple[Any, ...]], dict[str, float]]:
    """The file's rows as `records` tuples, made by the pipeline's own RecordPreparer (untimed for the
    baseline); also the µs per row of validation alone and of the whole preparation."""
    engine = make_engine(url, pool_size=1)
    async with engine.connect() as conn:
        policy = await current_policy(AsyncSession(bind=conn))
    await engine.dispose()
    preparer = RecordPreparer(
        policy,
        StaticKeyProvider(settings.master_key),
        support.DEPT_CODE,
        dt.date.today(),
        authority_domain="market_regulation",
    )
    validate = validator_for(policy, RECORD_TYPE)
    receipt = uuid.uuid4()
    with path.open(encoding="utf-8", newline="") as source:
        reader = csv.reader(source)
        header = next(reader)
        fields = [{k: v for k, v in zip(header, values, strict=True) if v} for values in reader]
    started = time.perf_counter()
    for row in fields:
        validate(row)
    validated = time.perf_counter()
    rows: list[tuple[Any, ...]] = []
    for row in fields:
        p = preparer.prepare(RECORD_TYPE, None, row)
        if isinstance(p, RejectedRecord):
            raise RuntimeError(f"the bench file has an invalid row: {p.errors}")
        rows.append(
            (
                p.uscc,
                p.source_dept,
                p.source_record_id,
                1,
                True,
                p.record_type,
                p.type_version,
                orjson.dumps(p.content).decode(),
                p.content_hash,
                p.decision_date,
                p.severity,
                p.publicity_rule,
                p.published,
                p.repair_from,
                p.publish_until,
                p.late,
                None,
                support.DEPT_CODE,
                receipt,
                p.scheme_version,
                orjson.dumps(p.sealed).decode() if p.sealed else None,
                orjson.dumps(p.tags).decode() if p.tags else None,
                p.key_version,
                p.wrapped_key,
                p.id_index,
            )
        )
    prepared = time.perf_counter()
    n = max(len(fields), 1)
    timing = {
        "validate_us_per_row": (validated - started) / n * 1e6,
        "prepare_us_per_row": (prepared - validated) / n * 1e6,
    }
    return rows, timing


async def baseline_copy(url: URL, rows: list[tuple[Any, ...]]) -> float:
    """Seconds for raw COPY of `rows` into an empty `records` (committed), the table emptied after."""
    conn = await asyncpg.connect(asyncpg_dsn(support.owner_of(url)))
    try:
        await conn.execute("TRUNCATE records")
        started = time.perf_counter()
        async with conn.transaction():
            await conn.copy_records_to_table("records", records=rows, columns=RECORD_COLUMNS)
        seconds = time.perf_counter() - started
        stored = await conn.fetchval("SELECT count(*) FROM records")
        if stored != len(rows):
            raise RuntimeError(f"baseline stored {stored} rows, expected {len(rows)}")
    finally:
        await conn.close()
    await empty_tables(url)
    return seconds


async def empty_tables(url: URL) -> None:
    """Back to an empty archive, with statistics that say so (as on a new deployment)."""
    conn = await asyncpg.connect(asyncpg_dsn(support.owner_of(url)))
    try:
        await conn.execute("TRUNCATE records, entities, bulk_receipts CASCADE")
        await conn.execute("VACUUM ANALYZE records, entities")
    finally:
        await conn.close()


async def run_worker(url: URL, token: str, path: Path) -> dict[str, Any]:
    """One push in a fresh interpreter; its JSON report."""
    config = {"url": url.render_as_string(hide_password=False), "token": token, "file": str(path)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.bench.push_worker",
        cwd=PROJECT_ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate(orjson.dumps(config))
    if process.returncode != 0:
        raise RuntimeError(f"push worker failed with exit code {process.returncode}")
    push: dict[str, Any] = orjson.loads(out)["pushes"][0]
    return push


async def count_records(url: URL) -> int:
    conn = await asyncpg.connect(asyncpg_dsn(support.owner_of(url)))
    try:
        return int(await conn.fetchval("SELECT count(*) FROM records"))
    finally:
        await conn.close()


async def run(
    rows: int | None = None, *, database: str = support.BENCH_DATABASE, settings: Settings | None = None
) -> dict[str, Any]:
    rows = rows or support.bench_rows()
    settings = settings or support.bench_settings()
    url = await support.fresh_database(settings, database)
    dept = await support.department(url)
    path = WORK_DIR / f"{database}-penalties-{rows}.csv"
    started = time.perf_counter()
    size = support.write_penalty_csv(path, rows, dept.code)
    generated = time.perf_counter() - started

    tuples, prepare_timing = await prepared_rows(url, settings, path)
    baseline_seconds = await baseline_copy(url, tuples)
    del tuples

    first = await run_worker(url, dept.token, path)
    after_first = await count_records(url)
    second = await run_worker(url, dept.token, path)
    after_second = await count_records(url)
    path.unlink()
    receipt1, receipt2 = first["receipt"], second["receipt"]
    if (receipt1["created"], receipt1["rejected"], after_first) != (rows, 0, rows):
        raise RuntimeError(f"first push: {receipt1}, {after_first} rows in records")
    if (receipt2["unchanged"], receipt2["created"], receipt2["updated"], after_second) != (rows, 0, 0, rows):
        raise RuntimeError(f"re-push: {receipt2}, {after_second} rows in records")

    baseline_rate = rows / baseline_seconds
    push_rate = rows / first["seconds"]
    repush_rate = rows / second["seconds"]
    return {
        "rows": rows,
        "file_bytes": size,
        "file_seconds": generated,
        "baseline_rows_per_s": baseline_rate,
        "push_rows_per_s": push_rate,
        "ratio": push_rate / baseline_rate,
        "repush_rows_per_s": repush_rate,
        "repush_vs_push": repush_rate / push_rate,
        "records_after_push": after_first,
        "records_after_repush": after_second,
        "push_rss_growth_mib": first["rss_growth"] / 2**20,
        "repush_rss_growth_mib": second["rss_growth"] / 2**20,
        **prepare_timing,
    }


def report(result: dict[str, Any]) -> list[str]:
    return [
        f"bulk push of {result['rows']:,} rows ({result['file_bytes'] / 2**20:.0f} MiB CSV, "
        f"written in {result['file_seconds']:.1f} s)",
        f"  baseline raw COPY     {result['baseline_rows_per_s']:>10,.0f} rows/s",
        f"  pushRecordsFile       {result['push_rows_per_s']:>10,.0f} rows/s   "
        f"ratio {result['ratio']:.2f} (target >= 0.35)",
        f"  re-push (unchanged)   {result['repush_rows_per_s']:>10,.0f} rows/s   "
        f"{result['repush_vs_push']:.2f} of the first push (target >= 0.5)",
        f"  records after push / re-push: {result['records_after_push']:,} / "
        f"{result['records_after_repush']:,}",
        f"  validation {result['validate_us_per_row']:.1f} µs/row; whole prepare() "
        f"{result['prepare_us_per_row']:.1f} µs/row",
    ]
