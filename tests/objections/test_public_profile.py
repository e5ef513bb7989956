"""publicProfile (issue 9): the same public answer for every caller, with or without a token — public
fields only, records under publicity, none repaired or shielded, disputed ones marked — and never a
natural person's data."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from tests.conftest import company_code, gql
from tests.objections.support import file_ok, push_penalty
from tests.records.builders import PERSON_ID, person_record, push_ok

PROFILE = """query($u: String!) { publicProfile(uscc: $u) { uscc name kind district totalCount
  records { sourceRecordId recordType state disputed fields withheldFields } } }"""
TODAY = dt.date.today()


async def _profile(client, actor, uscc: str) -> dict:
    answer = await gql(client, PROFILE, {"u": uscc}, actor)
    assert "errors" not in answer, answer
    return answer


async def test_every_caller_gets_the_public_answer(client, actors, connection):
    entity, dept = actors["entity"], actors["department"]
    for rid in ("罚-公示", "罚-异议", "罚-修复"):
        await push_penalty(client, dept, entity.code, rid, FRDB="王某某", FR_ZJHM=PERSON_ID, FR_ZJLX="身份证")
    await push_penalty(client, dept, entity.code, "罚-旧", JDRQ="2023-06-01")  # past its 36 months
    await file_ok(client, entity, dept, "罚-异议")
    await connection.execute(
        text(
            "INSERT INTO record_states (uscc, source_dept, source_record_id, state, cause, changed_by)"
            " VALUES (:u, :d, '罚-修复', 'repaired', 'repair:1', :d)"
        ),
        {"u": entity.code, "d": dept.code},
    )
    answers = [
        await _profile(client, actor, entity.code) for actor in (None, entity, dept, actors["credit_office"])
    ]
    assert all(a["data"] == answers[0]["data"] for a in answers), answers
    profile = answers[0]["data"]["publicProfile"]
    assert (profile["uscc"], profile["kind"], profile["totalCount"]) == (entity.code, "enterprise", 2)
    records = {r["sourceRecordId"]: r for r in profile["records"]}
    assert {k: (r["state"], r["disputed"]) for k, r in records.items()} == {
        "罚-公示": ("PUBLISHED", False),
        "罚-异议": ("DISPUTED", True),
    }
    # The legal representative's name and ID number are personal: withheld, and said so.
    for record in records.values():
        assert {"FRDB", "FR_ZJHM"} <= set(record["withheldFields"])
        assert "FRDB" not in record["fields"] and "FR_ZJHM" not in record["fields"]
    assert PERSON_ID not in str(answers) and "王某某" not in str(answers)
    report = answers[0]["extensions"]["disclosure"]
    assert {(e["field"], e["decision"]) for e in report if e["item"] == "record"} >= {
        ("FRDB", "withheld"),
        ("FR_ZJHM", "withheld"),
    }


async def test_a_shielded_firm_shows_no_dishonesty_records(client, actors, connection):
    entity, dept = actors["entity"], actors["department"]
    await push_penalty(client, dept, entity.code, "罚-1")
    await connection.execute(
        text(
            "INSERT INTO entity_shields (uscc, reason, shield_from, shield_until, shielded_by)"
            " VALUES (:u, '破产重整', :f, :t, :d)"
        ),
        {"u": entity.code, "f": TODAY, "t": TODAY + dt.timedelta(days=30), "d": actors["credit_office"].code},
    )
    profile = (await _profile(client, None, entity.code))["data"]["publicProfile"]
    assert (profile["records"], profile["totalCount"]) == ([], 0)


async def test_no_profile_for_an_unknown_code_or_a_natural_person(client, actors, connection):
    dept = actors["department"]
    await push_ok(
        client, dept, [person_record("administrative_penalty", dept.code, record_id="罚-人")], key="person"
    )
    person = await connection.scalar(text("SELECT min(uscc) FROM records WHERE uscc LIKE 'P%'"))
    assert (await _profile(client, None, company_code(9501)))["data"] == {"publicProfile": None}
    # A person's archive key is no USCC: refused before anything is read.
    refused = await gql(client, PROFILE, {"u": person})
    assert refused["errors"][0]["extensions"]["code"].startswith("USCC_")


@pytest.mark.parametrize(("uscc", "code"), [("91230102MA00000000", "USCC_CHECK"), ("9123", "USCC_LENGTH")])
async def test_a_malformed_code_is_refused(client, uscc, code):
    answer = await gql(client, PROFILE, {"u": uscc})
    assert (answer["data"], answer["errors"][0]["extensions"]["code"]) == ({"publicProfile": None}, code)
