"""`make soak`: the load and fault scenarios of tests/soak at full length, with their figures.

2× saturation for SOAK_SECONDS (default 60), the exhausted pool, PostgreSQL restarted three times
under writes for SOAK_SECONDS, /healthz while each of the worst requests runs, then all three,
for a quarter of that each; then the
suite's tests of the shared LISTEN connection (200 subscriptions) and of SIGTERM, whose figures
they assert. Each scenario serves a database of its own (hub_soak, dropped afterwards; the restart
scenario a PostgreSQL server of its own); the servers' logs go to .data/soak/. Exits 1 if any figure
misses the issue's limit (accepted p99 ≤ 2× unloaded, /healthz p99 ≤ 100 ms, …).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

from hub.settings import PROJECT_ROOT
from tests.bench import support
from tests.soak import scenarios

LOGS = PROJECT_ROOT / ".data" / "soak"
DATABASE = "hub_soak"
SUITE_TESTS = [
    "tests/grading/test_subscription_hub.py::test_two_hundred_subscriptions_share_one_database_connection",
    "tests/test_lifecycle.py::test_sigterm_stops_the_hub_and_its_embedded_postgres",
]


def _suite_tests() -> list[str]:
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SUITE_TESTS],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    print(
        f"200 subscriptions on one process share one LISTEN connection; SIGTERM leaves no PostgreSQL "
        f"(tests of the suite): {'passed' if run.returncode == 0 else 'FAILED'} in {seconds:.0f} s",
        flush=True,
    )
    return [] if run.returncode == 0 else [run.stdout[-2000:]]


async def main() -> int:
    seconds = float(os.environ.get("SOAK_SECONDS", 60))
    LOGS.mkdir(parents=True, exist_ok=True)
    settings = support.bench_settings()
    url = await support.fresh_database(settings, DATABASE)
    failed: list[str] = []
    try:
        saturation = await scenarios.saturation(url, LOGS / "saturation.log", seconds)
        print("\n".join(saturation.report()), flush=True)
        failed += saturation.failures()
        pool = await scenarios.pool_exhausted(url, LOGS / "pool.log")
        print("\n".join(pool.report()), flush=True)
        failed += pool.failures()
        restart = await scenarios.restart_under_writes(LOGS / "restart.log", seconds, restarts=3)
        print("\n".join(restart.report()), flush=True)
        failed += restart.failures()
        healthz = await scenarios.healthz_under_the_worst(
            url,
            LOGS / "healthz.log",
            seconds / 4,
            together=True,
            candidates=int(os.environ.get("SOAK_DRAW_CANDIDATES", scenarios.DRAW_CANDIDATES)),
        )
        print("\n".join(healthz.report()), flush=True)
        failed += healthz.failures()
    finally:
        await support.drop_database(settings, DATABASE)
    failed += _suite_tests()
    for failure in failed:
        print(f"FAILED: {failure}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
