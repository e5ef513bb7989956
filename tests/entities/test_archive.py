"""Reading an archive: entity(uscc), record filters, cursor pagination, sources and who sees what."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from hub.entities.codes import USCC_ALPHABET, org_code_check_char, uscc_check_char, uscc_problem
from tests.conftest import Actor, company_code, days_ago, gql
from tests.records.builders import ENTITY, push_ok, read_entity, records_of, valid_record

# --- entity(uscc) --------------------------------------------------------------------------------


async def entity_error(client: httpx.AsyncClient, uscc: str) -> dict[str, Any]:
    result = await gql(client, ENTITY, {"uscc": uscc})
    assert result["data"] == {"entity": None}
    [error] = result["errors"]
    assert error["path"] == ["entity"]
    return {"message": error["message"], **error["extensions"]}


async def test_malformed_uscc_check_character_names_the_position(client: httpx.AsyncClient) -> None:
    code = company_code(71)
    wrong = "Y" if code[17] != "Y" else "X"

    error = await entity_error(client, code[:17] + wrong)

    assert error == {
        "message": f"check character at position 18: expected {code[17]!r}, got {wrong!r}",
        "code": "USCC_CHECK",
        "path": "uscc",
    }


async def test_malformed_uscc_length(client: httpx.AsyncClient) -> None:
    assert await entity_error(client, "91230102") == {
        "message": "a USCC has 18 characters, got 8",
        "code": "USCC_LENGTH",
        "path": "uscc",
    }


async def test_malformed_uscc_character_names_the_position(client: httpx.AsyncClient) -> None:
    code = company_code(72)
    bad = code[:9] + "I" + code[10:]  # I is not in the USCC alphabet (nor O, S, V, Z)

    assert await entity_error(client, bad) == {
        "message": f"forbidden character 'I' at position 10 (allowed: {USCC_ALPHABET})",
        "code": "USCC_CHARACTER",
        "path": "uscc",
    }


UPLOAD = """
mutation($file: Upload!) {
  pushRecordsFile(file: $file, recordType: "inspection_result", format: NDJSON, historical: true) {
    __typename ... on BulkReceipt { created rejected }
  }
}
"""


async def test_archive_imported_as_history_with_a_failing_embedded_org_code_can_be_read(
    client: httpx.AsyncClient, actors: dict[str, Actor]
) -> None:
    # Such codes are in circulation; an import of history accepts them with a warning.
    dept = actors["department"]
    body = "M0000401"
    wrong = "0" if org_code_check_char(body) != "0" else "1"
    first17 = f"91230102{body}{wrong}"
    historic = first17 + uscc_check_char(first17)
    assert uscc_problem(historic) is not None and uscc_problem(historic, check_org_code=False) is None
    record = valid_record("inspection_result", dept.code, historic, record_id="H-1", decided="2025-03-03")
    operations = {"query": UPLOAD, "variables": {"file": None}}
    response = await client.post(
        "/graphql",
        data={"operations": orjson.dumps(operations).decode(), "map": '{"0": ["variables.file"]}'},
        files={"0": ("history.ndjson", orjson.dumps(record["fields"]) + b"\n", "application/x-ndjson")},
        headers=dept.headers,
    )
    assert response.json()["data"]["pushRecordsFile"] == {
        "__typename": "BulkReceipt",
        "created": 1,
        "rejected": 0,
    }

    entity = await read_entity(client, None, historic)

    assert entity is not None
    assert entity["uscc"] == historic
    assert [e["node"]["sourceRecordId"] for e in entity["records"]["edges"]] == ["H-1"]


async def test_unknown_valid_uscc_is_null_without_error(client: httpx.AsyncClient) -> None:
    result = await gql(client, ENTITY, {"uscc": company_code(73)})

    assert result == {"data": {"entity": None}}


async def test_uscc_is_normalised_before_lookup(client: httpx.AsyncClient, actors: dict[str, Actor]) -> None:
    dept = actors["department"]
    uscc = company_code(74)
    await push_ok(client, dept, [valid_record("inspection_result", dept.code, uscc)])

    entity = await read_entity(client, None, f"  {uscc.lower()} ")

    assert entity is not None
    assert (entity["uscc"], entity["kind"], entity["district"]) == (uscc, "enterprise", "230102")


# --- filters -------------------------------------------------------------------------------------


@pytest.fixture
async def archive(client: httpx.AsyncClient, actors: dict[str, Actor]) -> str:
    """Seven records of one entity from two departments (newest first: B1, A1, A2, B2, A3, A4, B3)."""
    dept, dept2 = actors["department"], actors["department2"]
    uscc = company_code(75)
    a = [
        valid_record("administrative_penalty", dept.code, uscc, record_id="A1", decided="2026-10-20"),
        valid_record("inspection_result", dept.code, uscc, record_id="A2", decided="2026-10-20"),
        valid_record("administrative_licence", dept.code, uscc, record_id="A3", decided="2026-06-01"),
        valid_record("inspection_result", dept.code, uscc, record_id="A4", decided="2026-05-15"),
    ]
    b = [
        valid_record("inspection_result", dept2.code, uscc, record_id="B1", decided="2026-11-10"),
        valid_record("administrative_penalty", dept2.code, uscc, record_id="B2", decided="2026-10-20"),
        valid_record("honour", dept2.code, uscc, record_id="B3", decided="2026-01-09"),
    ]
    await push_ok(client, dept, a, "a")
    await push_ok(client, dept2, b, "b")
    return uscc


async def ids(client: httpx.AsyncClient, actor: Actor, uscc: str, **flt: Any) -> tuple[list[str], int]:
    entity = await read_entity(client, actor, uscc, filter=flt or None)
    assert entity is not None
    return [e["node"]["sourceRecordId"] for e in entity["records"]["edges"]], entity["records"]["totalCount"]


async def test_records_newest_decision_first_then_department_and_id(
    client: httpx.AsyncClient, actors: dict[str, Actor], archive: str
) -> None:
    # Same date 2026-10-20: department (…27J) before department2 (…3…), then by id.
    assert await ids(client, actors["credit_office"], archive) == (
        ["B1", "A1", "A2", "B2", "A3", "A4", "B3"],
        7,
    )


async def test_filter_by_record_types(
    client: httpx.AsyncClient, actors: dict[str, Actor], archive: str
) -> None:
    office = actors["credit_office"]
    assert await ids(client, office, archive, recordTypes=["inspection_result"]) == (["B1", "A2", "A4"], 3)
    assert await ids(client, office, archive, recordTypes=["honour", "administrative_licence"]) == (
        ["A3", "B3"],
        2,
    )
    assert await ids(client, office, archive, recordTypes=["complaint"]) == ([], 0)


async def test_filter_by_sources(client: httpx.AsyncClient, actors: dict[str, Actor], archive: str) -> None:
    office, dept2 = actors["credit_office"], actors["department2"]
    assert await ids(client, office, archive, sources=[dept2.code]) == (["B1", "B2", "B3"], 3)
    assert await ids(client, office, archive, sources=[company_code(99)]) == ([], 0)


async def test_filter_by_decision_dates_inclusive(
    client: httpx.AsyncClient, actors: dict[str, Actor], archive: str
) -> None:
    office = actors["credit_office"]
    assert await ids(client, office, archive, decidedFrom="2026-10-20") == (["B1", "A1", "A2", "B2"], 4)
    assert await ids(client, office, archive, decidedTo="2026-06-01") == (["A3", "A4", "B3"], 3)
    assert await ids(client, office, archive, decidedFrom="2026-05-15", decidedTo="2026-10-20") == (
        ["A1", "A2", "B2", "A3", "A4"],
        5,
    )


async def test_filters_combine(client: httpx.AsyncClient, actors: dict[str, Actor], archive: str) -> None:
    office, dept = actors["credit_office"], actors["department"]
    assert await ids(
        client,
        office,
        archive,
        recordTypes=["inspection_result"],
        sources=[dept.code],
        decidedFrom="2026-10-01",
    ) == (["A2"], 1)


# --- pagination ----------------------------------------------------------------------------------


async def test_cursor_pagination_over_three_pages_has_no_duplicates_or_gaps(
    client: httpx.AsyncClient, actors: dict[str, Actor], archive: str
) -> None:
    office = actors["credit_office"]
    pages: list[tuple[list[str], bool, int]] = []
    after: str | None = None
    for _ in range(3):
        entity = await read_entity(client, office, archive, first=3, after=after)
        assert entity is not None
        connection = entity["records"]
        edges = connection["edges"]
        pages.append(
            (
                [e["node"]["sourceRecordId"] for e in edges],
                connection["pageInfo"]["hasNextPage"],
                connection["totalCount"],
            )
        )
        assert connection["pageInfo"]["endCursor"] == edges[-1]["cursor"]
        after = connection["pageInfo"]["endCursor"]

    assert pages == [
        (["B1", "A1", "A2"], True, 7),
        (["B2", "A3", "A4"], True, 7),
        (["B3"], False, 7),
    ]
    entity = await read_entity(client, office, archive, first=3, after=after)
    assert entity is not None
    assert entity["records"]["edges"] == []
    assert entity["records"]["pageInfo"] == {"hasNextPage": False, "endCursor": None}


async def test_pagination_honours_the_filter(
    client: httpx.AsyncClient, actors: dict[str, Actor], archive: str
) -> None:
    office, dept = actors["credit_office"], actors["department"]
    flt = {"sources": [dept.code]}
    first = await read_entity(client, office, archive, first=2, filter=flt)
    assert first is not None
    second = await read_entity(
        client, office, archive, first=2, filter=flt, after=first["records"]["pageInfo"]["endCursor"]
    )
    assert second is not None

    assert [e["node"]["sourceRecordId"] for e in first["records"]["edges"]] == ["A1", "A2"]
    assert [e["node"]["sourceRecordId"] for e in second["records"]["edges"]] == ["A3", "A4"]
    assert second["records"]["pageInfo"]["hasNextPage"] is False
    assert second["records"]["totalCount"] == 4


@pytest.mark.parametrize("first", [0, -1, 101])
async def test_page_size_outside_1_to_100_is_an_error(
    client: httpx.AsyncClient, actors: dict[str, Actor], archive: str, first: int
) -> None:
    result = await gql(client, ENTITY, {"uscc": archive, "first": first}, actors["credit_office"])

    assert result["data"] == {"entity": None}
    assert [(e["message"], e["extensions"]) for e in result["errors"]] == [
        ("first must be between 1 and 100", {"code": "PAGE_SIZE", "path": "first"})
    ]


@pytest.mark.parametrize("after", ["garbage", "Zm9vYmFy", "MjAyNi0xMy0wMR9hH2I="])
async def test_a_cursor_the_api_did_not_give_out_is_an_error(
    client: httpx.AsyncClient, actors: dict[str, Actor], archive: str, after: str
) -> None:
    # Not base64; base64 of "foobar" (one part); base64 of "2026-13-01␟a␟b" (not a date).
    result = await gql(client, ENTITY, {"uscc": archive, "after": after}, actors["credit_office"])

    assert result["data"] == {"entity": None}
    assert [(e["message"], e["extensions"]) for e in result["errors"]] == [
        ("the cursor is not one this API gave out", {"code": "BAD_CURSOR", "path": "after"})
    ]


# --- sources -------------------------------------------------------------------------------------

SOURCES = """
query($uscc: String!) { entity(uscc: $uscc) {
  sources { code recordCount latestDecisionDate organisation { code name role } } } }
"""


async def test_sources_list_the_departments_with_counts(
    client: httpx.AsyncClient, actors: dict[str, Actor], archive: str
) -> None:
    dept, dept2 = actors["department"], actors["department2"]

    result = await gql(client, SOURCES, {"uscc": archive}, actors["credit_office"])

    assert result["data"]["entity"]["sources"] == [
        {
            "code": dept.code,
            "recordCount": 4,
            "latestDecisionDate": "2026-10-20",
            "organisation": {"code": dept.code, "name": "市市场监督管理局", "role": "DEPARTMENT"},
        },
        {
            "code": dept2.code,
            "recordCount": 3,
            "latestDecisionDate": "2026-11-10",
            "organisation": {"code": dept2.code, "name": "市生态环境局", "role": "DEPARTMENT"},
        },
    ]


async def test_sources_count_current_records_not_versions(
    client: httpx.AsyncClient, actors: dict[str, Actor]
) -> None:
    dept = actors["department"]
    uscc = company_code(76)
    await push_ok(client, dept, [valid_record("inspection_result", dept.code, uscc)], "a")
    await push_ok(client, dept, [valid_record("inspection_result", dept.code, uscc, JCJL="不合格")], "b")

    result = await gql(client, SOURCES, {"uscc": uscc}, actors["credit_office"])

    [source] = result["data"]["entity"]["sources"]
    assert source["recordCount"] == 1


# --- visibility ----------------------------------------------------------------------------------


@pytest.fixture
async def mixed(client: httpx.AsyncClient, actors: dict[str, Actor]) -> str:
    """The `entity` actor's own archive: two records under publicity today, two not.

    - P1 department, general penalty 2025-06-10 (NDRC 58: published until 2028-06-10), with restricted fields
    - P2 department2, warning 2026-05-06 (NDRC 36: a minor penalty is not published)
    - L1 department, licence valid until 2026-06-30 (publicity ended with its validity)
    - I1 department2, inspection three days ago (published for 36 months), with a remark
    """
    dept, dept2 = actors["department"], actors["department2"]
    uscc = actors["entity"].code
    await push_ok(
        client,
        dept,
        [
            valid_record(
                "administrative_penalty",
                dept.code,
                uscc,
                record_id="P1",
                decided="2025-06-10",
                FRDB="张三",
                BZ="备注",
            ),
            valid_record(
                "administrative_licence",
                dept.code,
                uscc,
                record_id="L1",
                decided="2026-01-05",
                YXQZI="2026-06-30",
            ),
        ],
        "a",
    )
    await push_ok(
        client,
        dept2,
        [
            valid_record(
                "administrative_penalty",
                dept2.code,
                uscc,
                record_id="P2",
                decided="2026-05-06",
                CFLB=["警告"],
                NR_FK=None,
                NR="警告",
            ),
            valid_record(
                "inspection_result", dept2.code, uscc, record_id="I1", decided=days_ago(3), BZ="复查"
            ),
        ],
        "b",
    )
    return uscc


def view(records: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    return {rid: r["withheldFields"] for rid, r in records.items()}


@pytest.mark.parametrize("viewer", [None, "bank", "association"])
async def test_public_banks_and_associations_see_only_records_under_publicity_and_public_fields(
    client: httpx.AsyncClient, actors: dict[str, Actor], mixed: str, viewer: str | None
) -> None:
    actor = actors[viewer] if viewer else None

    records = await records_of(client, actor, mixed)

    assert view(records) == {"I1": ["BZ"], "P1": ["BZ", "FRDB"]}
    assert "FRDB" not in records["P1"]["fields"]
    assert records["P1"]["fields"]["NR_FK"] == "0.5"
    entity = await read_entity(client, actor, mixed)
    assert entity is not None
    assert entity["records"]["totalCount"] == 2


async def test_entity_sees_its_own_archive_whole(
    client: httpx.AsyncClient, actors: dict[str, Actor], mixed: str
) -> None:
    records = await records_of(client, actors["entity"], mixed)

    assert view(records) == {"I1": [], "P1": [], "P2": [], "L1": []}
    assert records["P1"]["fields"]["FRDB"] == "张三"
    assert records["P2"]["published"] is False


async def test_entity_sees_another_entity_as_the_public_does(
    client: httpx.AsyncClient, actors: dict[str, Actor]
) -> None:
    dept = actors["department"]
    other = company_code(77)
    await push_ok(
        client,
        dept,
        [
            valid_record("inspection_result", dept.code, other, record_id="I", BZ="内部"),
            valid_record(
                "administrative_licence",
                dept.code,
                other,
                record_id="L",
                decided="2026-01-05",
                YXQZI="2026-06-30",
            ),
        ],
    )

    records = await records_of(client, actors["entity"], other)

    assert view(records) == {"I": ["BZ"]}


@pytest.mark.parametrize("viewer", ["credit_office", "province"])
async def test_credit_office_and_province_see_everything(
    client: httpx.AsyncClient, actors: dict[str, Actor], mixed: str, viewer: str
) -> None:
    records = await records_of(client, actors[viewer], mixed)

    assert view(records) == {"I1": [], "P1": [], "P2": [], "L1": []}


async def test_department_sees_all_fields_of_its_own_records_and_public_ones_of_others(
    client: httpx.AsyncClient, actors: dict[str, Actor], mixed: str
) -> None:
    mine = await records_of(client, actors["department"], mixed)
    theirs = await records_of(client, actors["department2"], mixed)

    assert view(mine) == {"I1": ["BZ"], "P1": [], "P2": [], "L1": []}
    assert view(theirs) == {"I1": [], "P1": ["BZ", "FRDB"], "P2": [], "L1": []}
    assert mine["P1"]["fields"]["BZ"] == "备注"
    assert "BZ" not in theirs["P1"]["fields"]
