"""searchEntities: name fragment, district prefix, kind, pagination and the input errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.entities.codes import make_uscc
from tests.conftest import Actor, company_code, gql
from tests.records.builders import count, push_ok, valid_record

SEARCH = """
query($name: String, $district: String, $kind: String, $first: Int! = 20, $after: String) {
  searchEntities(name: $name, district: $district, kind: $kind, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { uscc name kind district } }
  }
}
"""

# (name, USCC) of the registry the search tests run on.
ENTITIES = [
    ("哈尔滨冰城食品有限公司", company_code(301, "230102")),
    ("哈尔滨冰城餐饮有限公司", company_code(302, "230103")),
    ("道外区老鼎丰食品店", make_uscc("9", "2", "230104", "G0000303")),
    ("齐齐哈尔冰城食品有限公司", company_code(304, "230202")),
    ("100%纯牛奶经销部", company_code(305, "230102")),
    ("100元牛奶经销部", company_code(306, "230102")),
    ("鲜_果商行", company_code(307, "230102")),
    ("鲜果果商行", company_code(308, "230102")),
]


@pytest.fixture
async def registry(client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection) -> None:
    dept = actors["department"]
    records = []
    for n, (name, uscc) in enumerate(ENTITIES):
        category = "个体工商户" if uscc.startswith("92") else "法人及非法人组织"
        records.append(
            valid_record(
                "inspection_result", dept.code, uscc, record_id=f"检-{n}", XDR_MC=name, XDR_LB=category
            )
        )
    receipt = await push_ok(client, dept, records)
    assert receipt["created"] == len(ENTITIES)
    assert await count(connection, "entities") == len(ENTITIES)


async def search(client: httpx.AsyncClient, **variables: Any) -> dict[str, Any]:
    result = await gql(client, SEARCH, variables)
    assert "errors" not in result, result
    found: dict[str, Any] = result["data"]["searchEntities"]
    return found


def names(found: dict[str, Any]) -> list[str]:
    return [e["node"]["name"] for e in found["edges"]]


@pytest.mark.usefixtures("registry")
async def test_search_by_chinese_name_fragment_anywhere_in_the_name(client: httpx.AsyncClient) -> None:
    found = await search(client, name="冰城")

    assert names(found) == ["哈尔滨冰城食品有限公司", "哈尔滨冰城餐饮有限公司", "齐齐哈尔冰城食品有限公司"]
    assert found["totalCount"] == 3
    assert found["pageInfo"]["hasNextPage"] is False
    # In code order: the individual business (92…) after the enterprises (91…).
    assert names(await search(client, name="食品")) == [
        "哈尔滨冰城食品有限公司",
        "齐齐哈尔冰城食品有限公司",
        "道外区老鼎丰食品店",
    ]
    assert (await search(client, name="  老鼎丰 "))["totalCount"] == 1  # the fragment is trimmed
    assert (await search(client, name="不存在的公司"))["totalCount"] == 0


@pytest.mark.usefixtures("registry")
async def test_search_by_district_prefix(client: httpx.AsyncClient) -> None:
    harbin = await search(client, district="2301")
    assert harbin["totalCount"] == 7
    assert "齐齐哈尔冰城食品有限公司" not in names(harbin)
    assert names(await search(client, district="230103")) == ["哈尔滨冰城餐饮有限公司"]
    assert names(await search(client, district="2302")) == ["齐齐哈尔冰城食品有限公司"]
    assert (await search(client, district="23"))["totalCount"] == 8
    assert (await search(client, district="11"))["totalCount"] == 0


@pytest.mark.usefixtures("registry")
async def test_search_by_kind_and_combined(client: httpx.AsyncClient) -> None:
    individual = await search(client, kind="individual_business")
    assert [(e["node"]["name"], e["node"]["kind"], e["node"]["district"]) for e in individual["edges"]] == [
        ("道外区老鼎丰食品店", "individual_business", "230104")
    ]
    assert (await search(client, kind="enterprise"))["totalCount"] == 7
    assert names(await search(client, name="冰城", district="2301", kind="enterprise")) == [
        "哈尔滨冰城食品有限公司",
        "哈尔滨冰城餐饮有限公司",
    ]


@pytest.mark.usefixtures("registry")
async def test_like_wildcards_in_the_fragment_are_literal(client: httpx.AsyncClient) -> None:
    assert names(await search(client, name="100%")) == ["100%纯牛奶经销部"]
    assert names(await search(client, name="鲜_果")) == ["鲜_果商行"]
    assert (await search(client, name="%%"))["totalCount"] == 0
    assert (await search(client, name="__"))["totalCount"] == 0


@pytest.mark.usefixtures("registry")
async def test_search_pages_through_all_matches_without_duplicates_or_gaps(client: httpx.AsyncClient) -> None:
    pages: list[tuple[list[str], bool]] = []
    after: str | None = None
    for _ in range(3):
        found = await search(client, district="2301", first=3, after=after)
        assert found["totalCount"] == 7
        pages.append(([e["node"]["uscc"] for e in found["edges"]], found["pageInfo"]["hasNextPage"]))
        after = found["pageInfo"]["endCursor"]

    expected = sorted(uscc for _, uscc in ENTITIES if uscc[2:6] == "2301")
    assert pages == [(expected[0:3], True), (expected[3:6], True), (expected[6:7], False)]


@pytest.mark.parametrize(
    ("variables", "code", "path", "message"),
    [
        ({"name": "冰"}, "TOO_SHORT", "name", "a name fragment needs at least 2 characters"),
        ({"name": " 冰 "}, "TOO_SHORT", "name", "a name fragment needs at least 2 characters"),
        ({"district": "2"}, "NOT_A_DISTRICT", "district", "district is 2 to 6 digits of the division code"),
        (
            {"district": "2301021"},
            "NOT_A_DISTRICT",
            "district",
            "district is 2 to 6 digits of the division code",
        ),
        (
            {"district": "23O1"},
            "NOT_A_DISTRICT",
            "district",
            "district is 2 to 6 digits of the division code",
        ),
        # Full-width digits are digits to str.isdigit(), but no division code has them.
        (
            {"district": "２３０１"},
            "NOT_A_DISTRICT",
            "district",
            "district is 2 to 6 digits of the division code",
        ),
        ({"first": 0}, "PAGE_SIZE", "first", "first must be between 1 and 100"),
        ({"first": 101}, "PAGE_SIZE", "first", "first must be between 1 and 100"),
        ({"after": "garbage"}, "BAD_CURSOR", "after", "the cursor is not one this API gave out"),
    ],
)
async def test_bad_search_input_is_an_error(
    client: httpx.AsyncClient, variables: dict[str, Any], code: str, path: str, message: str
) -> None:
    result = await gql(client, SEARCH, variables)

    assert result["data"] is None
    assert [(e["message"], e["path"], e["extensions"]) for e in result["errors"]] == [
        (message, ["searchEntities"], {"code": code, "path": path})
    ]
