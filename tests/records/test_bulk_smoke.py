from __future__ import annotations

import csv
import io

import orjson

from tests.conftest import company_code, days_ago

UPLOAD = """
mutation($file: Upload!, $type: String!, $key: String) {
  pushRecordsFile(file: $file, recordType: $type, idempotencyKey: $key) {
    __typename
    ... on BulkReceipt { id total created updated unchanged rejected late warned replayed rejectionsUrl
      rejections { line sourceRecordId errors { code path message } } }
    ... on Problem { code message path }
  }
}
"""

COLUMNS = [
    "XDR_MC",
    "XDR_LB",
    "XDR_SHXYM",
    "WSH",
    "WFXW",
    "SY",
    "YJ",
    "CFLB",
    "NR",
    "NR_FK",
    "JDRQ",
    "CFJG",
    "CFJGDM",
    "SJLY",
    "SJLYDM",
]


def csv_file(dept: str, rows: int, bad: int = 0) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for i in range(rows):
        uscc = company_code(1000 + i)
        writer.writerow(
            [
                f"某公司{i}",
                "法人及非法人组织",
                uscc,
                f"罚{i}",
                "违法",
                "事实",
                "依据",
                "罚款;警告",
                "内容",
                "1.5",
                days_ago(2),
                "市场监管局",
                dept,
                "市场监管局",
                dept,
            ]
        )
    for i in range(bad):
        writer.writerow(
            [
                "坏",
                "法人及非法人组织",
                "91230102MA0000000X",
                f"坏{i}",
                "违法",
                "事实",
                "依据",
                "罚款",
                "内容",
                "-1",
                days_ago(2),
                "市场监管局",
                dept,
                "市场监管局",
                dept,
            ]
        )
    return out.getvalue().encode()


async def upload(client, actor, data: bytes, key: str | None = None, name: str = "penalties.csv"):
    operations = {"query": UPLOAD, "variables": {"file": None, "type": "administrative_penalty", "key": key}}
    response = await client.post(
        "/graphql",
        data={
            "operations": orjson.dumps(operations).decode(),
            "map": orjson.dumps({"0": ["variables.file"]}).decode(),
        },
        files={"0": (name, data, "text/csv")},
        headers=actor.headers,
    )
    return response.json()


async def test_bulk_csv(client, actors):
    dept = actors["department"]
    result = await upload(client, dept, csv_file(dept.code, 50, bad=2), key="b1")
    receipt = result["data"]["pushRecordsFile"]
    assert receipt["__typename"] == "BulkReceipt", result
    assert (receipt["total"], receipt["created"], receipt["rejected"]) == (52, 50, 2)
    codes = {e["code"] for r in receipt["rejections"] for e in r["errors"]}
    assert "USCC_CHECK" in codes or "BELOW_MINIMUM" in codes, receipt["rejections"]
    again = await upload(client, dept, csv_file(dept.code, 50, bad=2), key="b2")
    assert again["data"]["pushRecordsFile"]["unchanged"] == 50
    replay = await upload(client, dept, csv_file(dept.code, 50, bad=2), key="b1")
    assert replay["data"]["pushRecordsFile"]["replayed"] is True


async def test_rejections_download(client, actors):
    dept = actors["department"]
    result = await upload(client, dept, csv_file(dept.code, 3, bad=2), key="r1")
    url = result["data"]["pushRecordsFile"]["rejectionsUrl"]
    response = await client.get(url, headers=dept.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    lines = response.text.strip().splitlines()
    assert lines[0] == "line,source_record_id,code,path,message"
    # Header is line 1, three good rows follow; each bad row has two problems, one CSV line each.
    assert [line.split(",")[0] for line in lines[1:]] == ["5", "5", "6", "6"]
    other = await client.get(url, headers=actors["department2"].headers)
    assert other.status_code == 403 and other.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await client.get(url)).status_code == 403
    assert (await client.get("/bulk/not-a-uuid/rejections.csv", headers=dept.headers)).status_code == 400


async def test_bulk_writes_one_outbox_event_per_file(client, actors, connection):
    from sqlalchemy import text

    dept = actors["department"]
    result = await upload(client, dept, csv_file(dept.code, 4), key="o1")
    receipt_id = result["data"]["pushRecordsFile"]["id"]
    rows = (
        await connection.execute(
            text("SELECT event_type, payload FROM outbox WHERE event_type = 'records.loaded'")
        )
    ).all()
    assert [(t, p["receipt_id"], p["created"]) for t, p in rows] == [("records.loaded", receipt_id, 4)]
    await upload(client, dept, csv_file(dept.code, 4), key="o2")  # unchanged: nothing to tell
    assert (
        await connection.execute(text("SELECT count(*) FROM outbox WHERE event_type = 'records.loaded'"))
    ).scalar() == 1


async def test_a_failure_half_way_leaves_no_partial_batch(client, actors, connection):
    """Bad bytes deep in the file stop the load after thousands of rows were staged: nothing is kept."""
    from sqlalchemy import text

    dept = actors["department"]
    good = csv_file(dept.code, 3000)
    broken = good + "某公司,法人及非法人组织".encode("gb18030") + b"\n"  # not UTF-8, at the very end
    result = await upload(client, dept, broken, key="half")
    problem = result["data"]["pushRecordsFile"]
    assert (problem["__typename"], problem["code"]) == ("InvalidInput", "BAD_ENCODING"), problem
    assert "line 3002" in problem["message"]
    for table in ("records", "entities", "bulk_receipts", "bulk_rejections", "outbox"):
        assert (await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar() == 0, table
