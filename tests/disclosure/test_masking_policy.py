"""The masking policy as data: its parser refuses a broken body naming the field, the shipped default
is what domain.md asks for, and the credit office amends it through the API (a new version, applied
from the next request on); a broken amendment is refused with the field's path and nothing is stored."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import text

from hub.catalog.masking_policies import MaskingPolicy, MaskingPolicyError
from tests.conftest import gql
from tests.records.builders import push_ok, valid_record

SHIPPED = yaml.safe_load((Path(__file__).parents[2] / "hub/catalog/masking_policy.yaml").read_text("utf-8"))


def broken(change: Any) -> dict[str, Any]:
    body = copy.deepcopy(SHIPPED)
    change(body)
    return body


# (what is broken, the body, the field the error names)
BROKEN = [
    ("unknown top-level key", lambda b: b.update(colour="red"), "colour"),
    ("no rules", lambda b: b.pop("rules"), "rules"),
    ("unknown mask kind", lambda b: b["rules"]["id_number"].update(mask="scramble"), "rules.id_number.mask"),
    ("missing parameter", lambda b: b["rules"]["id_number"].pop("first"), "rules.id_number.first"),
    ("negative parameter", lambda b: b["rules"]["mobile"].update(last=-1), "rules.mobile.last"),
    ("parameter of another mask", lambda b: b["rules"]["name"].update(first=1), "rules.name.first"),
    ("bands not ascending", lambda b: b["rules"]["amount"].update(bounds=[10, 1]), "rules.amount.bounds"),
    (
        "empty range",
        lambda b: b["rules"].update(r={"mask": "mask_range", "start": 5, "end": 2}),
        "rules.r.end",
    ),
    ("class of nothing", lambda b: b["classes"].update(x={}), "classes.x"),
    ("unknown role", lambda b: b["decisions"][0].update(roles=["bank", "robot"]), "decisions[0].roles"),
    ("unknown tier", lambda b: b["decisions"][0].update(tiers=["partial"]), "decisions[0].tiers"),
    ("unknown decision", lambda b: b["decisions"][1].update(decision="hidden"), "decisions[1].decision"),
    ("masked without rule", lambda b: b["decisions"][3].pop("rule"), "decisions[3].rule"),
    ("masked by no rule", lambda b: b["decisions"][3].update(rule="nope"), "decisions[3].rule"),
    ("withheld with a rule", lambda b: b["decisions"][0].update(rule="id_number"), "decisions[0].rule"),
    ("no reason", lambda b: b["decisions"][2].pop("reason"), "decisions[2].reason"),
    ("unknown class", lambda b: b["decisions"][0].update(classes=["dna"]), "decisions[0].classes"),
    (
        "unknown sensitivity",
        lambda b: b["decisions"][5].update(sensitivities=["secret"]),
        "decisions[5].sensitivities",
    ),
    ("misspelt key", lambda b: b["decisions"][0].update(role=["bank"]), "decisions[0].role"),
    ("scan by no rule", lambda b: b["free_text"].update(mobile_rule="nope"), "free_text.mobile_rule"),
]


@pytest.mark.parametrize(("what", "change", "where"), BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_policy_is_refused_naming_the_field(what: str, change: Any, where: str) -> None:
    with pytest.raises(MaskingPolicyError) as raised:
        MaskingPolicy.from_mapping(broken(change))
    assert str(raised.value).startswith(f"{where}: "), str(raised.value)


def test_the_shipped_default_survives_its_own_round_trip() -> None:
    policy = MaskingPolicy.from_mapping(SHIPPED)
    assert MaskingPolicy.from_mapping(policy.to_mapping()) == policy


# The shipped default, decision by decision, against domain.md (role, tier, field, field type,
# sensitivity → decision and rule; None: the role rules decide).
DEFAULTS = [
    ("bank", None, "XDR_ZJHM", "id_number", "personal", ("withheld", None)),
    ("public", None, "LXDH", "string", "public", ("withheld", None)),  # never public, even if marked so
    ("bank", "masked", "XDR_ZJHM", "id_number", "personal", ("masked", "id_number")),
    ("association", "masked", "LXDH", "string", "personal", ("masked", "mobile")),
    ("bank", "masked", "XDR_MC", "string", "personal", ("masked", "name")),
    ("bank", "masked", "XDR_MC", "string", "public", ("shown", None)),  # an organisation's name
    ("bank", "masked", "DZ", "string", "personal", ("masked", "address")),
    ("bank", "full", "XDR_ZJHM", "id_number", "personal", ("shown", None)),
    ("bank", "full", "FR_ZJHM", "id_number", "personal", ("masked", "id_number")),
    ("bank", "full", "YHZH", "string", "personal", ("withheld", None)),
    ("association", "full", "JKZK", "string", "personal", ("withheld", None)),
    ("bank", None, "BZ", "text", "restricted", None),
    ("entity", "masked", "XDR_ZJHM", "id_number", "personal", ("withheld", None)),
    ("entity", "masked", "FRDB", "string", "restricted", None),
]


@pytest.mark.parametrize(("role", "tier", "field", "ftype", "sensitivity", "expected"), DEFAULTS)
def test_the_shipped_defaults(
    role: str, tier: Any, field: str, ftype: str, sensitivity: str, expected: Any
) -> None:
    decision = MaskingPolicy.from_mapping(SHIPPED).decide(
        role, tier, "record", "x", field, ftype, sensitivity
    )
    assert (None if decision is None else (decision.decision, decision.rule)) == expected


# --- amending it through the API ------------------------------------------------------------------

READ = "{ maskingPolicy { version policy } }"
AMEND = """mutation($p: JSON!) { amendMaskingPolicy(policy: $p) {
  __typename ... on MaskingPolicy { version policy } ... on Problem { code message path } } }"""


async def _stored_versions(connection: Any) -> int:
    value = await connection.scalar(
        text("SELECT count(*) FROM catalog_documents WHERE kind = 'masking_policy'")
    )
    return int(value or 0)


async def test_the_credit_office_amends_the_policy_and_it_becomes_a_new_version(client, actors) -> None:
    before = (await gql(client, READ, actor=actors["bank"]))["data"]["maskingPolicy"]
    amended = copy.deepcopy(SHIPPED)
    amended["rules"]["id_number"] = {"mask": "keep_ends", "first": 3, "last": 4}
    answer = (await gql(client, AMEND, {"p": amended}, actors["credit_office"]))["data"]["amendMaskingPolicy"]
    assert answer["__typename"] == "MaskingPolicy"
    assert answer["version"] == before["version"] + 1
    after = (await gql(client, READ, actor=actors["bank"]))["data"]["maskingPolicy"]
    assert after["version"] == before["version"] + 1
    assert after["policy"]["rules"]["id_number"] == {"mask": "keep_ends", "first": 3, "last": 4}


@pytest.mark.parametrize(("what", "change", "where"), BROKEN[:6], ids=[b[0] for b in BROKEN[:6]])
async def test_a_broken_amendment_is_refused_with_its_path_and_nothing_is_stored(
    client, actors, connection, what: str, change: Any, where: str
) -> None:
    before = await _stored_versions(connection)
    answer = (await gql(client, AMEND, {"p": broken(change)}, actors["credit_office"]))["data"]
    assert answer["amendMaskingPolicy"]["__typename"] == "InvalidInput"
    assert answer["amendMaskingPolicy"]["code"] == "MASKING_POLICY_INVALID"
    assert answer["amendMaskingPolicy"]["path"] == f"policy.{where}"
    assert await _stored_versions(connection) == before


async def test_a_policy_that_is_not_an_object_is_refused(client, actors, connection) -> None:
    before = await _stored_versions(connection)
    answer = (await gql(client, AMEND, {"p": [1, 2]}, actors["credit_office"]))["data"]["amendMaskingPolicy"]
    assert (answer["code"], answer["path"]) == ("NOT_AN_OBJECT", "policy")
    assert await _stored_versions(connection) == before


async def test_only_the_credit_office_amends_it(client, actors, connection) -> None:
    before = await _stored_versions(connection)
    result = await gql(client, AMEND, {"p": SHIPPED}, actors["bank"])
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await _stored_versions(connection) == before


ARCHIVE = (
    """query($u: String!) { entity(uscc: $u) { name records(first: 5) { edges { node { fields } } } } }"""
)


async def test_an_amendment_applies_from_the_next_request_to_entity_and_record_fields(client, actors) -> None:
    uscc = actors["entity"].code
    record = valid_record("administrative_penalty", actors["department"].code, uscc, FRDB="李四")
    await push_ok(client, actors["department"], [record])
    before = (await gql(client, ARCHIVE, {"u": uscc}))["data"]["entity"]
    assert "FRDB" not in before["records"]["edges"][0]["node"]["fields"]  # restricted: withheld
    amended = copy.deepcopy(SHIPPED)
    amended["decisions"][:0] = [
        {
            "roles": ["public"],
            "tiers": ["none"],
            "items": ["entity"],
            "fields": ["name"],
            "decision": "masked",
            "rule": "name",
            "reason": "test: names masked",
        },
        {
            "roles": ["public"],
            "tiers": ["none"],
            "fields": ["FRDB"],
            "decision": "masked",
            "rule": "name",
            "reason": "test: the legal representative's surname",
        },
    ]
    answer = (await gql(client, AMEND, {"p": amended}, actors["credit_office"]))["data"]["amendMaskingPolicy"]
    assert answer["__typename"] == "MaskingPolicy"
    result = await gql(client, ARCHIVE, {"u": uscc})
    after = result["data"]["entity"]
    assert after["name"] == "哈*"  # 哈尔滨示例科技有限公司
    assert after["records"]["edges"][0]["node"]["fields"]["FRDB"] == "李*"
    entries = result["extensions"]["disclosure"]
    assert {
        "item": "entity",
        "field": "name",
        "decision": "masked",
        "rule": "name",
        "reason": "test: names masked",
        "count": 1,
    } in entries
    # The entity itself still reads its own archive as stored.
    own = (await gql(client, ARCHIVE, {"u": uscc}, actors["entity"]))["data"]["entity"]
    assert own["name"] == "哈尔滨示例科技有限公司"
    assert own["records"]["edges"][0]["node"]["fields"]["FRDB"] == "李四"
