"""Least privilege: the server role has exactly the rights tests/grants.yaml lists, owns nothing and
cannot change the schema; migrations run as the owner. The rest of the suite serves as that role,
so a right the code needs and lacks fails the test that uses it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from hub.db import make_engine, server_role_problems
from tests.databases import Roles

EXPECTED = yaml.safe_load((Path(__file__).parent / "grants.yaml").read_text())
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
SEQUENCE_PRIVILEGES = ("USAGE", "SELECT", "UPDATE")
INSUFFICIENT_PRIVILEGE = "42501"  # also "must be owner of table"


async def _rows(conn: AsyncConnection, sql: str, **params: object) -> list[tuple[object, ...]]:
    return [tuple(r) for r in await conn.execute(text(sql), params)]


async def _granted(
    conn: AsyncConnection, role: str, kind: str, privileges: tuple[str, ...]
) -> dict[str, list[str]]:
    """What `role` may do with each relation of `kind` in the schema, as PostgreSQL decides it
    (directly, through PUBLIC or a role it belongs to)."""
    check = "has_table_privilege" if kind == "r" else "has_sequence_privilege"
    columns = ", ".join(f"{check}(:role, c.oid, '{p}')" for p in privileges)
    rows = await _rows(
        conn,
        f"SELECT c.relname, {columns} FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind::text = ANY(CAST(:kinds AS text[]))",
        role=role,
        kinds=["r", "p", "v", "m", "f"] if kind == "r" else ["S"],
    )
    return {str(name): [p for p, has in zip(privileges, flags, strict=True) if has] for name, *flags in rows}


@pytest.fixture
async def owner_engine(owner_url: URL, engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    owner = make_engine(owner_url, pool_size=1)
    yield owner
    await owner.dispose()


async def test_every_table_has_exactly_the_listed_grants(owner_engine: AsyncEngine, roles: Roles) -> None:
    async with owner_engine.connect() as conn:
        tables = await _granted(conn, roles.server, "r", TABLE_PRIVILEGES)
        sequences = await _granted(conn, roles.server, "S", SEQUENCE_PRIVILEGES)
        column_grants = await _rows(
            conn,
            "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND a.attacl IS NOT NULL",
        )
    assert tables == EXPECTED["tables"]
    assert sequences == EXPECTED["sequences"]
    assert column_grants == []


async def test_the_server_role_may_connect_and_use_temporary_tables_and_nothing_more(
    owner_engine: AsyncEngine, roles: Roles
) -> None:
    async with owner_engine.connect() as conn:
        [rights] = await _rows(
            conn,
            "SELECT has_database_privilege(:r, current_database(), 'CONNECT'), "
            "has_database_privilege(:r, current_database(), 'TEMPORARY'), "
            "has_database_privilege(:r, current_database(), 'CREATE'), "
            "has_schema_privilege(:r, current_schema(), 'USAGE'), has_schema_privilege(:r, current_schema(), 'CREATE'), "
            "rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication FROM pg_roles WHERE rolname = :r",
            r=roles.server,
        )
    assert rights == (True, True, False, True, False, False, False, False, False, False)


async def test_the_server_role_owns_nothing(owner_engine: AsyncEngine, roles: Roles) -> None:
    async with owner_engine.connect() as conn:
        owned = await _rows(
            conn,
            "SELECT 'class', relname FROM pg_class WHERE pg_has_role(:r, relowner, 'USAGE') "
            "UNION ALL SELECT 'schema', nspname FROM pg_namespace WHERE pg_has_role(:r, nspowner, 'USAGE') "
            "UNION ALL SELECT 'type', typname FROM pg_type WHERE pg_has_role(:r, typowner, 'USAGE') "
            "UNION ALL SELECT 'function', proname FROM pg_proc WHERE pg_has_role(:r, proowner, 'USAGE') "
            "UNION ALL SELECT 'database', datname FROM pg_database WHERE pg_has_role(:r, datdba, 'USAGE')",
            r=roles.server,
        )
    assert owned == []


async def test_the_suite_serves_as_the_server_role(session: AsyncSession, roles: Roles) -> None:
    assert await session.scalar(text("SELECT current_user")) == roles.server
    assert await server_role_problems(session) == []


async def test_the_serve_check_names_what_an_owner_may_do(owner_engine: AsyncEngine) -> None:
    async with owner_engine.connect() as conn:
        problems = await server_role_problems(AsyncSession(bind=conn))
    assert problems == [
        "may create schemas in the database",
        "may create tables in the schema",
        f"owns {await _count_relations(owner_engine)} table(s), sequence(s) or index(es) of the schema",
    ]


async def _count_relations(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        [(n,)] = await _rows(
            conn,
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema()",
        )
    return int(str(n))


FORBIDDEN = [
    "CREATE TABLE intruder (id int)",
    "CREATE VIEW intruder AS SELECT 1",
    "CREATE FUNCTION intruder() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "CREATE SCHEMA intruder",
    "CREATE ROLE intruder",
    "DROP TABLE outbox",
    "DROP TABLE alembic_version",
    "TRUNCATE records",
    "TRUNCATE outbox",
    "ALTER TABLE records ADD COLUMN intruder int",
    "ALTER TABLE plan_candidate_lists DISABLE TRIGGER ALL",
    "CREATE INDEX intruder ON records (uscc)",
    "CREATE TRIGGER intruder BEFORE UPDATE ON records FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()",
    "ALTER SEQUENCE outbox_id_seq RESTART",
    "SELECT setval('outbox_id_seq', 1)",
    "SELECT * FROM alembic_version",
    "UPDATE alembic_version SET version_num = 'x'",
    "COPY records TO PROGRAM 'true'",
    "SET session_replication_role = replica",
]


def _without(privilege: str) -> list[str]:
    """The tables the list denies `privilege`, by hand in grants.yaml."""
    return sorted(t for t, granted in EXPECTED["tables"].items() if privilege not in granted)


@pytest.mark.parametrize(
    "statement",
    FORBIDDEN
    + [f"DELETE FROM {t} WHERE false" for t in _without("DELETE")]
    + [f"UPDATE {t} SET {{column}} WHERE false" for t in _without("UPDATE")],
)
async def test_the_server_role_is_refused(engine: AsyncEngine, statement: str) -> None:
    async with engine.connect() as conn:
        if "{column}" in statement:
            table = statement.split()[1]
            [(column,)] = await _rows(
                conn,
                "SELECT attname FROM pg_attribute WHERE attrelid = CAST(:t AS regclass) AND attnum = 1",
                t=table,
            )
            statement = statement.format(column=f'"{column}" = "{column}"')
        with pytest.raises(DBAPIError) as refused:
            await conn.execute(text(statement))
        await conn.rollback()
    assert getattr(refused.value.orig, "sqlstate", None) == INSUFFICIENT_PRIVILEGE, refused.value.orig


def test_the_list_keeps_the_frozen_and_logged_tables_append_only() -> None:
    """A plan's frozen lists and publication, the outbox and the catalogue versions: the server may
    add rows and never change one (the refusals above prove the database holds to the list)."""
    append_only = {t for t, granted in EXPECTED["tables"].items() if granted == ["SELECT", "INSERT"]}
    assert {
        "outbox",
        "plan_candidate_lists",
        "plan_publications",
        "plan_assignments",
        "plan_inspectors",
        "plan_conflicts",
        "catalog_documents",
        "classification_changes",
    } <= append_only
