"""Builders for evaluation results and the domain set-up the grading tests share."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Actor, gql
from tests.records.builders import PUSH

DOMAIN = "drug_manufacturing"  # graded with samr_risk
OTHER_DOMAIN = "drug_retail"

ASSIGN = """mutation($d: String!, $c: String!) { assignDomain(domain: $d, departmentCode: $c) {
  __typename ... on Domain { code departmentCode } ... on Problem { code message path } } }"""

SUPERVISION = """query($u: String!, $d: String!) { supervision(uscc: $u, domain: $d) {
  uscc domain category grade scheme schemeVersion basis evaluatedBy evaluationId evaluatedOn validUntil
  measures { samplingRatioMin samplingRatioMax alwaysInspect mayExclude inspectionMode incentives restrictions } } }"""


def evaluation(
    record_type: str,
    source: Actor,
    uscc: str,
    grade: str,
    *,
    scheme: str,
    evaluated: str,
    valid_until: str,
    domain: str | None = None,
    record_id: str = "E-1",
    score: str | None = None,
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "XDR_MC": "哈尔滨示例评价对象有限公司",
        "XDR_LB": "法人及非法人组织",
        "XDR_SHXYM": uscc,
        "PJBH": record_id,
        "PJMX": scheme,
        "PJDJ": grade,
        "PJRQ": evaluated,
        "YXQZ": valid_until,
        "PJJG": "评价机构",
        "PJJGDM": source.code,
        "LYDW": "数据来源单位",
        "LYDWDM": source.code,
    }
    if record_type == "public_evaluation":
        fields["PJND"] = evaluated[:4]
    if domain is not None:
        fields["JGLY"] = domain
    if score is not None:
        fields["PJFS"] = score
    return {"recordType": record_type, "sourceRecordId": record_id, "fields": fields}


async def push(
    client: httpx.AsyncClient, actor: Actor, records: list[dict[str, Any]], key: str
) -> dict[str, Any]:
    answer = await gql(client, PUSH, {"records": records, "key": key}, actor)
    receipt: dict[str, Any] = answer["data"]["pushRecords"]
    return receipt


async def assign(client: httpx.AsyncClient, office: Actor, department: Actor, domain: str = DOMAIN) -> None:
    answer = await gql(client, ASSIGN, {"d": domain, "c": department.code}, office)
    assert answer["data"]["assignDomain"]["__typename"] == "Domain", answer


async def supervision(
    client: httpx.AsyncClient, actor: Actor, uscc: str, domain: str = DOMAIN
) -> dict[str, Any]:
    answer = await gql(client, SUPERVISION, {"u": uscc, "d": domain}, actor)
    assert "errors" not in answer, answer
    result: dict[str, Any] = answer["data"]["supervision"]
    return result
