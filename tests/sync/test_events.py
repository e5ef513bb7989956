"""Which change events each mutation and bulk path writes (house rule 13), through the real HTTP app.

EMITS is the hand-kept table: per operation and case, the events it must write, in order, as
(event type, ordering key). Each case sets up what it needs (its events are not counted), runs the
operation once and checks that it succeeded; the outbox must then hold exactly the listed events,
each readable as its type. Every mutation of the schema has at least one row, so a new mutation
must say what it emits. The last tests prove that a refused or failed change writes no event, and
that a change cannot survive without its event.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import graphql
import httpx
import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.catalog.record_types import load_bundled
from hub.catalog.registry import shipped_documents
from hub.sync.events import decode
from tests.conftest import Actor, AsOwner, company_code, gov_code, gql
from tests.consents import support as consents
from tests.grading.evaluations import assign, evaluation
from tests.inspections import support as inspections
from tests.objections import support as objections
from tests.records.builders import PERSON_ID, PUSH, count, person_record, valid_record
from tests.records.test_bulk_smoke import csv_file
from tests.scoring import test_scoring as scoring

SDL = Path(__file__).resolve().parents[2] / "schema" / "hub.graphql"
TODAY = dt.date.today()
LAST_MONTH = (TODAY - dt.timedelta(days=30)).isoformat()
NEXT_YEAR = (TODAY + dt.timedelta(days=365)).isoformat()
DRUGS = "drug_manufacturing"  # samr_risk: D is serious, the default is trustworthy
E1, E2, E3 = company_code(901), company_code(902), company_code(903)
GRANTOR = company_code(1)  # the entity actor of tests/conftest.py
ENTITY = company_code(1)  # the entity actor of tests/conftest.py
PERSON = "<the person's archive key>"  # the key the archive stores for person_record(), never the ID number

# (event type, ordering key) per operation, in the order written. Kept by hand: never derived from the code.
EMITS: dict[str, list[tuple[str, str | None]]] = {
    "pushRecords: two new records": [("record.created", E1), ("record.created", E2)],
    "pushRecords: a changed record": [("record.updated", E1)],
    "pushRecords: an unchanged record": [],
    "pushRecords: a rejected record": [],
    "pushRecords: the same push replayed": [],
    "pushRecords: a natural person's record": [("record.created", PERSON)],
    "pushRecords: an industry evaluation of a domain": [
        ("evaluation.stored", E1),
        ("classification.changed", E1),
    ],
    "pushRecords: a changed industry evaluation": [("evaluation.stored", E1), ("classification.changed", E1)],
    "pushRecords: a public evaluation of an entity in no domain": [("evaluation.stored", E1)],
    "pushRecords: a market evaluation (never decides a category)": [("evaluation.stored", E1)],
    "pushRecordsFile: a file of penalties": [("records.loaded", None)],
    "pushRecordsFile: the same file again": [],
    "pushRecordsFile: a file of rejected rows only": [],
    "pushRecordsFile: a file of industry evaluations": [
        ("evaluations.loaded", None),
        ("classification.changed", None),
    ],
    "addDomainMembers: two entities": [("classification.changed", None)],
    "addDomainMembers: one entity": [("classification.changed", E1)],
    "addDomainMembers: members already classified": [],
    "reclassifyDomain: a member never classified": [("classification.changed", None)],
    "reclassifyDomain: nothing changed": [],
    "gradeDomain: the first run": [("evaluations.graded", None), ("classification.changed", None)],
    "gradeDomain: the same values again": [],
    "gradeDomain: one result withdrawn": [("evaluation.withdrawn", E3), ("classification.changed", E3)],
    "gradeDomain: one result changed, one withdrawn": [
        ("evaluations.graded", None),
        ("evaluation.withdrawn", E3),
        ("classification.changed", None),
    ],
    # Policy, set-up and access: nothing another platform must learn of (hub/sync/EVENTS.md says why).
    "saveGradingScheme": [],
    "assignDomain": [],
    "amendMeasures": [],
    "saveEvaluationModel": [],
    "loadIndicatorValues": [],
    "uploadIndicatorValues": [],
    "addInspectors": [],
    "declareConflict": [],
    "commitInspectionPlan": [],
    "drawInspectionPlan": [],
    "saveRecordType": [],
    "savePublicityRules": [],
    "loadCalendarYear": [],
    # The masking policy is the city's own rule for what leaves it: no other platform keeps a copy.
    "amendMaskingPolicy": [],
    "registerOrganisation": [],
    "issueToken": [],
    "revokeToken": [],
    "correctEntityName: a corrected name": [("entity.renamed", E1)],
    "correctEntityName: the name it has already": [],
    # Authorisations (授权): each step of a grant, keyed by the entity that gives it.
    "savePurpose": [],
    "requestAuthorisation": [("authorisation.requested", GRANTOR)],
    "approveAuthorisation": [("authorisation.approved", GRANTOR)],
    "rejectAuthorisation": [("authorisation.rejected", GRANTOR)],
    "pauseAuthorisation": [("authorisation.paused", GRANTOR)],
    "resumeAuthorisation": [("authorisation.resumed", GRANTOR)],
    "revokeAuthorisation": [("authorisation.revoked", GRANTOR)],
    # Objections (issue 9): the record's state travels upstream; an upheld one re-classifies.
    "fileObjection: an objection to a penalty": [("record.state_changed", ENTITY)],
    "decideObjection: rejected": [("record.state_changed", ENTITY)],
    "decideObjection: an evaluation revoked": [
        ("record.state_changed", ENTITY),
        ("classification.changed", ENTITY),
    ],
    # Credit repair: an application is the entity's case with the hub; an approval withdraws the
    # record upstream; a shield tells the province the firm's records are out of publication.
    "applyForRepair": [],
    "decideRepair: approved": [("record.repaired", ENTITY)],
    "decideRepair: rejected": [],
    "shieldEntity": [("entity.shielded", ENTITY)],
    "liftShield": [("entity.shield_lifted", ENTITY)],
    "saveRightsProfile": [],
}

MEMBERS = """mutation($d: String!, $u: [String!]!) { addDomainMembers(domain: $d, usccs: $u) {
  __typename ... on Reclassified { changed } ... on Problem { code message } } }"""
RECLASSIFY = """mutation($d: String!) { reclassifyDomain(domain: $d) {
  __typename ... on Reclassified { changed } ... on Problem { code message } } }"""
UPLOAD = """mutation($file: Upload!, $type: String!, $format: BulkFormat!, $key: String) {
  pushRecordsFile(file: $file, recordType: $type, format: $format, idempotencyKey: $key) {
  __typename ... on BulkReceipt { created updated unchanged rejected } ... on Problem { code message } } }"""
UPLOAD_VALUES = """mutation($d: String!, $p: String!, $file: Upload!) { uploadIndicatorValues(domain: $d, period: $p, file: $file) {
  __typename ... on IndicatorValuesLoaded { created } ... on Problem { code message } } }"""
SCHEME = (
    """mutation($s: JSON!) { saveGradingScheme(scheme: $s) { __typename ... on Problem { code message } } }"""
)
AMEND = """mutation($d: String!, $c: CreditCategory!, $m: JSON!) { amendMeasures(domain: $d, category: $c, measures: $m) {
  __typename ... on Problem { code message } } }"""
SAVE_TYPE = """mutation($d: JSON!) { saveRecordType(definition: $d) { __typename ... on Problem { code message } } }"""
SAVE_RULES = (
    """mutation($r: JSON!) { savePublicityRules(rules: $r) { __typename ... on Problem { code message } } }"""
)
CALENDAR = """mutation($s: CalendarYearInput!) { loadCalendarYear(schedule: $s) { __typename ... on Problem { code message } } }"""
AMEND_MASKING = """mutation($p: JSON!) { amendMaskingPolicy(policy: $p) { __typename ... on Problem { code message } } }"""
REGISTER = """mutation($c: String!) { registerOrganisation(code: $c, name: "市测试局", role: DEPARTMENT) {
  __typename ... on Problem { code message } } }"""
ISSUE = """mutation($o: String!) { issueToken(organisationCode: $o, label: "events", days: 30) {
  __typename ... on IssuedToken { id } ... on Problem { code message } } }"""
RENAME = """mutation($u: String!, $n: String!) { correctEntityName(uscc: $u, name: $n, reason: "登记机关变更通知") {
  __typename ... on Problem { code message } } }"""
REVOKE = """mutation($i: Int!) { revokeToken(tokenId: $i) { __typename ... on Problem { code message } } }"""
MEASURES = {
    "sampling_ratio_min": "0.1",
    "sampling_ratio_max": "0.3",
    "yearly_frequency_min": "1",
    "yearly_frequency_max": "2",
    "inspection_mode": "on_site",
    "may_exclude": False,
    "always_inspect": False,
    "incentives": [],
    "restrictions": ["key_attention_target"],
    "notes": "raised for 2027",
}
GRADING_SCHEME = {
    "code": "harbin_events",
    "title": "Harbin events",
    "title_zh": "哈尔滨测试",
    "issuer": "市信用办",
    "valid_from": None,
    "valid_to": None,
    "levels": [
        {
            "code": "A",
            "label_zh": "A级",
            "category": "trustworthy",
            "min_score": "80",
            "max_score": None,
            "description": "good",
        },
        {
            "code": "B",
            "label_zh": "B级",
            "category": "general",
            "min_score": "0",
            "max_score": "80",
            "description": "weak",
        },
    ],
}


# --- helpers -------------------------------------------------------------------------------------


async def mutate(client: httpx.AsyncClient, actor: Actor, query: str, variables: dict[str, Any]) -> Any:
    """Run one mutation; it must answer with its success type, not a Problem or an error."""
    answer = await gql(client, query, variables, actor)
    assert "errors" not in answer, answer
    [result] = answer["data"].values()
    assert "code" not in result, result
    return result


async def upload(
    client: httpx.AsyncClient, actor: Actor, query: str, variables: dict[str, Any], data: bytes
) -> Any:
    operations = {"query": query, "variables": {**variables, "file": None}}
    response = await client.post(
        "/graphql",
        data={
            "operations": orjson.dumps(operations).decode(),
            "map": orjson.dumps({"0": ["variables.file"]}).decode(),
        },
        files={"0": ("upload", data, "application/octet-stream")},
        headers=actor.headers,
    )
    answer = response.json()
    assert "errors" not in answer, answer
    [result] = answer["data"].values()
    return result


async def push_records(
    client: httpx.AsyncClient, actor: Actor, records: list[dict[str, Any]], key: str
) -> Any:
    return await mutate(client, actor, PUSH, {"records": records, "key": key})


def penalty(dept: Actor, uscc: str, **fields: Any) -> dict[str, Any]:
    return valid_record("administrative_penalty", dept.code, uscc, record_id=f"罚-{uscc}", **fields)


def industry(actors: dict[str, Actor], uscc: str, grade: str, record_id: str = "E-1") -> dict[str, Any]:
    return evaluation(
        "industry_evaluation",
        actors["department"],
        uscc,
        grade,
        scheme="samr_risk",
        evaluated=LAST_MONTH,
        valid_until=NEXT_YEAR,
        domain=DRUGS,
        record_id=record_id,
    )


def evaluations_file(actors: dict[str, Actor], usccs: list[str]) -> bytes:
    lines = [orjson.dumps(industry(actors, u, "D", record_id=f"F-{u}")["fields"]) for u in usccs]
    return b"\n".join(lines) + b"\n"


async def outbox_since(connection: AsyncConnection, mark: int) -> list[tuple[Any, ...]]:
    rows = await connection.execute(
        text(
            "SELECT event_type, payload_version, uscc, payload, xact_id FROM outbox WHERE id > :m ORDER BY id"
        ),
        {"m": mark},
    )
    return [tuple(r) for r in rows]


async def last_event_id(connection: AsyncConnection) -> int:
    return int(await connection.scalar(text("SELECT coalesce(max(id), 0) FROM outbox")) or 0)


# --- the cases: each sets up, then returns the one operation to watch ----------------------------

Operation = Callable[[], Awaitable[Any]]
Case = Callable[[httpx.AsyncClient, dict[str, Actor], AsyncConnection], Awaitable[Operation]]
CASES: dict[str, Case] = {}


def case(name: str) -> Callable[[Case], Case]:
    def register(fn: Case) -> Case:
        CASES[name] = fn
        return fn

    return register


@case("pushRecords: two new records")
async def _new_records(client, actors, connection):
    dept = actors["department"]
    return lambda: push_records(client, dept, [penalty(dept, E1), penalty(dept, E2)], "k1")


@case("pushRecords: a changed record")
async def _changed_record(client, actors, connection):
    dept = actors["department"]
    await push_records(client, dept, [penalty(dept, E1)], "k1")
    return lambda: push_records(client, dept, [penalty(dept, E1, NR_FK="0.7")], "k2")


@case("pushRecords: an unchanged record")
async def _unchanged_record(client, actors, connection):
    dept = actors["department"]
    await push_records(client, dept, [penalty(dept, E1)], "k1")
    return lambda: push_records(client, dept, [penalty(dept, E1)], "k2")


@case("pushRecords: a rejected record")
async def _rejected_record(client, actors, connection):
    dept = actors["department"]

    async def run() -> None:
        answer = await push_records(client, dept, [penalty(dept, E1, NR_FK="-1")], "k1")
        assert answer["rejected"] == 1, answer

    return run


@case("pushRecords: the same push replayed")
async def _replayed(client, actors, connection):
    dept = actors["department"]
    await push_records(client, dept, [penalty(dept, E1)], "k1")

    async def run() -> None:
        assert (await push_records(client, dept, [penalty(dept, E1)], "k1"))["replayed"] is True

    return run


@case("pushRecords: a natural person's record")
async def _person(client, actors, connection):
    dept = actors["department"]
    return lambda: push_records(client, dept, [person_record("administrative_penalty", dept.code)], "k1")


@case("pushRecords: an industry evaluation of a domain")
async def _industry(client, actors, connection):
    await assign(client, actors["credit_office"], actors["department"], DRUGS)
    return lambda: push_records(client, actors["department"], [industry(actors, E1, "D")], "k1")


@case("pushRecords: a changed industry evaluation")
async def _industry_changed(client, actors, connection):
    await assign(client, actors["credit_office"], actors["department"], DRUGS)
    await push_records(client, actors["department"], [industry(actors, E1, "D")], "k1")
    return lambda: push_records(client, actors["department"], [industry(actors, E1, "A")], "k2")


@case("pushRecords: a public evaluation of an entity in no domain")
async def _public(client, actors, connection):
    record = evaluation(
        "public_evaluation",
        actors["province"],
        E1,
        "B",
        scheme="heilongjiang",
        evaluated=LAST_MONTH,
        valid_until=NEXT_YEAR,
    )
    return lambda: push_records(client, actors["province"], [record], "k1")


@case("pushRecords: a market evaluation (never decides a category)")
async def _market(client, actors, connection):
    await assign(client, actors["credit_office"], actors["department"], DRUGS)
    await mutate(client, actors["department"], MEMBERS, {"d": DRUGS, "u": [E1]})
    record = evaluation(
        "market_evaluation",
        actors["association"],
        E1,
        "A",
        scheme="samr_risk",
        evaluated=LAST_MONTH,
        valid_until=NEXT_YEAR,
        domain=DRUGS,
    )
    return lambda: push_records(client, actors["association"], [record], "k1")


def _penalties(
    client: httpx.AsyncClient, dept: Actor, data: bytes, key: str, counts: tuple[int, int, int]
) -> Operation:
    """Upload a CSV of penalties; the receipt must count (created, unchanged, rejected)."""
    variables = {"type": "administrative_penalty", "format": "CSV", "key": key}

    async def run() -> None:
        receipt = await upload(client, dept, UPLOAD, variables, data)
        assert (receipt["created"], receipt["unchanged"], receipt["rejected"]) == counts, receipt

    return run


@case("pushRecordsFile: a file of penalties")
async def _file(client, actors, connection):
    dept = actors["department"]
    return _penalties(client, dept, csv_file(dept.code, 3), "f1", (3, 0, 0))


@case("pushRecordsFile: the same file again")
async def _file_again(client, actors, connection):
    dept = actors["department"]
    await _penalties(client, dept, csv_file(dept.code, 3), "f1", (3, 0, 0))()
    return _penalties(client, dept, csv_file(dept.code, 3), "f2", (0, 3, 0))


@case("pushRecordsFile: a file of rejected rows only")
async def _file_rejected(client, actors, connection):
    dept = actors["department"]
    return _penalties(client, dept, csv_file(dept.code, 0, bad=2), "f1", (0, 0, 2))


@case("pushRecordsFile: a file of industry evaluations")
async def _file_evaluations(client, actors, connection):
    await assign(client, actors["credit_office"], actors["department"], DRUGS)
    variables = {"type": "industry_evaluation", "format": "NDJSON", "key": "f1"}
    data = evaluations_file(actors, [E1, E2])

    async def run() -> None:
        receipt = await upload(client, actors["department"], UPLOAD, variables, data)
        assert (receipt["created"], receipt["rejected"]) == (2, 0), receipt

    return run


@case("addDomainMembers: two entities")
async def _members(client, actors, connection):
    await assign(client, actors["credit_office"], actors["department"], DRUGS)
    return lambda: mutate(client, actors["department"], MEMBERS, {"d": DRUGS, "u": [E1, E2]})


@case("addDomainMembers: one entity")
async def _member(client, actors, connection):
    await assign(client, actors["credit_office"], actors["department"], DRUGS)
    return lambda: mutate(client, actors["department"], MEMBERS, {"d": DRUGS, "u": [E1]})


@case("addDomainMembers: members already classified")
async def _members_again(client, actors, connection):
    await assign(client, actors["credit_office"], actors["department"], DRUGS)
    await mutate(client, actors["department"], MEMBERS, {"d": DRUGS, "u": [E1, E2]})
    return lambda: mutate(client, actors["department"], MEMBERS, {"d": DRUGS, "u": [E1, E2]})


@case("reclassifyDomain: a member never classified")
async def _reclassify(client, actors, connection):
    await assign(client, actors["credit_office"], actors["department"], DRUGS)
    # A member never classified (as after an import of members alone): re-classifying finds it.
    await connection.execute(
        text("INSERT INTO domain_members (uscc, domain, added_by) VALUES (:u, :d, 'import')"),
        {"u": E1, "d": DRUGS},
    )

    async def run() -> None:
        assert (await mutate(client, actors["department"], RECLASSIFY, {"d": DRUGS}))["changed"] == 1

    return run


@case("reclassifyDomain: nothing changed")
async def _reclassify_nothing(client, actors, connection):
    await assign(client, actors["credit_office"], actors["department"], DRUGS)
    await mutate(client, actors["department"], MEMBERS, {"d": DRUGS, "u": [E1]})

    async def run() -> None:
        assert (await mutate(client, actors["department"], RECLASSIFY, {"d": DRUGS}))["changed"] == 0

    return run


# catering_food_safety: A >= 90, B 75-<90, C 60-<75, no grade below 60.
GRADED = [
    scoring.entity(E1, PUB="95", INS="9", CMP="5", HON="1"),  # 95, A
    scoring.entity(E2, PUB="80", INS="7", CMP="4"),  # 76.67, B
    scoring.entity(E3, PUB="70", INS="8", CMP="4", HON="0"),  # 68, C
]
E1_LOWER = scoring.entity(E1, PUB="95", INS="5", CMP="5", HON="1")  # 83, B
E3_BELOW_EVERY_BAND = scoring.entity(E3, PUB="50", INS="5", CMP="2", HON="0")  # 43


async def _graded(client: httpx.AsyncClient, actors: dict[str, Actor], *, runs: int) -> Operation:
    await scoring.setup(client, actors)
    assert (await scoring.load(client, actors["department"], GRADED))["created"] == 3
    for _ in range(runs):
        await scoring.grade(client, actors["department"])
    return lambda: scoring.grade(client, actors["department"])


@case("gradeDomain: the first run")
async def _first_grading(client, actors, connection):
    return await _graded(client, actors, runs=0)


@case("gradeDomain: the same values again")
async def _regrade_same(client, actors, connection):
    return await _graded(client, actors, runs=1)


@case("gradeDomain: one result withdrawn")
async def _regrade_withdrawn(client, actors, connection):
    run = await _graded(client, actors, runs=1)
    await scoring.load(client, actors["department"], [E3_BELOW_EVERY_BAND])
    return run


@case("gradeDomain: one result changed, one withdrawn")
async def _regrade_changed_and_withdrawn(client, actors, connection):
    run = await _graded(client, actors, runs=1)
    await scoring.load(client, actors["department"], [E1_LOWER, E3_BELOW_EVERY_BAND])
    return run


@case("saveGradingScheme")
async def _scheme(client, actors, connection):
    return lambda: mutate(client, actors["credit_office"], SCHEME, {"s": GRADING_SCHEME})


@case("assignDomain")
async def _assign(client, actors, connection):
    return lambda: assign(client, actors["credit_office"], actors["department"], DRUGS)


@case("amendMeasures")
async def _amend(client, actors, connection):
    await assign(client, actors["credit_office"], actors["department"], DRUGS)
    variables = {"d": DRUGS, "c": "MINOR", "m": MEASURES}
    return lambda: mutate(client, actors["department"], AMEND, variables)


@case("saveEvaluationModel")
async def _model(client, actors, connection):
    await assign(client, actors["credit_office"], actors["department"], scoring.DOMAIN)
    return lambda: scoring.save(client, actors["department"], scoring.MODEL)


@case("loadIndicatorValues")
async def _values(client, actors, connection):
    await scoring.setup(client, actors)
    return lambda: scoring.load(client, actors["department"], GRADED)


@case("uploadIndicatorValues")
async def _values_file(client, actors, connection):
    await scoring.setup(client, actors)
    variables = {"d": scoring.DOMAIN, "p": scoring.PERIOD}
    data = f"USCC,PUB,INS,CMP,HON\n{E1},95,9,5,1\n".encode()

    async def run() -> None:
        assert (await upload(client, actors["department"], UPLOAD_VALUES, variables, data))["created"] == 1

    return run


@case("addInspectors")
async def _inspectors(client, actors, connection):
    return lambda: inspections.add_pool(client, actors["department"], inspections.POOL)


@case("declareConflict")
async def _conflict(client, actors, connection):
    await inspections.add_pool(client, actors["department"], inspections.POOL)
    return lambda: inspections.declare(client, actors["department"], "ZF001", E1)


async def _population(client: httpx.AsyncClient, actors: dict[str, Actor]) -> None:
    await inspections.own_domain(client, actors)
    await inspections.grade(client, actors["department"], {"trustworthy": 4, "minor": 2, "serious": 1})
    await inspections.add_pool(client, actors["department"], inspections.POOL)


@case("commitInspectionPlan")
async def _commit(client, actors, connection):
    await _population(client, actors)

    async def run() -> None:
        assert (await inspections.commit(client, actors["department"]))["__typename"] == "InspectionPlan"

    return run


@case("drawInspectionPlan")
async def _draw(client, actors, connection):
    await _population(client, actors)
    plan = await inspections.commit(client, actors["department"])
    return lambda: mutate(client, actors["department"], inspections.DRAW, {"id": plan["id"]})


@case("saveRecordType")
async def _record_type(client, actors, connection):
    definition = copy.deepcopy(load_bundled()["honour"].to_mapping())
    definition["fields"].append(
        {
            "name": "JLJE",
            "label_zh": "奖励金额",
            "label": "Award amount",
            "description": "Award amount (奖励金额), 万元",
            "type": "decimal",
            "required": False,
            "sensitivity": "public",
            "unit": "万元",
            "min": 0,
        }
    )
    return lambda: mutate(client, actors["credit_office"], SAVE_TYPE, {"d": definition})


@case("savePublicityRules")
async def _publicity(client, actors, connection):
    rules = next(body for kind, _, body in shipped_documents() if kind == "publicity")
    return lambda: mutate(client, actors["credit_office"], SAVE_RULES, {"r": rules})


@case("loadCalendarYear")
async def _calendar(client, actors, connection):
    schedule = {"year": 2041, "source": "test calendar", "holidays": ["2041-01-01"], "workdays": []}
    return lambda: mutate(client, actors["credit_office"], CALENDAR, {"s": schedule})


@case("amendMaskingPolicy")
async def _masking_policy(client, actors, connection):
    policy = next(body for kind, _, body in shipped_documents() if kind == "masking_policy")
    return lambda: mutate(client, actors["credit_office"], AMEND_MASKING, {"p": policy})


@case("registerOrganisation")
async def _register(client, actors, connection):
    return lambda: mutate(client, actors["credit_office"], REGISTER, {"c": gov_code(90)})


@case("issueToken")
async def _issue(client, actors, connection):
    return lambda: mutate(client, actors["credit_office"], ISSUE, {"o": actors["bank"].code})


@case("revokeToken")
async def _revoke(client, actors, connection):
    issued = await mutate(client, actors["credit_office"], ISSUE, {"o": actors["bank"].code})
    return lambda: mutate(client, actors["credit_office"], REVOKE, {"i": int(issued["id"])})


@case("correctEntityName: a corrected name")
async def _rename(client, actors, connection):
    await mutate(
        client,
        actors["department"],
        PUSH,
        {"records": [valid_record("administrative_penalty", actors["department"].code, E1)], "key": "rename"},
    )
    return lambda: mutate(client, actors["credit_office"], RENAME, {"u": E1, "n": "更正后的名称有限公司"})


@case("correctEntityName: the name it has already")
async def _rename_same(client, actors, connection):
    office = actors["credit_office"]
    await mutate(
        client,
        actors["department"],
        PUSH,
        {"records": [valid_record("administrative_penalty", actors["department"].code, E1)], "key": "rename"},
    )
    await mutate(client, office, RENAME, {"u": E1, "n": "更正后的名称有限公司"})

    async def again() -> None:
        answer = await gql(client, RENAME, {"u": E1, "n": "更正后的名称有限公司"}, office)
        assert answer["data"]["correctEntityName"]["__typename"] == "ConflictProblem", answer

    return again


@case("savePurpose")
async def _save_purpose(client, actors, connection):
    purpose = {
        "code": "events_check",
        "name_zh": "事件测试用途",
        "name": "Events check",
        "basis": "tests",
        "requester_roles": ["bank"],
        "max_validity_days": 10,
        "reads_per_day": 1,
        "reads_total": 2,
        "items": {"supervision": "masked"},
    }
    query = "mutation($p: JSON!) { savePurpose(purpose: $p) { __typename ... on Problem { code message } } }"
    return lambda: mutate(client, actors["credit_office"], query, {"p": purpose})


async def _grant_in(client, actors, *steps: str) -> str:
    await consents.registered(client, actors, GRANTOR, "events-consents")
    asked = await consents.ask(client, actors["bank"], GRANTOR)
    for step in steps:
        await consents.decide(client, actors["entity"], step, asked["id"])
    return str(asked["id"])


@case("requestAuthorisation")
async def _request_authorisation(client, actors, connection):
    await consents.registered(client, actors, GRANTOR, "events-consents")
    variables = {"u": GRANTOR, "p": "loan_assessment", "s": consents.LOAN_SCOPE, "d": 30}
    return lambda: mutate(client, actors["bank"], consents.REQUEST, variables)


def _consent_case(name: str, operation: str, *before: str) -> None:
    @case(name)
    async def _step(client, actors, connection):
        grant = await _grant_in(client, actors, *before)
        return lambda: mutate(client, actors["entity"], operation, {"i": grant})


_consent_case("approveAuthorisation", consents.APPROVE)
_consent_case("rejectAuthorisation", consents.REJECT)
_consent_case("pauseAuthorisation", consents.PAUSE, consents.APPROVE)
_consent_case("resumeAuthorisation", consents.RESUME, consents.APPROVE, consents.PAUSE)
_consent_case("revokeAuthorisation", consents.REVOKE, consents.APPROVE)


@case("fileObjection: an objection to a penalty")
async def _objection(client, actors, connection):
    entity, dept = actors["entity"], actors["department"]
    await push_records(client, dept, [penalty(dept, entity.code)], "objection")
    return lambda: objections.file_ok(client, entity, dept, f"罚-{entity.code}")


@case("decideObjection: rejected")
async def _objection_rejected(client, actors, connection):
    entity, dept = actors["entity"], actors["department"]
    await push_records(client, dept, [penalty(dept, entity.code)], "objection")
    filed = await objections.file_ok(client, entity, dept, f"罚-{entity.code}")

    async def run() -> None:
        assert (await objections.decide(client, dept, filed, "REJECTED"))["status"] == "REJECTED"

    return run


@case("decideObjection: an evaluation revoked")
async def _objection_upheld(client, actors, connection):
    entity, dept = actors["entity"], actors["department"]
    await assign(client, actors["credit_office"], dept, DRUGS)
    await push_records(client, dept, [industry(actors, entity.code, "D")], "evaluation")
    filed = await objections.file_ok(client, entity, dept, "E-1")

    async def run() -> None:
        decided = await objections.decide(client, dept, filed, "UPHELD", a="REVOKED")
        assert decided["status"] == "UPHELD", decided

    return run


async def _repairable(client, actors) -> None:
    dept = actors["department"]
    fine = penalty(dept, actors["entity"].code, JDRQ=(TODAY - dt.timedelta(days=150)).isoformat())
    await push_records(client, dept, [fine], "repair")


@case("applyForRepair")
async def _repair(client, actors, connection):
    await _repairable(client, actors)
    entity, dept = actors["entity"], actors["department"]
    return lambda: objections.apply_for_repair(client, entity, dept, f"罚-{entity.code}")


async def _repair_decided(client, actors, decision: str) -> Operation:
    await _repairable(client, actors)
    entity, dept = actors["entity"], actors["department"]
    application = await objections.apply_for_repair(client, entity, dept, f"罚-{entity.code}")

    async def run() -> None:
        decided = await objections.decide_repair(client, dept, application, decision)
        assert decided["status"] == decision, decided

    return run


@case("decideRepair: approved")
async def _repair_approved(client, actors, connection):
    return await _repair_decided(client, actors, "APPROVED")


@case("decideRepair: rejected")
async def _repair_rejected(client, actors, connection):
    return await _repair_decided(client, actors, "REJECTED")


@case("shieldEntity")
async def _shield(client, actors, connection):
    await _repairable(client, actors)
    until = (TODAY + dt.timedelta(days=90)).isoformat()
    shield = """mutation($u: String!, $t: Date!) { shieldEntity(uscc: $u, reason: "法院裁定受理重整", until: $t) {
      __typename ... on Problem { code message } } }"""
    return lambda: mutate(client, actors["credit_office"], shield, {"u": actors["entity"].code, "t": until})


@case("liftShield")
async def _lift(client, actors, connection):
    await _repairable(client, actors)
    until = (TODAY + dt.timedelta(days=90)).isoformat()
    office = actors["credit_office"]
    shield = """mutation($u: String!, $t: Date!) { shieldEntity(uscc: $u, reason: "法院裁定受理重整", until: $t) {
      __typename ... on EntityShield { id } ... on Problem { code message } } }"""
    made = await mutate(client, office, shield, {"u": actors["entity"].code, "t": until})
    lift = """mutation($u: String!, $i: Int!) { liftShield(uscc: $u, id: $i) {
      __typename ... on Problem { code message } } }"""
    return lambda: mutate(client, office, lift, {"u": actors["entity"].code, "i": made["id"]})


@case("saveRightsProfile")
async def _rights(client, actors, connection):
    body = next(body for kind, _, body in shipped_documents() if kind == "rights_profile")
    amended = {**body, "in_force": "seed_002"}
    query = """mutation($p: JSON!) { saveRightsProfile(profile: $p) { __typename ... on Problem { code message } } }"""
    return lambda: mutate(client, actors["credit_office"], query, {"p": amended})


# --- the table against the outbox ----------------------------------------------------------------


def test_every_case_has_its_row_and_every_mutation_its_cases() -> None:
    assert set(CASES) == set(EMITS)
    mutations = set(graphql.build_schema(SDL.read_text()).mutation_type.fields)
    assert {name.split(":")[0] for name in EMITS} == mutations


@pytest.mark.parametrize("name", list(EMITS))
async def test_each_operation_writes_exactly_its_events(name, client, actors, connection) -> None:
    operation = await CASES[name](client, actors, connection)
    mark = await last_event_id(connection)
    await operation()
    events = await outbox_since(connection, mark)

    person = await connection.scalar(text("SELECT min(uscc) FROM records WHERE uscc LIKE 'P%'"))
    expected = [(kind, person if key == PERSON else key) for kind, key in EMITS[name]]
    assert [(kind, key) for kind, _, key, _, _ in events] == expected
    xact = int(await connection.scalar(text("SELECT pg_current_xact_id()::text::bigint")) or 0)
    for kind, version, key, payload, writer in events:
        # Readable as its type and version, and written by the request's transaction.
        assert decode(kind, version, key, payload).type == kind
        assert writer == xact
        # A person is named by the archive key only.
        assert PERSON_ID not in (key or "") + orjson.dumps(payload).decode()


# --- what the payloads say -----------------------------------------------------------------------


async def test_payloads_name_what_changed_and_never_its_content(client, actors, connection) -> None:
    dept = actors["department"]
    await assign(client, actors["credit_office"], dept, DRUGS)
    await push_records(client, dept, [penalty(dept, E1)], "k1")
    await push_records(client, dept, [penalty(dept, E1, NR_FK="0.7"), industry(actors, E2, "D")], "k2")
    receipt = await upload(
        client,
        dept,
        """mutation($file: Upload!, $type: String!) { pushRecordsFile(file: $file, recordType: $type) {
        ... on BulkReceipt { id } } }""",
        {"type": "administrative_penalty"},
        csv_file(dept.code, 2),
    )
    [change] = (
        await connection.execute(text("SELECT id FROM classification_changes WHERE uscc = :u"), {"u": E2})
    ).all()
    rows = await outbox_since(connection, 0)
    assert [(kind, version, key, payload) for kind, version, key, payload, _ in rows] == [
        (
            "record.created",
            1,
            E1,
            {
                "source_dept": dept.code,
                "source_record_id": f"罚-{E1}",
                "record_type": "administrative_penalty",
                "version": 1,
            },
        ),
        (
            "record.updated",
            1,
            E1,
            {
                "source_dept": dept.code,
                "source_record_id": f"罚-{E1}",
                "record_type": "administrative_penalty",
                "version": 2,
            },
        ),
        (
            "evaluation.stored",
            1,
            E2,
            {
                "source_dept": dept.code,
                "source_record_id": "E-1",
                "record_type": "industry_evaluation",
                "version": 1,
            },
        ),
        (
            "classification.changed",
            1,
            E2,
            {"domain": DRUGS, "first_change_id": change.id, "last_change_id": change.id},
        ),
        (
            "records.loaded",
            1,
            None,
            {
                "receipt_id": receipt["id"],
                "source_dept": dept.code,
                "record_type": "administrative_penalty",
                "created": 2,
                "updated": 0,
            },
        ),
    ]


async def test_a_grading_run_names_its_new_versions_and_each_withdrawn_result(
    client, actors, connection
) -> None:
    dept = actors["department"]
    await _graded(client, actors, runs=1)
    await scoring.load(client, dept, [E1_LOWER, E3_BELOW_EVERY_BAND])
    mark = await last_event_id(connection)
    graded = await scoring.grade(client, dept)
    assert (graded["created"], graded["updated"]) == (0, 1)
    rows = await outbox_since(connection, mark)
    # The run's id is the receipt id its new versions carry: the relay finds them by it.
    run = await connection.scalar(
        text(
            "SELECT receipt_id::text FROM records WHERE current AND uscc = :u AND record_type = 'industry_evaluation'"
        ),
        {"u": E1},
    )
    assert [(kind, key, payload) for kind, _, key, payload, _ in rows[:2]] == [
        (
            "evaluations.graded",
            None,
            {
                "receipt_id": run,
                "source_dept": dept.code,
                "record_type": "industry_evaluation",
                "created": 0,
                "updated": 1,
                "withdrawn": 1,
            },
        ),
        (
            "evaluation.withdrawn",
            E3,
            {
                "source_dept": dept.code,
                "source_record_id": f"{scoring.DOMAIN}:{scoring.PERIOD}:{E3}",
                "record_type": "industry_evaluation",
                "receipt_id": run,
            },
        ),
    ]
    assert await count(connection, "records", "uscc = :u AND current", u=E3) == 0


async def test_the_relay_reads_through_its_indexes(client, actors, connection) -> None:
    """Unsent events in order, one entity's events, the records of a bulk load: each by an index."""
    dept = actors["department"]
    await _penalties(client, dept, csv_file(dept.code, 3), "f1", (3, 0, 0))()
    await connection.execute(text("SET LOCAL enable_seqscan = off"))
    queries = {
        "ix_outbox_unsent": "SELECT * FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT 100",
        # ORDER BY uscc, id (the same order for one entity): by id alone, a full scan of the primary key
        # filtered by uscc costs the planner as much on a small table, and it may take either.
        "ix_outbox_uscc": f"SELECT * FROM outbox WHERE uscc = '{E1}' ORDER BY uscc, id",
        "ix_records_receipt": "SELECT * FROM records WHERE receipt_id = '00000000-0000-0000-0000-000000000001'",
    }
    for index, query in queries.items():
        plan = "\n".join(r[0] for r in await connection.execute(text(f"EXPLAIN {query}")))
        assert index in plan, plan


# --- no change, no event; no event, no change ----------------------------------------------------


async def test_a_refused_push_writes_no_event(client, actors, connection) -> None:
    dept = actors["department"]
    await push_records(client, dept, [penalty(dept, E1)], "same")
    mark = await last_event_id(connection)
    # Same key, other body: refused whole.
    answer = await gql(client, PUSH, {"records": [penalty(dept, E1, NR_FK="2")], "key": "same"}, dept)
    assert answer["data"]["pushRecords"]["code"] == "IDEMPOTENCY_KEY_REUSED", answer
    assert await outbox_since(connection, mark) == []


async def test_a_file_that_fails_half_way_writes_no_event(client, actors, connection) -> None:
    dept = actors["department"]
    broken = csv_file(dept.code, 300) + "某公司".encode("gb18030") + b"\n"  # not UTF-8, at the very end
    variables = {"type": "administrative_penalty", "format": "CSV", "key": None}
    assert (await upload(client, dept, UPLOAD, variables, broken))["code"] == "BAD_ENCODING"
    assert await count(connection, "outbox") == await count(connection, "records") == 0


FAULT = """CREATE FUNCTION injected_fault() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN RAISE EXCEPTION 'injected fault'; END $$"""


async def inject_fault(as_owner: AsOwner, table: str) -> None:
    """Every later insert into `table` fails, as a full disk or a lost connection would (a trigger only
    the owner may add; removed when the test ends)."""
    await as_owner.run(FAULT, "DROP FUNCTION injected_fault()")
    await as_owner.run(
        f"CREATE TRIGGER injected_fault BEFORE INSERT ON {table} EXECUTE FUNCTION injected_fault()",
        f"DROP TRIGGER injected_fault ON {table}",
    )


async def failed(client: httpx.AsyncClient, actor: Actor, query: str, variables: dict[str, Any]) -> None:
    answer = await gql(client, query, variables, actor)
    assert answer["errors"][0]["extensions"]["code"] == "INTERNAL", answer
    assert "injected" not in orjson.dumps(answer).decode()


async def test_an_event_is_undone_with_the_change_that_failed_after_it(
    client, actors, connection, as_owner
) -> None:
    """The evaluation's event is written, then its re-classification fails: neither stays."""
    await assign(client, actors["credit_office"], actors["department"], DRUGS)
    await _graded(client, actors, runs=0)
    await inject_fault(as_owner, "classification_changes")
    await failed(client, actors["department"], PUSH, {"records": [industry(actors, E1, "D")], "key": "k1"})
    await failed(client, actors["department"], scoring.GRADE, {"d": scoring.DOMAIN, "p": scoring.PERIOD})
    assert await count(connection, "outbox") == 0
    assert await count(connection, "records", "record_type = 'industry_evaluation'") == 0


async def test_a_change_is_undone_when_its_event_cannot_be_written(
    client, actors, connection, as_owner
) -> None:
    dept = actors["department"]
    await inject_fault(as_owner, "outbox")
    await failed(client, dept, PUSH, {"records": [penalty(dept, E1)], "key": "k1"})
    operations = {
        "query": UPLOAD,
        "variables": {"type": "administrative_penalty", "format": "CSV", "key": "f1", "file": None},
    }
    response = await client.post(
        "/graphql",
        data={
            "operations": orjson.dumps(operations).decode(),
            "map": orjson.dumps({"0": ["variables.file"]}).decode(),
        },
        files={"0": ("upload", csv_file(dept.code, 3), "text/csv")},
        headers=dept.headers,
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL"
    assert await count(connection, "records") == await count(connection, "bulk_receipts") == 0
