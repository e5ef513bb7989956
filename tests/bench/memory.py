"""Benchmark 2: peak RSS growth of the process that runs a bulk push, at two file sizes.

The push streams the file (staged to disk by the multipart parser, read a chunk at a time, COPY'd
in batches), so its memory must not depend on the file's size: both figures should be about the same.
Each push runs in a fresh interpreter (tests.bench.push_worker), which reports its peak RSS
(ru_maxrss) minus its RSS just before the request, the app being imported and warm.
"""

from __future__ import annotations

from typing import Any

from hub.settings import Settings
from tests.bench import bulk_push, support

# Within this much of each other, the two peaks count as flat (allocator noise, batch sizes).
FLAT_MIB = 32.0


async def run(
    sizes: tuple[int, ...] | None = None,
    *,
    known: dict[int, float] | None = None,
    database: str = support.BENCH_DATABASE,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """`known`: peaks (MiB) already measured for some sizes in this run, e.g. by the bulk benchmark."""
    sizes = sizes or (100_000, support.bench_rows())
    settings = settings or support.bench_settings()
    peaks = dict(known or {})
    missing = [n for n in sizes if n not in peaks]
    if missing:
        url = await support.fresh_database(settings, database)
        dept = await support.department(url)
        for rows in missing:
            await bulk_push.empty_tables(url)
            path = bulk_push.WORK_DIR / f"{database}-penalties-{rows}.csv"
            support.write_penalty_csv(path, rows, dept.code)
            push = await bulk_push.run_worker(url, dept.token, path)
            path.unlink()
            if push["receipt"]["created"] != rows:
                raise RuntimeError(f"push of {rows} rows: {push['receipt']}")
            peaks[rows] = push["rss_growth"] / 2**20
    small, large = min(sizes), max(sizes)
    return {
        "peak_rss_growth_mib": {str(n): peaks[n] for n in sizes},
        "small_rows": small,
        "large_rows": large,
        "large_vs_small": peaks[large] / peaks[small] if peaks[small] else float("inf"),
        "flat": abs(peaks[large] - peaks[small]) <= FLAT_MIB,
    }


def report(r: dict[str, Any]) -> list[str]:
    peaks = r["peak_rss_growth_mib"]
    shown = ", ".join(f"{int(n):,} rows: {mib:.1f} MiB" for n, mib in peaks.items())
    verdict = "flat" if r["flat"] else "NOT flat"
    return [
        "peak RSS growth of the pushing process",
        f"  {shown}   ({r['large_vs_small']:.2f}x, {verdict}: within {FLAT_MIB:.0f} MiB)",
    ]
