"""The credit office amends the record catalogue and publicity rules through the API; each save is a version."""

from __future__ import annotations

import copy

from hub.catalog.record_types import load_bundled
from hub.catalog.registry import shipped_documents
from tests.conftest import company_code, gql
from tests.records.builders import valid_record

SAVE_TYPE = """mutation($d: JSON!) { saveRecordType(definition: $d) {
  __typename ... on RecordType { code storedVersion fields { name } } ... on Problem { code message path } } }"""
SAVE_RULES = """mutation($r: JSON!) { saveRecordTypeRules: savePublicityRules(rules: $r) {
  __typename ... on PublicityRules { version } ... on Problem { code message path } } }"""
PUSH = """mutation($r: [RecordInput!]!, $k: String!) { pushRecords(records: $r, idempotencyKey: $k) {
  ... on PushReceipt { results { outcome errors { code path } } } } }"""


def honour_with_extra_field() -> dict[str, object]:
    definition = copy.deepcopy(load_bundled()["honour"].to_mapping())
    definition["fields"].append(
        {
            "name": "JLJE",
            "label_zh": "奖励金额",
            "label": "Award amount",
            "description": "Award amount (奖励金额), 万元",
            "type": "decimal",
            "required": False,
            "sensitivity": "public",
            "unit": "万元",
            "min": 0,
        }
    )
    return definition


async def test_a_new_version_of_a_record_type_applies_to_later_pushes(client, actors):
    office, dept = actors["credit_office"], actors["department"]
    record = valid_record("honour", dept.code, company_code(551))
    record["fields"]["JLJE"] = "2"
    before = await gql(client, PUSH, {"r": [record], "k": "h1"}, dept)
    assert before["data"]["pushRecords"]["results"][0]["errors"][0]["code"] == "UNKNOWN_FIELD"

    saved = await gql(client, SAVE_TYPE, {"d": honour_with_extra_field()}, office)
    assert saved["data"]["saveRecordType"]["__typename"] == "RecordType", saved
    assert saved["data"]["saveRecordType"]["storedVersion"] == 2
    after = await gql(client, PUSH, {"r": [record], "k": "h2"}, dept)
    assert after["data"]["pushRecords"]["results"][0]["outcome"] == "CREATED", after


async def test_record_type_amendments_are_checked(client, actors):
    office = actors["credit_office"]
    definition = copy.deepcopy(load_bundled()["honour"].to_mapping())
    definition["fields"] = [f for f in definition["fields"] if f["name"] != "BZ"]
    dropped = await gql(client, SAVE_TYPE, {"d": definition}, office)
    assert (dropped["data"]["saveRecordType"]["code"], dropped["data"]["saveRecordType"]["path"]) == (
        "FIELD_REMOVED",
        "definition.fields",
    )
    broken = await gql(client, SAVE_TYPE, {"d": {"code": "x"}}, office)
    assert broken["data"]["saveRecordType"]["code"] == "RECORD_TYPE_INVALID"
    refused = await gql(client, SAVE_TYPE, {"d": definition}, actors["department"])
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_publicity_rules_are_replaced_as_a_new_version(client, actors):
    office = actors["credit_office"]
    rules = next(body for kind, _, body in shipped_documents() if kind == "publicity")
    saved = await gql(client, SAVE_RULES, {"r": rules}, office)
    assert saved["data"]["saveRecordTypeRules"] == {"__typename": "PublicityRules", "version": 2}
    broken = await gql(client, SAVE_RULES, {"r": {"version": 1}}, office)
    assert broken["data"]["saveRecordTypeRules"]["code"] == "PUBLICITY_INVALID"


PUSH_AS = """mutation($r: [RecordInput!]!, $k: String!) { pushRecords(records: $r, idempotencyKey: $k) {
  __typename ... on PushReceipt { results { outcome errors { code path message } } } ... on Problem { code } } }"""


async def test_who_pushes_a_record_type_is_data_of_the_catalogue(client, actors):
    """Honours come from departments as shipped; once the office names associations too, they may push
    them (with their own code as the source), and taking a role out refuses it again."""
    office, association = actors["credit_office"], actors["association"]
    shipped = {d.code: d.pushers for d in load_bundled().values()}
    assert shipped["honour"] == ("department",) and shipped["public_evaluation"] == ("province",)
    assert shipped["serious_dishonesty_list"] == ("department", "province")
    record = valid_record("honour", association.code, company_code(552))
    refused = await gql(client, PUSH_AS, {"r": [record], "k": "a1"}, association)
    [error] = refused["data"]["pushRecords"]["results"][0]["errors"]
    assert (error["code"], error["path"]) == ("NOT_PUSHER", "recordType"), refused

    definition = copy.deepcopy(load_bundled()["honour"].to_mapping())
    definition["pushers"] = ["department", "association"]
    saved = await gql(client, SAVE_TYPE, {"d": definition}, office)
    assert saved["data"]["saveRecordType"]["__typename"] == "RecordType", saved
    accepted = await gql(client, PUSH_AS, {"r": [record], "k": "a2"}, association)
    assert accepted["data"]["pushRecords"]["results"][0]["outcome"] == "CREATED", accepted

    definition["pushers"] = ["department"]
    await gql(client, SAVE_TYPE, {"d": definition}, office)
    again = valid_record("honour", association.code, company_code(553))
    refused = await gql(client, PUSH_AS, {"r": [again], "k": "a3"}, association)
    assert refused["data"]["pushRecords"]["results"][0]["errors"][0]["code"] == "NOT_PUSHER", refused


async def test_pushers_must_be_known_roles(client, actors):
    office = actors["credit_office"]
    for pushers, fragment in (
        (["bank"], "'bank'"),
        ([], "non-empty"),
        ("department", "list"),
        (["province", "province"], "twice"),
    ):
        definition = copy.deepcopy(load_bundled()["honour"].to_mapping())
        definition["pushers"] = pushers
        answer = await gql(client, SAVE_TYPE, {"d": definition}, office)
        result = answer["data"]["saveRecordType"]
        assert result["__typename"] == "InvalidInput" and fragment in result["message"], (pushers, result)


async def test_a_deployment_never_undoes_an_amendment_of_the_credit_office(session):
    """`credit-hub migrate` stores a shipped document again when its content changed, but not over an
    amendment: the credit office's version stays in force, and migrate says which it kept."""
    from hub.catalog import policy as catalog_policy
    from hub.catalog.masking_policies import KIND_MASKING_POLICY, MASKING_POLICY_CODE
    from hub.catalog.store import document_history

    shipped = {(kind, code): body for kind, code, body in shipped_documents()}
    masking = copy.deepcopy(shipped[(KIND_MASKING_POLICY, MASKING_POLICY_CODE)])
    masking["title_zh"] = "信用信息脱敏策略（信用办修订）"
    await catalog_policy.store_document(
        session, KIND_MASKING_POLICY, MASKING_POLICY_CODE, masking, "credit_office:11230100MB0000001X"
    )
    before = len(await document_history(session, KIND_MASKING_POLICY, MASKING_POLICY_CODE))
    synced = await catalog_policy.sync_bundled(session, by="credit-hub migrate")
    history = await document_history(session, KIND_MASKING_POLICY, MASKING_POLICY_CODE)
    assert len(history) == before, "the shipped masking policy was stored over the amendment"
    assert (KIND_MASKING_POLICY, MASKING_POLICY_CODE) in synced.kept_amendments
    assert synced.added == []

    # A shipped document whose newest version is an older shipped one is brought up to date.
    publicity = copy.deepcopy(shipped[("publicity", "rules")])
    publicity["long_term_date"] = "2199-12-31"
    await catalog_policy.store_document(session, "publicity", "rules", publicity, "credit-hub migrate")
    synced = await catalog_policy.sync_bundled(session, by="credit-hub migrate")
    assert [(d.kind, d.code) for d in synced.added] == [("publicity", "rules")]
