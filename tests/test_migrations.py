"""Migrations build the database; they go down and up again; models and migrations never drift."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession

from hub import migrate
from hub.catalog.policy import sync_bundled
from hub.crypto import unseal
from hub.db import make_engine
from hub.inspections.service import SEED_PURPOSE
from tests.databases import Roles


async def _tables(url: URL) -> set[str]:
    engine = make_engine(url, pool_size=1)
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
        found = {r[0] for r in rows}
    await engine.dispose()
    return found


async def test_upgrade_downgrade_upgrade_and_no_drift(
    roles: Roles, test_database: str, owner_url: URL, engine
) -> None:
    # `engine` first: the session's database is built and its catalogue loaded before we tear it down.
    before = await _tables(owner_url)
    assert {"records", "entities", "outbox", "api_tokens", "catalog_documents"} <= before
    await roles.migrate(test_database, "base", down=True)
    assert await _tables(owner_url) == {"alembic_version"}
    await roles.migrate(test_database, "head")
    assert await _tables(owner_url) == before
    await asyncio.to_thread(migrate.check, owner_url)
    # Later tests need the catalogue the downgrade removed.
    async with engine.begin() as conn:
        await sync_bundled(AsyncSession(bind=conn))


PLAN_COMMITTED = "00000000-0000-0000-0000-00000000000a"
PLAN_DRAWN = "00000000-0000-0000-0000-00000000000b"
PLAN_EMPTY = "00000000-0000-0000-0000-00000000000c"
PLAN_NULL = "00000000-0000-0000-0000-00000000000d"
SEED = "11" * 32
PLAN_COLUMNS = (
    "id, domain, department_code, period, title, status, algorithm, seed_commitment, "
    "candidates_hash, inspectors_hash, candidate_count, parameters, seed, created_by"
)


def _sha(text_: str) -> str:
    return hashlib.sha256(text_.encode()).hexdigest()


def _plan_row(plan_id: str, status: str, canonical: str, parameters: str, seed: str) -> str:
    return (
        f"('{plan_id}', 'd', 'D1', 'p', 't', '{status}', 'chub-draw-v1', 'c', '{_sha(canonical)}', 'i', "
        f"{canonical.count(chr(10))}, '{parameters}', '{seed}', 'D1')"
    )


async def _run(url: URL, *statements: str) -> list[list[tuple]]:
    engine = make_engine(url, pool_size=1)
    results = []
    async with engine.begin() as conn:
        for statement in statements:
            result = await conn.execute(text(statement))
            results.append([tuple(r) for r in result] if result.returns_rows else [])
    await engine.dispose()
    return results


async def _old_plans(url: URL, committed_hash_of: str = "U1,serious\nU2,minor\n") -> None:
    """Plans as 0002 kept them: one row per candidate, conflicts in the parameters, plain seeds."""
    rows = ", ".join(
        [
            _plan_row(PLAN_COMMITTED, "committed", committed_hash_of, '{"conflicts": {"ZF1": ["U2"]}}', SEED),
            _plan_row(
                PLAN_DRAWN, "drawn", "U1,serious\nU3,minor\n", '{"conflicts": {"ZF3": ["U3"]}}', "22" * 32
            ),
            _plan_row(PLAN_EMPTY, "committed", "", '{"ratios": {}}', "33" * 32),
            _plan_row(PLAN_NULL, "drawn", "", '{"conflicts": null}', "44" * 32),
        ]
    )
    await _run(
        url,
        f"INSERT INTO inspection_plans ({PLAN_COLUMNS}) VALUES {rows}",
        f"""INSERT INTO plan_candidates (plan_id, uscc, category, drawn, inspector_a, inspector_b) VALUES
            ('{PLAN_COMMITTED}', 'U2', 'minor', false, NULL, NULL),
            ('{PLAN_COMMITTED}', 'U1', 'serious', false, NULL, NULL),
            ('{PLAN_DRAWN}', 'U1', 'serious', true, 'ZF1', 'ZF2'),
            ('{PLAN_DRAWN}', 'U3', 'minor', false, NULL, NULL)""",
    )


async def _drop_old_plans(url: URL) -> None:
    ids = ", ".join(f"'{i}'" for i in (PLAN_COMMITTED, PLAN_DRAWN, PLAN_EMPTY, PLAN_NULL))
    await _run(url, f"DELETE FROM inspection_plans WHERE id IN ({ids})")


async def test_0003_moves_plans_into_documents_and_seals_unrevealed_seeds(
    roles: Roles, test_database: str, owner_url: URL, engine, keys
) -> None:
    """Plans made before 0003 (a row per candidate, plain seeds) keep every fact through it and back."""
    await roles.migrate(test_database, "0002", down=True)
    try:
        await _old_plans(owner_url)
        await roles.migrate(test_database, "0003")
        lists, assignments, conflicts, seeds = await _run(
            owner_url,
            "SELECT plan_id::text, convert_from(canonical, 'UTF8') FROM plan_candidate_lists ORDER BY plan_id",
            "SELECT plan_id::text, uscc, category, inspector_a, inspector_b FROM plan_assignments",
            "SELECT plan_id::text, inspector_id, uscc FROM plan_conflicts ORDER BY plan_id",
            "SELECT id, seed, sealed_seed, parameters FROM inspection_plans WHERE id::text LIKE '00000000%' "
            "ORDER BY id",
        )
        assert lists == [
            (PLAN_COMMITTED, "U1,serious\nU2,minor\n"),
            (PLAN_DRAWN, "U1,serious\nU3,minor\n"),
            (PLAN_EMPTY, ""),
            (PLAN_NULL, ""),
        ]
        assert assignments == [(PLAN_DRAWN, "U1", "serious", "ZF1", "ZF2")]
        assert conflicts == [(PLAN_COMMITTED, "ZF1", "U2"), (PLAN_DRAWN, "ZF3", "U3")]
        by_id = {str(r[0]): r[1:] for r in seeds}
        committed_seed, sealed, committed_params = by_id[PLAN_COMMITTED]
        assert committed_seed is None and "conflicts" not in committed_params
        # Sealed under the hub's own key: the service opens it.
        assert unseal(keys, SEED_PURPOSE, bytes(sealed), uuid.UUID(PLAN_COMMITTED).bytes).hex() == SEED
        assert by_id[PLAN_EMPTY][0] is None and by_id[PLAN_EMPTY][1] is not None
        assert by_id[PLAN_DRAWN][:2] == ("22" * 32, None)  # a revealed seed stays revealed

        await roles.migrate(test_database, "0002", down=True)
        candidates, plans = await _run(
            owner_url,
            "SELECT plan_id::text, uscc, category, drawn, inspector_a, inspector_b FROM plan_candidates "
            "ORDER BY plan_id, uscc",
            "SELECT id::text, seed, parameters FROM inspection_plans WHERE id::text LIKE '00000000%' ORDER BY id",
        )
        assert candidates == [
            (PLAN_COMMITTED, "U1", "serious", False, None, None),
            (PLAN_COMMITTED, "U2", "minor", False, None, None),
            (PLAN_DRAWN, "U1", "serious", True, "ZF1", "ZF2"),
            (PLAN_DRAWN, "U3", "minor", False, None, None),
        ]
        assert plans == [
            (PLAN_COMMITTED, SEED, {"conflicts": {"ZF1": ["U2"]}}),
            (PLAN_DRAWN, "22" * 32, {"conflicts": {"ZF3": ["U3"]}}),
            (PLAN_EMPTY, "33" * 32, {"ratios": {}, "conflicts": {}}),
            (PLAN_NULL, "44" * 32, {"conflicts": {}}),
        ]
    finally:
        await _drop_old_plans(owner_url)
        await roles.migrate(test_database, "head")


async def test_0003_stops_when_a_frozen_list_no_longer_matches_its_published_hash(
    roles: Roles, test_database: str, owner_url: URL, engine
) -> None:
    await roles.migrate(test_database, "0002", down=True)
    try:
        await _old_plans(owner_url, committed_hash_of="U1,serious\n")  # U2 was added after the commitment
        with pytest.raises(RuntimeError, match=f"plan\\(s\\) {PLAN_COMMITTED} no longer match"):
            await roles.migrate(test_database, "0003")
        assert await _run(owner_url, "SELECT version_num FROM alembic_version") == [[("0002",)]]
    finally:
        await _drop_old_plans(owner_url)
        await roles.migrate(test_database, "head")


U = "91230102MA00000001"
D = "11230100000000027J"
R = "6f1c2a9e-0b7d-4c1e-9a55-3f0e8d2b7c41"


def _record(record_type: str, version: int) -> dict[str, object]:
    return {
        "source_dept": D,
        "source_record_id": f"r-{version}",
        "record_type": record_type,
        "version": version,
    }


def _bulk(record_type: str, **withdrawn: int) -> dict[str, object]:
    counts = {"created": 2, "updated": 1, **withdrawn}
    return {"receipt_id": R, "source_dept": D, "record_type": record_type, **counts}


def _literal(value: str | None) -> str:
    return "NULL" if value is None else f"'{value}'"


# Outbox rows as 0001-0003 wrote them (topic, uscc, payload), and the type 0004 gives each, by hand.
OLD_OUTBOX = [
    ("record.created", U, _record("administrative_penalty", 1), "record.created"),
    ("record.updated", U, _record("administrative_penalty", 2), "record.updated"),
    ("record.created", U, _record("industry_evaluation", 1), "evaluation.stored"),
    ("record.updated", U, _record("public_evaluation", 2), "evaluation.stored"),
    ("records.bulk", None, _bulk("administrative_penalty"), "records.loaded"),
    ("records.bulk", None, _bulk("market_evaluation"), "evaluations.loaded"),
    ("records.bulk", None, _bulk("industry_evaluation", withdrawn=0), "evaluations.graded"),
    (
        "classification.changed",
        None,
        {"domain": "catering_services", "first_change_id": 1, "last_change_id": 4},
        "classification.changed",
    ),
]


async def test_0004_types_the_outbox_events_and_back(
    roles: Roles, test_database: str, owner_url: URL, engine
) -> None:
    """Rows written before 0004 get their event type and version 1, and read back as events; the
    downgrade gives them their topics again."""
    from hub.sync.events import decode

    await roles.migrate(test_database, "0003", down=True)
    try:
        values = ", ".join(
            f"('{topic}', {_literal(uscc)}, '{json.dumps(payload)}')"
            for topic, uscc, payload, _ in OLD_OUTBOX
        )
        await _run(owner_url, f"INSERT INTO outbox (topic, uscc, payload) VALUES {values}")
        await roles.migrate(test_database, "0004")
        [rows, columns] = await _run(
            owner_url,
            "SELECT event_type, payload_version, uscc, payload, xact_id FROM outbox ORDER BY id",
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'outbox'",
        )
        assert [(r[0], r[1]) for r in rows] == [(new, 1) for *_, new in OLD_OUTBOX]
        assert all(r[4] > 0 for r in rows) and "topic" not in {c for (c,) in columns}
        for kind, version, uscc, payload, _ in rows:
            assert decode(kind, version, uscc, payload).type == kind
        # A type that had no topic keeps its name on the way down.
        withdrawn = {
            "source_dept": D,
            "source_record_id": "x",
            "record_type": "industry_evaluation",
            "receipt_id": R,
        }
        await _run(
            owner_url,
            "INSERT INTO outbox (event_type, payload_version, uscc, payload) "
            f"VALUES ('evaluation.withdrawn', 1, '{U}', '{json.dumps(withdrawn)}')",
        )

        await roles.migrate(test_database, "0003", down=True)
        [old] = await _run(owner_url, "SELECT topic, uscc, payload FROM outbox ORDER BY id")
        assert [r[0] for r in old] == [topic for topic, *_ in OLD_OUTBOX] + ["evaluation.withdrawn"]
        assert [(r[1], r[2]) for r in old] == [(uscc, payload) for _, uscc, payload, _ in OLD_OUTBOX] + [
            (U, withdrawn)
        ]
    finally:
        await _run(owner_url, "DELETE FROM outbox")
        await roles.migrate(test_database, "head")


async def _server_table_rights(url: URL, role: str) -> list[tuple]:
    [rows] = await _run(
        url,
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE n.nspname = 'public' AND c.relkind IN ('r', 'S') AND (has_table_privilege('{role}', c.oid, "
        f"'SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER') OR (c.relkind = 'S' AND "
        f"has_sequence_privilege('{role}', c.oid, 'USAGE,SELECT,UPDATE')))",
    )
    return rows


async def test_0006_grants_the_server_role_and_takes_it_all_back(
    roles: Roles, test_database: str, owner_url: URL, engine
) -> None:
    assert len(await _server_table_rights(owner_url, roles.server)) > 20
    await roles.migrate(test_database, "0005", down=True)
    try:
        assert await _server_table_rights(owner_url, roles.server) == []
        # Granting to the role that migrates would revoke the owner's own rights: refused.
        with pytest.raises(Exception, match="not as the server role"):
            await asyncio.to_thread(migrate.upgrade, owner_url, "0006", roles.owner)
        assert await _run(owner_url, "SELECT version_num FROM alembic_version") == [[("0005",)]]
    finally:
        await roles.migrate(test_database, "head")
    assert len(await _server_table_rights(owner_url, roles.server)) > 20


_RECORD = (
    "INSERT INTO records (uscc, source_dept, source_record_id, version, current, record_type, type_version, "
    "content, content_hash, decision_date, published, pushed_by) VALUES ('91230102MA1B2C3D4E', "
    "'11230100000000020X', '{id}', 1, true, 'administrative_penalty', 1, "
    """'{{"FRDB": "张三", "FR_ZJHM": "11010519491231002X"}}', '\\x00', '2026-11-01', true, '11230100000000020X')"""
)


async def test_0012_marks_stored_records_plain_and_refuses_to_drop_sealed_ones(
    roles: Roles, test_database: str, owner_url: URL, engine
) -> None:
    """Rows stored before 0012 read key_version 0 (plain: the rotation seals them), rows written after
    NULL until sealed; its downgrade refuses while a row holds sealed fields (they would be lost)."""
    await roles.migrate(test_database, "0012-1", down=True)
    try:
        await _run(owner_url, _RECORD.format(id="MIG-OLD"))
        await roles.migrate(test_database, "head")
        await _run(owner_url, _RECORD.format(id="MIG-NEW"))
        (rows,) = await _run(
            owner_url,
            "SELECT source_record_id, key_version, sealed FROM records WHERE source_record_id LIKE 'MIG-%' "
            "ORDER BY 1",
        )
        assert rows == [("MIG-NEW", None, None), ("MIG-OLD", 0, None)]
        await _run(
            owner_url, "UPDATE records SET sealed = '{}', key_version = 1 WHERE source_record_id = 'MIG-NEW'"
        )
        with pytest.raises(RuntimeError, match="1 records hold sealed personal fields"):
            await roles.migrate(test_database, "0012-1", down=True)
    finally:
        await _run(owner_url, "DELETE FROM records WHERE source_record_id LIKE 'MIG-%'")
        await roles.migrate(test_database, "head")
    assert await _run(owner_url, "SELECT count(*) FROM records WHERE sealed IS NOT NULL") == [[(0,)]]
