"""Objections (异议, issue 9): filing marks the record disputed in the same transaction and the mark
travels; the time limit counts working days of the State Council calendar (with make-up days) per the
profile in force; a year the calendar does not know is refused; outcomes move the record's state,
re-classify on an upheld objection, and keep both sides when it cannot be confirmed. Bad input is
refused with its code and writes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from hub.auth.caller import Caller, Role
from hub.catalog.policy import current_policy
from hub.catalog.registry import shipped_documents
from hub.errors import Conflict
from hub.objections import service
from tests.conftest import company_code, gql
from tests.grading.evaluations import DOMAIN, SUPERVISION
from tests.objections.support import (
    EVIDENCE,
    LIST,
    ONE,
    REASON,
    archive,
    decide,
    file,
    file_ok,
    push_penalty,
    push_serious_evaluation,
)
from tests.permission_table import writes as written

TODAY = dt.date.today()


async def _state(connection, uscc: str, record_id: str) -> tuple:
    row = await connection.execute(
        text(
            "SELECT (SELECT state FROM record_states WHERE uscc = :u AND source_record_id = :r),"
            " (SELECT count(*) FROM record_state_changes WHERE uscc = :u AND source_record_id = :r),"
            " (SELECT count(*) FROM objections WHERE uscc = :u)"
        ),
        {"u": uscc, "r": record_id},
    )
    return tuple(row.one())


async def _events(connection, kind: str) -> list[tuple]:
    rows = await connection.execute(
        text("SELECT uscc, payload FROM outbox WHERE event_type = :k ORDER BY id"), {"k": kind}
    )
    return [tuple(r) for r in rows]


# --- filing ----------------------------------------------------------------------------------------


async def test_filing_marks_the_record_disputed_everywhere_it_appears(client, actors, connection):
    entity, dept = actors["entity"], actors["department"]
    await push_penalty(client, dept, entity.code, "罚-1")
    objection = await file_ok(client, entity, dept, "罚-1")
    assert (objection["status"], objection["recordType"], objection["recordVersion"]) == (
        "OPEN",
        "administrative_penalty",
        1,
    )
    assert (objection["reason"], objection["evidence"]) == (REASON, EVIDENCE)
    assert (objection["profile"], objection["receivedOn"]) == ("seed_001", TODAY.isoformat())
    assert objection["receivedOn"] < objection["attentionOn"] < objection["dueOn"]
    assert await _state(connection, entity.code, "罚-1") == ("disputed", 1, 1)
    # The mark travels: the entity, the public (no token), a bank, the department, the credit office.
    for actor in (entity, None, actors["bank"], dept, actors["credit_office"], actors["province"]):
        record = (await archive(client, actor, entity.code))["罚-1"]
        assert (record["state"], record["disputed"]) == ("DISPUTED", True), actor
    # And upstream, in the same transaction: record.state_changed.
    assert await _events(connection, "record.state_changed") == [
        (
            entity.code,
            {
                "source_dept": dept.code,
                "source_record_id": "罚-1",
                "record_type": "administrative_penalty",
                "previous_state": "published",
                "state": "disputed",
                "cause": f"objection:{objection['id']}",
            },
        )
    ]


async def test_an_objection_to_an_evaluation_marks_the_supervision_answer(client, actors, connection):
    entity, dept = actors["entity"], actors["department"]
    await push_serious_evaluation(client, actors, "评-1")
    before = (await gql(client, SUPERVISION + "", {"u": entity.code, "d": DOMAIN}, dept))["data"]
    assert before["supervision"]["category"] == "SERIOUS"
    await file_ok(client, entity, dept, "评-1")
    query = "query($u: String!, $d: String!) { supervision(uscc: $u, domain: $d) { category basisDisputed } }"
    after = (await gql(client, query, {"u": entity.code, "d": DOMAIN}, dept))["data"]["supervision"]
    # Disputed, not decided: the category stands, marked.
    assert after == {"category": "SERIOUS", "basisDisputed": True}


LONG = "理" * 2001


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"why": "太短了"}, ("InvalidInput", "TOO_SHORT", "reason")),
        ({"why": LONG}, ("InvalidInput", "TOO_LONG", "reason")),
        ({"r": "罚-无"}, ("NotFoundProblem", "RECORD_NOT_FOUND", "sourceRecordId")),
        ({"d": "11230100000000000X"}, ("InvalidInput", "USCC_CHECK", "sourceDepartment")),
        ({"e": [EVIDENCE[0]] * 11}, ("InvalidInput", "TOO_MANY", "evidence")),
        ({"e": [{"title": " ", "reference": "x"}]}, ("InvalidInput", "TOO_SHORT", "evidence.0.title")),
        (
            {"e": [{"title": "x", "reference": "r" * 501}]},
            ("InvalidInput", "TOO_LONG", "evidence.0.reference"),
        ),
    ],
    ids=[
        "short reason",
        "long reason",
        "no such record",
        "malformed department",
        "too much evidence",
        "empty title",
        "long reference",
    ],
)
async def test_a_bad_objection_is_refused_and_writes_nothing(client, actors, connection, variables, expected):
    entity, dept = actors["entity"], actors["department"]
    await push_penalty(client, dept, entity.code, "罚-1")
    before = await written(connection)
    problem = await file(client, entity, dept, "罚-1", **variables)
    assert (problem["__typename"], problem["code"], problem["path"]) == expected, problem
    assert await written(connection) == before
    assert await _state(connection, entity.code, "罚-1") == (None, 0, 0)


async def test_another_entitys_record_is_not_found_for_an_entity(client, actors, connection):
    entity, dept = actors["entity"], actors["department"]
    other = company_code(9301)
    await push_penalty(client, dept, other, "罚-他")
    before = await written(connection)
    problem = await file(client, entity, dept, "罚-他")
    assert (problem["__typename"], problem["code"]) == ("NotFoundProblem", "RECORD_NOT_FOUND")
    assert await written(connection) == before


async def test_a_second_objection_while_one_is_open_is_refused(client, actors, connection):
    entity, dept = actors["entity"], actors["department"]
    await push_penalty(client, dept, entity.code, "罚-1")
    await file_ok(client, entity, dept, "罚-1")
    before = await written(connection)
    problem = await file(client, entity, dept, "罚-1")
    assert (problem["__typename"], problem["code"]) == ("ConflictProblem", "OBJECTION_OPEN")
    assert await written(connection) == before


# --- time limits -------------------------------------------------------------------------------

# By hand from the State Council schedules (hub/catalog/calendar): received on the day, the attention
# day (80% of the limit, rounded up to a working day) and the due day.
DEADLINES = [
    # 2025 National Day: 10-01..10-08 off; Sun 09-28 and Sat 10-11 are make-up working days.
    (dt.date(2025, 9, 26), 7, (dt.date(2025, 10, 11), dt.date(2025, 10, 13))),
    (dt.date(2025, 9, 26), 5, (dt.date(2025, 10, 9), dt.date(2025, 10, 10))),
    # 2025 Spring Festival: 01-28..02-04 off; Sun 01-26 and Sat 02-08 are make-up working days.
    # Fri 01-24 → Sun 01-26 (1), Mon 01-27 (2), Wed 02-05..Fri 02-07 (3-5), Sat 02-08 (6), Mon 02-10 (7).
    (dt.date(2025, 1, 24), 7, (dt.date(2025, 2, 8), dt.date(2025, 2, 10))),
    # An ordinary fortnight: Monday 2025-03-03 + 7 working days is Wednesday 03-12.
    (dt.date(2025, 3, 3), 7, (dt.date(2025, 3, 11), dt.date(2025, 3, 12))),
]


@pytest.mark.parametrize(("received", "days", "expected"), DEADLINES)
async def test_time_limits_count_working_days_with_make_up_days(session, received, days, expected):
    policy = await current_policy(session)
    due = service.deadlines(policy.calendar, received, days, 0.8)
    assert (due.attention_on, due.due_on) == expected


async def test_the_profiles_ship_the_seeds_time_limits(session):
    rights = (await current_policy(session)).rights
    assert rights is not None
    assert rights.in_force.code == "seed_001"
    assert {code: p.objection_decision_days for code, p in rights.profiles.items()} == {
        "seed_001": 7,
        "seed_002": 5,
    }
    assert {
        (p.repair_decision_days, p.repair_answer_days, p.repair_report_days) for p in rights.profiles.values()
    } == {(3, 10, 2)}


async def test_a_year_the_calendar_does_not_know_is_refused_and_nothing_written(
    client, actors, connection, session
):
    entity, dept = actors["entity"], actors["department"]
    await push_penalty(client, dept, entity.code, "罚-1")
    before = await written(connection)
    caller = Caller(role=Role.ENTITY, organisation_code=entity.code)
    with pytest.raises(Conflict) as refused:
        await service.file(
            session,
            caller,
            source_dept=dept.code,
            source_record_id="罚-1",
            reason=REASON,
            evidence=[],
            today=dt.date(2039, 12, 28),
        )
    assert refused.value.code == "DEADLINE_YEAR_UNKNOWN"
    assert "2039" in refused.value.message or "2040" in refused.value.message
    await session.rollback()
    assert await written(connection) == before


async def test_the_credit_office_sees_cases_at_80_percent_and_overdue(client, actors, connection, session):
    entity, dept = actors["entity"], actors["department"]
    for rid in ("罚-1", "罚-2"):
        await push_penalty(client, dept, entity.code, rid)
    caller = Caller(role=Role.ENTITY, organisation_code=entity.code)
    office = Caller(role=Role.CREDIT_OFFICE, organisation_code=actors["credit_office"].code)
    received = {"罚-1": dt.date(2025, 9, 26), "罚-2": dt.date(2025, 3, 3)}
    for rid, day in received.items():
        await service.file(
            session,
            caller,
            source_dept=dept.code,
            source_record_id=rid,
            reason=REASON,
            evidence=[],
            today=day,
        )

    async def worklist(attention: service.Attention, day: dt.date) -> list[str]:
        rows = await service.listing(
            session,
            office,
            uscc=None,
            attention=attention,
            open_only=True,
            after_id=None,
            first=100,
            today=day,
        )
        return [r.source_record_id for r in rows]

    # 罚-1: attention 2025-10-11, due 10-13; 罚-2: attention 03-11, due 03-12 (DEADLINES above).
    assert await worklist(service.Attention.DUE_SOON, dt.date(2025, 10, 10)) == []
    assert await worklist(service.Attention.DUE_SOON, dt.date(2025, 10, 11)) == ["罚-1"]
    assert await worklist(service.Attention.DUE_SOON, dt.date(2025, 10, 13)) == ["罚-1"]
    assert await worklist(service.Attention.OVERDUE, dt.date(2025, 10, 13)) == ["罚-2"]
    assert await worklist(service.Attention.OVERDUE, dt.date(2025, 10, 14)) == ["罚-1", "罚-2"]
    assert await worklist(service.Attention.DUE_SOON, dt.date(2025, 3, 11)) == ["罚-2"]


# --- outcomes --------------------------------------------------------------------------------------


async def test_rejected_the_record_stands_and_the_entity_sees_why(client, actors, connection):
    entity, dept = actors["entity"], actors["department"]
    await push_penalty(client, dept, entity.code, "罚-1")
    objection = await file_ok(client, entity, dept, "罚-1")
    decided = await decide(client, dept, objection, "REJECTED", why="复议决定维持原处罚，异议不成立。")
    assert (decided["status"], decided["action"], decided["late"]) == ("REJECTED", None, False)
    seen = (await gql(client, ONE, {"u": entity.code, "id": objection["id"]}, entity))["data"]["objection"]
    assert (seen["status"], seen["decisionReason"], seen["decidedBy"]) == (
        "REJECTED",
        "复议决定维持原处罚，异议不成立。",
        dept.code,
    )
    record = (await archive(client, None, entity.code))["罚-1"]
    assert (record["state"], record["disputed"]) == ("UPHELD", False)
    assert [p["state"] for _, p in await _events(connection, "record.state_changed")] == [
        "disputed",
        "upheld",
    ]


async def test_not_confirmable_records_both_sides(client, actors, connection):
    entity, dept = actors["entity"], actors["department"]
    await push_penalty(client, dept, entity.code, "罚-1")
    objection = await file_ok(client, entity, dept, "罚-1")
    before = await written(connection)
    missing = await decide(client, dept, objection, "NOT_CONFIRMABLE")
    assert (missing["code"], missing["path"]) == ("REQUIRED", "departmentStatement")
    assert await written(connection) == before
    decided = await decide(client, dept, objection, "NOT_CONFIRMABLE", s="执法记录显示当事人未按期公示。")
    assert (decided["status"], decided["reason"], decided["departmentStatement"]) == (
        "NOT_CONFIRMABLE",
        REASON,
        "执法记录显示当事人未按期公示。",
    )
    assert (await archive(client, None, entity.code))["罚-1"]["state"] == "BOTH_RECORDED"


async def test_upheld_as_corrected_needs_the_corrected_version(client, actors, connection):
    entity, dept = actors["entity"], actors["department"]
    await push_penalty(client, dept, entity.code, "罚-1")
    objection = await file_ok(client, entity, dept, "罚-1")
    before = await written(connection)
    early = await decide(client, dept, objection, "UPHELD", a="CORRECTED")
    assert (early["__typename"], early["code"]) == ("ConflictProblem", "CORRECTION_NOT_PUSHED")
    assert await written(connection) == before
    await push_penalty(client, dept, entity.code, "罚-1", NR="警告")
    decided = await decide(client, dept, objection, "UPHELD", a="CORRECTED")
    assert (decided["status"], decided["action"]) == ("UPHELD", "CORRECTED")
    record = (await archive(client, None, entity.code))["罚-1"]
    assert (record["state"], record["version"], record["fields"]["NR"]) == ("CORRECTED", 2, "警告")


async def test_upheld_and_revoked_an_evaluation_reclassifies_and_withholds(client, actors, connection):
    entity, dept, office = actors["entity"], actors["department"], actors["credit_office"]
    await push_serious_evaluation(client, actors, "评-1")
    objection = await file_ok(client, entity, dept, "评-1")
    decided = await decide(client, office, objection, "UPHELD", a="REVOKED")
    assert (decided["status"], decided["action"], decided["decidedBy"]) == ("UPHELD", "REVOKED", office.code)
    query = "query($u: String!, $d: String!) { supervision(uscc: $u, domain: $d) { category basis basisDisputed } }"
    after = (await gql(client, query, {"u": entity.code, "d": DOMAIN}, dept))["data"]["supervision"]
    # drug_manufacturing's default category (hub/catalog/measures.yaml): the revoked D is no input.
    assert after == {"category": "TRUSTWORTHY", "basis": "default", "basisDisputed": False}
    cause = await connection.scalar(
        text("SELECT cause FROM classification_changes WHERE uscc = :u ORDER BY id DESC LIMIT 1"),
        {"u": entity.code},
    )
    assert cause == f"objection:{objection['id']} upheld"
    # Revoked: gone from the public, banks and departments; the entity and the credit office see it marked.
    for actor in (None, actors["bank"], dept, actors["province"]):
        assert "评-1" not in await archive(client, actor, entity.code), actor
    for actor in (entity, office):
        assert (await archive(client, actor, entity.code))["评-1"]["state"] == "REVOKED"


async def test_only_the_source_department_or_the_credit_office_decides_once(client, actors, connection):
    entity, dept = actors["entity"], actors["department"]
    await push_penalty(client, dept, entity.code, "罚-1")
    objection = await file_ok(client, entity, dept, "罚-1")
    before = await written(connection)
    foreign = await decide(client, actors["department2"], objection, "REJECTED")
    assert (foreign["__typename"], foreign["code"]) == ("NotPermitted", "NOT_YOUR_RECORD")
    assert await written(connection) == before
    await decide(client, dept, objection, "REJECTED")
    before = await written(connection)
    again = await decide(client, actors["credit_office"], objection, "UPHELD", a="REVOKED")
    assert (again["__typename"], again["code"]) == ("ConflictProblem", "OBJECTION_DECIDED")
    assert await written(connection) == before


@pytest.mark.parametrize(
    ("outcome", "variables", "expected"),
    [
        ("UPHELD", {}, ("InvalidInput", "REQUIRED", "action")),
        ("REJECTED", {"a": "REVOKED"}, ("InvalidInput", "NOT_APPLICABLE", "action")),
        ("REJECTED", {"why": "x"}, ("InvalidInput", "TOO_SHORT", "reason")),
        ("REJECTED", {"id": 999999}, ("NotFoundProblem", "OBJECTION_NOT_FOUND", "id")),
    ],
    ids=["upheld without action", "rejected with action", "short reason", "unknown id"],
)
async def test_a_bad_decision_is_refused_and_writes_nothing(
    client, actors, connection, outcome, variables, expected
):
    entity, dept = actors["entity"], actors["department"]
    await push_penalty(client, dept, entity.code, "罚-1")
    objection = await file_ok(client, entity, dept, "罚-1")
    before = await written(connection)
    problem = await decide(client, dept, objection, outcome, **variables)
    assert (problem["__typename"], problem["code"], problem["path"]) == expected, problem
    assert await written(connection) == before


async def test_a_repaired_or_revoked_record_takes_no_objection(client, actors, connection):
    entity, dept, office = actors["entity"], actors["department"], actors["credit_office"]
    await push_penalty(client, dept, entity.code, "罚-1")
    objection = await file_ok(client, entity, dept, "罚-1")
    await decide(client, office, objection, "UPHELD", a="REVOKED")
    before = await written(connection)
    problem = await file(client, entity, dept, "罚-1")
    assert (problem["__typename"], problem["code"]) == ("ConflictProblem", "RECORD_STATE")
    assert await written(connection) == before


async def test_who_lists_which_objections(client, actors, connection):
    entity, dept, dept2 = actors["entity"], actors["department"], actors["department2"]
    await push_penalty(client, dept, entity.code, "罚-1")
    objection = await file_ok(client, entity, dept, "罚-1")
    listed = {
        name: [o["id"] for o in (await gql(client, LIST, {}, actors[name]))["data"]["objections"]]
        for name in ("entity", "department", "department2", "credit_office")
    }
    assert listed == {
        "entity": [objection["id"]],
        "department": [objection["id"]],
        "department2": [],
        "credit_office": [objection["id"]],
    }
    other = await gql(client, LIST, {"u": company_code(9302)}, entity)
    assert other["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    hidden = await gql(client, ONE, {"u": entity.code, "id": objection["id"]}, dept2)
    assert hidden["errors"][0]["extensions"]["code"] == "OBJECTION_NOT_FOUND"


# --- the profile is policy data ------------------------------------------------------------------

SAVE_PROFILE = """mutation($p: JSON!) { saveRightsProfile(profile: $p) {
  __typename ... on RightsProfile { version inForce objectionDecisionDays } ... on Problem { code path } } }"""


def _shipped_profile() -> dict:
    return next(body for kind, _, body in shipped_documents() if kind == "rights_profile")


async def test_the_credit_office_switches_to_seed_002s_five_days(client, actors, connection, session):
    entity, dept, office = actors["entity"], actors["department"], actors["credit_office"]
    saved = await gql(client, SAVE_PROFILE, {"p": {**_shipped_profile(), "in_force": "seed_002"}}, office)
    profile = saved["data"]["saveRightsProfile"]
    assert (profile["__typename"], profile["inForce"], profile["objectionDecisionDays"]) == (
        "RightsProfile",
        "seed_002",
        5,
    )
    await push_penalty(client, dept, entity.code, "罚-1")
    objection = await file_ok(client, entity, dept, "罚-1")
    calendar_ = (await current_policy(session)).calendar
    assert (objection["profile"], objection["profileVersion"]) == ("seed_002", profile["version"])
    assert objection["dueOn"] == calendar_.add_working_days(TODAY, 5).isoformat()


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"in_force": "seed_009"}, "profile"),
        ({"negative_record_types": ["no_such_type"]}, "profile.negative_record_types"),
        ({"evidence_items": 0}, "profile"),
        ({"surplus": 1}, "profile"),
    ],
    ids=["unknown profile", "unknown record type", "no evidence", "unknown key"],
)
async def test_a_bad_profile_is_refused_and_writes_nothing(client, actors, connection, change, path):
    before = await written(connection)
    body = {**_shipped_profile(), **change}
    answer = await gql(client, SAVE_PROFILE, {"p": body}, actors["credit_office"])
    problem = answer["data"]["saveRightsProfile"]
    assert (problem["__typename"], problem["code"], problem["path"]) == (
        "InvalidInput",
        "RIGHTS_PROFILE_INVALID",
        path,
    )
    assert await written(connection) == before


async def test_a_profile_with_zero_days_is_refused(client, actors, connection):
    body = _shipped_profile()
    body = {
        **body,
        "profiles": {
            **body["profiles"],
            "seed_001": {**body["profiles"]["seed_001"], "objection_decision_days": 0},
        },
    }
    answer = await gql(client, SAVE_PROFILE, {"p": body}, actors["credit_office"])
    assert answer["data"]["saveRightsProfile"]["code"] == "RIGHTS_PROFILE_INVALID"
