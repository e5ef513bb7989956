"""Credit repair (信用修复, issue 9): eligibility under the rule in force on the decision date (the
record's repair_from), obligations and a commitment; refused with the date from which it becomes
eligible; 3 and 10 working days tracked; approval marks the record repaired in one transaction, takes
it out of publication and sharing and sends the withdrawal upstream. Temporary shielding of a firm in
bankruptcy restructuring. Bad input: its code, and nothing written."""

from __future__ import annotations

import calendar
import datetime as dt

import pytest
from sqlalchemy import text

from hub.auth.caller import Caller, Role
from hub.catalog.policy import current_policy
from hub.repairs import service
from tests.conftest import company_code, days_ago, gql
from tests.objections.support import (
    COMMITMENT,
    PAID,
    REPAIRS,
    apply_for_repair,
    archive,
    decide_repair,
    file_ok,
    push_penalty,
)
from tests.permission_table import writes as written
from tests.records.builders import push_ok, valid_record

TODAY = dt.date.today()
# SAMR Order 107 (the test department regulates markets), a fine: general, 3 months to 1 year.
ELIGIBLE_DAYS_AGO = 150
RECENT_DAYS_AGO = 10


def plus_months(day: dt.date, months: int) -> dt.date:
    """By hand: the same day `months` later, clamped to the month's end."""
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


async def _penalty(client, actors, record_id: str, days: int, **fields) -> None:
    await push_penalty(
        client, actors["department"], actors["entity"].code, record_id, JDRQ=days_ago(days), **fields
    )


async def _events(connection, kind: str) -> list[tuple]:
    rows = await connection.execute(
        text("SELECT uscc, payload FROM outbox WHERE event_type = :k ORDER BY id"), {"k": kind}
    )
    return [tuple(r) for r in rows]


async def test_an_eligible_application_is_received_with_both_time_limits(client, actors, connection, session):
    entity, dept = actors["entity"], actors["department"]
    await _penalty(client, actors, "罚-1", ELIGIBLE_DAYS_AGO)
    application = await apply_for_repair(client, entity, dept, "罚-1")
    assert application["__typename"] == "RepairApplication", application
    calendar_ = (await current_policy(session)).calendar
    assert (application["status"], application["receivedOn"], application["commitment"]) == (
        "PENDING",
        TODAY.isoformat(),
        COMMITMENT,
    )
    assert application["decisionDueOn"] == calendar_.add_working_days(TODAY, 3).isoformat()
    assert application["answerDueOn"] == calendar_.add_working_days(TODAY, 10).isoformat()
    assert application["obligationsEvidence"] == PAID
    # Nothing has changed for the record yet.
    assert (await archive(client, None, entity.code))["罚-1"]["state"] == "PUBLISHED"


async def test_too_early_is_refused_with_the_date_it_becomes_eligible(client, actors, connection):
    entity, dept = actors["entity"], actors["department"]
    await _penalty(client, actors, "罚-1", RECENT_DAYS_AGO)
    before = await written(connection)
    refused = await apply_for_repair(client, entity, dept, "罚-1")
    decided = TODAY - dt.timedelta(days=RECENT_DAYS_AGO)
    assert refused["__typename"] == "RepairIneligible", refused
    assert (refused["code"], refused["eligibleFrom"]) == (
        "REPAIR_NOT_YET_ELIGIBLE",
        plus_months(decided, 3).isoformat(),
    )
    assert await written(connection) == before


@pytest.mark.parametrize(
    ("record", "why"),
    [
        ("licence", "not dishonesty information"),
        ("criticism", "no minimum: it leaves by itself"),
    ],
)
async def test_what_needs_no_repair_is_refused(client, actors, connection, record, why):
    entity, dept = actors["entity"], actors["department"]
    if record == "licence":
        await push_ok(
            client,
            dept,
            [valid_record("administrative_licence", dept.code, entity.code, record_id="许-1")],
            key="l",
        )
        rid = "许-1"
    else:
        # SAMR Order 107: a minor penalty other than a warning is published for 3 months, no minimum.
        await _penalty(
            client, actors, "罚-2", ELIGIBLE_DAYS_AGO // 3, CFLB=["通报批评"], NR="通报批评", NR_FK=None
        )
        rid = "罚-2"
    before = await written(connection)
    refused = await apply_for_repair(client, entity, dept, rid)
    assert (refused["__typename"], refused["code"], refused["eligibleFrom"]) == (
        "RepairIneligible",
        "REPAIR_NOT_APPLICABLE",
        None,
    ), (why, refused)
    assert await written(connection) == before


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"e": []}, ("InvalidInput", "REQUIRED", "obligationsEvidence")),
        ({"c": "我承诺"}, ("InvalidInput", "TOO_SHORT", "commitment")),
        ({"e": PAID * 11}, ("InvalidInput", "TOO_MANY", "obligationsEvidence")),
        ({"r": "罚-无"}, ("NotFoundProblem", "RECORD_NOT_FOUND", "sourceRecordId")),
    ],
    ids=["no proof", "short commitment", "too much proof", "no such record"],
)
async def test_a_bad_application_is_refused_and_writes_nothing(
    client, actors, connection, variables, expected
):
    entity, dept = actors["entity"], actors["department"]
    await _penalty(client, actors, "罚-1", ELIGIBLE_DAYS_AGO)
    before = await written(connection)
    problem = await apply_for_repair(client, entity, dept, "罚-1", **variables)
    assert (problem["__typename"], problem["code"], problem["path"]) == expected, problem
    assert await written(connection) == before


async def test_a_disputed_or_pending_record_takes_no_application(client, actors, connection):
    entity, dept = actors["entity"], actors["department"]
    await _penalty(client, actors, "罚-1", ELIGIBLE_DAYS_AGO)
    await _penalty(client, actors, "罚-2", ELIGIBLE_DAYS_AGO)
    await file_ok(client, entity, dept, "罚-1")
    await apply_for_repair(client, entity, dept, "罚-2")
    before = await written(connection)
    disputed = await apply_for_repair(client, entity, dept, "罚-1")
    pending = await apply_for_repair(client, entity, dept, "罚-2")
    assert [(p["__typename"], p["code"]) for p in (disputed, pending)] == [
        ("ConflictProblem", "RECORD_STATE"),
        ("ConflictProblem", "REPAIR_PENDING"),
    ]
    assert await written(connection) == before


async def test_approval_repairs_in_one_transaction_and_withdraws_upstream(
    client, actors, connection, session
):
    entity, dept = actors["entity"], actors["department"]
    await _penalty(client, actors, "罚-1", ELIGIBLE_DAYS_AGO)
    application = await apply_for_repair(client, entity, dept, "罚-1")
    decided = await decide_repair(client, dept, application, "APPROVED")
    report_by = (await current_policy(session)).calendar.add_working_days(TODAY, 2)
    assert (decided["status"], decided["decidedBy"], decided["late"], decided["reportDueOn"]) == (
        "APPROVED",
        dept.code,
        False,
        report_by.isoformat(),
    )
    # No longer published or shared: the public, banks, departments, the province; the entity sees it marked.
    for actor in (None, actors["bank"], dept, actors["department2"], actors["province"]):
        assert "罚-1" not in await archive(client, actor, entity.code), actor
    assert (await archive(client, entity, entity.code))["罚-1"]["state"] == "REPAIRED"
    assert await _events(connection, "record.repaired") == [
        (
            entity.code,
            {
                "source_dept": dept.code,
                "source_record_id": "罚-1",
                "record_type": "administrative_penalty",
                "repair_id": application["id"],
                "report_by": report_by.isoformat(),
            },
        )
    ]
    state = await connection.execute(
        text("SELECT state, cause FROM record_states WHERE uscc = :u AND source_record_id = '罚-1'"),
        {"u": entity.code},
    )
    assert tuple(state.one()) == ("repaired", f"repair:{application['id']}")
    # A repaired record is final: no objection, no second repair.
    again = await apply_for_repair(client, entity, dept, "罚-1")
    assert (again["__typename"], again["code"]) == ("ConflictProblem", "RECORD_STATE")


async def test_rejection_keeps_the_record_and_tells_the_applicant(client, actors, connection):
    entity, dept = actors["entity"], actors["department"]
    await _penalty(client, actors, "罚-1", ELIGIBLE_DAYS_AGO)
    application = await apply_for_repair(client, entity, dept, "罚-1")
    await decide_repair(client, dept, application, "REJECTED", why="罚款尚未缴清，不予修复。")
    [seen] = (await gql(client, REPAIRS, {}, entity))["data"]["repairApplications"]
    assert (seen["status"], seen["decisionReason"]) == ("REJECTED", "罚款尚未缴清，不予修复。")
    assert (await archive(client, None, entity.code))["罚-1"]["state"] == "PUBLISHED"
    assert await _events(connection, "record.repaired") == []


async def test_only_the_source_department_or_the_credit_office_decides_once(client, actors, connection):
    entity, dept = actors["entity"], actors["department"]
    await _penalty(client, actors, "罚-1", ELIGIBLE_DAYS_AGO)
    application = await apply_for_repair(client, entity, dept, "罚-1")
    before = await written(connection)
    foreign = await decide_repair(client, actors["department2"], application, "APPROVED")
    assert (foreign["__typename"], foreign["code"]) == ("NotPermitted", "NOT_YOUR_RECORD")
    assert await written(connection) == before
    await decide_repair(client, actors["credit_office"], application, "REJECTED")
    before = await written(connection)
    again = await decide_repair(client, dept, application, "APPROVED")
    assert (again["__typename"], again["code"]) == ("ConflictProblem", "REPAIR_DECIDED")
    assert await written(connection) == before


async def test_records_past_their_maximum_period_leave_the_public_view_by_themselves(
    client, actors, connection
):
    entity, dept = actors["entity"], actors["department"]
    # Decided under NDRC Order 58 (2023-05-01 to 2026-03-31): published for 36 months at most, until
    # 2026-06-01.
    await push_penalty(client, dept, entity.code, "罚-旧", JDRQ="2023-06-01")
    await _penalty(client, actors, "罚-新", RECENT_DAYS_AGO)
    assert set(await archive(client, None, entity.code)) == {"罚-新"}
    assert (await archive(client, dept, entity.code))["罚-旧"]["state"] == "EXPIRED"
    assert await connection.scalar(text("SELECT count(*) FROM record_states")) == 0


# --- temporary shielding ---------------------------------------------------------------------------

SHIELD = """mutation($u: String!, $why: String!, $until: Date!) { shieldEntity(uscc: $u, reason: $why, until: $until) {
  __typename ... on EntityShield { id uscc shieldFrom shieldUntil shieldedBy } ... on Problem { code path } } }"""
RULING = "（2026）黑01破申12号 裁定受理重整申请"


async def test_a_shield_takes_a_firms_dishonesty_records_out_of_publication(client, actors, connection):
    entity, dept, office = actors["entity"], actors["department"], actors["credit_office"]
    await _penalty(client, actors, "罚-1", RECENT_DAYS_AGO)
    await push_ok(
        client,
        dept,
        [valid_record("administrative_licence", dept.code, entity.code, record_id="许-1")],
        key="l",
    )
    until = (TODAY + dt.timedelta(days=180)).isoformat()
    answer = await gql(client, SHIELD, {"u": entity.code, "why": RULING, "until": until}, office)
    shield = answer["data"]["shieldEntity"]
    assert (shield["__typename"], shield["shieldFrom"], shield["shieldUntil"], shield["shieldedBy"]) == (
        "EntityShield",
        TODAY.isoformat(),
        until,
        office.code,
    )
    # Dishonesty information is shielded; a licence is not.
    assert set(await archive(client, None, entity.code)) == {"许-1"}
    assert (await archive(client, dept, entity.code))["罚-1"]["state"] == "SHIELDED"
    assert await _events(connection, "entity.shielded") == [
        (entity.code, {"shield_id": shield["id"], "until": until})
    ]


@pytest.mark.parametrize(
    ("uscc", "days", "expected"),
    [
        (None, -1, "DATE_ORDER"),
        (None, 3 * 366 + 1, "OUT_OF_RANGE"),
        (company_code(9401), 30, "NOT_FOUND"),
        ("91230102MA00000000", 30, "USCC_CHECK"),
        (None, 30, "SHIELD_ACTIVE"),
    ],
    ids=["past", "too long", "unknown firm", "malformed", "shielded already"],
)
async def test_a_bad_shield_is_refused_and_writes_nothing(client, actors, connection, uscc, days, expected):
    entity, office = actors["entity"], actors["credit_office"]
    await _penalty(client, actors, "罚-1", RECENT_DAYS_AGO)
    if expected == "SHIELD_ACTIVE":
        until = (TODAY + dt.timedelta(days=10)).isoformat()
        first = await gql(client, SHIELD, {"u": entity.code, "why": RULING, "until": until}, office)
        assert first["data"]["shieldEntity"]["__typename"] == "EntityShield", first
    before = await written(connection)
    until = (TODAY + dt.timedelta(days=days)).isoformat()
    answer = await gql(client, SHIELD, {"u": uscc or entity.code, "why": RULING, "until": until}, office)
    assert answer["data"]["shieldEntity"]["code"] == expected, answer
    assert await written(connection) == before


# --- both time limits tracked ------------------------------------------------------------------

# By hand from the 2025 schedule: received Friday 2025-09-26 (National Day 10-01..10-08 off; Sun
# 09-28 and Sat 10-11 make-up days), the working days after it are 1 09-28, 2 09-29, 3 09-30,
# 4 10-09, 5 10-10, 6 10-11, 7 10-13, 8 10-14, 9 10-15, 10 10-16.
RECEIVED = dt.date(2025, 9, 26)
DECISION_DUE, ANSWER_DUE = dt.date(2025, 9, 30), dt.date(2025, 10, 16)


async def test_the_decision_and_answer_days_are_kept_and_the_overdue_listed(client, actors, session):
    entity, dept = actors["entity"], actors["department"]
    await _penalty(client, actors, "罚-1", ELIGIBLE_DAYS_AGO)
    caller = Caller(role=Role.ENTITY, organisation_code=entity.code)
    office = Caller(role=Role.CREDIT_OFFICE, organisation_code=actors["credit_office"].code)
    # The calendar's arithmetic on a receipt day with make-up days, then the worklist on today's case.
    application = await service.apply(
        session,
        caller,
        source_dept=dept.code,
        source_record_id="罚-1",
        obligations_evidence=[("罚款缴纳凭证", "2301-2026-000123")],
        commitment=COMMITMENT,
        today=TODAY,
    )
    assert not isinstance(application, service.Ineligible), application
    calendar_ = (await current_policy(session)).calendar
    assert (calendar_.add_working_days(RECEIVED, 3), calendar_.add_working_days(RECEIVED, 10)) == (
        DECISION_DUE,
        ANSWER_DUE,
    )
    # The service's own days for an application received that day, against the hand-counted ones.
    await _penalty(client, actors, "罚-9", (TODAY - dt.date(2024, 6, 3)).days)
    received = await service.apply(
        session,
        caller,
        source_dept=dept.code,
        source_record_id="罚-9",
        obligations_evidence=[("罚款缴纳凭证", "2301-2024-000009")],
        commitment=COMMITMENT,
        today=RECEIVED,
    )
    assert not isinstance(received, service.Ineligible), received
    assert (received.decision_due_on, received.answer_due_on) == (DECISION_DUE, ANSWER_DUE)

    async def overdue(day: dt.date) -> list[int]:
        rows = await service.listing(
            session, office, uscc=None, pending_only=True, overdue=True, after_id=None, first=10, today=day
        )
        return [r.id for r in rows if r.id != received.id]  # the one received in 2025: overdue since

    due = dt.date.fromisoformat(str(application.decision_due_on))
    assert await overdue(due) == []
    assert await overdue(due + dt.timedelta(days=1)) == [application.id]
    decided = await service.decide(
        session,
        office,
        uscc=entity.code,
        application_id=application.id,
        decision=service.Decision.REJECTED,
        reason="逾期后作出的决定。",
        today=due + dt.timedelta(days=1),
    )
    assert decided.decided_on > decided.decision_due_on  # late, and shown as such (RepairApplication.late)
    assert await overdue(due + dt.timedelta(days=1)) == []


LIFT = """mutation($u: String!, $id: Int!) { liftShield(uscc: $u, id: $id) {
  __typename ... on EntityShield { id liftedAt } ... on Problem { code path } } }"""


async def test_a_lifted_shield_publishes_the_records_again_once(client, actors, connection):
    entity, office = actors["entity"], actors["credit_office"]
    await _penalty(client, actors, "罚-1", RECENT_DAYS_AGO)
    until = (TODAY + dt.timedelta(days=180)).isoformat()
    shield = (await gql(client, SHIELD, {"u": entity.code, "why": RULING, "until": until}, office))["data"]
    shield_id = shield["shieldEntity"]["id"]
    assert "罚-1" not in await archive(client, None, entity.code)
    lifted = (await gql(client, LIFT, {"u": entity.code, "id": shield_id}, office))["data"]["liftShield"]
    assert lifted["__typename"] == "EntityShield" and lifted["liftedAt"] is not None, lifted
    assert (await archive(client, None, entity.code))["罚-1"]["state"] == "PUBLISHED"
    assert await _events(connection, "entity.shield_lifted") == [(entity.code, {"shield_id": shield_id})]
    before = await written(connection)
    again = (await gql(client, LIFT, {"u": entity.code, "id": shield_id}, office))["data"]["liftShield"]
    unknown = (await gql(client, LIFT, {"u": entity.code, "id": shield_id + 1000}, office))["data"][
        "liftShield"
    ]
    assert [(p["__typename"], p["code"]) for p in (again, unknown)] == [
        ("ConflictProblem", "SHIELD_ENDED"),
        ("NotFoundProblem", "SHIELD_NOT_FOUND"),
    ]
    assert await written(connection) == before
