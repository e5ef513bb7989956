"""Inspection results come back as inspection_result records naming the plan (RWBH) through pushRecords."""

from __future__ import annotations

from tests.conftest import days_ago, gql
from tests.inspections.support import DRAW, PUSH, standard_plan

ARCHIVE = """
query($u: String!) { entity(uscc: $u) { records { edges { node { recordType sourceDepartment fields } } } } }
"""


def result_record(dept: str, uscc: str, plan_id: str) -> dict[str, object]:
    return {
        "recordType": "inspection_result",
        "fields": {
            "XDR_MC": "哈尔滨抽查示例公司",
            "XDR_LB": "法人及非法人组织",
            "XDR_SHXYM": uscc,
            "JCBH": "JC-2026-0001",
            "JCLX": "双随机",
            "RWBH": plan_id,
            "JCSX": "企业公示信息抽查",
            "JCRQ": days_ago(1),
            "JCJL": "未发现问题",
            "JCJG": "市市场监督管理局",
            "JCJGDM": dept,
            "LYDW": "市市场监督管理局",
            "LYDWDM": dept,
        },
    }


async def test_a_result_of_a_drawn_plan_is_accepted_and_lands_in_the_archive(client, actors):
    dept = actors["department"]
    plan, _ = await standard_plan(client, actors)
    drawn = (await gql(client, DRAW, {"id": plan["id"]}, dept))["data"]["drawInspectionPlan"]
    uscc = drawn["publication"]["assignments"][0]["uscc"]
    pushed = await gql(
        client, PUSH, {"records": [result_record(dept.code, uscc, plan["id"])], "key": "jc-1"}, dept
    )
    receipt = pushed["data"]["pushRecords"]
    assert receipt["__typename"] == "PushReceipt" and receipt["created"] == 1, receipt
    for viewer in (dept, None):
        archive = await gql(client, ARCHIVE, {"u": uscc}, viewer)
        results = [
            e["node"]
            for e in archive["data"]["entity"]["records"]["edges"]
            if e["node"]["recordType"] == "inspection_result"
        ]
        assert len(results) == 1
        assert results[0]["fields"]["RWBH"] == plan["id"] and results[0]["fields"]["JCLX"] == "双随机"
        assert results[0]["sourceDepartment"] == dept.code
