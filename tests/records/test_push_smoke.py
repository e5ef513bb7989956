from __future__ import annotations

from tests.conftest import company_code, days_ago, gql

PUSH = """
mutation Push($records: [RecordInput!]!, $key: String!) {
  pushRecords(records: $records, idempotencyKey: $key) {
    __typename
    ... on PushReceipt { created updated unchanged rejected replayed
      results { index sourceRecordId outcome version late errors { code path message } warnings { code path } } }
    ... on Problem { code message path }
  }
}
"""


def penalty(dept: str, uscc: str, wsh: str, **over: object) -> dict[str, object]:
    fields = {
        "XDR_MC": "哈尔滨示例科技有限公司",
        "XDR_LB": "法人及非法人组织",
        "XDR_SHXYM": uscc,
        "FRDB": "张三",
        "WSH": wsh,
        "WFXW": "未按规定公示年度报告",
        "SY": "经查，当事人未按规定公示年度报告。",
        "YJ": "《企业信息公示暂行条例》第十八条",
        "CFLB": ["罚款"],
        "NR": "罚款人民币五千元",
        "NR_FK": "0.5",
        "JDRQ": days_ago(3),
        "CFJG": "市市场监督管理局",
        "CFJGDM": dept,
        "SJLY": "市市场监督管理局",
        "SJLYDM": dept,
    }
    fields.update(over)
    return {"recordType": "administrative_penalty", "fields": fields}


async def test_push_then_read(client, actors):
    dept = actors["department"]
    uscc = company_code(77)
    result = await gql(
        client, PUSH, {"records": [penalty(dept.code, uscc, "哈市监罚〔2026〕1号")], "key": "k1"}, dept
    )
    receipt = result["data"]["pushRecords"]
    assert receipt["__typename"] == "PushReceipt", result
    assert receipt["created"] == 1
    query = """query($u: String!) { entity(uscc: $u) { uscc name records { totalCount edges { node {
        recordType version severity publishUntil fields withheldFields versions { version pushedBy } } } } } }"""
    read = await gql(client, query, {"u": uscc}, dept)
    entity = read["data"]["entity"]
    assert entity["name"] == "哈尔滨示例科技有限公司"
    node = entity["records"]["edges"][0]["node"]
    assert node["fields"]["NR_FK"] == "0.5"
    public = await gql(client, query, {"u": uscc})
    assert "FRDB" not in public["data"]["entity"]["records"]["edges"][0]["node"]["fields"]
