"""The `own` cells of tests/permissions.yaml, proved with real data through the real HTTP app.

For every (operation, role) the table marks `own`, a proof below calls the operation on the
caller's own object (it works) and on another organisation's or entity's object (it is refused with
the code the table names, and writes nothing the refusal should not). An `own` cell without a
proof fails, and so does a proof of a cell the table no longer marks `own`.

"Another" is always of the same role where the role has a second organisation in the fixtures:
`department2` stands for the other department. In the rows with `own` cells, each `allowed` role is
proved to reach another's object too: that is what sets it apart from `own`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from hub.audit import service as audit
from hub.auth.caller import Role
from hub.crypto import StaticKeyProvider
from hub.settings import Settings
from tests.conftest import Actor, company_code, days_ago, gql
from tests.consents import support as consents
from tests.grading.evaluations import evaluation
from tests.inspections import support as inspections
from tests.objections import support as objections
from tests.permission_table import ALLOWED, OWN, Row, load, writes
from tests.records.builders import PUSH, valid_record
from tests.scoring import test_scoring as scoring

ROWS = load()
OWN_CELLS = [(row, role) for row in ROWS if row.kind != "subscription" for role in row.roles(OWN)]
# The subscription's cells are proved on a live server, in tests/test_permissions.py.
REACH_CELLS = [
    (row, role)
    for row in ROWS
    if row.kind != "subscription" and row.refusal is not None
    for role in row.roles(ALLOWED)
]
NEXT_YEAR = (dt.date.today() + dt.timedelta(days=365)).isoformat()
DOMAIN = "drug_manufacturing"  # any domain: assigned to the test department where a proof needs it
OTHER_ENTITY = company_code(9901)

SUPERVISION = "query($u: String!, $d: String!) { supervision(uscc: $u, domain: $d) { uscc category } }"
BATCH = "query($u: [String!]!, $d: String!) { supervisionBatch(usccs: $u, domain: $d) { uscc category } }"
HISTORY = "query($u: String!) { classificationHistory(uscc: $u) { domain newCategory } }"
MEMBERS = """mutation($d: String!, $u: [String!]!) { addDomainMembers(domain: $d, usccs: $u) {
  __typename ... on Reclassified { population } ... on Problem { code } } }"""
RECLASSIFY = """mutation($d: String!) { reclassifyDomain(domain: $d) {
  __typename ... on Reclassified { population } ... on Problem { code } } }"""
AMEND = """mutation($d: String!, $m: JSON!) { amendMeasures(domain: $d, category: MINOR, measures: $m) {
  __typename ... on Domain { version } ... on Problem { code message } } }"""
MEASURES = {
    "sampling_ratio_min": "0.1",
    "sampling_ratio_max": "0.3",
    "yearly_frequency_min": "1",
    "yearly_frequency_max": "2",
    "inspection_mode": "on_site",
    "may_exclude": False,
    "always_inspect": False,
    "incentives": [],
    "restrictions": [],
    "notes": "raised for the sweep",
}
UPLOAD_VALUES = """mutation($d: String!, $p: String!, $file: Upload!) {
  uploadIndicatorValues(domain: $d, period: $p, file: $file) {
  __typename ... on IndicatorValuesLoaded { created } ... on Problem { code } } }"""
PUSH_FILE = """mutation($file: Upload!, $t: String!) { pushRecordsFile(file: $file, recordType: $t, format: NDJSON) {
  __typename ... on BulkReceipt { id created rejected rejectionsUrl rejections { errors { code } } }
  ... on Problem { code } } }"""
RECEIPT = """query($id: ID!) { bulkReceipt(id: $id) { __typename ... on BulkReceipt { id total }
  ... on Problem { code } } }"""


@dataclass
class Scene:
    client: httpx.AsyncClient
    actors: dict[str, Actor]
    connection: AsyncConnection

    def actor(self, role: Role) -> Actor:
        return self.actors[role.value]

    async def gql(self, query: str, variables: dict[str, Any], actor: Actor) -> dict[str, Any]:
        return await gql(self.client, query, variables, actor)

    async def upload(
        self, query: str, variables: dict[str, Any], data: bytes, actor: Actor
    ) -> dict[str, Any]:
        operations = {"query": query, "variables": {**variables, "file": None}}
        response = await self.client.post(
            "/graphql",
            data={"operations": orjson.dumps(operations).decode(), "map": '{"0": ["variables.file"]}'},
            files={"0": ("upload", data, "application/octet-stream")},
            headers=actor.headers,
        )
        body: dict[str, Any] = response.json()
        return body

    @contextlib.asynccontextmanager
    async def unchanged(self, *, but: frozenset[str] = frozenset()) -> AsyncIterator[None]:
        """Nothing is written inside, except to the tables `but` names."""
        before = await writes(self.connection)
        yield
        after = await writes(self.connection)
        changed = {t for t, n in after.items() if n != before.get(t)} - but
        assert not changed, f"refused, yet wrote to {sorted(changed)}"


def answer(result: dict[str, Any], field: str) -> Any:
    """The field's answer, which must not be an error."""
    assert "errors" not in result, result
    return result["data"][field]


def refusal(result: dict[str, Any], field: str) -> str:
    """The code of a refusal: a Problem member of a result union, or an error of a query."""
    if result.get("errors"):
        assert not (result.get("data") or {}).get(field), result
        return str(result["errors"][0]["extensions"]["code"])
    problem = result["data"][field]
    assert isinstance(problem, dict) and "code" in problem, (
        f"{field} on another's object was not refused: {result}"
    )
    return str(problem["code"])


Proof = Callable[[Scene, Role], Awaitable[str]]
PROOFS: dict[str, Proof] = {}


def proves(name: str, *roles: Role) -> Callable[[Callable[[Scene, Role], Awaitable[str]]], Proof]:
    """Registers the proof of `name`'s own cells for `roles` (a cell of another role has none)."""

    def register(fn: Callable[[Scene, Role], Awaitable[str]]) -> Proof:
        async def proof(scene: Scene, role: Role) -> str:
            assert role in roles, f"no proof of {name} × {role.value}: what are its own objects?"
            return await fn(scene, role)

        PROOFS[name] = proof
        return proof

    return register


# Entities: their own USCC.


@proves("supervision", Role.ENTITY)
async def _supervision(s: Scene, role: Role) -> str:
    me = s.actor(role)
    own = answer(await s.gql(SUPERVISION, {"u": me.code, "d": DOMAIN}, me), "supervision")
    assert own["uscc"] == me.code
    async with s.unchanged():
        return refusal(await s.gql(SUPERVISION, {"u": OTHER_ENTITY, "d": DOMAIN}, me), "supervision")


@proves("supervisionBatch", Role.ENTITY)
async def _supervision_batch(s: Scene, role: Role) -> str:
    me = s.actor(role)
    own = answer(await s.gql(BATCH, {"u": [me.code], "d": DOMAIN}, me), "supervisionBatch")
    assert [e["uscc"] for e in own] == [me.code]
    async with s.unchanged():
        mixed = await s.gql(BATCH, {"u": [me.code, OTHER_ENTITY], "d": DOMAIN}, me)
        return refusal(mixed, "supervisionBatch")


@proves("classificationHistory", Role.ENTITY)
async def _classification_history(s: Scene, role: Role) -> str:
    me, department = s.actor(role), s.actors["department"]
    await assign(s, DOMAIN)
    members = {"d": DOMAIN, "u": [me.code, OTHER_ENTITY]}
    assert answer(await s.gql(MEMBERS, members, department), "addDomainMembers")["population"] == 2
    own = answer(await s.gql(HISTORY, {"u": me.code}, me), "classificationHistory")
    assert [c["domain"] for c in own] == [DOMAIN]
    # The other entity has a history too (the department reads it): the refusal is not an empty list.
    assert answer(await s.gql(HISTORY, {"u": OTHER_ENTITY}, department), "classificationHistory")
    async with s.unchanged():
        return refusal(await s.gql(HISTORY, {"u": OTHER_ENTITY}, me), "classificationHistory")


# Departments: the domains assigned to them, their pool, their plans. The other department asks
# for the test department's object.


async def assign(s: Scene, domain: str, to: str = "department") -> None:
    variables = {"domain": domain, "dept": s.actors[to].code}
    result = await s.gql(inspections.ASSIGN_DOMAIN, variables, s.actors["credit_office"])
    assert answer(result, "assignDomain")["__typename"] == "Domain", result


@proves("amendMeasures", Role.DEPARTMENT)
async def _amend_measures(s: Scene, role: Role) -> str:
    await assign(s, DOMAIN)
    variables = {"d": DOMAIN, "m": MEASURES}
    amended = answer(await s.gql(AMEND, variables, s.actor(role)), "amendMeasures")
    assert amended["__typename"] == "Domain", amended
    async with s.unchanged():
        return refusal(await s.gql(AMEND, variables, s.actors["department2"]), "amendMeasures")


@proves("addDomainMembers", Role.DEPARTMENT)
async def _add_domain_members(s: Scene, role: Role) -> str:
    await assign(s, DOMAIN)
    variables = {"d": DOMAIN, "u": [OTHER_ENTITY]}
    assert answer(await s.gql(MEMBERS, variables, s.actor(role)), "addDomainMembers")["population"] == 1
    async with s.unchanged():
        return refusal(await s.gql(MEMBERS, variables, s.actors["department2"]), "addDomainMembers")


@proves("reclassifyDomain", Role.DEPARTMENT)
async def _reclassify_domain(s: Scene, role: Role) -> str:
    await assign(s, DOMAIN)
    assert answer(await s.gql(MEMBERS, {"d": DOMAIN, "u": [OTHER_ENTITY]}, s.actor(role)), "addDomainMembers")
    own = answer(await s.gql(RECLASSIFY, {"d": DOMAIN}, s.actor(role)), "reclassifyDomain")
    assert own == {"__typename": "Reclassified", "population": 1}
    async with s.unchanged():
        return refusal(await s.gql(RECLASSIFY, {"d": DOMAIN}, s.actors["department2"]), "reclassifyDomain")


def _model_variables() -> dict[str, Any]:
    return {"d": scoring.DOMAIN, "p": scoring.PERIOD}


@proves("evaluationModel", Role.DEPARTMENT)
async def _evaluation_model(s: Scene, role: Role) -> str:
    await scoring.setup(s.client, s.actors)  # the department's domain, with a model
    own = answer(await s.gql(scoring.READ, {"d": scoring.DOMAIN}, s.actor(role)), "evaluationModel")
    assert (own["domain"], own["version"]) == (scoring.DOMAIN, 1)
    async with s.unchanged():
        other = await s.gql(scoring.READ, {"d": scoring.DOMAIN}, s.actors["department2"])
        return refusal(other, "evaluationModel")


@proves("saveEvaluationModel", Role.DEPARTMENT)
async def _save_evaluation_model(s: Scene, role: Role) -> str:
    await assign(s, scoring.DOMAIN)
    saved = answer(await s.gql(scoring.SAVE, {"m": scoring.MODEL}, s.actor(role)), "saveEvaluationModel")
    assert saved["__typename"] == "EvaluationModel", saved
    async with s.unchanged():
        other = await s.gql(scoring.SAVE, {"m": scoring.MODEL}, s.actors["department2"])
        return refusal(other, "saveEvaluationModel")


def _values() -> list[dict[str, Any]]:
    return [scoring.entity(OTHER_ENTITY, PUB="95", INS="9", CMP="5", HON="1")]


@proves("loadIndicatorValues", Role.DEPARTMENT)
async def _load_indicator_values(s: Scene, role: Role) -> str:
    await scoring.setup(s.client, s.actors)
    variables = {**_model_variables(), "e": _values()}
    loaded = answer(await s.gql(scoring.LOAD, variables, s.actor(role)), "loadIndicatorValues")
    assert (loaded["__typename"], loaded["created"]) == ("IndicatorValuesLoaded", 1), loaded
    async with s.unchanged():
        return refusal(await s.gql(scoring.LOAD, variables, s.actors["department2"]), "loadIndicatorValues")


@proves("uploadIndicatorValues", Role.DEPARTMENT)
async def _upload_indicator_values(s: Scene, role: Role) -> str:
    await scoring.setup(s.client, s.actors)
    data = f"USCC,PUB,INS,CMP,HON\n{OTHER_ENTITY},95,9,5,1\n".encode()
    own = await s.upload(UPLOAD_VALUES, _model_variables(), data, s.actor(role))
    assert answer(own, "uploadIndicatorValues") == {"__typename": "IndicatorValuesLoaded", "created": 1}
    async with s.unchanged():
        other = await s.upload(UPLOAD_VALUES, _model_variables(), data, s.actors["department2"])
        return refusal(other, "uploadIndicatorValues")


@proves("gradeDomain", Role.DEPARTMENT)
async def _grade_domain(s: Scene, role: Role) -> str:
    await scoring.setup(s.client, s.actors)
    await s.gql(scoring.LOAD, {**_model_variables(), "e": _values()}, s.actor(role))
    graded = answer(await s.gql(scoring.GRADE, _model_variables(), s.actor(role)), "gradeDomain")
    assert (graded["__typename"], graded["scored"]) == ("DomainGraded", 1), graded
    async with s.unchanged():
        return refusal(await s.gql(scoring.GRADE, _model_variables(), s.actors["department2"]), "gradeDomain")


@proves("declareConflict", Role.DEPARTMENT)
async def _declare_conflict(s: Scene, role: Role) -> str:
    await inspections.add_pool(s.client, s.actor(role), {"ZF001": "张三"})
    await inspections.add_pool(s.client, s.actors["department2"], {"ZF900": "孙八"})
    variables = {"inspector": "ZF001", "uscc": OTHER_ENTITY, "reason": "亲属在该企业任职"}
    declared = answer(await s.gql(inspections.DECLARE, variables, s.actor(role)), "declareConflict")
    assert declared["__typename"] == "DeclaredConflict", declared
    async with s.unchanged():
        other = await s.gql(inspections.DECLARE, variables, s.actors["department2"])
        return refusal(other, "declareConflict")


@proves("commitInspectionPlan", Role.DEPARTMENT)
async def _commit_inspection_plan(s: Scene, role: Role) -> str:
    assert role is Role.DEPARTMENT  # standard_plan commits as `department`
    plan, _ = await inspections.standard_plan(s.client, s.actors)
    assert plan["departmentCode"] == s.actor(role).code
    # The other department has a pool of its own: only the domain stands in its way.
    other = s.actors["department2"]
    await inspections.add_pool(s.client, other, {"ZF901": "周九", "ZF902": "吴十"})
    async with s.unchanged():
        variables = {"domain": inspections.DOMAIN, "period": "2026-Q4", "title": "抽查", "ratios": None}
        return refusal(await s.gql(inspections.COMMIT, variables, other), "commitInspectionPlan")


@proves("drawInspectionPlan", Role.DEPARTMENT)
async def _draw_inspection_plan(s: Scene, role: Role) -> str:
    assert role is Role.DEPARTMENT
    plan, _ = await inspections.standard_plan(s.client, s.actors)
    async with s.unchanged():
        code = refusal(
            await s.gql(inspections.DRAW, {"id": plan["id"]}, s.actors["department2"]), "drawInspectionPlan"
        )
    drawn = answer(await s.gql(inspections.DRAW, {"id": plan["id"]}, s.actor(role)), "drawInspectionPlan")
    assert drawn["status"] == "DRAWN", drawn
    return code


# Pushers: records in their own name (the source unit code), receipts of their own files.


def pushable(role: Role, source: str, uscc: str, record_id: str) -> dict[str, Any]:
    """A record of a type `role` pushes, naming `source` as its source unit."""
    if role is Role.DEPARTMENT:
        return valid_record("administrative_penalty", source, uscc, record_id=record_id)
    kinds = {
        Role.PROVINCE: "public_evaluation",
        Role.ASSOCIATION: "market_evaluation",
        Role.CREDIT_OFFICE: "market_evaluation",
    }
    assert role in kinds, f"no record type for {role.value} to push"
    actor = Actor(source, role, "")
    return evaluation(
        kinds[role],
        actor,
        uscc,
        "B",
        scheme="heilongjiang",
        evaluated=days_ago(30),
        valid_until=NEXT_YEAR,
        record_id=record_id,
    )


PUSHERS = (Role.DEPARTMENT, Role.PROVINCE, Role.ASSOCIATION, Role.CREDIT_OFFICE)


@proves("pushRecords", *PUSHERS)
async def _push_records(s: Scene, role: Role) -> str:
    me, other = s.actor(role), s.actors["department2"]
    own = await s.gql(PUSH, {"records": [pushable(role, me.code, OTHER_ENTITY, "R-1")], "key": "own"}, me)
    assert answer(own, "pushRecords")["created"] == 1, own
    # Only the answer is kept, for a replay under the same key.
    async with s.unchanged(but=frozenset({"idempotent_pushes"})):
        records = [pushable(role, other.code, OTHER_ENTITY, "R-2")]
        receipt = answer(await s.gql(PUSH, {"records": records, "key": "other"}, me), "pushRecords")
    [result] = receipt["results"]
    assert result["outcome"] == "REJECTED", receipt
    return str(result["errors"][0]["code"])


def ndjson(*records: dict[str, Any]) -> bytes:
    return b"".join(orjson.dumps(r["fields"]) + b"\n" for r in records)


async def push_file(s: Scene, actor: Actor, data: list[dict[str, Any]]) -> dict[str, Any]:
    record_type = data[0]["recordType"]
    result = await s.upload(PUSH_FILE, {"t": record_type}, ndjson(*data), actor)
    receipt = answer(result, "pushRecordsFile")
    assert receipt["__typename"] == "BulkReceipt", receipt
    return receipt


@proves("pushRecordsFile", *PUSHERS)
async def _push_records_file(s: Scene, role: Role) -> str:
    me, other = s.actor(role), s.actors["department2"]
    own = await push_file(s, me, [pushable(role, me.code, OTHER_ENTITY, "F-1")])
    assert (own["created"], own["rejected"]) == (1, 0), own
    # The receipt and its rejected row are kept; no record.
    async with s.unchanged(but=frozenset({"bulk_receipts", "bulk_rejections", "bulk_stage"})):
        receipt = await push_file(s, me, [pushable(role, other.code, OTHER_ENTITY, "F-2")])
    assert (receipt["created"], receipt["rejected"]) == (0, 1), receipt
    return str(receipt["rejections"][0]["errors"][0]["code"])


async def _receipts(s: Scene, role: Role) -> tuple[dict[str, Any], dict[str, Any]]:
    """A receipt of the caller's own file (one row stored, one rejected), and one of another's."""
    me, other = s.actor(role), s.actors["department2"]
    good = pushable(role, me.code, OTHER_ENTITY, "G-1")
    bad = pushable(role, me.code, OTHER_ENTITY, "G-2")
    bad["fields"].pop("XDR_MC")
    own = await push_file(s, me, [good, bad])
    assert (own["created"], own["rejected"]) == (1, 1), own
    foreign = await push_file(s, other, [pushable(Role.DEPARTMENT, other.code, OTHER_ENTITY, "G-3")])
    return own, foreign


RECEIVERS = (Role.DEPARTMENT, Role.PROVINCE, Role.ASSOCIATION)


@proves("bulkReceipt", *RECEIVERS)
async def _bulk_receipt(s: Scene, role: Role) -> str:
    own, foreign = await _receipts(s, role)
    mine = answer(await s.gql(RECEIPT, {"id": own["id"]}, s.actor(role)), "bulkReceipt")
    assert mine == {"__typename": "BulkReceipt", "id": own["id"], "total": 2}
    async with s.unchanged():
        return refusal(await s.gql(RECEIPT, {"id": foreign["id"]}, s.actor(role)), "bulkReceipt")


@proves("GET /bulk/{id}/rejections.csv", *RECEIVERS)
async def _rejections_csv(s: Scene, role: Role) -> str:
    own, foreign = await _receipts(s, role)
    headers = s.actor(role).headers
    mine = await s.client.get(own["rejectionsUrl"], headers=headers)
    assert mine.status_code == 200 and mine.headers["content-type"].startswith("text/csv"), mine.text
    assert [line.split(",")[:4] for line in mine.text.strip().splitlines()[1:]] == [
        ["2", "G-2", "REQUIRED", "fields.XDR_MC"]
    ], mine.text
    async with s.unchanged():
        refused = await s.client.get(foreign["rejectionsUrl"], headers=headers)
    assert refused.status_code == 403, refused.text
    return str(refused.json()["errors"][0]["extensions"]["code"])


# Objections (issue 9): an entity's own; a department's, to the records it produced.

OBJECTIONS = "query($u: String) { objections(uscc: $u) { id uscc } }"
OBJECTION = "query($u: String!, $id: Int!) { objection(uscc: $u, id: $id) { id uscc } }"


async def _objection_to(s: Scene, pusher: str, record_id: str) -> dict[str, Any]:
    """The test entity's objection to a penalty `pusher` produced."""
    entity, dept = s.actors["entity"], s.actors[pusher]
    await objections.push_penalty(s.client, dept, entity.code, record_id)
    return await objections.file_ok(s.client, entity, dept, record_id)


async def _others_objection(s: Scene, source_dept: str) -> int:
    """Another entity's objection (to a record of `source_dept`), written as the hub stores one."""
    row = await s.connection.execute(
        text(
            """
            INSERT INTO objections (uscc, source_dept, source_record_id, record_type, record_version,
                prior_state, reason, evidence, filed_by, received_on, attention_on, due_on, profile,
                profile_version, status)
            VALUES (:u, :d, '罚-他', 'administrative_penalty', 1, 'published', '另一主体的异议理由文字',
                '[]', :u, current_date, current_date + 6, current_date + 9, 'seed_001', 1, 'open')
            RETURNING id
            """
        ),
        {"u": OTHER_ENTITY, "d": source_dept},
    )
    return int(row.scalar_one())


REPAIRS = "query($u: String) { repairApplications(uscc: $u) { id uscc } }"


async def _repair_of(s: Scene, pusher: str, record_id: str) -> dict[str, Any]:
    """The test entity's application to repair a fine `pusher` imposed 150 days ago (past its minimum)."""
    entity, dept = s.actors["entity"], s.actors[pusher]
    await objections.push_penalty(s.client, dept, entity.code, record_id, JDRQ=days_ago(150))
    application = await objections.apply_for_repair(s.client, entity, dept, record_id)
    assert application["__typename"] == "RepairApplication", application
    return application


async def _others_repair(s: Scene, source_dept: str) -> int:
    """Another entity's pending application (to a record of `source_dept`), as the hub stores one."""
    row = await s.connection.execute(
        text(
            """
            INSERT INTO repair_applications (uscc, source_dept, source_record_id, record_type, record_version,
                obligations_evidence, commitment, filed_by, received_on, decision_due_on, answer_due_on,
                profile, profile_version, status)
            VALUES (:u, :d, '罚-他', 'administrative_penalty', 1, '[]', '另一主体的修复承诺书全文', :u,
                current_date, current_date + 3, current_date + 14, 'seed_001', 1, 'pending')
            RETURNING id
            """
        ),
        {"u": OTHER_ENTITY, "d": source_dept},
    )
    return int(row.scalar_one())


@proves("repairApplications", Role.ENTITY)
async def _repair_applications(s: Scene, role: Role) -> str:
    me = s.actor(role)
    mine = await _repair_of(s, "department", "罚-1")
    await _others_repair(s, s.actors["department"].code)
    own = answer(await s.gql(REPAIRS, {"u": me.code}, me), "repairApplications")
    assert [a["id"] for a in own] == [mine["id"]]
    async with s.unchanged():
        return refusal(await s.gql(REPAIRS, {"u": OTHER_ENTITY}, me), "repairApplications")


@proves("decideRepair", Role.DEPARTMENT)
async def _decide_repair(s: Scene, role: Role) -> str:
    me = s.actor(role)
    mine = await _repair_of(s, "department", "罚-1")
    assert (await objections.decide_repair(s.client, me, mine, "REJECTED"))["status"] == "REJECTED"
    theirs = await _repair_of(s, "department2", "罚-2")
    async with s.unchanged():
        refused = await objections.decide_repair(s.client, me, theirs, "REJECTED")
    return str(refused["code"])


@proves("objections", Role.ENTITY)
async def _objections(s: Scene, role: Role) -> str:
    me = s.actor(role)
    mine = await _objection_to(s, "department", "罚-1")
    await _others_objection(s, s.actors["department"].code)
    own = answer(await s.gql(OBJECTIONS, {"u": me.code}, me), "objections")
    assert [o["id"] for o in own] == [mine["id"]]
    async with s.unchanged():
        return refusal(await s.gql(OBJECTIONS, {"u": OTHER_ENTITY}, me), "objections")


@proves("objection", Role.ENTITY, Role.DEPARTMENT)
async def _objection(s: Scene, role: Role) -> str:
    me = s.actor(role)
    mine = await _objection_to(s, "department", "罚-1")
    own = answer(await s.gql(OBJECTION, {"u": mine["uscc"], "id": mine["id"]}, me), "objection")
    assert own == {"id": mine["id"], "uscc": mine["uscc"]}
    if role is Role.ENTITY:
        other = {"u": OTHER_ENTITY, "id": await _others_objection(s, s.actors["department"].code)}
    else:
        theirs = await _objection_to(s, "department2", "罚-2")
        other = {"u": theirs["uscc"], "id": theirs["id"]}
    async with s.unchanged():
        return refusal(await s.gql(OBJECTION, other, me), "objection")


@proves("decideObjection", Role.DEPARTMENT)
async def _decide_objection(s: Scene, role: Role) -> str:
    me = s.actor(role)
    mine = await _objection_to(s, "department", "罚-1")
    assert (await objections.decide(s.client, me, mine, "REJECTED"))["status"] == "REJECTED"
    theirs = await _objection_to(s, "department2", "罚-2")
    async with s.unchanged():
        refused = await objections.decide(s.client, me, theirs, "REJECTED")
    return str(refused["code"])


# Roles allowed on any object, in rows where others have `own` cells: another's object works.

Reach = Callable[[Scene, Role], Awaitable[None]]
REACHES: dict[str, Reach] = {}


def reaches(name: str) -> Callable[[Reach], Reach]:
    def register(fn: Reach) -> Reach:
        REACHES[name] = fn
        return fn

    return register


@reaches("supervision")
async def _reach_supervision(s: Scene, role: Role) -> None:
    found = answer(await s.gql(SUPERVISION, {"u": OTHER_ENTITY, "d": DOMAIN}, s.actor(role)), "supervision")
    assert found["uscc"] == OTHER_ENTITY


@reaches("supervisionBatch")
async def _reach_supervision_batch(s: Scene, role: Role) -> None:
    usccs = [OTHER_ENTITY, s.actors["entity"].code]
    found = answer(await s.gql(BATCH, {"u": usccs, "d": DOMAIN}, s.actor(role)), "supervisionBatch")
    assert [e["uscc"] for e in found] == usccs


@reaches("classificationHistory")
async def _reach_classification_history(s: Scene, role: Role) -> None:
    # In the other department's domain: a department reads results beyond its own (seed 002 §二(四)).
    await assign(s, DOMAIN, to="department2")
    added = await s.gql(MEMBERS, {"d": DOMAIN, "u": [OTHER_ENTITY]}, s.actors["department2"])
    assert answer(added, "addDomainMembers")["population"] == 1
    found = answer(await s.gql(HISTORY, {"u": OTHER_ENTITY}, s.actor(role)), "classificationHistory")
    assert [c["domain"] for c in found] == [DOMAIN]


@reaches("evaluationModel")
async def _reach_evaluation_model(s: Scene, role: Role) -> None:
    await scoring.setup(s.client, s.actors)  # the department's model
    found = answer(await s.gql(scoring.READ, {"d": scoring.DOMAIN}, s.actor(role)), "evaluationModel")
    assert (found["domain"], found["version"]) == (scoring.DOMAIN, 1)


@reaches("reclassifyDomain")
async def _reach_reclassify_domain(s: Scene, role: Role) -> None:
    await assign(s, DOMAIN)
    assert answer(
        await s.gql(MEMBERS, {"d": DOMAIN, "u": [OTHER_ENTITY]}, s.actors["department"]), "addDomainMembers"
    )
    found = answer(await s.gql(RECLASSIFY, {"d": DOMAIN}, s.actor(role)), "reclassifyDomain")
    assert found == {"__typename": "Reclassified", "population": 1}


async def _others_receipt(s: Scene) -> dict[str, Any]:
    other = s.actors["department2"]
    bad = pushable(Role.DEPARTMENT, other.code, OTHER_ENTITY, "H-1")
    bad["fields"].pop("XDR_MC")
    return await push_file(s, other, [bad])


@reaches("bulkReceipt")
async def _reach_bulk_receipt(s: Scene, role: Role) -> None:
    receipt = await _others_receipt(s)
    found = answer(await s.gql(RECEIPT, {"id": receipt["id"]}, s.actor(role)), "bulkReceipt")
    assert found == {"__typename": "BulkReceipt", "id": receipt["id"], "total": 1}


@reaches("GET /bulk/{id}/rejections.csv")
async def _reach_rejections_csv(s: Scene, role: Role) -> None:
    receipt = await _others_receipt(s)
    found = await s.client.get(receipt["rejectionsUrl"], headers=s.actor(role).headers)
    assert found.status_code == 200 and "H-1,REQUIRED,fields.XDR_MC" in found.text, found.text


@reaches("objections")
async def _reach_objections(s: Scene, role: Role) -> None:
    # The department's record, another entity's objection: the department handles it.
    other = await _others_objection(s, s.actors["department"].code)
    found = answer(await s.gql(OBJECTIONS, {"u": OTHER_ENTITY}, s.actor(role)), "objections")
    assert found == [{"id": other, "uscc": OTHER_ENTITY}]


@reaches("repairApplications")
async def _reach_repair_applications(s: Scene, role: Role) -> None:
    other = await _others_repair(s, s.actors["department"].code)
    found = answer(await s.gql(REPAIRS, {"u": OTHER_ENTITY}, s.actor(role)), "repairApplications")
    assert found == [{"id": other, "uscc": OTHER_ENTITY}]


@reaches("decideRepair")
async def _reach_decide_repair(s: Scene, role: Role) -> None:
    theirs = await _repair_of(s, "department2", "罚-2")
    assert (await objections.decide_repair(s.client, s.actor(role), theirs, "REJECTED"))[
        "status"
    ] == "REJECTED"


@reaches("objection")
async def _reach_objection(s: Scene, role: Role) -> None:
    other = await _others_objection(s, s.actors["department2"].code)
    found = answer(await s.gql(OBJECTION, {"u": OTHER_ENTITY, "id": other}, s.actor(role)), "objection")
    assert found == {"id": other, "uscc": OTHER_ENTITY}


@reaches("decideObjection")
async def _reach_decide_objection(s: Scene, role: Role) -> None:
    theirs = await _objection_to(s, "department2", "罚-2")
    assert (await objections.decide(s.client, s.actor(role), theirs, "REJECTED"))["status"] == "REJECTED"


# The access log: entries an organisation caused, reads of an entity's data.

ACCESS_LOG = "query($u: String) { accessLog(uscc: $u) { edges { node { id readerOrganisation } } } }"
ACCESS_RECEIPT = "query($e: ID!) { accessReceipt(entry: $e) { leafIndex treeSize } }"


async def _logged_read(s: Scene, reader: Actor, uscc: str) -> str:
    """An access-log entry of `reader` reading `uscc`'s data, integrated under a checkpoint."""
    settings = Settings(access_log_checkpoint_entries=1)
    async with AsyncSession(bind=s.connection, join_transaction_mode="create_savepoint") as session:
        entry = await audit.record_read(
            session, audit.Who(reader.role.value, reader.code), audit.Read(uscc, ["record.x.amount"])
        )
        await audit.integrate(session, settings, StaticKeyProvider(settings.master_key))
        await session.commit()
    return str(entry)


@proves("accessLog", Role.ENTITY)
async def _access_log(s: Scene, role: Role) -> str:
    me = s.actor(role)
    await _logged_read(s, s.actors["bank"], me.code)
    own = answer(await s.gql(ACCESS_LOG, {}, me), "accessLog")
    assert [e["node"]["readerOrganisation"] for e in own["edges"]] == [s.actors["bank"].code]
    async with s.unchanged():
        return refusal(await s.gql(ACCESS_LOG, {"u": OTHER_ENTITY}, me), "accessLog")


@proves("accessReceipt", Role.ENTITY, Role.DEPARTMENT, Role.PROVINCE, Role.BANK, Role.ASSOCIATION)
async def _access_receipt(s: Scene, role: Role) -> str:
    me = s.actor(role)
    # Its own: a read it made, or (an entity) a read of its data; another's: someone else's read.
    reader, other = (
        (s.actors["bank"], s.actors["association"]) if role is Role.ENTITY else (me, s.actors["entity"])
    )
    mine = await _logged_read(s, reader, me.code if role is Role.ENTITY else OTHER_ENTITY)
    theirs = await _logged_read(s, other, OTHER_ENTITY)
    assert answer(await s.gql(ACCESS_RECEIPT, {"e": mine}, me), "accessReceipt")["treeSize"] >= 1
    async with s.unchanged():
        return refusal(await s.gql(ACCESS_RECEIPT, {"e": theirs}, me), "accessReceipt")


@reaches("accessLog")
async def _reach_access_log(s: Scene, role: Role) -> None:
    await _logged_read(s, s.actors["bank"], OTHER_ENTITY)
    found = answer(await s.gql(ACCESS_LOG, {"u": OTHER_ENTITY}, s.actor(role)), "accessLog")
    assert [e["node"]["readerOrganisation"] for e in found["edges"]] == [s.actors["bank"].code]


@reaches("accessReceipt")
async def _reach_access_receipt(s: Scene, role: Role) -> None:
    entry = await _logged_read(s, s.actors["bank"], OTHER_ENTITY)
    assert answer(await s.gql(ACCESS_RECEIPT, {"e": entry}, s.actor(role)), "accessReceipt")["treeSize"] >= 1


@pytest.mark.parametrize(("row", "role"), OWN_CELLS, ids=[f"{r.name}-{role.value}" for r, role in OWN_CELLS])
async def test_own_objects_only(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection, row: Row, role: Role
) -> None:
    proof = PROOFS.get(row.name)
    assert proof is not None, f"permissions.yaml marks {row.name} × {role.value} own, and no proof says how"
    code = await proof(Scene(client, actors, connection), role)
    assert code == row.refusal, (
        f"{row.name} × {role.value}: another's object refused with {code}, table says {row.refusal}"
    )


def test_every_proof_is_of_an_own_cell() -> None:
    stale = set(PROOFS) - {row.name for row, _ in OWN_CELLS}
    assert not stale, f"proofs of operations permissions.yaml does not mark own: {sorted(stale)}"


@pytest.mark.parametrize(
    ("row", "role"), REACH_CELLS, ids=[f"{r.name}-{role.value}" for r, role in REACH_CELLS]
)
async def test_allowed_roles_reach_others_objects(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection, row: Row, role: Role
) -> None:
    reach = REACHES.get(row.name)
    assert reach is not None, f"{row.name}: no proof that {role.value} reaches another's object"
    await reach(Scene(client, actors, connection), role)


def test_every_reach_is_of_a_row_with_own_cells() -> None:
    stale = set(REACHES) - {row.name for row, _ in REACH_CELLS}
    assert not stale, f"proofs for rows without allowed and own cells: {sorted(stale)}"


# Authorisations (授权): an entity decides on its own grants; a requester reads under its own.


async def _consent_scene(s: Scene) -> dict[str, dict[str, Any]]:
    """Grants of the entity actor asked by the bank and by the association (both approved), and a
    request of the bank to another entity."""
    entity = s.actors["entity"]
    await consents.registered(s.client, s.actors, entity.code, "own-consents")
    await consents.registered(s.client, s.actors, OTHER_ENTITY, "own-consents-other")
    bank = await consents.active_grant(s.client, s.actors, "bank")
    association = await consents.active_grant(
        s.client,
        s.actors,
        "association",
        purpose="bidding_qualification",
        scope=[{"item": "supervision", "tier": "FULL"}],
    )
    foreign = await consents.ask(s.client, s.actors["bank"], OTHER_ENTITY)
    return {"bank": bank, "association": association, "foreign": foreign}


ONE_GRANT = """query($i: ID!) { authorisation(id: $i) { __typename ... on Authorisation { id }
  ... on Problem { code } } }"""


@proves("authorisation", Role.ENTITY, Role.BANK, Role.ASSOCIATION)
async def _authorisation(s: Scene, role: Role) -> str:
    grants = await _consent_scene(s)
    me = s.actor(role)
    mine, others = {
        Role.ENTITY: (grants["bank"], grants["foreign"]),
        Role.BANK: (grants["bank"], grants["association"]),
        Role.ASSOCIATION: (grants["association"], grants["bank"]),
    }[role]
    found = answer(await s.gql(ONE_GRANT, {"i": mine["id"]}, me), "authorisation")
    assert found == {"__typename": "Authorisation", "id": mine["id"]}
    async with s.unchanged():
        return refusal(await s.gql(ONE_GRANT, {"i": others["id"]}, me), "authorisation")


@reaches("authorisation")
async def _reach_authorisation(s: Scene, role: Role) -> None:
    grants = await _consent_scene(s)
    found = answer(await s.gql(ONE_GRANT, {"i": grants["foreign"]["id"]}, s.actor(role)), "authorisation")
    assert found == {"__typename": "Authorisation", "id": grants["foreign"]["id"]}


@proves("authorizedProfile", Role.BANK, Role.ASSOCIATION)
async def _authorized_profile(s: Scene, role: Role) -> str:
    grants = await _consent_scene(s)
    me, entity = s.actor(role), s.actors["entity"].code
    mine = grants[role.value]
    others = grants["association" if role is Role.BANK else "bank"]
    read = await s.gql(consents.SUPERVISION_ONLY, {"u": entity, "a": mine["id"]}, me)
    assert answer(read, "authorizedProfile")["readsUsed"] == 1
    # A read under another's grant is refused, and is itself an entry of the access log (issue 9:
    # every refused authorised read is logged); nothing else is written, the grant's count included.
    async with s.unchanged(but=frozenset({"access_log_entries"})):
        return refusal(
            await s.gql(consents.SUPERVISION_ONLY, {"u": entity, "a": others["id"]}, me), "authorizedProfile"
        )


def _decision_proof(name: str, operation: str, before: tuple[str, ...]) -> None:
    """The entity's step `operation` on its own grant (brought through `before` first) and on another
    entity's request."""

    @proves(name, Role.ENTITY)
    async def proof(s: Scene, role: Role) -> str:
        grants = await _consent_scene(s)
        me = s.actor(role)
        own = grants["bank"]["id"]
        if name in ("approveAuthorisation", "rejectAuthorisation"):
            own = (await consents.ask(s.client, s.actors["bank"], me.code))["id"]
        for step in before:
            await consents.decide(s.client, me, step, own)
        done = answer(await s.gql(operation, {"i": own}, me), name)
        assert done["__typename"] == "Authorisation", done
        async with s.unchanged():
            return refusal(await s.gql(operation, {"i": grants["foreign"]["id"]}, me), name)


_decision_proof("approveAuthorisation", consents.APPROVE, ())
_decision_proof("rejectAuthorisation", consents.REJECT, ())
_decision_proof("pauseAuthorisation", consents.PAUSE, ())
_decision_proof("resumeAuthorisation", consents.RESUME, (consents.PAUSE,))
_decision_proof("revokeAuthorisation", consents.REVOKE, ())
