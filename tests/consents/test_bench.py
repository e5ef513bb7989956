"""The authorizedProfile benchmark at a tiny size, in a database of its own: its outputs, never its timings."""

from __future__ import annotations

from tests.bench import authorized_profile


async def test_the_benchmark_reads_under_the_grant_and_without_it():
    result = await authorized_profile.run(requests=4, block=2, rounds=5)
    assert result["requests"] == 4
    assert result["granted_per_second"] > 0 and result["ungranted_per_second"] > 0
    assert set(result["signature"]) == {"check_ms", "raw_verify_ms", "ratio_to_raw"}
    assert len(authorized_profile.report(result)) == 3
