"""Bad input to commitInspectionPlan: a clear error with the field path, and nothing written."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.conftest import gql
from tests.inspections.support import COMMIT, DOMAIN, POOL, add_pool, commit, grade, own_domain


@pytest.fixture
async def ready(client, actors):
    await own_domain(client, actors)
    await grade(client, actors["department"], {"trustworthy": 3, "minor": 3, "serious": 1})
    await add_pool(client, actors["department"], POOL)


async def _nothing_written(connection) -> None:
    for table in ("inspection_plans", "plan_candidate_lists", "plan_inspectors", "plan_conflicts"):
        assert (await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one() == 0


@pytest.mark.parametrize(
    ("ratios", "code", "path"),
    [
        # market_regulation: trustworthy 0-0.05, minor 0.05-0.2, general 0.21-0.6, serious always.
        ([{"category": "TRUSTWORTHY", "ratio": 0.5}], "RATIO_OUT_OF_BOUNDS", "ratios.0.ratio"),
        (
            [{"category": "TRUSTWORTHY", "ratio": 0}, {"category": "MINOR", "ratio": 0.01}],
            "RATIO_OUT_OF_BOUNDS",
            "ratios.1.ratio",
        ),
        ([{"category": "GENERAL", "ratio": 0.7}], "RATIO_OUT_OF_BOUNDS", "ratios.0.ratio"),
        ([{"category": "SERIOUS", "ratio": 0.5}], "RATIO_OUT_OF_BOUNDS", "ratios.0.ratio"),
        ([{"category": "MINOR", "ratio": -0.1}], "RATIO_OUT_OF_BOUNDS", "ratios.0.ratio"),
        ([{"category": "MINOR", "ratio": 0.1234567}], "RATIO_PRECISION", "ratios.0.ratio"),
        (
            [{"category": "MINOR", "ratio": 0.1}, {"category": "MINOR", "ratio": 0.2}],
            "DUPLICATE",
            "ratios.1.category",
        ),
    ],
)
async def test_ratios_outside_the_domain_bounds_are_refused(
    client, actors, connection, ready, ratios, code, path
):
    refused = await commit(client, actors["department"], ratios)
    assert refused["__typename"] == "InvalidInput", refused
    assert (refused["code"], refused["path"]) == (code, path)
    await _nothing_written(connection)


async def test_the_message_names_the_bounds(client, actors, ready):
    refused = await commit(client, actors["department"], [{"category": "GENERAL", "ratio": 0.7}])
    assert "general" in refused["message"] and "0.21" in refused["message"] and "0.6" in refused["message"]


async def test_ratios_at_the_bounds_are_accepted(client, actors, ready):
    plan = await commit(
        client,
        actors["department"],
        [
            {"category": "TRUSTWORTHY", "ratio": 0.05},
            {"category": "MINOR", "ratio": 0.2},
            {"category": "SERIOUS", "ratio": 1},
        ],
    )
    assert plan["__typename"] == "InspectionPlan", plan
    assert {c["category"]: c["ratio"] for c in plan["categories"]} == {
        "TRUSTWORTHY": "0.05",
        "MINOR": "0.2",
        "GENERAL": "0.21",
        "SERIOUS": "1",
    }


async def test_another_departments_domain_is_refused(client, actors, connection, ready):
    await add_pool(client, actors["department2"], POOL)
    refused = await commit(client, actors["department2"])
    assert refused["__typename"] == "NotPermitted" and refused["code"] == "NOT_YOUR_DOMAIN"
    assert refused["path"] == "domain"
    await _nothing_written(connection)


async def test_unknown_domain_and_empty_title(client, actors, connection, ready):
    dept = actors["department"]
    unknown = await gql(client, COMMIT, {"domain": "no_such_domain", "period": "2026", "title": "t"}, dept)
    assert unknown["data"]["commitInspectionPlan"]["code"] == "UNKNOWN_DOMAIN"
    empty = await gql(client, COMMIT, {"domain": DOMAIN, "period": "2026", "title": "  "}, dept)
    assert empty["data"]["commitInspectionPlan"]["path"] == "title"
    await _nothing_written(connection)


async def test_a_domain_without_entities_is_refused_and_nothing_is_written(client, actors, connection):
    await own_domain(client, actors)
    await add_pool(client, actors["department"], POOL)
    refused = await commit(client, actors["department"])
    assert refused["__typename"] == "InvalidInput", refused
    assert (refused["code"], refused["path"]) == ("NO_CANDIDATES", "domain")
    assert DOMAIN in refused["message"]
    await _nothing_written(connection)
