"""The regrade benchmark at a tiny size, in a database of its own: its outputs, never its timings."""

from __future__ import annotations

import os

from tests.bench import regrade


async def test_the_regrade_benchmark_grades_like_the_baseline(settings):
    database = f"hub_bench_regrade_test_{os.getpid()}"
    try:
        result = await regrade.run(2000, database=database, settings=settings)
    finally:
        await regrade.drop_database(settings, database)
    first, same, changed = result["first"], result["same"], result["changed"]
    assert result["entities"] == first["entities"] == 2000
    # Every entity is scored or falls below every band; the hub's grades and scores equal the baseline's.
    assert first["scored"] + first["ungraded"] == 2000 and first["incomplete"] == 0
    assert 0 < first["ungraded"] < 1000
    assert (first["created"], first["updated"], first["withdrawn"]) == (first["scored"], 0, 0)
    assert first["results"] == first["versions"] == first["scored"]
    assert first["classificationChanges"] == first["scored"]
    # The same values again write nothing.
    assert [same[k] for k in ("created", "updated", "classificationChanges")] == [0, 0, 0]
    assert same["unchanged"] == first["scored"]
    assert same["versions"] == first["versions"]
    # 10 % of the entities changed: new versions (or new results, or withdrawn ones) for some of them only.
    assert changed["created"] + changed["updated"] + changed["withdrawn"] > 0
    assert changed["created"] + changed["updated"] + changed["withdrawn"] <= 200
    assert changed["versions"] == first["versions"] + changed["created"] + changed["updated"]
    assert changed["results"] == changed["scored"]
    for run in (first, same, changed):
        assert (run["grade_mismatches"], run["score_mismatches"]) == (0, 0), run
    assert result["baseline_entities_per_s"] > 0 and result["ratio"] > 0
