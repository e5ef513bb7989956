"""`make bench`: every benchmark, each as a ratio to a baseline measured in the same run.

Prints each figure and writes the JSON summary to .data/bench.json. BENCH_ROWS (default 1,000,000)
scales the bulk push, BENCH_ROTATION_ROWS (default 100,000) the key rotation; the benchmarks use
databases of their own (hub_bench, hub_bench_lookup, …), created fresh, never the dev or test database.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import platform
import time
from pathlib import Path
from typing import Any

import orjson

from hub.settings import PROJECT_ROOT
from tests.bench import (
    access_log,
    authorized_profile,
    bulk_push,
    entity_lookup,
    inspection_draw,
    key_rotation,
    masking,
    memory,
    record_states,
    regrade,
    supervision_batch,
    support,
)

SUMMARY = PROJECT_ROOT / ".data" / "bench.json"


async def main() -> dict[str, Any]:
    rows = support.bench_rows()
    started = time.perf_counter()
    results: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }

    bulk = await bulk_push.run(rows)
    results["bulk_push"] = bulk
    print("\n".join(bulk_push.report(bulk)), flush=True)

    # The bulk benchmark's first push already measured the peak at BENCH_ROWS rows.
    mem = await memory.run((min(100_000, rows), rows), known={rows: bulk["push_rss_growth_mib"]})
    results["memory"] = mem
    print("\n".join(memory.report(mem)), flush=True)

    lookup = await entity_lookup.run()
    results["entity_lookup"] = lookup
    print("\n".join(entity_lookup.report(lookup)), flush=True)
    results["masking"] = masking.run()
    print("\n".join(masking.report(results["masking"])), flush=True)
    results["inspection_draw"] = await inspection_draw.main()
    results["regrade"] = await regrade.main()
    results["supervision_batch"] = await supervision_batch.main()
    results["authorized_profile"] = await authorized_profile.main()
    states = await record_states.run()
    results["record_states"] = states
    print("\n".join(record_states.report(states)), flush=True)
    rotation = results["key_rotation"] = await key_rotation.run()
    print("\n".join(key_rotation.report(rotation)), flush=True)
    results["access_log"] = await access_log.main()

    results["seconds"] = time.perf_counter() - started
    write_summary(results)
    print(f"summary written to {SUMMARY} ({results['seconds']:.0f} s)")
    return results


def write_summary(results: dict[str, Any], path: Path = SUMMARY) -> None:
    """The JSON summary. Some figures are keyed by a size (statements per supervisionBatch of 10 and
    1,000 codes): orjson refuses int keys unless told to write them as strings."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))


if __name__ == "__main__":
    asyncio.run(main())
