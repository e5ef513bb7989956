"""The masking matrix (tests/disclosure/masking_matrix.yaml, written by hand): every role × every
personal field × {own, another, no authorisation, tier masked, tier full}, at the gate with
`Disclosure.grant` for the tiers, and through the real HTTP app with real tokens. No natural person's
ID number, mobile number or address leaves in a public, bank or association response unless a grant
allows it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.auth import service as auth
from hub.auth.caller import Caller, Role
from hub.catalog.record_types import RecordTypeDef, load_bundled
from hub.disclosure.gate import Disclosure
from tests.conftest import Actor, company_code, gov_code
from tests.records.builders import push_ok, valid_record

MATRIX = yaml.safe_load((Path(__file__).parent / "masking_matrix.yaml").read_text("utf-8"))
ENTITY, OTHER_ENTITY = company_code(71), company_code(72)
DEPT, OTHER_DEPT = gov_code(71), gov_code(72)
RECORD_TYPE = "administrative_penalty"


def definition() -> RecordTypeDef:
    """The penalty type with two personal fields the catalogue does not ship yet (a mobile, an address)."""
    body = load_bundled()[RECORD_TYPE].to_mapping()
    for name, label in (("LXDH", "联系电话"), ("DZ", "住址")):
        body["fields"].append(
            {
                "name": name,
                "label_zh": label,
                "label": name,
                "description": f"{label} (test)",
                "type": "string",
                "sensitivity": "personal",
                "max_length": 100,
            }
        )
    return RecordTypeDef.from_mapping(body)


def caller(role: str, whose: str) -> Caller:
    if role == "entity":
        return Caller(Role.ENTITY, ENTITY if whose == "own" else OTHER_ENTITY)
    if role == "department":
        return Caller(Role.DEPARTMENT, DEPT if whose == "own" else OTHER_DEPT)
    if role == "public":
        return Caller(Role.PUBLIC, None)
    return Caller(Role(role), company_code(73))


def expected_fields(view: dict[str, str], record: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    shown = {f: (record[f] if v == "S" else v) for f, v in view.items() if v != "W"}
    return shown, tuple(sorted(f for f, v in view.items() if v == "W"))


CASES = MATRIX["cases"]


@pytest.mark.parametrize("case", CASES, ids=[f"{c['role']}-{c['whose']}-{c['tier']}" for c in CASES])
async def test_the_gate_masks_as_the_matrix_says(session, keys, case: dict[str, Any]) -> None:
    record = MATRIX["record"]
    gate = Disclosure(caller(case["role"], case["whose"]), keys=keys)
    await gate.prepare(session)
    if case["tier"] != "none":
        gate.grant(ENTITY, case["tier"])
    fields, withheld = gate.record_fields(definition(), RECORD_TYPE, record, uscc=ENTITY, owner=DEPT)
    assert (fields, withheld) == expected_fields(case["view"], record)


async def test_each_masked_or_withheld_field_is_reported_with_its_rule_and_reason(session, keys) -> None:
    gate = Disclosure(Caller(Role.BANK, company_code(73)), keys=keys)
    await gate.prepare(session)
    gate.grant(ENTITY, "masked")
    for _ in range(2):  # two records: one report line each, counted
        gate.record_fields(definition(), RECORD_TYPE, MATRIX["record"], uscc=ENTITY, owner=DEPT)
    report = {(e["field"], e["decision"], e.get("rule")): e for e in gate.report()}
    assert (
        report[("XDR_ZJHM", "masked", "id_number")]["reason"] == "ID number, masked tier of the authorisation"
    )
    assert report[("XDR_ZJHM", "masked", "id_number")]["count"] == 2
    assert report[("DZ", "masked", "address")]["recordType"] == RECORD_TYPE
    # The free text: one ID and one mobile number in SY, one mobile in BZ, in each of two records.
    assert report[("SY", "masked", "id_number")]["count"] == 2
    assert report[("SY", "masked", "mobile")]["count"] == 2
    assert report[("BZ", "masked", "mobile")]["count"] == 2
    assert ("BZ", "masked", "id_number") not in report


async def test_an_unprepared_gate_withholds_what_it_would_mask(keys) -> None:
    """Before the masking policy is read, the role rules alone decide: nothing masked is shown."""
    gate = Disclosure(Caller(Role.BANK, company_code(73)), keys=keys)
    gate.grant(ENTITY, "masked")
    fields, withheld = gate.record_fields(
        definition(), RECORD_TYPE, MATRIX["record"], uscc=ENTITY, owner=DEPT
    )
    assert set(fields) == {"XDR_LB", "SY", "NR_FK"}
    assert "XDR_ZJHM" in withheld and "DZ" in withheld


# --- through the real HTTP app ----------------------------------------------------------------------

ARCHIVE = """query($u: String!) { entity(uscc: $u) { records(first: 10) {
  edges { node { fields withheldFields } } } } }"""


@pytest.fixture
async def readers(actors: dict[str, Actor], sessions) -> dict[str, Actor | None]:
    async with sessions() as session:
        code = company_code(74)
        await auth.register_organisation(session, code, "另一示例有限公司", Role.ENTITY, None)
        issued = await auth.issue_token(session, code, "test other entity", 1, by="tests")
        await session.commit()
    return {**actors, "other_entity": Actor(code, Role.ENTITY, issued.secret), "public": None}


async def test_the_archive_query_masks_as_the_matrix_says(client, actors, readers) -> None:
    http = MATRIX["http"]
    uscc = actors["entity"].code
    record = valid_record(RECORD_TYPE, actors["department"].code, uscc, **http["record"])
    receipt = await push_ok(client, actors["department"], [record])
    assert receipt["created"] == 1, receipt["results"][0]["errors"]
    for reader, view in http["readers"].items():
        response = await client.post(
            "/graphql",
            json={"query": ARCHIVE, "variables": {"u": uscc}},
            headers=readers[reader].headers if readers[reader] else {},
        )
        answer = response.json()
        assert "errors" not in answer, (reader, answer)
        (edge,) = answer["data"]["entity"]["records"]["edges"]
        node = edge["node"]
        for field, value in view.items():
            if value == "W":
                assert field not in node["fields"] and field in node["withheldFields"], (reader, field)
            else:
                assert node["fields"][field] == (http["record"][field] if value == "S" else value), (
                    reader,
                    field,
                )
        if reader in http["never_in"]:
            for secret in http["secrets"]:
                assert secret not in response.text, (reader, secret)
            entries = answer["extensions"]["disclosure"]
            assert {
                "item": "record",
                "recordType": RECORD_TYPE,
                "field": "SY",
                "decision": "masked",
                "rule": "id_number",
                "reason": "resident ID number in free text (自由文本中的身份证号)",
                "count": 1,
            } in entries


async def test_rulings_shared_between_requests_keep_every_case_apart(session, keys) -> None:
    """Rulings are shared by the requests of a process: one definition, every case twice, in two orders."""
    record, shared = MATRIX["record"], definition()
    for order in (CASES, CASES[::-1]):
        for case in order:
            gate = Disclosure(caller(case["role"], case["whose"]), keys=keys)
            await gate.prepare(session)
            if case["tier"] != "none":
                gate.grant(ENTITY, case["tier"])
            got = gate.record_fields(shared, RECORD_TYPE, record, uscc=ENTITY, owner=DEPT)
            assert got == expected_fields(case["view"], record), case


# --- every record type of the catalogue -------------------------------------------------------------

ID_A, MOBILE, ADDRESS = "11010519491231002X", "13812345678", "黑龙江省哈尔滨市南岗区学府路52号"
SAMPLE = {"id_number": ID_A, "text": f"电话{MOBILE}，身份证号{ID_A}，住{ADDRESS}"}
THIRD_PARTIES = [
    (Caller(Role.PUBLIC, None), None),
    (Caller(Role.ENTITY, OTHER_ENTITY), None),
    (Caller(Role.DEPARTMENT, OTHER_DEPT), None),
    (Caller(Role.BANK, company_code(73)), None),
    (Caller(Role.ASSOCIATION, company_code(73)), None),
    (Caller(Role.ENTITY, OTHER_ENTITY), "full"),  # a grant to a role that does not read under grants
]


@pytest.mark.parametrize("record_type", sorted(load_bundled()))
async def test_no_id_or_mobile_number_of_any_record_type_leaves_to_a_third_party_without_a_grant(
    session, keys, record_type: str
) -> None:
    """Every field of every catalogue type filled (ID fields with an ID number, free text naming a
    mobile and an ID number), about a natural person: neither number leaves. (An address inside free
    text is not recognised: only ID and mobile numbers are scanned for.)"""
    definition = load_bundled()[record_type]
    content: dict[str, Any] = {f.name: SAMPLE.get(f.type, "值") for f in definition.fields}
    content["XDR_LB"] = "自然人"
    for reader, tier in THIRD_PARTIES:
        gate = Disclosure(reader, keys=keys)
        await gate.prepare(session)
        if tier is not None:
            gate.grant(ENTITY, tier)
        fields, _ = gate.record_fields(definition, record_type, content, uscc=ENTITY, owner=DEPT)
        out = repr(fields)
        assert ID_A not in out and MOBILE not in out, (reader, record_type, fields)


@pytest.mark.parametrize("record_type", sorted(load_bundled()))
async def test_under_a_masked_grant_every_id_number_field_is_6_plus_4(
    session, keys, record_type: str
) -> None:
    definition = load_bundled()[record_type]
    content: dict[str, Any] = {f.name: SAMPLE.get(f.type, "值") for f in definition.fields}
    content["XDR_LB"] = "自然人"
    gate = Disclosure(Caller(Role.BANK, company_code(73)), keys=keys)
    await gate.prepare(session)
    gate.grant(ENTITY, "masked")
    fields, _ = gate.record_fields(definition, record_type, content, uscc=ENTITY, owner=DEPT)
    id_fields = [f.name for f in definition.fields if f.type == "id_number"]
    assert id_fields, record_type
    for name in id_fields:
        assert fields[name] == "110105********002X", (record_type, name)
    assert ID_A not in repr(fields) and MOBILE not in repr(fields)
