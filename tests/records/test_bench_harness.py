"""The benchmarks of `make bench` (tests/bench/) run at a tiny size, so that the harness cannot rot.

Only what they produce is checked (rows stored, receipts, ratios computed), never their timings.
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson

from tests.bench import bulk_push, entity_lookup, memory, support
from tests.bench.__main__ import write_summary


def summary_of(results: dict[str, object], tmp_path: Path) -> dict[str, object]:
    """What `make bench` writes to .data/bench.json for these results, read back."""
    path = tmp_path / "bench.json"
    write_summary(results, path)
    written: dict[str, object] = orjson.loads(path.read_bytes())
    return written


async def test_benchmarks_run_at_a_tiny_size(tmp_path: Path) -> None:
    settings = support.bench_settings()
    database = f"hub_bench_test_{os.getpid()}"
    try:
        bulk = await bulk_push.run(2_000, database=database, settings=settings)
        # The push stored every row once; the re-push of the same file stored nothing more.
        assert (bulk["records_after_push"], bulk["records_after_repush"]) == (2_000, 2_000)
        assert bulk["ratio"] > 0 and bulk["repush_vs_push"] > 0
        assert bulk["validate_us_per_row"] > 0

        mem = await memory.run((1_000, 2_000), database=database, settings=settings)
        assert set(mem["peak_rss_growth_mib"]) == {"1000", "2000"}
        assert all(mib > 0 for mib in mem["peak_rss_growth_mib"].values())

        lookup = await entity_lookup.run(
            50, entities=100, per_entity=2, concurrency=4, database=database, settings=settings
        )
        # The bare route replays what the GraphQL request ran: the token, the entity, its records.
        assert (
            lookup["statements"] >= 3 and lookup["transactions"] == 1
        )  # the token look-up opens the request's one transaction
        assert lookup["ratio"] > 0 and lookup["hub_p99_ms"] >= lookup["hub_p50_ms"] > 0
        assert all(
            line for line in bulk_push.report(bulk) + memory.report(mem) + entity_lookup.report(lookup)
        )
        summary = summary_of({"bulk_push": bulk, "memory": mem, "entity_lookup": lookup}, tmp_path)
        assert set(summary) == {"bulk_push", "memory", "entity_lookup"}
    finally:
        await support.drop_database(settings, database)


async def test_supervision_batch_benchmark_runs_at_a_tiny_size(tmp_path: Path) -> None:
    from tests.bench import supervision_batch

    result = await supervision_batch.run(codes=40, requests=3)
    assert result["statements"][10] == result["statements"][40] > 0
    assert result["requests_per_second"] > 0
    # Keyed by batch size: the summary names the sizes as strings.
    summary = summary_of({"supervision_batch": result}, tmp_path)
    assert summary["supervision_batch"]["statements"] == {
        "10": result["statements"][10],
        "40": result["statements"][40],
    }


async def test_inspection_draw_benchmark_runs_at_a_tiny_size(tmp_path: Path) -> None:
    from tests.bench import inspection_draw

    database = f"hub_bench_draw_test_{os.getpid()}"
    try:
        result = await inspection_draw.run(300, database=database)
    finally:
        await support.drop_database(support.bench_settings(), database)
    # 70/20/8/2 % of 300 at ratios 0.05, 0.2, 0.6 and all serious (the run itself checks that the
    # publication verifies, was kept by the first public read and is served unchanged afterwards).
    assert result["candidates"] == 300
    assert result["drawn"] == {"trustworthy": 11, "minor": 12, "general": 15, "serious": 6}
    assert result["total_seconds"] > 0 and all(line for line in inspection_draw.report(result))
    assert summary_of({"inspection_draw": result}, tmp_path)["inspection_draw"] == result
