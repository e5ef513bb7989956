"""Commit and draw through the real app: what is hidden, what is drawn, who may do and see what."""

from __future__ import annotations

import hashlib
import uuid

from sqlalchemy import text

from hub.crypto import unseal
from hub.inspections.service import SEED_PURPOSE
from tests.conftest import gql
from tests.inspections.support import (
    DRAW,
    PLAN,
    POOL,
    add_pool,
    commit,
    declare,
    grade,
    own_domain,
    standard_plan,
)

ZERO_TRUSTWORTHY = [{"category": "TRUSTWORTHY", "ratio": 0}, {"category": "MINOR", "ratio": 0.2}]


async def _draw(client, actor, plan_id):
    return (await gql(client, DRAW, {"id": plan_id}, actor))["data"]["drawInspectionPlan"]


async def _plan(client, plan_id, actor=None):
    return (await gql(client, PLAN, {"id": plan_id}, actor))["data"]["inspectionPlan"]


async def test_the_seed_stays_hidden_until_the_draw_and_matches_the_commitment(
    client, actors, connection, keys
):
    plan, _ = await standard_plan(client, actors)
    assert plan["status"] == "COMMITTED" and plan["seed"] is None
    for viewer in (None, actors["bank"], actors["department"], actors["credit_office"]):
        before = await _plan(client, plan["id"], viewer)
        assert before["seed"] is None and before["publication"] is None
        assert before["seedCommitment"] == plan["seedCommitment"] and len(plan["seedCommitment"]) == 64
        assert before["candidatesHash"] == plan["candidatesHash"]
        assert before["candidateCount"] == 39 and before["inspectorCount"] == 5
    # In the database the seed is sealed (AES-GCM under the hub's key): a dump does not reveal it.
    seed, sealed = (await connection.execute(text("SELECT seed, sealed_seed FROM inspection_plans"))).one()
    assert seed is None and sealed is not None and len(sealed) == 12 + 32 + 16

    drawn = await _draw(client, actors["department"], plan["id"])
    assert drawn["status"] == "DRAWN"
    assert hashlib.sha256(bytes.fromhex(drawn["seed"])).hexdigest() == plan["seedCommitment"]
    # What was sealed is the seed the draw revealed.
    assert unseal(keys, SEED_PURPOSE, bytes(sealed), uuid.UUID(plan["id"]).bytes).hex() == drawn["seed"]
    assert (await _plan(client, plan["id"]))["seed"] == drawn["seed"]
    seed, sealed = (await connection.execute(text("SELECT seed, sealed_seed FROM inspection_plans"))).one()
    assert seed == drawn["seed"] and sealed is None


async def test_the_candidate_hash_covers_the_canonical_list(client, actors, connection):
    plan, population = await standard_plan(client, actors)
    expected = sorted((u, c) for c, usccs in population.items() for u in usccs)
    canonical = "".join(f"{u},{c}\n" for u, c in expected)
    assert plan["candidatesHash"] == hashlib.sha256(canonical.encode()).hexdigest()
    stored = (await connection.execute(text("SELECT canonical FROM plan_candidate_lists"))).scalar_one()
    assert bytes(stored).decode() == canonical
    published = (await _draw(client, actors["department"], plan["id"]))["publication"]
    assert [tuple(c) for c in published["candidates"]] == expected


async def test_serious_all_drawn_and_ratio_zero_draws_no_trustworthy(client, actors):
    plan, population = await standard_plan(client, actors, ratios=ZERO_TRUSTWORTHY)
    ratios = {c["category"]: c["ratio"] for c in plan["categories"]}
    assert ratios == {"TRUSTWORTHY": "0", "MINOR": "0.2", "GENERAL": "0.21", "SERIOUS": "1"}
    drawn = await _draw(client, actors["department"], plan["id"])
    assignments = drawn["publication"]["assignments"]
    by_category: dict[str, set[str]] = {}
    for a in assignments:
        by_category.setdefault(a["category"], set()).add(a["uscc"])
    assert by_category["serious"] == set(population["serious"])
    assert "trustworthy" not in by_category
    assert len(by_category["minor"]) == 2  # ceil(0.2 × 10)
    assert len(by_category["general"]) == 2  # ceil(0.21 × 6)
    counts = {c["category"]: c["drawn"] for c in drawn["categories"]}
    assert counts == {"TRUSTWORTHY": 0, "MINOR": 2, "GENERAL": 2, "SERIOUS": 3}


async def test_two_distinct_inspectors_and_never_a_conflicted_one(client, actors):
    dept = actors["department"]
    await own_domain(client, actors)
    population = await grade(client, dept, {"serious": 8})
    await add_pool(client, dept, POOL)
    # Three of the five inspectors declared a conflict with every serious entity but one.
    for inspector in ("ZF001", "ZF002", "ZF003"):
        for uscc in population["serious"][1:]:
            await declare(client, dept, inspector, uscc)
    plan = await commit(client, dept)
    drawn = await _draw(client, dept, plan["id"])
    assert drawn["__typename"] == "InspectionPlan", drawn
    assignments = drawn["publication"]["assignments"]
    assert {a["uscc"] for a in assignments} == set(population["serious"])
    for a in assignments:
        first, second = a["inspectors"]
        assert first != second
        if a["uscc"] != population["serious"][0]:
            assert {first, second} == {"ZF004", "ZF005"}
    conflicts = {i["id"]: set(i["conflicts"]) for i in drawn["publication"]["inspectors"]}
    assert conflicts["ZF001"] == set(population["serious"][1:]) and conflicts["ZF004"] == set()


async def test_a_conflict_declared_after_the_commitment_does_not_change_the_plan(client, actors):
    plan, population = await standard_plan(client, actors, counts={"serious": 4})
    for inspector in ("ZF001", "ZF002", "ZF003", "ZF004"):
        await declare(client, actors["department"], inspector, population["serious"][0])
    drawn = await _draw(client, actors["department"], plan["id"])
    assert drawn["__typename"] == "InspectionPlan", drawn
    assert drawn["inspectorsHash"] == plan["inspectorsHash"]
    assert all(i["conflicts"] == [] for i in drawn["publication"]["inspectors"])


async def test_too_few_eligible_inspectors_refuses_the_draw_and_writes_nothing(client, actors, connection):
    dept = actors["department"]
    await own_domain(client, actors)
    population = await grade(client, dept, {"serious": 2})
    await add_pool(client, dept, {"ZF001": "张三", "ZF002": "李四"})
    await declare(client, dept, "ZF002", population["serious"][1])
    plan = await commit(client, dept)
    refused = await _draw(client, dept, plan["id"])
    assert refused["__typename"] == "InvalidInput" and refused["code"] == "TOO_FEW_INSPECTORS"
    assert population["serious"][1] in refused["message"] and refused["path"] == "planId"
    row = (await connection.execute(text("SELECT status, drawn_at FROM inspection_plans"))).one()
    assert tuple(row) == ("committed", None)
    drawn = (await connection.execute(text("SELECT count(*) FROM plan_assignments"))).scalar_one()
    assert drawn == 0
    after = await _plan(client, plan["id"])
    assert after["seed"] is None and after["publication"] is None


async def test_inactive_inspectors_are_left_out_and_a_small_pool_is_refused(client, actors, connection):
    dept = actors["department"]
    await own_domain(client, actors)
    await grade(client, dept, {"serious": 2})
    await add_pool(client, dept, {"ZF001": "张三", "ZF002": "李四"})
    result = await gql(
        client,
        'mutation { addInspectors(inspectors: [{id: "ZF002", name: "李四", active: false}]) { __typename } }',
        actor=dept,
    )
    assert result["data"]["addInspectors"]["__typename"] == "InspectorPool"
    refused = await commit(client, dept)
    assert refused["code"] == "POOL_TOO_SMALL" and refused["path"] == "domain"
    assert (await connection.execute(text("SELECT count(*) FROM inspection_plans"))).scalar_one() == 0


async def test_another_department_can_neither_draw_nor_see_names(client, actors):
    plan, _ = await standard_plan(client, actors)
    other = actors["department2"]
    refused = await _draw(client, other, plan["id"])
    assert refused["__typename"] == "NotPermitted" and refused["code"] == "NOT_YOUR_PLAN"
    assert (await _plan(client, plan["id"]))["status"] == "COMMITTED"
    await _draw(client, actors["department"], plan["id"])
    seen = (await _plan(client, plan["id"], other))["publication"]
    assert {i["name"] for i in seen["inspectors"]} == {"张*", "李*", "王*", "赵*", "钱*"}


async def test_the_public_sees_the_masked_plan_the_department_and_office_the_names(client, actors):
    plan, _ = await standard_plan(client, actors)
    drawn = await _draw(client, actors["department"], plan["id"])
    public = (await _plan(client, plan["id"]))["publication"]
    assert [i["name"] for i in public["inspectors"]] == ["张*", "李*", "王*", "赵*", "钱*"]
    assert public["assignments"] == drawn["publication"]["assignments"]
    assert all(a["name"].startswith("哈尔滨抽查示例") for a in public["assignments"])
    assert public["seed"] == drawn["seed"]
    for viewer in ("department", "credit_office"):
        full = (await _plan(client, plan["id"], actors[viewer]))["publication"]
        assert [i["name"] for i in full["inspectors"]] == list(POOL.values())
    assert "亲属" not in str(public)  # conflict reasons are never published


async def test_drawing_twice_is_refused_and_changes_nothing(client, actors):
    plan, _ = await standard_plan(client, actors)
    first = await _draw(client, actors["department"], plan["id"])
    again = await _draw(client, actors["department"], plan["id"])
    assert again["__typename"] == "ConflictProblem" and again["code"] == "ALREADY_DRAWN"
    assert (await _plan(client, plan["id"]))["publication"]["assignments"] == first["publication"][
        "assignments"
    ]


async def test_unknown_plan_ids(client, actors):
    for bad in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        found = await _plan(client, bad)
        assert found["__typename"] == "NotFoundProblem" and found["code"] == "UNKNOWN_PLAN"
        refused = await _draw(client, actors["department"], bad)
        assert refused["__typename"] == "NotFoundProblem"


async def test_only_departments_commit_and_draw(client, actors):
    plan, _ = await standard_plan(client, actors)
    for role in ("bank", "credit_office", "entity"):
        result = await gql(client, DRAW, {"id": plan["id"]}, actors[role])
        assert result["data"] is None and result["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    result = await gql(client, DRAW, {"id": plan["id"]})
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_frozen_list_altered_after_the_commitment_is_not_drawn(client, actors, connection, as_owner):
    plan, _ = await standard_plan(client, actors)
    await as_owner.lend(
        "UPDATE", "plan_candidate_lists"
    )  # the server role may not: this is the owner tampering
    await connection.execute(
        text(
            "UPDATE plan_candidate_lists SET canonical = canonical || convert_to('91230102MA0000999X,minor\n', 'UTF8')"
        )
    )
    refused = await _draw(client, actors["department"], plan["id"])
    assert refused["__typename"] == "ConflictProblem" and refused["code"] == "FROZEN_LIST_ALTERED"
    assert (await _plan(client, plan["id"]))["status"] == "COMMITTED"
    assert (await connection.execute(text("SELECT count(*) FROM plan_assignments"))).scalar_one() == 0
