"""With every connection of a real server's pool held (requests waiting on a lock the test holds), a
new request is refused with 503 OVERLOADED within 3 s; the held requests are stopped at the end of
their time budget and their statements leave PostgreSQL within 1 s."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL

from tests.soak import scenarios


async def test_an_exhausted_pool_answers_503_within_3_s_and_timed_out_statements_are_cancelled(
    live_url: URL, tmp_path: Path
) -> None:
    figures = await scenarios.pool_exhausted(live_url, tmp_path / "hub.log")
    print("\n".join(figures.report()))
    assert figures.failures() == [], "\n".join(figures.report())
