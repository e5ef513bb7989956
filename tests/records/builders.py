"""Shared builders for record tests: one valid record per catalogue type, the push operation, DB counts.

`valid_record(record_type, dept_code, uscc, **overrides)` returns a `RecordInput` for GraphQL whose
fields pass every catalogue rule. Overrides replace fields by code; an override of None removes the
field. `record_id` sets the identity field (文书号, 编号…), `decided` the decision date.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.entities.codes import make_resident_id
from tests.conftest import Actor, days_ago, gql

PARTY_NAME = "哈尔滨示例科技有限公司"
ORGANISATION = "法人及非法人组织"
NATURAL_PERSON = "自然人"
INDIVIDUAL_BUSINESS = "个体工商户"
AUTHORITY_NAME = "市市场监督管理局"

# A valid resident ID (GB 11643) of a natural person born 1985-06-15 in Harbin's Nangang district.
PERSON_ID = make_resident_id("230103", dt.date(1985, 6, 15), 123)

# Per record type: (identity field, decision date field, source code field, authority code field).
KEYS: dict[str, tuple[str, str, str, str]] = {
    "administrative_licence": ("WSH", "JDRQ", "LYDWDM", "XKJGDM"),
    "administrative_penalty": ("WSH", "JDRQ", "SJLYDM", "CFJGDM"),
    "inspection_result": ("JCBH", "JCRQ", "LYDWDM", "JCJGDM"),
    "credit_commitment": ("CNBH", "CNRQ", "LYDWDM", "SLJGDM"),
    "commitment_fulfilment": ("CNBH", "RDRQ", "LYDWDM", "RDJGDM"),
    "complaint": ("TSBH", "SLRQ", "LYDWDM", "BLJGDM"),
    "contract_performance": ("HTBH", "PJRQ", "LYDWDM", "RDJGDM"),
    "honour": ("WJH", "RDRQ", "LYDWDM", "RDJGDM"),
    "serious_dishonesty_list": ("LRWH", "LRRQ", "LYDWDM", "LRJGDM"),
    "key_attention_list": ("LRWH", "LRRQ", "LYDWDM", "LRJGDM"),
    "abnormal_operation_list": ("LRWH", "LRRQ", "LYDWDM", "LRJGDM"),
    "trust_incentive_list": ("LRWH", "LRRQ", "LYDWDM", "LRJGDM"),
}
RECORD_TYPES = tuple(sorted(KEYS))


def _type_fields(record_type: str, decided: str) -> dict[str, Any]:
    """The fields specific to one record type (party, dates, authority and source are added after)."""
    if record_type == "administrative_licence":
        return {
            "XKWS": "准予行政许可决定书",
            "XKLB": "普通",
            "XKZS": "食品经营许可证",
            "NR": "准予从事食品经营",
            "YXQZ": decided,
            "YXQZI": "2030-12-31",
            "XKJG": AUTHORITY_NAME,
            "LYDW": AUTHORITY_NAME,
        }
    if record_type == "administrative_penalty":
        return {
            "WFXW": "未按规定公示年度报告",
            "SY": "经查，当事人未按规定公示年度报告。",
            "YJ": "《企业信息公示暂行条例》第十八条",
            "CFLB": ["罚款"],
            "NR": "罚款人民币五千元",
            "NR_FK": "0.5",
            "CFJG": AUTHORITY_NAME,
            "SJLY": AUTHORITY_NAME,
        }
    if record_type == "inspection_result":
        return {
            "JCLX": "日常",
            "JCSX": "食品安全日常监督检查",
            "JCJL": "合格",
            "JCJG": AUTHORITY_NAME,
            "LYDW": AUTHORITY_NAME,
        }
    if record_type == "credit_commitment":
        return {
            "CNLX": "主动型",
            "CNSX": "依法诚信经营",
            "CNNR": "本单位承诺依法诚信经营。",
            "SLJG": AUTHORITY_NAME,
            "LYDW": AUTHORITY_NAME,
        }
    if record_type == "commitment_fulfilment":
        return {"LYZT": "已履约", "RDJG": AUTHORITY_NAME, "LYDW": AUTHORITY_NAME}
    if record_type == "complaint":
        return {
            "TSLX": "投诉",
            "TSQD": "12345热线",
            "SJSX": "商品质量问题",
            "CLJG": "属实",
            "BLJG": AUTHORITY_NAME,
            "LYDW": AUTHORITY_NAME,
        }
    if record_type == "contract_performance":
        return {
            "HTMC": "办公设备采购合同",
            "HTLX": "政府采购",
            "XFMC": "市机关事务管理局",
            "QDRQ": "2025-01-10",
            "LYQK": "正常履约",
            "RDJG": AUTHORITY_NAME,
            "LYDW": AUTHORITY_NAME,
        }
    if record_type == "honour":
        return {
            "RYMC": "守合同重信用企业",
            "RYLB": "荣誉称号",
            "RYJB": "市级",
            "RDJG": AUTHORITY_NAME,
            "LYDW": AUTHORITY_NAME,
        }
    if record_type == "serious_dishonesty_list":
        return {
            "MDLB": "严重违法失信名单",
            "LRYY": "提交虚假材料取得登记",
            "RDYJ": "《市场监督管理严重违法失信名单管理办法》",
            "ZT": "在列",
            "LRJG": AUTHORITY_NAME,
            "LYDW": AUTHORITY_NAME,
        }
    if record_type == "key_attention_list":
        return {
            "GZLY": "食品药品",
            "LRYY": "多次违反食品安全规定",
            "ZT": "在列",
            "LRJG": AUTHORITY_NAME,
            "LYDW": AUTHORITY_NAME,
        }
    if record_type == "abnormal_operation_list":
        return {
            "LRYY": "未按规定报送年度报告",
            "ZT": "在列",
            "LRJG": AUTHORITY_NAME,
            "LYDW": AUTHORITY_NAME,
        }
    if record_type == "trust_incentive_list":
        return {
            "MDMC": "A级纳税人",
            "RDYJ": "纳税信用评价结果",
            "LRJG": AUTHORITY_NAME,
            "LYDW": AUTHORITY_NAME,
        }
    raise KeyError(record_type)


def valid_record(
    record_type: str,
    dept_code: str,
    uscc: str,
    *,
    record_id: str | None = None,
    decided: str | None = None,
    source_record_id: str | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A RecordInput that passes validation; overrides replace fields (None removes one)."""
    identity, date_field, source_field, authority_field = KEYS[record_type]
    day = decided or days_ago(3)
    fields: dict[str, Any] = {
        "XDR_MC": PARTY_NAME,
        "XDR_LB": ORGANISATION,
        "XDR_SHXYM": uscc,
        identity: record_id or f"{record_type}-1",
        date_field: day,
        authority_field: dept_code,
        source_field: dept_code,
        **_type_fields(record_type, day),
    }
    for name, value in overrides.items():
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value
    record: dict[str, Any] = {"recordType": record_type, "fields": fields}
    if source_record_id is not None:
        record["sourceRecordId"] = source_record_id
    return record


def person_record(
    record_type: str, dept_code: str, *, id_number: str = PERSON_ID, **overrides: Any
) -> dict[str, Any]:
    """A valid record about a natural person (自然人): ID type and number instead of a USCC."""
    defaults: dict[str, Any] = {
        "XDR_MC": "王小明",
        "XDR_LB": NATURAL_PERSON,
        "XDR_SHXYM": None,
        "XDR_ZJLX": "身份证",
        "XDR_ZJHM": id_number,
    }
    return valid_record(record_type, dept_code, "", **{**defaults, **overrides})


PUSH = """
mutation Push($records: [RecordInput!]!, $key: String!) {
  pushRecords(records: $records, idempotencyKey: $key) {
    __typename
    ... on PushReceipt {
      created updated unchanged rejected replayed
      results {
        index sourceRecordId outcome version late
        errors { code path message }
        warnings { code path message }
      }
    }
    ... on Problem { code message path }
  }
}
"""


async def push(
    client: httpx.AsyncClient, actor: Actor | None, records: list[dict[str, Any]], key: str = "push-1"
) -> dict[str, Any]:
    """The pushRecords answer (`data.pushRecords`); fails when GraphQL reported an error instead."""
    result = await gql(client, PUSH, {"records": records, "key": key}, actor)
    assert "errors" not in result, result
    answer: dict[str, Any] = result["data"]["pushRecords"]
    return answer


async def push_ok(
    client: httpx.AsyncClient, actor: Actor, records: list[dict[str, Any]], key: str = "push-1"
) -> dict[str, Any]:
    """A push that must be answered with a receipt."""
    answer = await push(client, actor, records, key)
    assert answer["__typename"] == "PushReceipt", answer
    return answer


async def count(connection: AsyncConnection, table: str, where: str = "true", **params: Any) -> int:
    """Rows of `table` matching `where` (bind parameters by name), seen from the test's transaction."""
    value = await connection.scalar(text(f"SELECT count(*) FROM {table} WHERE {where}"), params)
    return int(value or 0)


async def written(connection: AsyncConnection) -> dict[str, int]:
    """How many rows the push path has written: records, outbox events, entities and idempotency keys."""
    return {
        table: await count(connection, table)
        for table in ("records", "outbox", "entities", "idempotent_pushes")
    }


NOTHING_WRITTEN = {"records": 0, "outbox": 0, "entities": 0, "idempotent_pushes": 0}

RECORD_FIELDS = """
recordType sourceDepartment sourceRecordId version current decisionDate severity publicityRule published
repairFrom publishUntil late pushedBy changedFields fields withheldFields
"""

ENTITY = (
    """
query Entity($uscc: String!, $first: Int! = 100, $after: String, $filter: RecordFilterInput) {
  entity(uscc: $uscc) {
    uscc name kind district
    records(first: $first, after: $after, filter: $filter) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { """
    + RECORD_FIELDS
    + """ } }
    }
  }
}
"""
)


async def read_entity(
    client: httpx.AsyncClient,
    actor: Actor | None,
    uscc: str,
    *,
    first: int = 100,
    after: str | None = None,
    filter: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """`data.entity` as `actor` sees it (None when unknown); fails when GraphQL reported an error."""
    variables: dict[str, Any] = {"uscc": uscc, "first": first, "after": after, "filter": filter}
    result = await gql(client, ENTITY, variables, actor)
    assert "errors" not in result, result
    entity: dict[str, Any] | None = result["data"]["entity"]
    return entity


async def records_of(
    client: httpx.AsyncClient, actor: Actor | None, uscc: str, **filter: Any
) -> dict[str, dict[str, Any]]:
    """The records `actor` sees in `uscc`'s archive, by source record id (in page order)."""
    entity = await read_entity(client, actor, uscc, filter=filter or None)
    assert entity is not None
    return {e["node"]["sourceRecordId"]: e["node"] for e in entity["records"]["edges"]}
