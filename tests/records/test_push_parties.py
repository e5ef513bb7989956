"""Who a record is about: conditional requirements, natural persons' pseudonymous keys, ID numbers withheld."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.entities.codes import make_uscc
from tests.conftest import Actor, company_code, gql
from tests.records.builders import (
    INDIVIDUAL_BUSINESS,
    NOTHING_WRITTEN,
    PERSON_ID,
    count,
    person_record,
    push_ok,
    records_of,
    valid_record,
    written,
)

OTHER_PERSON_ID = "11010519491231002X"  # the example of GB 11643 itself


async def test_organisation_without_uscc_is_rejected(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> None:
    dept = actors["department"]
    record = valid_record("administrative_penalty", dept.code, company_code(21), XDR_SHXYM=None)

    receipt = await push_ok(client, dept, [record])

    assert receipt["results"][0]["outcome"] == "REJECTED"
    assert receipt["results"][0]["errors"] == [
        {
            "code": "REQUIRED",
            "path": "fields.XDR_SHXYM",
            "message": "XDR_SHXYM (统一社会信用代码) is required when XDR_LB is 法人及非法人组织 or 个体工商户",
        }
    ]
    assert await written(connection) == NOTHING_WRITTEN | {"idempotent_pushes": 1}


async def test_natural_person_without_id_type_and_number_is_rejected(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> None:
    dept = actors["department"]
    record = person_record("administrative_penalty", dept.code, XDR_ZJLX=None, XDR_ZJHM=None)

    receipt = await push_ok(client, dept, [record])

    errors = sorted(receipt["results"][0]["errors"], key=lambda e: e["path"])
    assert errors == [
        {
            "code": "REQUIRED",
            "path": "fields.XDR_ZJHM",
            "message": "XDR_ZJHM (证件号码) is required when XDR_LB is 自然人",
        },
        {
            "code": "REQUIRED",
            "path": "fields.XDR_ZJLX",
            "message": "XDR_ZJLX (证件类型) is required when XDR_LB is 自然人",
        },
    ]
    assert await written(connection) == NOTHING_WRITTEN | {"idempotent_pushes": 1}


async def test_natural_person_with_a_bad_resident_id_is_rejected(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> None:
    dept = actors["department"]
    wrong = PERSON_ID[:17] + ("0" if PERSON_ID[17] != "0" else "1")
    record = person_record("administrative_penalty", dept.code, id_number=wrong)

    receipt = await push_ok(client, dept, [record])

    assert receipt["results"][0]["errors"] == [
        {
            "code": "ID_CHECK",
            "path": "fields.XDR_ZJHM",
            "message": f"XDR_ZJHM: check character at position 18: expected {PERSON_ID[17]!r}, got {wrong[17]!r}",
        }
    ]
    assert await count(connection, "records") == 0


async def test_natural_person_needs_no_uscc_and_is_stored_under_a_pseudonymous_key(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> None:
    dept = actors["department"]
    records = [
        person_record("administrative_penalty", dept.code, WSH="罚-P1"),
        person_record("administrative_licence", dept.code, WSH="许-P1"),
        person_record("administrative_penalty", dept.code, WSH="罚-P2", id_number=OTHER_PERSON_ID),
    ]

    receipt = await push_ok(client, dept, records)

    assert [r["outcome"] for r in receipt["results"]] == ["CREATED", "CREATED", "CREATED"]
    # The answer names the department's own ids, never the person's.
    assert PERSON_ID not in str(receipt)
    rows = await connection.execute(text("SELECT source_record_id, uscc FROM records"))
    keys = {rid: key for rid, key in rows}
    first, same, other = keys["罚-P1"], keys["许-P1"], keys["罚-P2"]
    assert first.startswith("P") and len(first) == 18
    assert PERSON_ID not in first and PERSON_ID[-6:] not in first
    assert same == first  # stable: the same person gets the same key
    assert other != first and other.startswith("P")
    # A person is no entity of the registry: nothing to search or look up by name.
    assert await count(connection, "entities") == 0
    found = await gql(client, '{ searchEntities(name: "王小明") { totalCount } }')
    assert found["data"]["searchEntities"]["totalCount"] == 0


INDIVIDUAL = make_uscc("9", "2", "230102", "G0000001")


def individual_business_penalty(dept: str) -> dict[str, Any]:
    """An individual business (个体工商户) whose operator's ID is on the record."""
    return valid_record(
        "administrative_penalty",
        dept,
        INDIVIDUAL,
        record_id="罚-G1",
        XDR_MC="南岗区示例小吃店",
        XDR_LB=INDIVIDUAL_BUSINESS,
        XDR_ZJLX="身份证",
        XDR_ZJHM=PERSON_ID,
    )


def organisation_penalty(dept: str, uscc: str) -> dict[str, Any]:
    return valid_record(
        "administrative_penalty",
        dept,
        uscc,
        record_id="罚-O1",
        FRDB="张三",
        FR_ZJLX="身份证",
        FR_ZJHM=OTHER_PERSON_ID,
        BZ="当事人已缴纳罚款",
    )


@pytest.mark.parametrize("viewer", [None, "bank", "association", "department2"])
async def test_id_numbers_are_never_shown_to_the_public_banks_or_other_departments(
    client: httpx.AsyncClient, actors: dict[str, Actor], viewer: str | None
) -> None:
    dept = actors["department"]
    organisation = company_code(22)
    await push_ok(
        client, dept, [individual_business_penalty(dept.code), organisation_penalty(dept.code, organisation)]
    )
    actor = actors[viewer] if viewer else None

    business = (await records_of(client, actor, INDIVIDUAL))["罚-G1"]
    company = (await records_of(client, actor, organisation))["罚-O1"]

    assert "XDR_ZJHM" not in business["fields"]
    assert PERSON_ID not in str(business)
    # The business name is public (as in the registry); the operator's ID is not.
    assert business["withheldFields"] == ["XDR_ZJHM", "XDR_ZJLX"]
    assert OTHER_PERSON_ID not in str(company)
    assert company["withheldFields"] == ["BZ", "FRDB", "FR_ZJHM", "FR_ZJLX"]
    assert company["fields"]["XDR_MC"] == "哈尔滨示例科技有限公司"
    assert company["fields"]["NR_FK"] == "0.5"


@pytest.mark.parametrize("viewer", ["department", "credit_office", "province"])
async def test_the_source_department_and_the_platform_see_the_whole_record(
    client: httpx.AsyncClient, actors: dict[str, Actor], viewer: str
) -> None:
    dept = actors["department"]
    await push_ok(client, dept, [individual_business_penalty(dept.code)])

    business = (await records_of(client, actors[viewer], INDIVIDUAL))["罚-G1"]

    assert business["fields"]["XDR_ZJHM"] == PERSON_ID
    assert business["fields"]["XDR_MC"] == "南岗区示例小吃店"
    assert business["withheldFields"] == []


async def test_individual_business_code_not_starting_92_is_a_warning(
    client: httpx.AsyncClient, actors: dict[str, Actor]
) -> None:
    dept = actors["department"]
    record = individual_business_penalty(dept.code)
    record["fields"]["XDR_SHXYM"] = company_code(23)

    receipt = await push_ok(client, dept, [record])

    result = receipt["results"][0]
    assert result["outcome"] == "CREATED"
    assert [(w["code"], w["path"]) for w in result["warnings"]] == [
        ("CODE_PREFIX_MISMATCH", "fields.XDR_SHXYM")
    ]
