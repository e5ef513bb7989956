"""pushRecords: every catalogue type, per-record outcomes, rejections with codes and paths."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.conftest import Actor, company_code, gql
from tests.records.builders import (
    NOTHING_WRITTEN,
    PARTY_NAME,
    RECORD_TYPES,
    count,
    push_ok,
    records_of,
    valid_record,
    written,
)

DECIDED = "2026-11-02"
DOUBLE_PUBLICITY = {"administrative_licence", "administrative_penalty"}

# What the hub derives for each type decided on DECIDED by the market-regulation department.
PUBLICITY: dict[str, tuple[str, str | None, str | None, str | None]] = {
    # record type: (rule, severity, repairFrom, publishUntil)
    "administrative_licence": ("default:administrative_licence", None, None, "2030-12-31"),
    "administrative_penalty": ("samr_order_107", "general", "2027-02-02", "2027-11-02"),
    "inspection_result": ("default:inspection_result", None, None, "2029-11-02"),
    "credit_commitment": ("default:credit_commitment", None, None, "2029-11-02"),
    "commitment_fulfilment": ("default:commitment_fulfilment", None, None, "2029-11-02"),
    "complaint": ("default:complaint", None, None, "2029-11-02"),
    "contract_performance": ("default:contract_performance", None, None, "2029-11-02"),
    "honour": ("default:honour", None, None, "2029-11-02"),
    "serious_dishonesty_list": ("default:serious_dishonesty_list", None, None, None),
    "key_attention_list": ("default:key_attention_list", None, None, None),
    "abnormal_operation_list": ("default:abnormal_operation_list", None, None, None),
    "trust_incentive_list": ("default:trust_incentive_list", None, None, None),
}


def only_result(receipt: dict[str, Any]) -> dict[str, Any]:
    assert len(receipt["results"]) == 1, receipt
    result: dict[str, Any] = receipt["results"][0]
    return result


async def test_catalogue_has_twelve_types_and_the_builders_cover_them(
    client: httpx.AsyncClient, actors: dict[str, Actor]
) -> None:
    answer = await gql(client, "{ recordTypes { code } }", actor=actors["department"])
    evaluations = {"public_evaluation", "industry_evaluation", "market_evaluation"}
    codes = sorted(t["code"] for t in answer["data"]["recordTypes"])
    assert [c for c in codes if c not in evaluations] == list(RECORD_TYPES)
    assert len(RECORD_TYPES) == 12 and evaluations <= set(codes)


@pytest.mark.parametrize("record_type", RECORD_TYPES)
async def test_one_valid_record_of_each_type_is_created(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection, record_type: str
) -> None:
    dept = actors["department"]
    uscc = company_code(11)
    record = valid_record(record_type, dept.code, uscc, record_id=f"{record_type}-001", decided=DECIDED)

    receipt = await push_ok(client, dept, [record])

    assert (receipt["created"], receipt["updated"], receipt["unchanged"], receipt["rejected"]) == (1, 0, 0, 0)
    assert receipt["replayed"] is False
    assert only_result(receipt) == {
        "index": 0,
        "sourceRecordId": f"{record_type}-001",
        "outcome": "CREATED",
        "version": 1,
        # Licences and penalties must be published within 7 working days (双公示): 2026-11-02 is long past.
        "late": True if record_type in DOUBLE_PUBLICITY else None,
        "errors": [],
        "warnings": [],
    }
    rows = (
        await connection.execute(
            text(
                "SELECT uscc, source_dept, record_type, version, current, decision_date, pushed_by "
                "FROM records WHERE source_record_id = :rid"
            ),
            {"rid": f"{record_type}-001"},
        )
    ).all()
    assert [tuple(r) for r in rows] == [
        (uscc, dept.code, record_type, 1, True, dt.date(2026, 11, 2), dept.code)
    ]
    entity = (
        await connection.execute(
            text("SELECT name, kind, district FROM entities WHERE uscc = :u"), {"u": uscc}
        )
    ).one()
    assert tuple(entity) == (PARTY_NAME, "enterprise", "230102")

    stored = (await records_of(client, actors["credit_office"], uscc))[f"{record_type}-001"]
    rule, severity, repair_from, publish_until = PUBLICITY[record_type]
    assert (stored["publicityRule"], stored["severity"], stored["repairFrom"], stored["publishUntil"]) == (
        rule,
        severity,
        repair_from,
        publish_until,
    )
    assert stored["published"] is True
    assert stored["fields"] == record["fields"] | {"XDR_SHXYM": uscc}


async def test_created_updated_unchanged_and_rejected_in_one_push(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> None:
    dept = actors["department"]
    uscc = company_code(12)
    first = [
        valid_record("administrative_penalty", dept.code, uscc, record_id="罚-1"),
        valid_record("administrative_penalty", dept.code, uscc, record_id="罚-2"),
    ]
    await push_ok(client, dept, first, key="first")
    assert await count(connection, "records") == 2

    second = [
        # Changed content: fine and content.
        valid_record(
            "administrative_penalty", dept.code, uscc, record_id="罚-1", NR_FK="0.8", NR="罚款八千元"
        ),
        # Same content ("0.50" is the canonical "0.5").
        valid_record("administrative_penalty", dept.code, uscc, record_id="罚-2", NR_FK="0.50"),
        valid_record("administrative_penalty", dept.code, uscc, record_id="罚-3"),
        valid_record("administrative_penalty", dept.code, uscc, record_id="罚-4", XDR_LB="企业"),
    ]
    receipt = await push_ok(client, dept, second, key="second")

    assert (receipt["created"], receipt["updated"], receipt["unchanged"], receipt["rejected"]) == (1, 1, 1, 1)
    outcomes = [(r["index"], r["sourceRecordId"], r["outcome"], r["version"]) for r in receipt["results"]]
    assert outcomes == [
        (0, "罚-1", "UPDATED", 2),
        (1, "罚-2", "UNCHANGED", 1),
        (2, "罚-3", "CREATED", 1),
        (3, "罚-4", "REJECTED", None),
    ]
    assert receipt["results"][3]["errors"] == [
        {
            "code": "NOT_IN_ENUM",
            "path": "fields.XDR_LB",
            "message": "XDR_LB: '企业' is not one of: 法人及非法人组织, 自然人, 个体工商户",
        }
    ]
    rows = (
        await connection.execute(
            text(
                "SELECT source_record_id, version, current, changed_fields FROM records "
                "ORDER BY source_record_id, version"
            )
        )
    ).all()
    assert [tuple(r) for r in rows] == [
        ("罚-1", 1, False, None),
        ("罚-1", 2, True, ["NR", "NR_FK"]),
        ("罚-2", 1, True, None),
        ("罚-3", 1, True, None),
    ]


async def test_same_content_again_is_unchanged_and_writes_nothing(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> None:
    dept = actors["department"]
    record = valid_record("inspection_result", dept.code, company_code(13), record_id="检-1")
    await push_ok(client, dept, [record], key="a")
    before = await written(connection)

    receipt = await push_ok(client, dept, [record], key="b")

    assert only_result(receipt)["outcome"] == "UNCHANGED"
    assert only_result(receipt)["version"] == 1
    assert receipt["unchanged"] == 1
    after = await written(connection)
    # Only the new idempotency key is stored; no record version, no outbox event.
    assert after == before | {"idempotent_pushes": before["idempotent_pushes"] + 1}
    assert await count(connection, "records", "source_record_id = '检-1'") == 1


def _with(record: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {**record, "fields": {**record["fields"], **fields}}


def rejection_cases() -> list[Any]:
    """(id, build(dept, other_dept, uscc) -> record, code, path, message) of single-error rejections."""
    today = dt.date.today()
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    uscc = company_code(14)
    wrong_check = "Y" if uscc[17] != "Y" else "X"

    def penalty(dept: str, **over: Any) -> dict[str, Any]:
        return valid_record("administrative_penalty", dept, uscc, record_id="罚-9", **over)

    return [
        pytest.param(
            lambda d, o: penalty(d, SY=None),
            "REQUIRED",
            "fields.SY",
            "SY (违法事实) is required",
            id="REQUIRED",
        ),
        pytest.param(
            lambda d, o: penalty(d, CFLB=["罚金"]),
            "NOT_IN_ENUM",
            "fields.CFLB",
            "CFLB: '罚金' is not one of: 警告, 通报批评, 罚款, 没收违法所得, 没收非法财物, 暂扣许可证件, "
            "降低资质等级, 吊销许可证件, 限制开展生产经营活动, 责令停产停业, 责令关闭, 限制从业, 行政拘留",
            id="NOT_IN_ENUM",
        ),
        pytest.param(
            lambda d, o: penalty(d, XDR_SHXYM=uscc[:17] + wrong_check),
            "USCC_CHECK",
            "fields.XDR_SHXYM",
            f"XDR_SHXYM: check character at position 18: expected {uscc[17]!r}, got {wrong_check!r}",
            id="USCC_CHECK",
        ),
        pytest.param(
            lambda d, o: penalty(d, XDR_SHXYM=uscc[:17]),
            "USCC_LENGTH",
            "fields.XDR_SHXYM",
            "XDR_SHXYM: a USCC has 18 characters, got 17",
            id="USCC_LENGTH",
        ),
        pytest.param(
            lambda d, o: penalty(d, JDRQ="2026-02-30"),
            "NOT_A_DATE",
            "fields.JDRQ",
            "JDRQ: '2026-02-30' is not a date (YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD)",
            id="NOT_A_DATE",
        ),
        pytest.param(
            lambda d, o: penalty(d, NR_FK="-1"),
            "BELOW_MINIMUM",
            "fields.NR_FK",
            "NR_FK: -1 is below the minimum 0",
            id="BELOW_MINIMUM",
        ),
        pytest.param(
            lambda d, o: penalty(d, XDR_MCC="哈尔滨示例科技有限公司"),
            "UNKNOWN_FIELD",
            "fields.XDR_MCC",
            "record type administrative_penalty has no field 'XDR_MCC'; did you mean XDR_MC?",
            id="UNKNOWN_FIELD",
        ),
        pytest.param(
            lambda d, o: penalty(d, JDRQ=tomorrow),
            "DATE_IN_FUTURE",
            "fields.JDRQ",
            f"decision date {tomorrow} is after today ({today.isoformat()})",
            id="DATE_IN_FUTURE",
        ),
        pytest.param(
            lambda d, o: penalty(d, SJLYDM=o),
            "NOT_SOURCE",
            "fields.SJLYDM",
            None,
            id="NOT_SOURCE-penalty",
        ),
        pytest.param(
            lambda d, o: valid_record("administrative_licence", d, uscc, record_id="许-9", LYDWDM=o),
            "NOT_SOURCE",
            "fields.LYDWDM",
            None,
            id="NOT_SOURCE-licence",
        ),
    ]


@pytest.mark.parametrize(("build", "code", "path", "message"), rejection_cases())
async def test_bad_record_is_rejected_with_code_and_path_and_writes_nothing(
    client: httpx.AsyncClient,
    actors: dict[str, Actor],
    connection: AsyncConnection,
    build: Any,
    code: str,
    path: str,
    message: str | None,
) -> None:
    dept, other = actors["department"], actors["department2"]
    if message is None:  # NOT_SOURCE names both codes
        message = (
            f"the source unit code {other.code!r} is not the pushing organisation {dept.code}; "
            "a department pushes only records it produced"
        )

    receipt = await push_ok(client, dept, [build(dept.code, other.code)])

    assert (receipt["created"], receipt["rejected"]) == (0, 1)
    result = only_result(receipt)
    assert (result["outcome"], result["version"], result["late"]) == ("REJECTED", None, None)
    assert result["errors"] == [{"code": code, "path": path, "message": message}]
    # Only the answer is kept, for replay under the same key.
    assert await written(connection) == NOTHING_WRITTEN | {"idempotent_pushes": 1}


async def test_valid_records_of_a_push_are_stored_while_rejected_ones_write_nothing(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> None:
    dept = actors["department"]
    good, bad = company_code(15), company_code(16)
    records = [
        valid_record("administrative_penalty", dept.code, good, record_id="罚-A"),
        valid_record("administrative_penalty", dept.code, bad, record_id="罚-B", NR_FK="-3"),
        valid_record("administrative_licence", dept.code, good, record_id="许-C"),
        valid_record("administrative_licence", dept.code, bad, record_id="许-D", JDRQ="昨天"),
    ]

    receipt = await push_ok(client, dept, records)

    assert [r["outcome"] for r in receipt["results"]] == ["CREATED", "REJECTED", "CREATED", "REJECTED"]
    assert [[e["code"] for e in r["errors"]] for r in receipt["results"]] == [
        [],
        ["BELOW_MINIMUM"],
        [],
        ["NOT_A_DATE"],
    ]
    stored = (await connection.execute(text("SELECT source_record_id, uscc FROM records ORDER BY 1"))).all()
    assert [tuple(r) for r in stored] == [("罚-A", good), ("许-C", good)]
    assert await count(connection, "outbox") == 2
    assert await count(connection, "entities", "uscc = :u", u=bad) == 0


async def test_record_id_defaults_to_identity_field_and_sourceRecordId_wins(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> None:
    dept = actors["department"]
    uscc = company_code(17)
    records = [
        valid_record("honour", dept.code, uscc, record_id="荣-1"),
        valid_record("honour", dept.code, uscc, record_id="荣-2", source_record_id="HONOUR-0002"),
    ]

    receipt = await push_ok(client, dept, records)

    assert [r["sourceRecordId"] for r in receipt["results"]] == ["荣-1", "HONOUR-0002"]
    ids = (await connection.execute(text("SELECT source_record_id FROM records ORDER BY 1"))).scalars().all()
    assert list(ids) == ["HONOUR-0002", "荣-1"]


async def test_unknown_record_type_is_rejected(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> None:
    dept = actors["department"]
    record = valid_record("administrative_penalty", dept.code, company_code(18))
    record["recordType"] = "administrative_fine"

    receipt = await push_ok(client, dept, [record])

    error = only_result(receipt)["errors"]
    assert [(e["code"], e["path"]) for e in error] == [("UNKNOWN_RECORD_TYPE", "recordType")]
    assert error[0]["message"].startswith(
        "unknown record type 'administrative_fine'; known: abnormal_operation_list"
    )
    assert await written(connection) == NOTHING_WRITTEN | {"idempotent_pushes": 1}
