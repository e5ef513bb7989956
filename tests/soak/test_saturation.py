"""At twice the rate `entity(uscc)` saturates a real `credit-hub serve` process, offered open-loop,
the hub refuses what it cannot serve at once (503 with Retry-After, JSON) and serves the rest about
as fast as when it is idle; once the load stops it is back to normal at once."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL

from tests.soak import scenarios

SECONDS = 5.0
# The load's first second is left out of the figures: the burst an idle process lets wait in its queue
# (hub.web.limits.AdmissionLimit.BURST requests, up to 0.25 s each) is dozens of answers among the 1,500
# of 5 s, enough to be the p99 of so few. `make soak` counts the whole 60 s, its start included.
WARMUP = 1.0
# The figure is 2×, which `make soak` checks at full length. Here, 5 s on a 2-core machine that
# other work shares: the p99 of a few hundred answers is the few slowest, so the margin is wider; the
# same scenario without the adaptive limit (HUB_MIN_CONCURRENT_REQUESTS=HUB_MAX_CONCURRENT_REQUESTS=100)
# measures 30–100×.
LATENCY_RATIO = 3.0


async def test_at_twice_saturation_only_503s_with_retry_after_and_accepted_requests_stay_fast(
    live_url: URL, tmp_path: Path
) -> None:
    figures = await scenarios.saturation(live_url, tmp_path / "hub.log", SECONDS, warmup=WARMUP)
    print("\n".join(figures.report()))
    assert figures.failures(LATENCY_RATIO) == [], "\n".join(figures.report())
