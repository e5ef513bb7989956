"""One operation, several mutations: what the answer reports as stored is stored, and nothing else."""

from __future__ import annotations

from sqlalchemy import text

from tests.conftest import company_code, gql
from tests.records.builders import valid_record

PUSH_AND_REFUSED = """mutation($r: [RecordInput!]!) {
  pushRecords(records: $r, idempotencyKey: "uow-1") { ... on PushReceipt { created } }
  issueToken(organisationCode: "x") { __typename }
}"""
TWO_PUSHES = """mutation($a: [RecordInput!]!, $b: [RecordInput!]!) {
  a: pushRecords(records: $a, idempotencyKey: "uow-a") { ... on PushReceipt { created } }
  b: pushRecords(records: $b, idempotencyKey: "uow-b") { ... on PushReceipt { created } }
}"""
COUNT = "SELECT count(*) FROM records WHERE uscc = ANY(CAST(:u AS text[]))"


async def test_an_operation_answered_with_no_data_keeps_nothing(client, actors, connection):
    dept = actors["department"]
    record = valid_record("administrative_penalty", dept.code, company_code(991))
    answer = await gql(client, PUSH_AND_REFUSED, {"r": [record]}, dept)
    # The refused field nulls the whole answer, so the caller never learns of the push: it is not kept.
    assert answer["data"] is None
    assert [e["extensions"]["code"] for e in answer["errors"]] == ["FORBIDDEN"]
    assert (await connection.execute(text(COUNT), {"u": [company_code(991)]})).scalar() == 0


async def test_two_mutations_in_one_operation_are_both_kept(client, actors, connection):
    dept = actors["department"]
    first = valid_record("administrative_penalty", dept.code, company_code(992))
    second = {
        **valid_record("administrative_penalty", dept.code, company_code(993)),
        "sourceRecordId": "UOW-2",
    }
    answer = await gql(client, TWO_PUSHES, {"a": [first], "b": [second]}, dept)
    assert answer["data"] == {"a": {"created": 1}, "b": {"created": 1}}
    codes = [company_code(992), company_code(993)]
    assert (await connection.execute(text(COUNT), {"u": codes})).scalar() == 2
