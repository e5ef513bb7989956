"""Benchmark: `credit-hub keys rotate` over a table of sealed records, at two table sizes.

N penalties (BENCH_ROTATION_ROWS, default 100,000; 1,000,000 for the issue's figure) with a legal
representative each (two sealed fields per row) are written under wrapping key version 1 of a local key
file; version 2 is added and the hub's rotation (hub.records.sealing.service.rotate, the CLI's loop:
batches of HUB_ROTATION_BATCH_ROWS rows, one short transaction each) moves every row onto it, in this
process; then `credit-hub keys rotate` itself, in its own process, adds version 3 and moves every row
again, its peak RSS sampled every 5 ms (it should not grow with the table: a batch at a time).
Baseline, same run and table: one `UPDATE records SET wrapped_key = wrapped_key` as the
owner, PostgreSQL rewriting every row once with no cryptography and no round trips: the floor of any
re-encryption. The ratio is the rotation's rows/s to it. Afterwards 0 rows are on
version 1 and a sample of rows opens to the values written.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import psutil
from sqlalchemy.engine import URL

from adapters.keyfile import KeyFile
from hub.catalog.record_types import load_bundled
from hub.crypto import KeyRing, new_wrapping_key
from hub.db import asyncpg_dsn, make_engine, make_sessionmaker
from hub.ports import KeyProvider
from hub.records.sealing.fields import Sealer, opened_content
from hub.records.sealing.service import rotate
from hub.settings import PROJECT_ROOT, Settings
from tests.bench import support
from tests.bench.bulk_push import RECORD_COLUMNS

DATABASE = "hub_bench_rotation"
WORK_DIR = PROJECT_ROOT / ".data" / "bench"
FLAT_MIB = 16.0


def rotation_rows(default: int = 100_000) -> int:
    return int(os.environ.get("BENCH_ROTATION_ROWS", default))


def sealed_rows(keys: KeyProvider, rows: int, start: int = 0) -> Iterator[tuple[Any, ...]]:
    """`rows` sealed penalty rows (one company each, a legal representative each), as RECORD_COLUMNS tuples."""
    definition = load_bundled()["administrative_penalty"]
    sealer = Sealer(keys)
    decided = dt.date.today() - dt.timedelta(days=3)
    for i in range(start, start + rows):
        uscc = support.company(i)
        record_id = f"哈市监罚〔2026〕{i}号"
        values = {
            "XDR_MC": f"哈尔滨市某某商贸有限公司{i}",
            "XDR_LB": "法人及非法人组织",
            "XDR_SHXYM": uscc,
            "WSH": record_id,
            "FRDB": f"王某{i % 1000}",
            "FR_ZJLX": "身份证",
            "FR_ZJHM": representative_id(i),
            "JDRQ": decided.isoformat(),
        }
        stored = sealer.seal(definition, uscc, support.DEPT_CODE, record_id, values)
        yield (
            uscc,
            support.DEPT_CODE,
            record_id,
            1,
            True,
            "administrative_penalty",
            1,
            stored.content_json.decode(),
            stored.content_hash,
            decided,
            None,  # severity
            None,  # publicity_rule
            True,  # published
            None,  # repair_from
            None,  # publish_until
            None,  # late
            None,  # changed_fields
            support.DEPT_CODE,
            None,  # receipt_id
            None,  # scheme_version
            orjson.dumps(stored.sealed).decode(),
            orjson.dumps(stored.tags).decode(),
            stored.key_version,
            stored.wrapped_key,
            stored.id_index,
        )


def representative_id(i: int) -> str:
    """Any 18 characters will do here (the bench writes rows directly, unvalidated)."""
    return f"230102{1960 + i % 40}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}X"


async def fill(owner_url: URL, keys: KeyProvider, rows: int, chunk: int = 20_000) -> None:
    """Write `rows` sealed rows into `records` (as the owner: a set-up, not the hub's path)."""
    conn = await asyncpg.connect(asyncpg_dsn(owner_url))
    try:
        for start in range(0, rows, chunk):
            batch = list(sealed_rows(keys, min(chunk, rows - start), start))
            await conn.copy_records_to_table("records", records=batch, columns=RECORD_COLUMNS)
        await conn.execute("VACUUM ANALYZE records")
    finally:
        await conn.close()


def fresh_key_file(path: Path) -> KeyFile:
    """A new key file at `path` (one there is replaced) with version 1."""
    path.unlink(missing_ok=True)
    return KeyFile(path, create=True, first_key=new_wrapping_key())


async def rotate_command(url: URL, settings: Settings, key_file: Path) -> tuple[float, int]:
    """`credit-hub keys rotate` as an operator runs it (a third version, every row onto it), in its own
    process: (seconds, peak RSS in bytes, sampled every 5 ms)."""
    env = {
        **os.environ,
        "HUB_DATABASE_URL": url.render_as_string(hide_password=False),
        "HUB_KEY_FILE": str(key_file),
        "HUB_MASTER_KEY": settings.master_key.get_secret_value(),
        "HUB_ROTATION_BATCH_ROWS": str(settings.rotation_batch_rows),
    }
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hub.cli",
        "keys",
        "rotate",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        cwd=PROJECT_ROOT,
    )
    watched, peak = psutil.Process(process.pid), 0
    while process.returncode is None:
        with contextlib.suppress(psutil.Error):
            peak = max(peak, watched.memory_info().rss)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), 0.005)
    out = (await process.stdout.read()).decode() if process.stdout else ""
    if process.returncode != 0 or "rows on an older version: 0" not in out:
        raise RuntimeError(f"keys rotate failed ({process.returncode}): {out}")
    return time.perf_counter() - started, peak


async def baseline_rewrite(url: URL) -> float:
    conn = await asyncpg.connect(asyncpg_dsn(support.owner_of(url)))
    try:
        started = time.perf_counter()
        await conn.execute("UPDATE records SET wrapped_key = wrapped_key")
        seconds = time.perf_counter() - started
        await conn.execute("VACUUM ANALYZE records")
    finally:
        await conn.close()
    return seconds


async def one_size(url: URL, settings: Settings, rows: int, key_file: Path) -> dict[str, Any]:
    conn = await asyncpg.connect(asyncpg_dsn(support.owner_of(url)))
    await conn.execute("TRUNCATE records")
    await conn.close()
    material = fresh_key_file(key_file)
    keys = KeyRing(settings.master_key, material)
    await fill(support.owner_of(url), keys, rows)
    baseline = await baseline_rewrite(url)
    material.add(new_wrapping_key())
    engine = make_engine(url, pool_size=1)
    try:
        started = time.perf_counter()
        moved = await rotate(make_sessionmaker(engine), keys, settings.rotation_batch_rows)
        seconds = time.perf_counter() - started
    finally:
        await engine.dispose()
    conn = await asyncpg.connect(asyncpg_dsn(support.owner_of(url)))
    try:
        versions = dict(await conn.fetch("SELECT key_version, count(*) FROM records GROUP BY 1"))
        sample = await conn.fetch(
            "SELECT uscc, source_dept, source_record_id, content, content_hash, sealed, key_version, "
            "wrapped_key FROM records ORDER BY random() LIMIT 100"
        )
    finally:
        await conn.close()
    if moved != rows or versions != {2: rows}:
        raise RuntimeError(f"rotation moved {moved} of {rows} rows; rows by version: {versions}")
    command_seconds, peak_rss = await rotate_command(url, settings, key_file)
    for row in sample:
        opened = opened_content(keys, _Row(row))
        i = int(opened["WSH"].split("〕")[1].rstrip("号"))
        if opened["FR_ZJHM"] != representative_id(i):
            raise RuntimeError(f"row {i} opens to another value after the rotation")
    return {
        "rows": rows,
        "rotation_rows_per_s": rows / seconds,
        "baseline_rows_per_s": rows / baseline,
        "ratio": baseline / seconds,
        "command_seconds": command_seconds,
        "peak_rss_mib": peak_rss / 2**20,
    }


class _Row:
    """An asyncpg record with attribute access, JSON columns parsed."""

    def __init__(self, record: Any) -> None:
        for name, value in record.items():
            setattr(self, name, orjson.loads(value) if name in ("content", "sealed") else value)


async def run(sizes: tuple[int, ...] | None = None, settings: Settings | None = None) -> dict[str, Any]:
    rows = rotation_rows()
    sizes = sizes or (rows // 10, rows)
    settings = settings or support.bench_settings()
    url = await support.fresh_database(settings, DATABASE)
    results = [await one_size(url, settings, n, WORK_DIR / f"{DATABASE}-keys.json") for n in sizes]
    small, large = results[0], results[-1]
    return {
        "batch_rows": settings.rotation_batch_rows,
        "sizes": results,
        "large_vs_small_rate": large["rotation_rows_per_s"] / small["rotation_rows_per_s"],
        "memory_flat": abs(large["peak_rss_mib"] - small["peak_rss_mib"]) <= FLAT_MIB,
    }


def report(r: dict[str, Any]) -> list[str]:
    lines = [f"key rotation (batches of {r['batch_rows']} rows, two sealed fields per row)"]
    for size in r["sizes"]:
        lines.append(
            f"  {size['rows']:>9,} rows: {size['rotation_rows_per_s']:>8,.0f} rows/s "
            f"(baseline UPDATE {size['baseline_rows_per_s']:>9,.0f} rows/s, {size['ratio']:.2f}x), "
            f"`keys rotate` {size['command_seconds']:.1f} s, peak RSS {size['peak_rss_mib']:.0f} MiB"
        )
    verdict = "flat" if r["memory_flat"] else "NOT flat"
    lines.append(
        f"  rate large/small {r['large_vs_small_rate']:.2f}x; memory {verdict} (within {FLAT_MIB:.0f} MiB)"
    )
    return lines


if __name__ == "__main__":
    print("\n".join(report(asyncio.run(run()))), flush=True)
