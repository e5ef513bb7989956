"""Reads cost a fixed number of SQL statements, however many records or entities they return."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.db import count_statements
from tests.conftest import Actor, company_code, gql
from tests.records.builders import push_ok, valid_record

NESTED = """
  uscc name
  records(first: 100) {
    totalCount
    edges { node { sourceRecordId fields versions { version pushedBy changedFields } source { code name role } } }
  }
  sources { code recordCount latestDecisionDate organisation { code name } }
"""
ENTITY = "query($uscc: String!) { entity(uscc: $uscc) {" + NESTED + "} }"
# Smaller pages inside the search keep it under HUB_MAX_COST (the seeds hold 4 records, 2 versions).
SEARCH = (
    "query($name: String!) { searchEntities(name: $name, first: 20) { totalCount edges { node {"
    + NESTED.replace("records(first: 100)", "records(first: 5)").replace("versions {", "versions(first: 2) {")
    + "} } } }"
)


async def seed(
    client: httpx.AsyncClient,
    actors: dict[str, Actor],
    usccs: list[str],
    per_entity: int,
    key: str,
    name: str = "",
) -> None:
    """`per_entity` records for each entity, from both departments, every third one in a second version."""
    for pusher in ("department", "department2"):
        dept = actors[pusher]
        first: list[dict[str, Any]] = []
        second: list[dict[str, Any]] = []
        for n, uscc in enumerate(usccs):
            party = {"XDR_MC": f"{name}{n:02d}号有限公司"} if name else {}
            for i in range(per_entity // 2 if pusher == "department" else per_entity - per_entity // 2):
                rid = f"{key}-{n}-{i}"
                first.append(valid_record("inspection_result", dept.code, uscc, record_id=rid, **party))
                if i % 3 == 0:
                    second.append(
                        valid_record(
                            "inspection_result", dept.code, uscc, record_id=rid, JCJL="基本合格", **party
                        )
                    )
        created = await push_ok(client, dept, first, f"{key}-{pusher}-1")
        updated = await push_ok(client, dept, second, f"{key}-{pusher}-2")
        assert (created["created"], updated["updated"]) == (len(first), len(second))


async def statements(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    query: str,
    variables: dict[str, Any],
    actor: Actor,
) -> tuple[int, dict[str, Any]]:
    async with count_statements(connection.engine) as seen:
        result = await gql(client, query, variables, actor)
    assert "errors" not in result, result
    return len(seen), result["data"]


async def test_entity_with_60_records_costs_the_same_statements_as_with_5(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> None:
    small, large = company_code(81), company_code(82)
    await seed(client, actors, [small], 5, "small")
    await seed(client, actors, [large], 60, "large")
    office = actors["credit_office"]

    few, small_data = await statements(client, connection, ENTITY, {"uscc": small}, office)
    many, large_data = await statements(client, connection, ENTITY, {"uscc": large}, office)

    assert small_data["entity"]["records"]["totalCount"] == 5
    assert len(large_data["entity"]["records"]["edges"]) == 60
    edges = large_data["entity"]["records"]["edges"]
    assert sum(len(e["node"]["versions"]) for e in edges) == 60 + 20  # every third has a second version
    assert [s["recordCount"] for s in large_data["entity"]["sources"]] == [30, 30]
    assert many == few, (few, many)


async def test_same_statements_for_the_public_view(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> None:
    small, large = company_code(83), company_code(84)
    await seed(client, actors, [small], 5, "small")
    await seed(client, actors, [large], 60, "large")
    bank = actors["bank"]

    few, _ = await statements(client, connection, ENTITY, {"uscc": small}, bank)
    many, data = await statements(client, connection, ENTITY, {"uscc": large}, bank)

    assert data["entity"]["records"]["totalCount"] == 60
    assert many == few, (few, many)


async def test_search_returning_20_entities_costs_the_same_statements_as_returning_2(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> None:
    twenty = [company_code(100 + n) for n in range(20)]
    two = [company_code(200 + n) for n in range(2)]
    await seed(client, actors, twenty, 4, "twenty", name="松北批量")
    await seed(client, actors, two, 4, "two", name="道里少量")
    office = actors["credit_office"]

    few, small = await statements(client, connection, SEARCH, {"name": "道里少量"}, office)
    many, large = await statements(client, connection, SEARCH, {"name": "松北批量"}, office)

    assert small["searchEntities"]["totalCount"] == 2
    assert large["searchEntities"]["totalCount"] == 20
    assert len(large["searchEntities"]["edges"]) == 20
    assert all(len(e["node"]["records"]["edges"]) == 4 for e in large["searchEntities"]["edges"])
    assert many == few, (few, many)
