"""PostgreSQL restarted under a real server's write load: no acknowledged push is lost, every failure is
a JSON 503 with Retry-After, and the hub serves again within 10 s."""

from __future__ import annotations

from pathlib import Path

from tests.soak import scenarios


async def test_a_postgres_restart_under_writes_loses_no_acknowledged_push_and_serves_again_within_10_s(
    tmp_path: Path,
) -> None:
    figures = await scenarios.restart_under_writes(tmp_path / "hub.log", seconds=6)
    print("\n".join(figures.report()))
    assert figures.failures() == [], "\n".join(figures.report())
