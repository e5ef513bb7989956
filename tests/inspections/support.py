"""Shared set-up for inspection tests: a domain owned by the test department, a graded population,
an inspector pool, and the GraphQL operations."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Actor, company_code, days_ago, gql

DOMAIN = "market_regulation"
# samr_risk levels by category.
LEVEL = {"trustworthy": "A", "minor": "B", "general": "C", "serious": "D"}

ASSIGN_DOMAIN = """
mutation($domain: String!, $dept: String!) {
  assignDomain(domain: $domain, departmentCode: $dept) { __typename ... on Problem { code message path } }
}
"""
PUSH = """
mutation($records: [RecordInput!]!, $key: String!) {
  pushRecords(records: $records, idempotencyKey: $key) {
    __typename
    ... on PushReceipt { created rejected results { errors { code path message } } }
    ... on Problem { code message path }
  }
}
"""
ADD_INSPECTORS = """
mutation($inspectors: [InspectorInput!]!) {
  addInspectors(inspectors: $inspectors) {
    __typename
    ... on InspectorPool { inspectors { id name active } }
    ... on Problem { code message path }
  }
}
"""
DECLARE = """
mutation($inspector: String!, $uscc: String!, $reason: String!) {
  declareConflict(inspectorId: $inspector, uscc: $uscc, reason: $reason) {
    __typename
    ... on DeclaredConflict { inspectorId uscc reason }
    ... on Problem { code message path }
  }
}
"""
PLAN_FIELDS = """
  id domain departmentCode period title status algorithm seedCommitment candidatesHash inspectorsHash
  candidateCount inspectorCount seed drawnAt categories { category candidates ratio drawn }
"""
COMMIT = f"""
mutation($domain: String!, $period: String!, $title: String!, $ratios: [CategoryRatio!]) {{
  commitInspectionPlan(domain: $domain, period: $period, title: $title, ratios: $ratios) {{
    __typename
    ... on InspectionPlan {{ {PLAN_FIELDS} }}
    ... on Problem {{ code message path }}
  }}
}}
"""
DRAW = f"""
mutation($id: ID!) {{
  drawInspectionPlan(planId: $id) {{
    __typename
    ... on InspectionPlan {{ {PLAN_FIELDS} publication }}
    ... on Problem {{ code message path }}
  }}
}}
"""
PLAN = f"""
query($id: ID!) {{
  inspectionPlan(id: $id) {{
    __typename
    ... on InspectionPlan {{ {PLAN_FIELDS} publication }}
    ... on Problem {{ code message path }}
  }}
}}
"""


def evaluation(dept: str, uscc: str, level: str, serial: int) -> dict[str, Any]:
    """An industry evaluation (行业信用评价结果) of the entity in DOMAIN under samr_risk."""
    return {
        "recordType": "industry_evaluation",
        "fields": {
            "XDR_MC": f"哈尔滨抽查示例{serial}有限公司",
            "XDR_LB": "法人及非法人组织",
            "XDR_SHXYM": uscc,
            "PJBH": f"PJ-{serial}",
            "JGLY": DOMAIN,
            "PJMX": "samr_risk",
            "PJDJ": level,
            "PJRQ": days_ago(10),
            "YXQZ": "2099-12-31",
            "PJJG": "市市场监督管理局",
            "PJJGDM": dept,
            "LYDW": "市市场监督管理局",
            "LYDWDM": dept,
        },
    }


async def own_domain(
    client: httpx.AsyncClient, actors: dict[str, Actor], department: str = "department"
) -> None:
    result = await gql(
        client, ASSIGN_DOMAIN, {"domain": DOMAIN, "dept": actors[department].code}, actors["credit_office"]
    )
    assert result["data"]["assignDomain"]["__typename"] == "Domain", result


async def grade(
    client: httpx.AsyncClient, dept: Actor, counts: dict[str, int], start: int = 1000
) -> dict[str, list[str]]:
    """Push evaluations so the domain holds `counts[category]` entities of each category."""
    records = []
    by_category: dict[str, list[str]] = {}
    serial = start
    for category, count in counts.items():
        for _ in range(count):
            uscc = company_code(serial)
            records.append(evaluation(dept.code, uscc, LEVEL[category], serial))
            by_category.setdefault(category, []).append(uscc)
            serial += 1
    for offset in range(0, len(records), 1000):
        chunk = records[offset : offset + 1000]
        result = await gql(client, PUSH, {"records": chunk, "key": f"grade-{start}-{offset}"}, dept)
        receipt = result["data"]["pushRecords"]
        assert receipt["__typename"] == "PushReceipt" and receipt["rejected"] == 0, receipt
    return {c: sorted(u) for c, u in by_category.items()}


async def add_pool(client: httpx.AsyncClient, dept: Actor, names: dict[str, str]) -> None:
    inspectors = [{"id": i, "name": n} for i, n in names.items()]
    result = await gql(client, ADD_INSPECTORS, {"inspectors": inspectors}, dept)
    assert result["data"]["addInspectors"]["__typename"] == "InspectorPool", result


async def declare(client: httpx.AsyncClient, dept: Actor, inspector: str, uscc: str) -> None:
    result = await gql(
        client, DECLARE, {"inspector": inspector, "uscc": uscc, "reason": "亲属在该企业任职"}, dept
    )
    assert result["data"]["declareConflict"]["__typename"] == "DeclaredConflict", result


POOL = {"ZF001": "张三", "ZF002": "李四", "ZF003": "王五", "ZF004": "赵六", "ZF005": "钱七"}


async def commit(
    client: httpx.AsyncClient, dept: Actor, ratios: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    variables = {"domain": DOMAIN, "period": "2026-Q4", "title": "2026年第四季度双随机抽查", "ratios": ratios}
    result = await gql(client, COMMIT, variables, dept)
    return dict(result["data"]["commitInspectionPlan"])


async def standard_plan(
    client: httpx.AsyncClient,
    actors: dict[str, Actor],
    counts: dict[str, int] | None = None,
    ratios: list[dict[str, Any]] | None = None,
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Domain owned, population graded, pool registered, plan committed."""
    dept = actors["department"]
    await own_domain(client, actors)
    population = await grade(
        client, dept, counts or {"trustworthy": 20, "minor": 10, "general": 6, "serious": 3}
    )
    await add_pool(client, dept, POOL)
    plan = await commit(client, dept, ratios)
    assert plan["__typename"] == "InspectionPlan", plan
    return plan, population
