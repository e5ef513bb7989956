"""Sibling fields that stream from the database in one GraphQL query take turns on the one session."""

from __future__ import annotations

from tests.conftest import gql
from tests.records.test_bulk_smoke import csv_file, upload

TWO_RECEIPTS = """query($id: ID!) {
  a: bulkReceipt(id: $id) { ... on BulkReceipt { rejections(first: 5) { line errors { code } } } }
  b: bulkReceipt(id: $id) { ... on BulkReceipt { rejections(first: 5) { line errors { code } } } }
}"""


async def test_two_sibling_bulk_receipts_stream_their_rejections_in_turn(client, actors):
    dept = actors["department"]
    pushed = await upload(client, dept, csv_file(dept.code, 10, bad=3), key="siblings")
    receipt = pushed["data"]["pushRecordsFile"]
    assert receipt["rejected"] == 3, pushed
    answer = await gql(client, TWO_RECEIPTS, {"id": receipt["id"]}, dept)
    assert "errors" not in answer, answer
    # The bad rows are the last three lines of the file (csv_file appends them after the 10 good ones).
    lines = [12, 13, 14]
    assert [r["line"] for r in answer["data"]["a"]["rejections"]] == lines
    assert answer["data"]["a"] == answer["data"]["b"]
