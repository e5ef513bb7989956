"""What the schema fuzz (tests/http/test_fuzz.py) found, each defect as a regression test of its own,
through the real app with real tokens. Expected codes and statuses are the README's table."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from tests.conftest import company_code, gql


def codes(result: dict[str, Any]) -> list[str | None]:
    return [(e.get("extensions") or {}).get("code") for e in result.get("errors") or []]


@pytest.mark.parametrize("query", ["{ me { role }", "{ me { role } } }", "query ($x: ) { me { role } }"])
async def test_syntax_error_answers_graphql_parse_failed(client, query):
    result = await gql(client, query)
    assert codes(result) == ["GRAPHQL_PARSE_FAILED"], result


@pytest.mark.parametrize(
    "query",
    [
        "{ me { noSuchField } }",  # an unknown field
        "mutation { addDomainMembers(usccs: []) { __typename } }",  # a required argument left out
        "{ entity(uscc: 1) { district } }",  # a literal of the wrong type
    ],
)
async def test_document_that_does_not_fit_the_schema_answers_graphql_validation_failed(client, actors, query):
    result = await gql(client, query, actor=actors["department"])
    assert result["data"] is None
    assert set(codes(result)) == {"GRAPHQL_VALIDATION_FAILED"}, result


async def test_variable_of_the_wrong_type_answers_bad_variables(client):
    query = "query ($uscc: String!) { entity(uscc: $uscc) { district } }"
    result = await gql(client, query, {"uscc": 91})
    assert codes(result) == ["BAD_VARIABLES"], result


async def test_first_past_64_bits_is_refused_with_a_code_not_a_500(client, connection):
    """`first: 2^64 - 1` once made the cost estimate larger than JSON's encoder takes: a 500. Past ten
    digits the estimate takes the page-size maximum, and validation refuses the Int."""
    query = (
        '{ bulkReceipt(id: "1") { ... on BulkReceipt { rejections(first: 18446744073709551615) { line } } } }'
    )
    response = await client.post("/graphql", json={"query": query})
    assert response.status_code == 200, response.text
    assert codes(response.json()) == ["GRAPHQL_VALIDATION_FAILED"], response.text
    assert await connection.scalar(text("SELECT count(*) FROM bulk_receipts")) == 0


async def test_an_estimate_past_json_integers_is_shown_capped(client):
    """Nested lists of ten-digit `first`s multiply past 2^53: the estimate shown is capped there."""
    big = "9" * 10
    query = (
        '{ entity(uscc: "'
        + company_code(5)
        + '") { records(first: '
        + big
        + ") { edges { node { versions(first: "
        + big
        + ") { version } } } } } }"
    )
    result = (await client.post("/graphql", json={"query": query})).json()
    assert "COST_LIMIT" in codes(result), result
    [cost] = [e["extensions"] for e in result["errors"] if e["extensions"]["code"] == "COST_LIMIT"]
    assert cost["cost"] == 2**53 - 1  # the largest estimate an answer shows (JSON's exact integers)


@pytest.mark.parametrize(
    "query",
    [
        'mutation { reclassifyDomain(domain: "x") { ...n NotPermitted { path } } }',  # no fragment n
        "mutation { revokeToken(tokenId: 1) { ... on ConflictProblem { } } }",  # an empty selection set
    ],
)
async def test_document_the_depth_limit_cannot_measure_is_refused_not_internal(client, actors, query):
    """strawberry's depth limiter raised on these (an INTERNAL answer); now they are refused, unrun."""
    result = await gql(client, query, actor=actors["credit_office"])
    assert result["data"] is None
    assert set(codes(result)) == {"GRAPHQL_VALIDATION_FAILED"}, result


async def test_deep_query_with_an_empty_selection_set_is_not_let_through_unmeasured(client, actors):
    deep = (
        "{ me { role } " + "supervisionDomains { measures { " * 8 + "category" + " } }" * 8 + " x: me { } }"
    )
    result = await gql(client, deep, actor=actors["credit_office"])
    assert result["data"] is None and codes(result), result


async def test_syntax_error_carries_no_suggestion(client):
    result = await gql(client, "{ me .. on Me { role } }")
    [error] = result["errors"]
    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    assert "did you mean" not in error["message"].lower(), error
