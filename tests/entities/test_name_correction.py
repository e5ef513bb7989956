"""correctEntityName (issue 8, registry integrity): a push never renames an entity; the credit office
corrects a registered name, kept with who, why and from what, announced as entity.renamed; bad input
is refused with its code and writes nothing."""

from __future__ import annotations

import asyncio
import functools

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.caller import Caller, Role
from hub.records import registry
from tests.conftest import company_code, gov_code, gql
from tests.records.builders import PARTY_NAME, push_ok, valid_record

U = company_code(811)
CORRECT = """
mutation($u: String!, $n: String!, $r: String!) {
  correctEntityName(uscc: $u, name: $n, reason: $r) {
    __typename
    ... on EntityNameCorrection { id uscc name previousName reason correctedBy correctedAt }
    ... on Problem { code path }
  }
}
"""
NAME = "query($u: String!) { entity(uscc: $u) { name } }"
NEW_NAME = "哈尔滨更正后贸易有限公司"
REASON = "市场监管局登记变更通知书（2026）第12号"


async def _registered(client, actors) -> None:
    dept = actors["department"]
    await push_ok(
        client, dept, [valid_record("administrative_penalty", dept.code, U, record_id="r1")], key="r1"
    )


async def _state(connection) -> tuple:
    rows = await connection.execute(
        text(
            "SELECT (SELECT name FROM entities WHERE uscc = :u),"
            " (SELECT count(*) FROM entity_name_changes WHERE uscc = :u),"
            " (SELECT count(*) FROM outbox WHERE event_type = 'entity.renamed')"
        ),
        {"u": U},
    )
    return tuple(rows.one())


async def test_the_credit_office_corrects_a_name_and_it_is_kept(client, actors, connection):
    await _registered(client, actors)
    office = actors["credit_office"]
    answer = await gql(client, CORRECT, {"u": U, "n": f"  {NEW_NAME} ", "r": REASON}, office)
    correction = answer["data"]["correctEntityName"]
    assert correction["__typename"] == "EntityNameCorrection", answer
    assert (correction["uscc"], correction["name"], correction["previousName"], correction["reason"]) == (
        U,
        NEW_NAME,
        PARTY_NAME,
        REASON,
    )
    assert correction["correctedBy"] == office.code
    assert (await gql(client, NAME, {"u": U}))["data"]["entity"]["name"] == NEW_NAME
    assert await _state(connection) == (NEW_NAME, 1, 1)
    row = await connection.execute(
        text("SELECT payload, uscc FROM outbox WHERE event_type = 'entity.renamed'")
    )
    payload, key = row.one()
    assert (payload, key) == ({"change_id": correction["id"]}, U)
    # The record keeps the name it was pushed with; the next push under the old name is told.
    stored = await connection.execute(
        text("SELECT content->>'XDR_MC' FROM records WHERE uscc = :u"), {"u": U}
    )
    assert stored.scalar_one() == PARTY_NAME
    dept = actors["department"]
    [again] = (
        await push_ok(
            client, dept, [valid_record("administrative_penalty", dept.code, U, record_id="r2")], key="r2"
        )
    )["results"]
    assert [w["code"] for w in again["warnings"]] == ["NAME_DIFFERS"]
    assert await _state(connection) == (NEW_NAME, 1, 1)


@pytest.mark.parametrize(
    ("uscc", "name", "reason", "expected"),
    [
        (company_code(812), NEW_NAME, REASON, ("NotFoundProblem", "NOT_FOUND", "uscc")),
        ("91230102MA00000000", NEW_NAME, REASON, ("InvalidInput", "USCC_CHECK", "uscc")),
        (U, PARTY_NAME, REASON, ("ConflictProblem", "NAME_UNCHANGED", "name")),
        (U, "某", REASON, ("InvalidInput", "TOO_SHORT", "name")),
        (U, "名" * 201, REASON, ("InvalidInput", "TOO_LONG", "name")),
        (U, NEW_NAME, " ", ("InvalidInput", "TOO_SHORT", "reason")),
        (U, NEW_NAME, "理" * 501, ("InvalidInput", "TOO_LONG", "reason")),
    ],
    ids=["unknown", "malformed", "unchanged", "short", "long", "no reason", "long reason"],
)
async def test_a_bad_correction_is_refused_and_writes_nothing(
    client, actors, connection, uscc, name, reason, expected
):
    await _registered(client, actors)
    before = await _state(connection)
    answer = await gql(client, CORRECT, {"u": uscc, "n": name, "r": reason}, actors["credit_office"])
    problem = answer["data"]["correctEntityName"]
    assert (problem["__typename"], problem["code"], problem["path"]) == expected, answer
    assert await _state(connection) == before


async def test_a_name_a_push_registered_can_be_corrected_to_and_back(client, actors):
    # Ideographic and no-break spaces: printable for a push (XDR_MC), so for a correction too.
    dept, uscc = actors["department"], company_code(813)
    spaced = "哈尔滨\u3000某某\u00a0有限公司"
    record = valid_record("administrative_penalty", dept.code, uscc, record_id="s1", XDR_MC=spaced)
    await push_ok(client, dept, [record], key="s1")
    office = actors["credit_office"]
    first = await gql(client, CORRECT, {"u": uscc, "n": "哈尔滨某某有限公司", "r": REASON}, office)
    assert first["data"]["correctEntityName"]["previousName"] == spaced, first
    back = await gql(client, CORRECT, {"u": uscc, "n": spaced, "r": REASON}, office)
    assert back["data"]["correctEntityName"]["name"] == spaced, back
    # A control character never gets that far: the edge refuses it in any String argument.
    bell = await gql(client, CORRECT, {"u": uscc, "n": "某\u0007公司", "r": REASON}, office)
    assert bell["data"] is None and bell["errors"][0]["extensions"]["code"] == "CONTROL_CHARACTER", bell


async def test_two_corrections_at_once_chain_their_previous_names(live_engine):
    """Committed transactions on their own connections: the second correction waits for the first's
    lock and records the first's name as its previous one (without the lock both would record the
    original name, and one correction would vanish from the chain)."""
    uscc = company_code(814)
    office = Caller(role=Role.CREDIT_OFFICE, organisation_code=gov_code(1))
    async with live_engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO entities (uscc, name, kind, district) VALUES (:u, '原名有限公司', 'enterprise', '230102')"
                " ON CONFLICT (uscc) DO UPDATE SET name = '原名有限公司'"
            ),
            {"u": uscc},
        )
    session = functools.partial(AsyncSession, live_engine, expire_on_commit=False)
    async with session() as first, session() as second:
        one = await registry.correct_name(first, office, uscc, "第一次更名有限公司", REASON)
        waiting = asyncio.create_task(
            registry.correct_name(second, office, uscc, "第二次更名有限公司", REASON)
        )
        await asyncio.sleep(0.3)
        assert not waiting.done()  # held by the first correction's row lock
        await first.commit()
        two = await asyncio.wait_for(waiting, timeout=10)
        await second.commit()
    assert (one.previous_name, one.name) == ("原名有限公司", "第一次更名有限公司")
    assert (two.previous_name, two.name) == ("第一次更名有限公司", "第二次更名有限公司")
