"""The set-based merge of a bulk push: new versions, unchanged rows and subject changes, on a re-push."""

from __future__ import annotations

import csv
import io

from sqlalchemy import text

from tests.conftest import company_code, days_ago
from tests.records.test_bulk_smoke import COLUMNS, upload


def penalty_csv(dept: str, rows: list[tuple[str, str, str]]) -> bytes:
    """One penalty per (record id, USCC, fine)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for record_id, uscc, fine in rows:
        writer.writerow(
            ["某公司", "法人及非法人组织", uscc, record_id, "违法", "事实", "依据", "罚款", "内容", fine,
             days_ago(2), "市场监管局", dept, "市场监管局", dept]
        )  # fmt: skip
    return out.getvalue().encode()


async def test_repush_updates_changed_rows_and_refuses_a_subject_change(client, actors, connection):
    dept = actors["department"]
    a, b, c = company_code(2001), company_code(2002), company_code(2003)
    first = await upload(client, dept, penalty_csv(dept.code, [("罚-1", a, "1.5"), ("罚-2", b, "2")]))
    assert first["data"]["pushRecordsFile"]["created"] == 2, first

    # 罚-1 with a new fine, 罚-2 moved to another party, 罚-3 new, 罚-1's old line superseded.
    rows = [("罚-1", a, "9"), ("罚-1", a, "3.0"), ("罚-2", c, "2"), ("罚-3", c, "1")]
    second = (await upload(client, dept, penalty_csv(dept.code, rows)))["data"]["pushRecordsFile"]
    assert (second["total"], second["created"], second["updated"], second["unchanged"]) == (4, 1, 1, 0)
    assert second["rejected"] == 2
    codes = {(r["line"], e["code"]) for r in second["rejections"] for e in r["errors"]}
    assert codes == {(2, "DUPLICATE_IN_FILE"), (4, "SUBJECT_CHANGED")}

    stored = await connection.execute(
        text(
            "SELECT source_record_id, uscc, version, current, changed_fields, content->>'NR_FK' "
            "FROM records ORDER BY source_record_id, version"
        )
    )
    assert [tuple(r) for r in stored] == [
        ("罚-1", a, 1, False, None, "1.5"),
        ("罚-1", a, 2, True, ["NR_FK"], "3"),
        ("罚-2", b, 1, True, None, "2"),
        ("罚-3", c, 1, True, None, "1"),
    ]
