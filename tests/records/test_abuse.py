"""Bulk files and pushes as an attacker or a broken export sends them (issue 8): each answer has its
own code, never INTERNAL, and a bad row never sinks the rest of its file."""

from __future__ import annotations

import csv
import io

import orjson
import pytest
from sqlalchemy import text

from hub.entities.codes import resident_id_problem
from hub.records.bulk.service import FileFormat, _Rows
from hub.web.downloads import _csv_line
from tests.conftest import company_code, days_ago, gql
from tests.records.builders import (
    NOTHING_WRITTEN,
    PARTY_NAME,
    PERSON_ID,
    PUSH,
    count,
    person_record,
    push,
    push_ok,
    valid_record,
    written,
)
from tests.records.test_bulk_smoke import COLUMNS, upload

UPLOAD_NDJSON = """
mutation($file: Upload!) {
  pushRecordsFile(file: $file, recordType: "administrative_penalty", format: NDJSON) {
    __typename
    ... on BulkReceipt { total created rejected rejections { line sourceRecordId errors { code path } } }
    ... on Problem { code message path }
  }
}
"""


def _row(dept: str, i: int, **cells: str) -> dict[str, str]:
    return {
        "XDR_MC": f"某公司{i}",
        "XDR_LB": "法人及非法人组织",
        "XDR_SHXYM": company_code(1000 + i),
        "WSH": f"罚{i}",
        "WFXW": "违法",
        "SY": "事实",
        "YJ": "依据",
        "CFLB": "罚款",
        "NR": "内容",
        "NR_FK": "1.5",
        "JDRQ": days_ago(2),
        "CFJG": "市场监管局",
        "CFJGDM": dept,
        "SJLY": "市场监管局",
        "SJLYDM": dept,
        **cells,
    }


def _csv(rows: list[dict[str, str]]) -> bytes:
    header = list(rows[0])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([row[c] for c in header] for row in rows)
    return out.getvalue().encode()


def _receipt(result: dict) -> dict:
    receipt = result["data"]["pushRecordsFile"]
    assert receipt["__typename"] == "BulkReceipt", result
    return receipt


def _codes(receipt: dict) -> dict[int, list[str]]:
    return {r["line"]: [e["code"] for e in r["errors"]] for r in receipt["rejections"]}


async def _upload_ndjson(client, actor, lines: list[str]) -> dict:
    operations = {"query": UPLOAD_NDJSON, "variables": {"file": None}}
    response = await client.post(
        "/graphql",
        data={
            "operations": orjson.dumps(operations).decode(),
            "map": orjson.dumps({"0": ["variables.file"]}).decode(),
        },
        files={"0": ("p.ndjson", "\n".join(lines).encode(), "application/x-ndjson")},
        headers=actor.headers,
    )
    result: dict = response.json()
    return result


# --- formula cells in the rejections CSV (OWASP CSV injection) ---------------------------------------

# (cell, as written): every cell that starts with = + - @ tab or CR gets a leading '.
FORMULA_CELLS = [
    ("=1+2", "'=1+2"),
    ("+1", "'+1"),
    ("-1", "'-1"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"),
    ("\rx", "'\rx"),
    ("a=1", "a=1"),
    ("", ""),
    (5, "5"),
]


@pytest.mark.parametrize(("cell", "written_as"), FORMULA_CELLS)
def test_csv_cells_that_start_a_formula_are_neutralised(cell, written_as) -> None:
    [parsed] = csv.reader([_csv_line([cell])], strict=True)
    assert parsed == [written_as]


async def test_rejections_csv_holds_no_formula(client, actors) -> None:
    dept = actors["department"]
    ids = ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)"]
    # A penalty below the minimum: each row is rejected and its record id written to the CSV.
    rows = [_row(dept.code, i, RECORD_ID=rid, NR_FK="-1") for i, rid in enumerate(ids)]
    receipt = _receipt(await upload(client, dept, _csv(rows), key="formula"))
    assert receipt["rejected"] == 4
    response = await client.get(f"/bulk/{receipt['id']}/rejections.csv", headers=dept.headers)
    assert response.status_code == 200
    cells = list(csv.reader(io.StringIO(response.text)))[1:]
    assert sorted(c[1] for c in cells) == sorted("'" + rid for rid in ids)
    assert not [c for line in cells for c in line if c[:1] in ("=", "+", "-", "@", "\t", "\r")]


# --- oversized lines and cells ------------------------------------------------------------------------


async def test_a_50_mb_line_is_refused_with_a_code(client, actors, connection) -> None:
    dept = actors["department"]
    data = _csv([_row(dept.code, 0)]) + b"x" * (50 << 20) + b"\n"
    result = await upload(client, dept, data, key="long-line")
    problem = result["data"]["pushRecordsFile"]
    assert (problem["__typename"], problem["code"]) == ("InvalidInput", "LINE_TOO_LONG"), problem
    assert "line 3" in problem["message"]
    assert await count(connection, "records") == 0
    assert await count(connection, "bulk_receipts") == 0


async def test_an_oversized_cell_rejects_its_row_only(client, actors) -> None:
    dept = actors["department"]
    rows = [_row(dept.code, 0), _row(dept.code, 1, NR="长" * 200_000), _row(dept.code, 2)]
    receipt = _receipt(await upload(client, dept, _csv(rows), key="big-cell"))
    assert (receipt["total"], receipt["created"], receipt["rejected"]) == (3, 2, 1)
    assert _codes(receipt) == {3: ["FIELD_TOO_LONG"]}


async def test_a_quote_never_closed_is_bad_csv_not_a_whole_file_in_memory(client, actors) -> None:
    dept = actors["department"]
    data = _csv([_row(dept.code, 0)]) + b'"' + b"x,y\n" * (6 << 20)  # 24 MiB inside one open quote
    result = await upload(client, dept, data, key="open-quote")
    problem = result["data"]["pushRecordsFile"]
    assert (problem["__typename"], problem["code"]) == ("InvalidInput", "BAD_CSV"), problem


# --- duplicate columns ----------------------------------------------------------------------------------


class _CountedName(str):
    """A column name that counts how often it is compared: a linear check compares each name a bounded
    number of times, names.count() per name (9 s for these) compares every pair."""

    comparisons = 0

    def __eq__(self, other: object) -> bool:
        _CountedName.comparisons += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def test_30000_duplicate_columns_are_found_in_linear_time() -> None:
    rows = _Rows(FileFormat.CSV, frozenset(COLUMNS), frozenset({"XDR_MC"}))
    header = [_CountedName(n) for n in COLUMNS + ["XDR_MC"] * 15_000 + ["NR"] * 15_000]
    _CountedName.comparisons = 0
    with pytest.raises(Exception) as caught:
        rows.check_header(header)
    assert _CountedName.comparisons < 10 * len(header), _CountedName.comparisons
    assert getattr(caught.value, "code", None) == "DUPLICATE_COLUMN"
    assert "NR, XDR_MC" in str(caught.value) and len(str(caught.value)) < 200


async def test_duplicate_columns_answer_duplicate_column(client, actors) -> None:
    dept = actors["department"]
    row = _row(dept.code, 0)
    header = list(row) + ["XDR_MC"] * 30_000
    data = (",".join(header) + "\n" + ",".join(list(row.values()) + ["x"] * 30_000) + "\n").encode()
    problem = (await upload(client, dept, data, key="dup-cols"))["data"]["pushRecordsFile"]
    assert (problem["__typename"], problem["code"]) == ("InvalidInput", "DUPLICATE_COLUMN"), problem


# --- resident ID numbers: ASCII digits only -------------------------------------------------------------

SUPERSCRIPT = PERSON_ID[:5] + "²" + PERSON_ID[6:]  # 'two' as a superscript: str.isdigit() says yes
# Full-width digits but an ASCII check character: int() reads them as ASCII, so the old check passed it.
FULL_WIDTH = PERSON_ID[:17].translate(str.maketrans("0123456789", "０１２３４５６７８９")) + PERSON_ID[17]
ARABIC_INDIC = PERSON_ID[:3] + "٣" + PERSON_ID[4:]


@pytest.mark.parametrize("number", [SUPERSCRIPT, FULL_WIDTH, ARABIC_INDIC])
def test_resident_ids_with_unicode_digits_are_refused(number) -> None:
    problem = resident_id_problem(number)
    assert problem is not None and problem.code == "ID_CHARACTER"


async def test_a_pushed_resident_id_with_unicode_digits_is_refused(client, actors, connection) -> None:
    dept = actors["department"]
    for key, number in (("sup", SUPERSCRIPT), ("full", FULL_WIDTH)):
        record = person_record("administrative_penalty", dept.code, id_number=number)
        [result] = (await push(client, dept, [record], key=key))["results"]
        assert result["outcome"] == "REJECTED", result
        assert [e["code"] for e in result["errors"]] == ["ID_CHARACTER"]
    assert await count(connection, "records") == 0


async def test_a_superscript_digit_rejects_its_row_not_the_file(client, actors) -> None:
    dept = actors["department"]
    person = {"XDR_LB": "自然人", "XDR_SHXYM": "", "XDR_ZJLX": "身份证", "XDR_MC": "王小明"}
    rows = [
        _row(dept.code, 0, XDR_ZJLX="", XDR_ZJHM=""),
        _row(dept.code, 1, **person, XDR_ZJHM=SUPERSCRIPT),
        _row(dept.code, 2, **person, XDR_ZJHM=FULL_WIDTH),
        _row(dept.code, 3, **person, XDR_ZJHM=PERSON_ID),
    ]
    receipt = _receipt(await upload(client, dept, _csv(rows), key="sup-file"))
    assert (receipt["total"], receipt["created"], receipt["rejected"]) == (4, 2, 2)
    assert _codes(receipt) == {3: ["ID_CHARACTER"], 4: ["ID_CHARACTER"]}


# --- control characters and deep JSON ------------------------------------------------------------------


async def test_control_characters_in_fields_are_refused(client, actors, connection) -> None:
    dept = actors["department"]
    cases = [
        ("NR", "内容\x00", "NUL_CHARACTER"),
        ("NR", "内容\x07", "CONTROL_CHARACTER"),
        ("XDR_MC", "某\x1b[2J公司", "CONTROL_CHARACTER"),
        ("WFXW", "违\x85法", "CONTROL_CHARACTER"),
    ]
    records = [
        valid_record("administrative_penalty", dept.code, company_code(5), record_id=f"c{i}", **{name: value})
        for i, (name, value, _) in enumerate(cases)
    ]
    records.append(valid_record("administrative_penalty", dept.code, company_code(5), **{"X\x00": "1"}))
    answer = await push_ok(client, dept, records, key="ctl")
    got = [(r["outcome"], [e["code"] for e in r["errors"]]) for r in answer["results"]]
    assert got == [("REJECTED", [code]) for _, _, code in cases] + [("REJECTED", ["UNKNOWN_FIELD"])]
    assert await written(connection) == {**NOTHING_WRITTEN, "idempotent_pushes": 1}
    # Replayed from the stored answer: it could be stored.
    again = await push_ok(client, dept, records, key="ctl")
    assert again["replayed"] is True
    # sourceRecordId is a String argument: the edge refuses the whole push, naming the record.
    bad_id = valid_record("administrative_penalty", dept.code, company_code(5), source_record_id="id\x00")
    refused = await gql(client, PUSH, {"records": [records[0], bad_id], "key": "ctl-id"}, dept)
    assert refused["data"] is None, refused
    [error] = refused["errors"]
    assert error["extensions"] == {"code": "NUL_CHARACTER", "path": "variables.records.1.sourceRecordId"}
    assert await written(connection) == {**NOTHING_WRITTEN, "idempotent_pushes": 1}


async def test_nul_in_a_bulk_file_rejects_its_row(client, actors) -> None:
    dept = actors["department"]
    rows = [
        _row(dept.code, 0, RECORD_ID="a"),
        _row(dept.code, 1, RECORD_ID="b", NR="内\x00容"),
        _row(dept.code, 2, RECORD_ID="c\x00"),
        _row(dept.code, 3, RECORD_ID="d", SY="事\x0c实"),
    ]
    receipt = _receipt(await upload(client, dept, _csv(rows), key="nul-file"))
    assert (receipt["total"], receipt["created"], receipt["rejected"]) == (4, 1, 3)
    assert _codes(receipt) == {3: ["NUL_CHARACTER"], 4: ["CONTROL_CHARACTER"], 5: ["CONTROL_CHARACTER"]}
    response = await client.get(f"/bulk/{receipt['id']}/rejections.csv", headers=dept.headers)
    assert response.status_code == 200 and "\x00" not in response.text


async def test_json_nested_1000_deep_in_a_field_is_refused(client, actors, connection) -> None:
    dept = actors["department"]
    record = valid_record("administrative_penalty", dept.code, company_code(7), WFXW="@DEEP@")
    body = orjson.dumps({"query": PUSH, "variables": {"records": [record], "key": "deep"}}).decode()
    body = body.replace('"@DEEP@"', "[" * 1000 + "]" * 1000)
    headers = {**dept.headers, "content-type": "application/json"}
    result = (await client.post("/graphql", content=body, headers=headers)).json()
    assert "errors" not in result, result
    problem = result["data"]["pushRecords"]
    assert (problem["__typename"], problem["code"]) == ("InvalidInput", "JSON_TOO_DEEP"), problem
    assert await written(connection) == NOTHING_WRITTEN


async def test_json_nested_deep_in_an_ndjson_line_rejects_its_row(client, actors) -> None:
    dept = actors["department"]
    good = orjson.dumps(_row(dept.code, 0)).decode()
    deep = "[" * 1000 + "]" * 1000
    field = good.replace('"WFXW":"违法"', f'"WFXW":{deep}')
    record_id = good[:-1] + f',"RECORD_ID":{deep}}}'
    enum_list = good.replace('"CFLB":"罚款"', '"CFLB":' + "[" * 200 + "]" * 200)
    receipt = _receipt(await _upload_ndjson(client, dept, [good, field, record_id, enum_list]))
    assert (receipt["total"], receipt["created"], receipt["rejected"]) == (4, 1, 3)
    assert _codes(receipt) == {2: ["NOT_A_STRING"], 3: ["NOT_A_STRING"], 4: ["NOT_A_STRING"]}


# --- registry integrity: a push never renames an entity -------------------------------------------------


async def test_a_push_never_renames_the_entity(client, actors, connection) -> None:
    dept, dept2 = actors["department"], actors["department2"]
    uscc = company_code(77)
    first = valid_record("administrative_penalty", dept.code, uscc, record_id="n1")
    [created] = (await push_ok(client, dept, [first], key="n1"))["results"]
    assert created["warnings"] == []
    other = valid_record("administrative_penalty", dept2.code, uscc, record_id="n2", XDR_MC="冒名有限公司")
    [result] = (await push_ok(client, dept2, [other], key="n2"))["results"]
    assert result["outcome"] == "CREATED"
    assert [(w["code"], w["path"]) for w in result["warnings"]] == [("NAME_DIFFERS", "fields.XDR_MC")]
    assert (
        "冒名" not in result["warnings"][0]["message"] and PARTY_NAME not in result["warnings"][0]["message"]
    )
    rows = await connection.execute(
        text("SELECT source_dept, content->>'XDR_MC' FROM records WHERE uscc = :u ORDER BY source_dept"),
        {"u": uscc},
    )
    assert sorted((r[0], r[1]) for r in rows) == sorted(
        [(dept.code, PARTY_NAME), (dept2.code, "冒名有限公司")]
    )
    names = await connection.execute(text("SELECT name FROM entities WHERE uscc = :u"), {"u": uscc})
    assert names.scalars().all() == [PARTY_NAME]

    # A bulk file does not rename it either; a new entity takes the name of its first line.
    rows_ = [
        _row(dept2.code, 0, XDR_SHXYM=uscc, XDR_MC="又一个名称", WSH="b1"),
        _row(dept2.code, 1, XDR_MC="首行名称", WSH="b2"),
        _row(dept2.code, 1, XDR_MC="末行名称", WSH="b3"),
    ]
    receipt = _receipt(await upload(client, dept2, _csv(rows_), key="n3"))
    assert receipt["created"] == 3, receipt
    found = await connection.execute(
        text("SELECT uscc, name FROM entities WHERE uscc IN (:a, :b)"), {"a": uscc, "b": company_code(1001)}
    )
    assert {r[0]: r[1] for r in found} == {uscc: PARTY_NAME, company_code(1001): "首行名称"}
    stored = await connection.execute(
        text("SELECT content->>'XDR_MC' FROM records WHERE source_dept = :d AND source_record_id = 'b1'"),
        {"d": dept2.code},
    )
    assert stored.scalar() == "又一个名称"


# --- the indicator values CSV (hub/scoring) reads the same way ---------------------------------------


async def test_indicator_values_csv_refuses_a_50_mb_line_and_an_oversized_cell(client, actors) -> None:
    from tests.scoring.test_scoring import setup
    from tests.scoring.test_scoring_values import upload as upload_values

    await setup(client, actors)
    dept = actors["department"]
    head = f"USCC,PUB,INS,CMP,HON\n{company_code(721)},95,9,5,1\n".encode()
    cases = [
        (head + b"9" * (50 << 20), "LINE_TOO_LONG", "line 3"),
        (head + f"{company_code(722)},{'9' * 200_000},9,5,1\n".encode(), "FIELD_TOO_LONG", "line 3"),
        (b"USCC," + b"PUB," * 30_000 + b"INS,CMP\n", "DUPLICATE_COLUMN", "given twice: PUB"),
    ]
    for data, code, said in cases:
        result = await upload_values(client, dept, data)
        assert (result["__typename"], result["code"]) == ("InvalidInput", code), result
        assert said in result["message"] and len(result["message"]) < 300


WARNED = """
query($id: ID!) {
  bulkReceipt(id: $id) {
    ... on BulkReceipt { total created warned warnings { line sourceRecordId warnings { code path message } } }
  }
}
"""


async def test_a_bulk_file_never_renames_the_entity_and_warns_per_line(client, actors, connection) -> None:
    dept, dept2 = actors["department"], actors["department2"]
    uscc = company_code(1001)  # _row(…, 1) is about this entity, named 某公司1
    receipt = _receipt(await upload(client, dept, _csv([_row(dept.code, 1)]), key="w1"))
    assert (receipt["created"], receipt["rejected"]) == (1, 0)
    # Line 2 keeps the registered name; line 3 differs; line 4 is a new entity the file itself names
    # (first line wins) and line 5 differs from that.
    rows = [
        _row(dept2.code, 1, WSH="罚a"),
        _row(dept2.code, 1, WSH="罚b", XDR_MC="冒名有限公司"),
        _row(dept2.code, 2, WSH="罚c"),
        _row(dept2.code, 2, WSH="罚d", XDR_MC="另一个名字"),
    ]
    for i, row in enumerate(rows):
        row["RECORD_ID"] = f"w-{i}"
    receipt = _receipt(await upload(client, dept2, _csv(rows), key="w2"))
    assert (receipt["warned"], receipt["replayed"]) == (2, False), receipt
    replay = _receipt(await upload(client, dept2, _csv(rows), key="w2"))
    assert (replay["id"], replay["warned"], replay["replayed"]) == (receipt["id"], 2, True), replay
    answer = (
        await client.post(
            "/graphql", json={"query": WARNED, "variables": {"id": receipt["id"]}}, headers=dept2.headers
        )
    ).json()
    got = answer["data"]["bulkReceipt"]
    assert (got["total"], got["created"], got["warned"]) == (4, 4, 2), got
    assert [
        (w["line"], w["sourceRecordId"], [(p["code"], p["path"]) for p in w["warnings"]])
        for w in got["warnings"]
    ] == [
        (3, "w-1", [("NAME_DIFFERS", "XDR_MC")]),
        (5, "w-3", [("NAME_DIFFERS", "XDR_MC")]),
    ]
    # The registered name is not echoed, and the registry keeps both names.
    assert all("某公司" not in w["warnings"][0]["message"] for w in got["warnings"])
    names = await connection.execute(
        text("SELECT uscc, name FROM entities WHERE uscc IN (:a, :b) ORDER BY uscc"),
        {"a": uscc, "b": company_code(1002)},
    )
    assert [tuple(r) for r in names] == [(uscc, "某公司1"), (company_code(1002), "某公司2")]
    stored = await connection.execute(
        text("SELECT content->>'XDR_MC' FROM records WHERE source_record_id = 'w-1'"),
    )
    assert stored.scalar_one() == "冒名有限公司"
