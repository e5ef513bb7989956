"""Every way entity data leaves the hub goes through the disclosure gate.

The proof: the same hub with a policy that withholds everything (hub.disclosure.policy.WithholdAll)
answers every operation and download that carries entity data, and none of the entity values the
test put in (codes, names, ID numbers, record ids, values echoed by error messages, inspectors'
names) appears in any answer. A second test holds the list of operations below against the schema:
a new operation that returns entity data without an entry here fails it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLUnionType

from hub.disclosure.policy import WithholdAll
from hub.settings import Settings
from hub.web.app import create_app
from schema.build import build_schema
from tests.conftest import Actor, company_code, gql
from tests.inspections.support import DRAW, POOL, declare, evaluation, own_domain, standard_plan
from tests.records.builders import PERSON_ID, PUSH, person_record, push_ok, valid_record

# GraphQL types whose fields carry an entity's data (hand-kept: a new such type belongs here).
ENTITY_DATA_TYPES = {
    "Entity",
    "Record",
    "Supervision",
    "ClassificationChange",
    "RecordResult",
    "RejectedRow",
    "WarnedRow",
    "EntityNameCorrection",
    "RejectedIndicatorRow",
    "Inspector",
    "DeclaredConflict",
    "InspectionPlan",
    "Authorisation",
    "AuthorizedProfile",
    "AccessLogEntry",
    "AccessReceipt",
}
# Root operations that reach those types, and where this file proves they go through the gate.
COVERED = {
    "Query.entity": "test_reads",
    "Query.searchEntities": "test_reads",
    "Query.supervision": "test_reads",
    "Query.supervisionBatch": "test_reads",
    "Query.classificationHistory": "test_reads",
    "Query.inspectionPlan": "test_inspections",
    "Query.bulkReceipt": "test_bulk_answers",
    "Mutation.pushRecords": "test_push_answers",
    "Mutation.pushRecordsFile": "test_bulk_answers",
    "Mutation.loadIndicatorValues": "test_indicator_answers",
    "Mutation.uploadIndicatorValues": "test_indicator_answers (same answer type and mapping)",
    "Mutation.addInspectors": "test_inspections",
    "Mutation.declareConflict": "test_inspections",
    "Mutation.commitInspectionPlan": "test_inspections (no entity data before the draw)",
    "Mutation.drawInspectionPlan": "test_inspections",
    "Mutation.correctEntityName": "test_name_correction_answer",
    "Subscription.classificationChanged": "tests/disclosure/test_subscription_gate.py",
    "Query.authorizedProfile": "tests/consents/test_withheld.py",
    "Query.authorisations": "tests/consents/test_withheld.py",
    "Query.authorisation": "tests/consents/test_withheld.py",
    "Mutation.requestAuthorisation": "tests/consents/test_withheld.py",
    "Mutation.approveAuthorisation": "tests/consents/test_withheld.py",
    "Mutation.rejectAuthorisation": "tests/consents/test_withheld.py (the same answer and mapping)",
    "Mutation.pauseAuthorisation": "tests/consents/test_withheld.py (the same answer and mapping)",
    "Mutation.resumeAuthorisation": "tests/consents/test_withheld.py (the same answer and mapping)",
    "Mutation.revokeAuthorisation": "tests/consents/test_withheld.py (the same answer and mapping)",
    "Query.recordsByIdNumber": "test_look_up_by_id_number",
    "Query.accessLog": "test_access_log_answers",
    "Query.accessReceipt": "test_access_log_answers",
}

PARTY = "哈尔滨守门测试有限公司"
ECHOED = "ECHO-20261201"  # a value an error message repeats back


def _reaches(graphql_type: Any, seen: set[str]) -> bool:
    while isinstance(graphql_type, GraphQLNonNull | GraphQLList):
        graphql_type = graphql_type.of_type
    if isinstance(graphql_type, GraphQLUnionType):
        return any(_reaches(t, seen) for t in graphql_type.types)
    if not isinstance(graphql_type, GraphQLObjectType) or graphql_type.name in seen:
        return False
    if graphql_type.name in ENTITY_DATA_TYPES:
        return True
    seen.add(graphql_type.name)
    return any(_reaches(f.type, seen) for f in graphql_type.fields.values())


def test_every_operation_that_returns_entity_data_is_covered() -> None:
    schema = (
        build_schema(Settings()).as_graphql_schema()
        if hasattr(build_schema(Settings()), "as_graphql_schema")
        else build_schema(Settings())._schema
    )
    reaching = set()
    for root in (schema.query_type, schema.mutation_type, schema.subscription_type):
        assert root is not None
        for name, field in root.fields.items():
            if _reaches(field.type, set()):
                reaching.add(f"{root.name}.{name}")
    assert reaching == set(COVERED)


@pytest.fixture
async def withheld(settings: Settings, sessions: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The same hub, over the same database, with a policy that withholds everything."""
    app = create_app(settings, sessions=sessions, disclosure_policy=WithholdAll())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield client


def assert_no_entity_value(answer: Any, values: list[str]) -> None:
    text = answer if isinstance(answer, str) else orjson.dumps(answer).decode()
    leaked = [v for v in values if v and v in text]
    assert leaked == [], f"entity values left without the gate: {leaked} in {text[:2000]}"


def assert_reported(answer: dict[str, Any]) -> None:
    """What the gate withheld, the response says (extensions.disclosure), instead of an error."""
    report = answer.get("extensions", {}).get("disclosure")
    assert report, answer
    assert all(entry["decision"] == "withheld" and entry["reason"] for entry in report), report


async def _archive(client: httpx.AsyncClient, actors: dict[str, Actor]) -> tuple[str, list[str]]:
    dept = actors["department"]
    uscc = company_code(4242)
    records = [
        valid_record("administrative_penalty", dept.code, uscc, record_id="罚字-4242", XDR_MC=PARTY),
        person_record("administrative_penalty", dept.code, record_id="罚字-4243"),
    ]
    answer = await gql(client, PUSH, {"records": records, "key": "gate-archive"}, dept)
    assert answer["data"]["pushRecords"]["created"] == 2, answer
    return uscc, [uscc, PARTY, "罚字-4242", "罚字-4243", PERSON_ID, "王小明"]


READS = {
    "entity": """query($u: String!) { entity(uscc: $u) { uscc name kind district sources { code recordCount }
      records { totalCount edges { node { uscc sourceRecordId fields withheldFields versions { fields } } } } } }""",
    "searchEntities": """query { searchEntities(name: "守门测试") { totalCount edges { node { uscc name } } } }""",
    "supervision": """query($u: String!) { supervision(uscc: $u, domain: "market_regulation") {
      uscc category grade evaluatedBy evaluationId } }""",
    "supervisionBatch": """query($u: String!) { supervisionBatch(usccs: [$u], domain: "market_regulation") {
      uscc category grade evaluationId } }""",
    "classificationHistory": """query($u: String!) { classificationHistory(uscc: $u) {
      uscc domain newCategory newGrade } }""",
}
ROLES = ("public", "entity", "department", "province", "bank", "association", "credit_office")


async def test_reads(client, withheld, actors) -> None:
    uscc, values = await _archive(client, actors)  # first: the registry keeps the first name (issue 8)
    await own_domain(client, actors)  # and an industry evaluation: a classification and its change
    record = evaluation(actors["department"].code, uscc, "D", 1)
    graded = await gql(client, PUSH, {"records": [record], "key": "gate-eval"}, actors["department"])
    assert graded["data"]["pushRecords"]["created"] == 1, graded
    office = actors["credit_office"]
    for name, query in READS.items():
        plain = await gql(client, query, {"u": uscc}, office)
        # Without the withholding policy the same read shows the entity: the check below can fail.
        assert uscc in orjson.dumps(plain["data"]).decode() or name == "searchEntities", (name, plain)
        answered = 0
        for role in ROLES:
            answer = await gql(withheld, query, {"u": uscc}, actors.get(role))
            if any(e["extensions"]["code"] == "FORBIDDEN" for e in answer.get("errors", [])):
                continue  # the operation rules refuse this role; the permission table covers it
            assert "errors" not in answer, (name, role, answer)
            assert_no_entity_value(answer, values)
            assert_reported(answer)
            answered += 1
        assert answered, name
    plain_search = await gql(client, READS["searchEntities"], {}, office)
    assert PARTY in orjson.dumps(plain_search).decode(), plain_search


async def test_look_up_by_id_number(client, withheld, actors) -> None:
    """Records found by an ID number leave through the gate too (their sealed fields opened first)."""
    _, values = await _archive(client, actors)
    query = """query($n: String!) { recordsByIdNumber(idNumber: $n) { uscc sourceRecordId fields } }"""
    office = actors["credit_office"]
    plain = await gql(client, query, {"n": PERSON_ID}, office)
    assert PERSON_ID in orjson.dumps(plain["data"]).decode(), plain  # the check below can fail
    answer = await gql(withheld, query, {"n": PERSON_ID}, office)
    assert "errors" not in answer, answer
    assert_no_entity_value(answer, values)
    assert_reported(answer)


async def test_access_log_answers(client, withheld, actors, connection) -> None:
    """Who read an entity's data, and the receipt of that read, are the entity's data too."""
    from sqlalchemy.ext.asyncio import AsyncSession

    from hub.audit import service as audit
    from hub.crypto import StaticKeyProvider

    entity, bank = actors["entity"], actors["bank"]
    settings = Settings(access_log_checkpoint_entries=1)
    async with AsyncSession(bind=connection, join_transaction_mode="create_savepoint") as session:
        entry = await audit.record_read(
            session, audit.Who("bank", bank.code), audit.Read(entity.code, ["record.x.BZ"], purpose="loan")
        )
        await audit.integrate(session, settings, StaticKeyProvider(settings.master_key))
        await session.commit()
    log = "{ accessLog { edges { node { readerOrganisation purpose } } } }"
    receipt = "query($e: ID!) { accessReceipt(entry: $e) { leafIndex entry } }"
    plain = await gql(client, log, {}, entity)
    assert plain["data"]["accessLog"]["edges"], plain  # the checks below can fail
    assert (await gql(client, receipt, {"e": str(entry)}, bank))["data"]["accessReceipt"] is not None
    for answer in (
        await gql(withheld, log, {}, entity),
        await gql(withheld, receipt, {"e": str(entry)}, bank),
    ):
        assert "errors" not in answer, answer
        assert_no_entity_value(answer, [entity.code, bank.code, "loan"])
    assert (await gql(withheld, receipt, {"e": str(entry)}, bank))["data"]["accessReceipt"] is None


async def test_push_answers(client, withheld, actors) -> None:
    dept = actors["department"]
    uscc = company_code(4300)
    bad = valid_record("administrative_penalty", dept.code, uscc, record_id="罚字-4300", JDRQ=ECHOED)
    first = await gql(client, PUSH, {"records": [bad], "key": "gate-push"}, dept)
    assert ECHOED in orjson.dumps(first).decode()  # the message echoes the bad value
    for key in ("gate-push", "gate-push-2"):  # the replay of the stored answer, and a fresh one
        answer = await gql(withheld, PUSH, {"records": [bad], "key": key}, dept)
        assert answer["data"]["pushRecords"]["rejected"] == 1, answer
        assert_no_entity_value(answer, [ECHOED, "罚字-4300"])
        assert_reported(answer)


BULK = """mutation($file: Upload!, $type: String!) {
  pushRecordsFile(file: $file, recordType: $type) { __typename
    ... on BulkReceipt { id rejected rejectionsUrl rejections { line sourceRecordId errors { code path message } } }
    ... on Problem { code message path } } }"""
RECEIPT = """query($id: ID!) { bulkReceipt(id: $id) { __typename
  ... on BulkReceipt { rejections { sourceRecordId errors { message } } } ... on Problem { code } } }"""


def _penalty_file(dept: str) -> bytes:
    record = valid_record(
        "administrative_penalty", dept, company_code(4400), record_id="罚字-4400", JDRQ=ECHOED
    )
    fields = record["fields"]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(list(fields))
    writer.writerow(list(fields.values()))
    return out.getvalue().encode()


async def _upload(client: httpx.AsyncClient, actor: Actor, data: bytes) -> dict[str, Any]:
    operations = {"query": BULK, "variables": {"file": None, "type": "administrative_penalty"}}
    response = await client.post(
        "/graphql",
        data={
            "operations": orjson.dumps(operations).decode(),
            "map": orjson.dumps({"0": ["variables.file"]}).decode(),
        },
        files={"0": ("penalties.csv", data, "text/csv")},
        headers=actor.headers,
    )
    body: dict[str, Any] = response.json()
    return body


async def test_bulk_answers(client, withheld, actors) -> None:
    dept = actors["department"]
    data = _penalty_file(dept.code)
    plain = await _upload(client, dept, data)
    receipt = plain["data"]["pushRecordsFile"]
    assert receipt["rejected"] == 1 and ECHOED in orjson.dumps(plain).decode(), plain
    values = [ECHOED, "罚字-4400"]
    answer = await _upload(withheld, dept, data)
    assert answer["data"]["pushRecordsFile"]["rejected"] == 1, answer
    assert_no_entity_value(answer, values)
    assert_reported(answer)
    for role in ("department", "credit_office"):
        read = await gql(withheld, RECEIPT, {"id": receipt["id"]}, actors[role])
        assert read["data"]["bulkReceipt"]["rejections"], read
        assert_no_entity_value(read, values)
        download = await withheld.get(receipt["rejectionsUrl"], headers=actors[role].headers)
        assert download.status_code == 200 and ",NOT_A_DATE,fields.JDRQ," in download.text, download.text
        assert_no_entity_value(download.text, values)
    shown = await client.get(receipt["rejectionsUrl"], headers=dept.headers)
    assert ECHOED in shown.text  # the default policy shows the pusher its own input


CORRECT = """mutation($u: String!) { correctEntityName(uscc: $u, name: "更正守门有限公司", reason: "登记变更") {
  __typename ... on EntityNameCorrection { uscc name previousName } } }"""


async def test_name_correction_answer(client, withheld, actors) -> None:
    dept, uscc = actors["department"], company_code(4600)
    await push_ok(
        client, dept, [valid_record("administrative_penalty", dept.code, uscc, XDR_MC=PARTY)], key="nc"
    )
    answer = await gql(withheld, CORRECT, {"u": uscc}, actors["credit_office"])
    correction = answer["data"]["correctEntityName"]
    assert correction["__typename"] == "EntityNameCorrection", answer
    assert_no_entity_value(answer, [PARTY, "更正守门有限公司"])
    assert_reported(answer)


LOAD = """mutation($d: String!, $p: String!, $v: [EntityIndicatorsInput!]!) {
  loadIndicatorValues(domain: $d, period: $p, entities: $v) { __typename
    ... on IndicatorValuesLoaded { rejected rejections { line uscc errors { code path message } } }
    ... on Problem { code message path } } }"""


async def test_indicator_answers(client, withheld, actors, connection) -> None:
    from tests.scoring.test_scoring import DOMAIN, PERIOD, setup

    await setup(client, actors)
    uscc = company_code(4500)
    values = [{"uscc": uscc, "indicators": [{"code": "NO_SUCH_INDICATOR", "value": ECHOED}]}]
    plain = await gql(client, LOAD, {"d": DOMAIN, "p": PERIOD, "v": values}, actors["department"])
    loaded = plain["data"]["loadIndicatorValues"]
    assert loaded["rejected"] == 1 and uscc in orjson.dumps(plain).decode(), plain
    answer = await gql(withheld, LOAD, {"d": DOMAIN, "p": PERIOD, "v": values}, actors["department"])
    assert answer["data"]["loadIndicatorValues"]["rejected"] == 1, answer
    assert_no_entity_value(answer, [uscc, ECHOED])
    assert_reported(answer)


ADD = """mutation($i: [InspectorInput!]!) { addInspectors(inspectors: $i) { __typename
  ... on InspectorPool { inspectors { id name } } } }"""
DECLARE = """mutation($u: String!) { declareConflict(inspectorId: "ZF001", uscc: $u, reason: "亲属在该企业任职") {
  __typename ... on DeclaredConflict { inspectorId uscc reason } ... on Problem { code message } } }"""
PLAN = """query($id: ID!) { inspectionPlan(id: $id) { ... on InspectionPlan { id status publication } } }"""


async def test_inspections(client, withheld, actors) -> None:
    dept = actors["department"]
    plan, population = await standard_plan(client, actors)
    drawn_entity = population["serious"][0]
    names = list(POOL.values())
    pool = await gql(withheld, ADD, {"i": [{"id": i, "name": n} for i, n in POOL.items()]}, dept)
    assert pool["data"]["addInspectors"]["inspectors"], pool
    assert_no_entity_value(pool, names)
    conflict = await gql(withheld, DECLARE, {"u": drawn_entity}, dept)
    assert conflict["data"]["declareConflict"]["__typename"] == "DeclaredConflict", conflict
    assert_no_entity_value(conflict, [drawn_entity, "亲属在该企业任职"])
    unknown = DECLARE.replace('"ZF001"', f'"{ECHOED}"')
    problem = (await gql(withheld, unknown, {"u": drawn_entity}, dept))["data"]["declareConflict"]
    assert problem["code"] == "UNKNOWN_INSPECTOR", problem  # the typed problem, its message withheld
    assert_no_entity_value(problem, [ECHOED])
    shown = (await gql(client, unknown, {"u": drawn_entity}, dept))["data"]["declareConflict"]
    assert problem["code"] == shown["code"] and ECHOED in orjson.dumps(shown).decode()
    await declare(client, dept, "ZF002", population["trustworthy"][0])
    every_entity = [u for codes in population.values() for u in codes]
    drawn = await gql(withheld, DRAW, {"id": plan["id"]}, dept)
    assert drawn["data"]["drawInspectionPlan"]["status"] == "DRAWN", drawn
    assert drawn["data"]["drawInspectionPlan"]["publication"] is None
    assert_no_entity_value(drawn, every_entity + names)
    for actor in (None, dept, actors["credit_office"]):
        read = await gql(withheld, PLAN, {"id": plan["id"]}, actor)
        assert read["data"]["inspectionPlan"]["publication"] is None, read
        assert_reported(read)
        download = await withheld.get(
            f"/plans/{plan['id']}/publication.json", headers=actor.headers if actor else {}
        )
        assert (
            download.status_code == 403 and download.json()["errors"][0]["extensions"]["code"] == "WITHHELD"
        )
        assert_no_entity_value(download.text, every_entity + names)
    public = await client.get(f"/plans/{plan['id']}/publication.json")
    assert drawn_entity in public.text  # with the default policy the publication names the drawn


async def test_error_messages(client, withheld, actors) -> None:
    """A domain error raised by a query may echo its input: its message leaves through the gate too."""
    query = 'query($u: String!) { supervision(uscc: $u, domain: "' + ECHOED + '") { uscc } }'
    uscc = company_code(4600)
    shown = await gql(client, query, {"u": uscc}, actors["credit_office"])
    assert ECHOED in shown["errors"][0]["message"], shown  # the plain policy echoes the input
    answer = await gql(withheld, query, {"u": uscc}, actors["credit_office"])
    [error] = answer["errors"]
    assert error["extensions"]["code"] == shown["errors"][0]["extensions"]["code"], answer
    assert_no_entity_value(answer, [ECHOED])
    assert_reported(answer)
