"""The published plan as a file (GET /plans/<id>/publication.json), and the public copy kept once built."""

from __future__ import annotations

import orjson
from sqlalchemy import text

from hub.inspections.publication import parse, verify
from tests.conftest import gql
from tests.inspections.support import DRAW, PLAN, POOL, standard_plan

MASKED = ["张*", "李*", "王*", "赵*", "钱*"]


def _url(plan_id: str) -> str:
    return f"/plans/{plan_id}/publication.json"


async def _drawn_plan(client, actors) -> str:
    plan, _ = await standard_plan(client, actors)
    drawn = (await gql(client, DRAW, {"id": plan["id"]}, actors["department"]))["data"]["drawInspectionPlan"]
    assert drawn["status"] == "DRAWN", drawn
    return str(plan["id"])


async def test_anyone_downloads_the_masked_publication_and_it_verifies(client, actors):
    plan_id = await _drawn_plan(client, actors)
    response = await client.get(_url(plan_id))
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    assert f'filename="plan-{plan_id}.json"' in response.headers["content-disposition"]
    document = response.json()
    assert [i["name"] for i in document["inspectors"]] == MASKED
    assert verify(parse(document)) == []
    through_graphql = (await gql(client, PLAN, {"id": plan_id}))["data"]["inspectionPlan"]["publication"]
    assert through_graphql == document


async def test_the_public_copy_is_built_once_and_then_served_as_kept(client, actors, connection, as_owner):
    plan_id = await _drawn_plan(client, actors)
    kept = "SELECT document FROM plan_publications WHERE plan_id = CAST(:id AS uuid)"
    assert (await connection.execute(text(kept), {"id": plan_id})).scalar_one_or_none() is None
    first = (await client.get(_url(plan_id))).content
    assert bytes((await connection.execute(text(kept), {"id": plan_id})).scalar_one()) == first
    # Later readers get the kept bytes, not a rebuild: mark them and look for the mark.
    marked = orjson.loads(first) | {"title": "kept copy"}
    await as_owner.lend("UPDATE", "plan_publications")  # the server role may not change a kept copy
    await connection.execute(
        text("UPDATE plan_publications SET document = :d WHERE plan_id = CAST(:id AS uuid)"),
        {"d": orjson.dumps(marked), "id": plan_id},
    )
    assert (await client.get(_url(plan_id))).json()["title"] == "kept copy"
    for viewer in (None, actors["bank"], actors["department2"]):
        found = await gql(client, PLAN, {"id": plan_id}, viewer)
        assert found["data"]["inspectionPlan"]["publication"]["title"] == "kept copy"


async def test_the_department_and_the_office_get_names_in_full_and_the_kept_copy_stays_masked(
    client, actors, connection
):
    plan_id = await _drawn_plan(client, actors)
    for viewer in ("department", "credit_office"):
        response = await client.get(_url(plan_id), headers=actors[viewer].headers)
        assert [i["name"] for i in response.json()["inspectors"]] == list(POOL.values())
    assert (await connection.execute(text("SELECT count(*) FROM plan_publications"))).scalar_one() == 0
    await client.get(_url(plan_id))
    stored = (await connection.execute(text("SELECT document FROM plan_publications"))).scalar_one()
    assert [i["name"] for i in orjson.loads(stored)["inspectors"]] == MASKED


async def test_no_file_before_the_draw_for_unknown_plans_or_with_a_bad_token(client, actors, connection):
    plan, _ = await standard_plan(client, actors)
    before = await client.get(_url(plan["id"]))
    assert before.status_code == 409 and before.json()["errors"][0]["extensions"]["code"] == "NOT_DRAWN"
    assert "seed" not in before.text and plan["seedCommitment"] not in before.text
    for bad in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        missing = await client.get(_url(bad))
        assert missing.status_code == 404
        assert missing.json()["errors"][0]["extensions"]["code"] == "UNKNOWN_PLAN"
    refused = await client.get(_url(plan["id"]), headers={"Authorization": "Bearer not-a-token"})
    assert refused.status_code == 401
    assert (await connection.execute(text("SELECT count(*) FROM plan_publications"))).scalar_one() == 0
