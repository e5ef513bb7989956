"""Migrations build the database; they go down and up again; models and migrations never drift."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession

from hub import migrate
from hub.crypto import StaticKeyProvider, unseal
from hub.db import make_engine
from hub.inspections.service import SEED_PURPOSE
from hub.records.policy import sync_bundled


async def _tables(url: URL) -> set[str]:
    engine = make_engine(url, pool_size=1)
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
        found = {r[0] for r in rows}
    await engine.dispose()
    return found


async def test_upgrade_downgrade_upgrade_and_no_drift(test_url: URL, engine) -> None:
    # `engine` first: the session's database is built and its catalogue loaded before we tear it down.
    before = await _tables(test_url)
    assert {"records", "entities", "outbox", "api_tokens", "catalog_documents"} <= before
    await asyncio.to_thread(migrate.downgrade, test_url, "base")
    assert await _tables(test_url) == {"alembic_version"}
    await asyncio.to_thread(migrate.upgrade, test_url, "head")
    assert await _tables(test_url) == before
    await asyncio.to_thread(migrate.check, test_url)
    # Later tests need the catalogue the downgrade removed.
    async with engine.begin() as conn:
        await sync_bundled(AsyncSession(bind=conn))


PLAN_COMMITTED = "00000000-0000-0000-0000-00000000000a"
PLAN_DRAWN = "00000000-0000-0000-0000-00000000000b"
SEED = "11" * 32


async def _run(url: URL, *statements: str) -> list[list[tuple]]:
    engine = make_engine(url, pool_size=1)
    results = []
    async with engine.begin() as conn:
        for statement in statements:
            result = await conn.execute(text(statement))
            results.append([tuple(r) for r in result] if result.returns_rows else [])
    await engine.dispose()
    return results


async def test_0003_moves_plans_into_documents_and_seals_unrevealed_seeds(
    test_url: URL, engine, settings
) -> None:
    """Plans made before 0003 (a million rows per list, plain seeds) keep every fact through it and back."""
    await asyncio.to_thread(migrate.downgrade, test_url, "0002")
    try:
        plan_columns = (
            "id, domain, department_code, period, title, status, algorithm, seed_commitment, "
            "candidates_hash, inspectors_hash, candidate_count, parameters, seed, created_by"
        )
        await _run(
            test_url,
            f"""INSERT INTO inspection_plans ({plan_columns}) VALUES
                ('{PLAN_COMMITTED}', 'd', 'D1', 'p', 't', 'committed', 'chub-draw-v1', 'c', 'h', 'i', 2,
                 '{{"conflicts": {{"ZF1": ["U2"]}}}}', '{SEED}', 'D1'),
                ('{PLAN_DRAWN}', 'd', 'D1', 'p', 't', 'drawn', 'chub-draw-v1', 'c', 'h', 'i', 2,
                 '{{"conflicts": {{}}}}', '{"22" * 32}', 'D1')""",
            f"""INSERT INTO plan_candidates (plan_id, uscc, category, drawn, inspector_a, inspector_b) VALUES
                ('{PLAN_COMMITTED}', 'U2', 'minor', false, NULL, NULL),
                ('{PLAN_COMMITTED}', 'U1', 'serious', false, NULL, NULL),
                ('{PLAN_DRAWN}', 'U1', 'serious', true, 'ZF1', 'ZF2'),
                ('{PLAN_DRAWN}', 'U3', 'minor', false, NULL, NULL)""",
        )
        await asyncio.to_thread(migrate.upgrade, test_url, "0003")
        lists, assignments, conflicts, seeds = await _run(
            test_url,
            "SELECT plan_id::text, convert_from(canonical, 'UTF8') FROM plan_candidate_lists ORDER BY plan_id",
            "SELECT plan_id::text, uscc, category, inspector_a, inspector_b FROM plan_assignments",
            "SELECT plan_id::text, inspector_id, uscc FROM plan_conflicts",
            "SELECT id, seed, sealed_seed, parameters FROM inspection_plans ORDER BY id",
        )
        assert lists == [(PLAN_COMMITTED, "U1,serious\nU2,minor\n"), (PLAN_DRAWN, "U1,serious\nU3,minor\n")]
        assert assignments == [(PLAN_DRAWN, "U1", "serious", "ZF1", "ZF2")]
        assert conflicts == [(PLAN_COMMITTED, "ZF1", "U2")]
        (committed_id, committed_seed, sealed, committed_params), drawn = seeds
        assert committed_seed is None and bytes.fromhex(SEED) not in bytes(sealed)
        keys = StaticKeyProvider(settings.master_key)
        assert unseal(keys, SEED_PURPOSE, bytes(sealed), committed_id.bytes).hex() == SEED
        assert "conflicts" not in committed_params
        assert drawn[1] == "22" * 32 and drawn[2] is None  # a revealed seed stays revealed

        await asyncio.to_thread(migrate.downgrade, test_url, "0002")
        candidates, plans = await _run(
            test_url,
            "SELECT plan_id::text, uscc, category, drawn, inspector_a, inspector_b FROM plan_candidates "
            "ORDER BY plan_id, uscc",
            "SELECT seed, parameters FROM inspection_plans ORDER BY id",
        )
        assert candidates == [
            (PLAN_COMMITTED, "U1", "serious", False, None, None),
            (PLAN_COMMITTED, "U2", "minor", False, None, None),
            (PLAN_DRAWN, "U1", "serious", True, "ZF1", "ZF2"),
            (PLAN_DRAWN, "U3", "minor", False, None, None),
        ]
        assert plans == [(SEED, {"conflicts": {"ZF1": ["U2"]}}), ("22" * 32, {"conflicts": {}})]
    finally:
        await _run(test_url, f"DELETE FROM inspection_plans WHERE id IN ('{PLAN_COMMITTED}', '{PLAN_DRAWN}')")
        await asyncio.to_thread(migrate.upgrade, test_url, "head")
