"""Every String and ID argument is bounded (issue 8): at most HUB_MAX_STRING_LENGTH characters (4000
by default, README) and no control character, in the document or in a variable, at any depth of lists
and input objects; refused before anything runs, with its code and where. JSON arguments are left to
the catalogue's field rules."""

from __future__ import annotations

import pytest

from hub.settings import Settings
from tests.conftest import company_code, gql
from tests.http.test_edge import app_client
from tests.records.builders import valid_record, written

LIMIT = 4000  # the README's default of HUB_MAX_STRING_LENGTH
SEARCH = "query($name: String) { searchEntities(name: $name) { totalCount } }"
RECORDS = """
query($uscc: String!, $filter: RecordFilterInput) {
  entity(uscc: $uscc) { records(filter: $filter) { totalCount } }
}
"""
PUSH = """
mutation($records: [RecordInput!]!, $key: String!) {
  pushRecords(records: $records, idempotencyKey: $key) {
    __typename ... on PushReceipt { results { outcome errors { code path } } }
  }
}
"""


def refused(result: dict) -> tuple[str, str]:
    """(code, path) of a request refused before it ran."""
    assert result["data"] is None, result
    [error] = result["errors"]
    return error["extensions"]["code"], error["extensions"]["path"]


async def test_a_string_at_the_limit_is_served(client):
    result = await gql(client, SEARCH, {"name": "某" * LIMIT})
    assert "errors" not in result and result["data"]["searchEntities"]["totalCount"] == 0, result


async def test_a_string_variable_past_the_limit_is_refused(client):
    result = await gql(client, SEARCH, {"name": "某" * (LIMIT + 1)})
    assert refused(result) == ("STRING_TOO_LONG", "variables.name")
    assert result["errors"][0]["extensions"]["maxLength"] == LIMIT


async def test_a_string_literal_past_the_limit_is_refused(client):
    query = '{ searchEntities(name: "' + "x" * (LIMIT + 1) + '") { totalCount } }'
    assert refused(await gql(client, query)) == ("STRING_TOO_LONG", "name")


async def test_a_string_deep_in_an_input_object_list_is_refused(client):
    variables = {"uscc": company_code(5), "filter": {"recordTypes": ["administrative_penalty", "x" * 5000]}}
    result = await gql(client, RECORDS, variables)
    assert refused(result) == ("STRING_TOO_LONG", "variables.filter.recordTypes.1")


@pytest.mark.parametrize(
    ("character", "code"),
    [
        ("\x00", "NUL_CHARACTER"),
        ("\x1b", "CONTROL_CHARACTER"),
        ("\x7f", "CONTROL_CHARACTER"),
        ("\x85", "CONTROL_CHARACTER"),
    ],
    ids=["NUL", "ESC", "DEL", "NEL (C1)"],
)
async def test_a_control_character_in_a_string_is_refused(client, character, code):
    assert refused(await gql(client, SEARCH, {"name": f"某{character}公司"})) == (code, "variables.name")
    escape = f"\\u{ord(character):04x}"
    query = '{ searchEntities(name: "某' + escape + '公司") { totalCount } }'
    assert refused(await gql(client, query)) == (code, "name")


async def test_tab_and_newlines_pass_the_edge_to_the_fields_own_rule(client):
    # Not control characters for the edge: the field ran, and its own rule (names are printable) spoke.
    result = await gql(client, SEARCH, {"name": "某\t公\r\n司"})
    [error] = result["errors"]
    assert error["path"] == ["searchEntities"] and error["extensions"]["code"] == "NOT_PRINTABLE", result


async def test_a_long_string_in_a_json_argument_is_the_catalogues_to_judge(client, actors, connection):
    dept = actors["department"]
    record = valid_record("administrative_penalty", dept.code, company_code(6), record_id="long")
    record["fields"]["WFXW"] = "违" * (LIMIT + 1)  # longer than the record type allows too
    result = await gql(client, PUSH, {"records": [record], "key": "long-json"}, dept)
    [outcome] = result["data"]["pushRecords"]["results"]
    assert outcome["outcome"] == "REJECTED"
    assert {(e["code"], e["path"]) for e in outcome["errors"]} == {("TOO_LONG", "fields.WFXW")}
    assert (await written(connection))["records"] == 0
    key = "k" * (LIMIT + 1)  # but a String argument beside it is bounded
    assert refused(await gql(client, PUSH, {"records": [record], "key": key}, dept)) == (
        "STRING_TOO_LONG",
        "variables.key",
    )


async def test_a_literal_deep_in_an_input_object_names_its_field(client):
    uscc = company_code(5)
    query = '{ entity(uscc: "' + uscc + '") { records(filter: {recordTypes: ["a\\u0000"]}) { totalCount } } }'
    assert refused(await gql(client, query)) == ("NUL_CHARACTER", "filter.recordTypes")


async def test_a_date_or_enum_given_as_text_is_bounded_too(client):
    variables = {"uscc": company_code(5), "filter": {"decidedFrom": "2024-01-01\x00"}}
    result = await gql(client, RECORDS, variables)
    assert refused(result) == ("NUL_CHARACTER", "variables.filter.decidedFrom")
    assert "\x00" not in str(result)  # never echoed back
    enum = await gql(client, "query($r: RoleName) { organisations(role: $r) { code } }", {"r": "BANK\x1b"})
    assert refused(enum) == ("CONTROL_CHARACTER", "variables.r")


async def test_an_id_written_as_a_long_integer_is_bounded(sessions, actors):
    # Past 100 digits any number literal is refused whole (NUMBER_TOO_LONG); the ID rule counts below.
    limited = Settings(max_string_length=50)
    async with await app_client(limited, sessions) as small:
        query = "{ bulkReceipt(id: " + "1" * 51 + ") { __typename } }"
        assert refused(await gql(small, query, actor=actors["department"])) == ("STRING_TOO_LONG", "id")


@pytest.mark.parametrize("digits", ["1" * 5000, "1" * 101, "1." + "5" * 200])
async def test_a_number_of_hundreds_of_digits_is_refused_not_internal(client, digits):
    # Python refuses int() of more than 4300 digits: unguarded, validation would answer INTERNAL.
    query = '{ searchEntities(name: "abc", first: ' + digits + ") { totalCount } }"
    result = await gql(client, query)
    assert result["data"] is None, result
    [error] = result["errors"]
    assert error["extensions"]["code"] == "NUMBER_TOO_LONG", result
