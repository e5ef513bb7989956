"""Operations and builders the objection, repair and record-state tests share."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from tests.conftest import Actor, gql
from tests.grading.evaluations import DOMAIN, assign, evaluation
from tests.records.builders import push_ok, valid_record

OBJECTION_FIELDS = """
  id uscc sourceDepartment sourceRecordId recordType recordVersion reason evidence { title reference }
  receivedOn attentionOn dueOn profile profileVersion status action decisionReason departmentStatement
  decidedBy decidedOn late attention
"""
FILE = (
    """mutation($d: String!, $r: String!, $why: String!, $e: [EvidenceInput!]) {
  fileObjection(sourceDepartment: $d, sourceRecordId: $r, reason: $why, evidence: $e) {
    __typename ... on Objection {"""
    + OBJECTION_FIELDS
    + """} ... on Problem { code message path } } }"""
)
DECIDE = (
    """mutation($u: String!, $id: Int!, $o: ObjectionOutcome!, $why: String!, $a: ObjectionAction, $s: String) {
  decideObjection(uscc: $u, id: $id, outcome: $o, reason: $why, action: $a, departmentStatement: $s) {
    __typename ... on Objection {"""
    + OBJECTION_FIELDS
    + """} ... on Problem { code message path } } }"""
)
LIST = (
    """query($u: String, $a: ObjectionAttention, $open: Boolean! = false) {
  objections(uscc: $u, attention: $a, openOnly: $open) {"""
    + OBJECTION_FIELDS
    + "} }"
)
ONE = "query($u: String!, $id: Int!) { objection(uscc: $u, id: $id) {" + OBJECTION_FIELDS + "} }"
ARCHIVE = """query($u: String!) { entity(uscc: $u) { records(first: 100) { totalCount edges { node {
  sourceRecordId version recordType state disputed fields } } } } }"""

REASON = "该处罚决定已被复议机关撤销，记录有误，请予更正。"
EVIDENCE = [{"title": "行政复议决定书", "reference": "哈复决字〔2026〕第15号"}]


def penalty(dept: Actor, uscc: str, record_id: str, **fields: Any) -> dict[str, Any]:
    return valid_record("administrative_penalty", dept.code, uscc, record_id=record_id, **fields)


async def push_penalty(
    client: httpx.AsyncClient, dept: Actor, uscc: str, record_id: str, **fields: Any
) -> None:
    await push_ok(client, dept, [penalty(dept, uscc, record_id, **fields)], key=f"{record_id}-{len(fields)}")


async def push_serious_evaluation(
    client: httpx.AsyncClient, actors: dict[str, Actor], record_id: str
) -> None:
    """The test department's domain (drug_manufacturing, samr_risk) and an industry evaluation D
    (serious) of the test entity in it, valid for the year ahead."""
    entity, dept = actors["entity"], actors["department"]
    await assign(client, actors["credit_office"], dept, DOMAIN)
    today = dt.date.today()
    record = evaluation(
        "industry_evaluation",
        dept,
        entity.code,
        "D",
        scheme="samr_risk",
        evaluated=(today - dt.timedelta(days=20)).isoformat(),
        valid_until=(today + dt.timedelta(days=300)).isoformat(),
        domain=DOMAIN,
        record_id=record_id,
    )
    await push_ok(client, dept, [record], key=record_id)


async def file(
    client: httpx.AsyncClient, entity: Actor, dept: Actor, record_id: str, **variables: Any
) -> dict[str, Any]:
    values = {"d": dept.code, "r": record_id, "why": REASON, "e": EVIDENCE, **variables}
    answer = await gql(client, FILE, values, entity)
    assert "errors" not in answer, answer
    result: dict[str, Any] = answer["data"]["fileObjection"]
    return result


async def file_ok(client: httpx.AsyncClient, entity: Actor, dept: Actor, record_id: str) -> dict[str, Any]:
    objection = await file(client, entity, dept, record_id)
    assert objection["__typename"] == "Objection", objection
    return objection


async def decide(
    client: httpx.AsyncClient, actor: Actor, objection: dict[str, Any], outcome: str, **variables: Any
) -> dict[str, Any]:
    values = {
        "u": objection["uscc"],
        "id": objection["id"],
        "o": outcome,
        "why": "经核查，情况属实。",
        **variables,
    }
    answer = await gql(client, DECIDE, values, actor)
    assert "errors" not in answer, answer
    result: dict[str, Any] = answer["data"]["decideObjection"]
    return result


async def archive(client: httpx.AsyncClient, actor: Actor | None, uscc: str) -> dict[str, dict[str, Any]]:
    """The records `actor` lists in `uscc`'s archive, by source record id."""
    answer = await gql(client, ARCHIVE, {"u": uscc}, actor)
    assert "errors" not in answer, answer
    entity = answer["data"]["entity"]
    if entity is None:
        return {}
    return {e["node"]["sourceRecordId"]: e["node"] for e in entity["records"]["edges"]}


REPAIR_FIELDS = """
  id uscc sourceDepartment sourceRecordId recordType recordVersion obligationsEvidence { title reference }
  commitment receivedOn decisionDueOn answerDueOn profile status decisionReason decidedBy decidedOn late
  reportDueOn
"""
APPLY = (
    """mutation($d: String!, $r: String!, $e: [EvidenceInput!]!, $c: String!) {
  applyForRepair(sourceDepartment: $d, sourceRecordId: $r, obligationsEvidence: $e, commitment: $c) {
    __typename ... on RepairApplication {"""
    + REPAIR_FIELDS
    + """} ... on RepairIneligible { code message eligibleFrom } ... on Problem { code message path } } }"""
)
DECIDE_REPAIR = (
    """mutation($u: String!, $id: Int!, $d: RepairDecision!, $why: String!) {
  decideRepair(uscc: $u, id: $id, decision: $d, reason: $why) {
    __typename ... on RepairApplication {"""
    + REPAIR_FIELDS
    + """} ... on Problem { code message path } } }"""
)
REPAIRS = (
    "query($u: String, $o: Boolean! = false) { repairApplications(uscc: $u, overdue: $o) {"
    + REPAIR_FIELDS
    + "} }"
)
PAID = [{"title": "罚款缴纳凭证", "reference": "非税收入缴款书 2301-2026-000123"}]
COMMITMENT = "本单位承诺已纠正失信行为，今后严格遵守法律法规，如有违反愿承担相应责任。"


async def apply_for_repair(
    client: httpx.AsyncClient, entity: Actor, dept: Actor, record_id: str, **variables: Any
) -> dict[str, Any]:
    values = {"d": dept.code, "r": record_id, "e": PAID, "c": COMMITMENT, **variables}
    answer = await gql(client, APPLY, values, entity)
    assert "errors" not in answer, answer
    result: dict[str, Any] = answer["data"]["applyForRepair"]
    return result


async def decide_repair(
    client: httpx.AsyncClient, actor: Actor, application: dict[str, Any], decision: str, **variables: Any
) -> dict[str, Any]:
    values = {
        "u": application["uscc"],
        "id": application["id"],
        "d": decision,
        "why": "经审核，符合修复条件。",
    }
    answer = await gql(client, DECIDE_REPAIR, {**values, **variables}, actor)
    assert "errors" not in answer, answer
    result: dict[str, Any] = answer["data"]["decideRepair"]
    return result
