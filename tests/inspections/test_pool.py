"""A department's inspector pool and declared conflicts: its own pool only, bad input refused."""

from __future__ import annotations

from sqlalchemy import text

from tests.conftest import company_code, gql
from tests.inspections.support import ADD_INSPECTORS, DECLARE, POOL, add_pool


async def _count(connection, table: str) -> int:
    return int((await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def test_register_update_and_read_back_the_pool(client, actors, connection):
    dept = actors["department"]
    await add_pool(client, dept, POOL)
    changed = await gql(
        client, ADD_INSPECTORS, {"inspectors": [{"id": "ZF001", "name": "张三丰", "active": False}]}, dept
    )
    pool = changed["data"]["addInspectors"]["inspectors"]
    assert [i["id"] for i in pool] == sorted(POOL)
    assert pool[0] == {"id": "ZF001", "name": "张三丰", "active": False}
    # Another department's pool is its own: the same id does not touch ours.
    other = await gql(
        client, ADD_INSPECTORS, {"inspectors": [{"id": "ZF001", "name": "周八"}]}, actors["department2"]
    )
    assert [i["name"] for i in other["data"]["addInspectors"]["inspectors"]] == ["周八"]
    assert await _count(connection, "inspectors") == 6


async def test_bad_inspectors_are_refused_with_the_path_and_nothing_written(client, actors, connection):
    dept = actors["department"]
    cases = [
        (
            [{"id": "ZF001", "name": "张三"}, {"id": "ZF 002", "name": "李四"}],
            "INSPECTOR_ID_FORMAT",
            "inspectors.1.id",
        ),
        ([{"id": "ZF001", "name": "张三"}, {"id": "ZF001", "name": "李四"}], "DUPLICATE", "inspectors.1.id"),
        ([{"id": "ZF001", "name": " "}], "NAME_LENGTH", "inspectors.0.name"),
        ([], "EMPTY", "inspectors"),
    ]
    for inspectors, code, path in cases:
        refused = (await gql(client, ADD_INSPECTORS, {"inspectors": inspectors}, dept))["data"][
            "addInspectors"
        ]
        assert (refused["__typename"], refused["code"], refused["path"]) == ("InvalidInput", code, path)
    assert await _count(connection, "inspectors") == 0


async def test_declare_a_conflict_in_your_own_pool_only(client, actors, connection):
    dept, other = actors["department"], actors["department2"]
    await add_pool(client, dept, POOL)
    uscc = company_code(4242)
    variables = {"inspector": "ZF001", "uscc": uscc.lower(), "reason": "曾在该企业任职"}
    declared = (await gql(client, DECLARE, variables, dept))["data"]["declareConflict"]
    assert declared == {
        "__typename": "DeclaredConflict",
        "inspectorId": "ZF001",
        "uscc": uscc,
        "reason": "曾在该企业任职",
    }
    refused = (await gql(client, DECLARE, variables, other))["data"]["declareConflict"]
    assert refused["code"] == "UNKNOWN_INSPECTOR" and refused["path"] == "inspectorId"
    assert await _count(connection, "inspector_conflicts") == 1


async def test_a_bad_conflict_is_refused_with_the_path(client, actors, connection):
    dept = actors["department"]
    await add_pool(client, dept, POOL)
    bad_code = company_code(4242)[:-1] + ("0" if company_code(4242)[-1] != "0" else "1")
    cases = [
        ({"inspector": "ZF001", "uscc": bad_code, "reason": "x"}, "uscc"),
        ({"inspector": "ZF001", "uscc": company_code(1), "reason": ""}, "reason"),
        ({"inspector": "ZF999", "uscc": company_code(1), "reason": "x"}, "inspectorId"),
    ]
    for variables, path in cases:
        refused = (await gql(client, DECLARE, variables, dept))["data"]["declareConflict"]
        assert refused["path"] == path, refused
    assert await _count(connection, "inspector_conflicts") == 0


async def test_only_departments_keep_pools(client, actors):
    for actor in (actors["bank"], actors["credit_office"], None):
        result = await gql(client, ADD_INSPECTORS, {"inspectors": [{"id": "X1", "name": "某"}]}, actor)
        assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"
