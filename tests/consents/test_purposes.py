"""The catalogue of purposes (授权用途) as policy data: shipped YAML loaded and versioned in the
database, shown by `purposes`, amended by the credit office (`savePurpose`); a broken definition is
refused with what is wrong and writes nothing."""

from __future__ import annotations

import copy

import pytest
import yaml

from hub.catalog.purposes import Purpose, PurposeError, parse_purposes
from hub.catalog.record_types import load_bundled
from hub.catalog.registry import CATALOG_DIR
from tests.conftest import gql
from tests.records.builders import count

PURPOSES = """{ purposes { code version nameZh requesterRoles maxValidityDays readsPerDay readsTotal
  items { item tier } } }"""
SAVE = """mutation($p: JSON!) { savePurpose(purpose: $p) { __typename
  ... on Purpose { code version readsTotal items { item tier } } ... on Problem { code message path } } }"""

# By hand, from seed 001 (§三(一)2-4, §三(三)1): the purposes shipped, who asks, and their caps.
SHIPPED = {
    "loan_assessment": ("信易贷授信评估", ["bank"], 365, 10, 100),
    "tax_credit_loan": ("税信贷授信评估", ["bank"], 180, 5, 50),
    "bidding_qualification": ("招投标资格审查", ["bank", "association"], 90, 5, 20),
    "association_rating": ("行业协会信用评级", ["association"], 365, 20, 200),
    "business_cooperation": ("商务合作信用核查", ["bank", "association"], 30, 3, 10),
    "market_credit_evaluation": ("市场信用评价", ["bank", "association"], 365, 10, 120),
}


def _shipped_document() -> dict:
    return yaml.safe_load((CATALOG_DIR / "purposes.yaml").read_text(encoding="utf-8"))


def _loan() -> dict:
    [loan] = [p for p in _shipped_document()["purposes"] if p["code"] == "loan_assessment"]
    return copy.deepcopy(loan)


async def test_the_shipped_purposes_are_in_force_at_version_1(client):
    answer = await gql(client, PURPOSES)
    assert "errors" not in answer, answer
    found = {
        p["code"]: (p["nameZh"], p["requesterRoles"], p["maxValidityDays"], p["readsPerDay"], p["readsTotal"])
        for p in answer["data"]["purposes"]
    }
    assert found == SHIPPED
    assert {p["version"] for p in answer["data"]["purposes"]} == {1}
    [loan] = [p for p in answer["data"]["purposes"] if p["code"] == "loan_assessment"]
    assert {"item": "supervision", "tier": "FULL"} in loan["items"]
    assert {"item": "records.administrative_penalty", "tier": "MASKED"} in loan["items"]


def test_every_shipped_record_item_names_a_catalogue_type() -> None:
    types = load_bundled()
    parsed = parse_purposes(_shipped_document(), types)
    for purpose in parsed.values():
        for item in purpose.items:
            assert item in ("supervision", "classification") or item.removeprefix("records.") in types
    assert Purpose.from_mapping(parsed["loan_assessment"].to_mapping(), types) == parsed["loan_assessment"]


async def test_the_credit_office_amends_a_purpose_as_a_new_version(client, actors, connection):
    loan = _loan()
    loan["reads_total"] = 60
    answer = await gql(client, SAVE, {"p": loan}, actors["credit_office"])
    saved = answer["data"]["savePurpose"]
    assert (saved["__typename"], saved["code"], saved["version"], saved["readsTotal"]) == (
        "Purpose",
        "loan_assessment",
        2,
        60,
    )
    listed = await gql(client, PURPOSES)
    [now] = [p for p in listed["data"]["purposes"] if p["code"] == "loan_assessment"]
    assert (now["version"], now["readsTotal"]) == (2, 60)


# (change to loan_assessment, what the error names)
BROKEN = [
    ({"code": "Loan"}, "purpose code"),
    ({"requester_roles": ["department"]}, "requester role 'department'"),
    ({"requester_roles": []}, "requester_roles"),
    ({"reads_per_day": 0}, "reads_per_day"),
    ({"reads_total": True}, "reads_total"),
    ({"reads_per_day": 200}, "reads_per_day is above reads_total"),
    ({"max_validity_days": "365"}, "max_validity_days"),
    ({"items": {"records.no_such_type": "masked"}}, "names no record type"),
    ({"items": {"ratings": "full"}}, "unknown data item"),
    ({"items": {"supervision": "everything"}}, "tier 'everything'"),
    ({"items": {}}, "'items'"),
    ({"name_zh": " "}, "'name_zh'"),
    ({"colour": "red"}, "unknown key 'colour'"),
]


@pytest.mark.parametrize(("change", "named"), BROKEN, ids=[b[1] for b in BROKEN])
async def test_a_broken_purpose_is_refused_and_writes_nothing(client, actors, connection, change, named):
    body = {**_loan(), **change}
    before = await count(connection, "catalog_documents")
    answer = await gql(client, SAVE, {"p": body}, actors["credit_office"])
    problem = answer["data"]["savePurpose"]
    assert (problem["__typename"], problem["code"], problem["path"]) == (
        "InvalidInput",
        "PURPOSE_INVALID",
        "purpose",
    )
    assert named in problem["message"]
    assert await count(connection, "catalog_documents") == before


def test_the_parser_refuses_a_purpose_twice() -> None:
    document = {"purposes": [_loan(), _loan()]}
    with pytest.raises(PurposeError, match="defined twice"):
        parse_purposes(document)
