"""Bounded work per request (issue 8): the cost estimate and the coded limits, through the real app.

The expected estimates are worked out by hand from the rule in schema/cost.py: every object counts
1, a list its size × (1 + one element's cost); `first` sizes a list or a connection's edges; a
`first` in a variable counts 100 (HUB_MAX_PAGE_SIZE); versions default 20; unpaginated lists 100
unless SIZES knows better (Domain.measures 4, recordTypes and RecordType.fields 50,
RecordResult.errors/warnings 10)."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from graphql import FieldNode
from graphql.validation import ValidationRule
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from hub.settings import Settings
from hub.web.app import create_app
from schema.build import HubSchema, Query
from schema.extensions import QueryDocument, UnitOfWork
from tests.conftest import company_code, gql
from tests.http.test_hardening import PUSH, codes, messages, penalty, query_of_tokens

U = company_code(902)


@pytest.fixture
async def zero_cost_client(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[httpx.AsyncClient]:
    """HUB_MAX_COST=0: every query that costs anything is refused with its estimate."""
    app = create_app(Settings(request_timeout_seconds=60, max_cost=0), sessions=sessions)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test") as c:
        yield c


# (query, variables, estimate by hand)
ESTIMATES: list[tuple[str, dict[str, Any], int]] = [
    # me: one object.
    ("{ me { role } }", {}, 1),
    # entity 1 + records 1 + edges 20 × (edge 1 + node 1).
    (
        f'{{ entity(uscc: "{U}") {{ uscc records(first: 20) {{ totalCount edges {{ node {{ recordType }} }} }} }} }}',
        {},
        42,
    ),
    # 1 + 1 + 5 × (1 + 1 + 3 × (1 + 2 × 1)) = 2 + 5 × 11.
    (
        f'{{ entity(uscc: "{U}") {{ records(first: 5) {{ edges {{ node {{ versions(first: 3) {{ versions(first: 2) '
        "{ recordType } } } } } } }",
        {},
        57,
    ),
    # versions default 20: 1 + 1 + 1 × (1 + 1 + 20).
    (
        f'{{ entity(uscc: "{U}") {{ records(first: 1) {{ edges {{ node {{ versions {{ recordType }} }} }} }} }} }}',
        {},
        24,
    ),
    # 1 + 1 + 1 × (1 + 1 + 20 × (1 + 20)).
    (
        f'{{ entity(uscc: "{U}") {{ records(first: 1) {{ edges {{ node {{ versions {{ versions {{ recordType }} }} '
        "} } } } }",
        {},
        424,
    ),
    # A variable page size counts the maximum, 100, whatever its value: 1 + 1 + 100 × 1.
    (
        "query($u: String!, $n: Int!) { entity(uscc: $u) { records(first: $n) { edges { cursor } } } }",
        {"u": U, "n": 1},
        102,
    ),
    # searchEntities default 20: 1 + 20 × (1 + 1).
    ("{ searchEntities { edges { node { uscc } } } }", {}, 41),
    # records without first: its default 20; pageInfo 1; 1 + 1 + 1.
    (f'{{ entity(uscc: "{U}") {{ records {{ pageInfo {{ hasNextPage }} }} }} }}', {}, 3),
    # Unpaginated 100 domains × (1 + 4 measures).
    ("{ supervisionDomains { code measures { category } } }", {}, 500),
    # Through a fragment: 50 record types × (1 + 50 fields).
    ("query { ...F } fragment F on Query { recordTypes { code fields { name } } }", {}, 2550),
    # Aliases add up; an inline fragment counts: 1 + (1 + 100 sources × (1 + 1 organisation)).
    (
        f'{{ a: entity(uscc: "{U}") {{ uscc }} b: entity(uscc: "{U}") {{ ... on Entity {{ sources {{ organisation '
        "{ code } } } } }",
        {},
        202,
    ),
    # A mutation's answer: the union member 1 + 100 results × (1 + 10 errors + 10 warnings).
    (
        'mutation { pushRecords(records: [], idempotencyKey: "cost-1") { ... on PushReceipt { results '
        "{ errors { code } warnings { code } } } } }",
        {},
        2101,
    ),
]


@pytest.mark.parametrize(("query", "variables", "expected"), ESTIMATES, ids=[str(e[2]) for e in ESTIMATES])
async def test_estimate_matches_the_hand_computed_table(zero_cost_client, query, variables, expected):
    result = await gql(zero_cost_client, query, variables)
    assert result["data"] is None, result
    assert codes(result) == ["COST_LIMIT"], result
    assert result["errors"][0]["extensions"]["cost"] == expected, result
    assert result["errors"][0]["extensions"]["maxCost"] == 0


@pytest.mark.parametrize(
    "query", ["{ __typename }", "{ __schema { types { name fields { name args { name } } } } }"]
)
async def test_typename_and_introspection_cost_nothing(zero_cost_client, query):
    result = await gql(zero_cost_client, query)
    assert "errors" not in result and result["data"], result


# --- the issue's repro: versions { versions { … } }, anonymous, plain and with 8 aliases -----------

NESTED = (
    f'entity(uscc: "{U}") {{ records {{ edges {{ node {{ versions {{ versions {{ versions {{ versions {{ '
    "versions { versions { recordType fields } } } } } } } } } }"
)
REPRO = "{ " + NESTED + " }"
REPRO_ALIASED = "{ " + " ".join(f"a{i}: {NESTED}" for i in range(8)) + " }"


# By hand: innermost versions 20; each level out 20 × (1 + inner): 420, 8,420, 168,420, 3,368,420,
# 67,368,420; node 1 + that, edge 1 + node, edges × 20 = 1,347,368,440; + records 1 + entity 1.
@pytest.mark.parametrize(
    ("query", "expected"),
    [(REPRO, 1_347_368_442), (REPRO_ALIASED, 8 * 1_347_368_442)],
    ids=["plain", "8 aliases"],
)
async def test_nested_versions_repro_is_refused_fast(client, actors, query, expected):
    dept = actors["department"]
    pushed = await gql(client, PUSH, {"records": [penalty(dept.code, U)], "key": "cost-repro"}, dept)
    assert pushed["data"]["pushRecords"]["created"] == 1, pushed
    started = time.perf_counter()
    result = await gql(client, query)  # anonymous
    elapsed = time.perf_counter() - started
    assert result["data"] is None, result
    assert codes(result) == ["COST_LIMIT"], result
    assert result["errors"][0]["extensions"]["cost"] == expected
    assert result["errors"][0]["extensions"]["maxCost"] == 5000
    assert elapsed < 1.0, elapsed


async def test_entity_lookup_with_a_page_of_20_is_accepted(client, actors):
    dept = actors["department"]
    pushed = await gql(client, PUSH, {"records": [penalty(dept.code, U)], "key": "cost-lookup"}, dept)
    assert pushed["data"]["pushRecords"]["created"] == 1, pushed
    query = (
        "query($u: String!) { entity(uscc: $u) { uscc name records(first: 20) { totalCount edges { cursor "
        "node { recordType fields withheldFields versions { version pushedBy } source { code } } } "
        "pageInfo { hasNextPage endCursor } } sources { code recordCount } } }"
    )
    result = await gql(client, query, {"u": U}, dept)
    assert "errors" not in result, result
    records = result["data"]["entity"]["records"]
    assert records["totalCount"] == 1
    assert len(records["edges"][0]["node"]["versions"]) == 1


# --- every limit refused with its code, and nothing run ---------------------------------------------

ISSUE = 'mutation Issue { issueToken(organisationCode: "%s", label: "cost", days: 30) { __typename } }'


async def token_count(connection: AsyncConnection) -> int:
    return int((await connection.execute(text("SELECT count(*) FROM api_tokens"))).scalar_one())


def too_deep(settings: Settings) -> str:
    inner = "recordType"
    for _ in range(settings.max_depth - 3):
        inner = f"versions(first: 1) {{ {inner} }}"
    return (
        f'query Other {{ entity(uscc: "{U}") {{ records(first: 1) {{ edges {{ node {{ {inner} }} }} }} }} }}'
    )


def too_many_aliases(settings: Settings) -> str:
    return "query Other { " + " ".join(f"a{i}: me {{ role }}" for i in range(settings.max_aliases + 1)) + " }"


def too_costly(settings: Settings) -> str:
    # 1 + 1 + 100 × (1 + 1 + 50) = 5202 > 5000.
    return f'query Other {{ entity(uscc: "{U}") {{ records(first: 100) {{ edges {{ node {{ versions(first: 50) {{ recordType }} }} }} }} }} }}'


@pytest.mark.parametrize(
    ("other", "code"),
    [(too_deep, "MAX_DEPTH"), (too_many_aliases, "MAX_ALIASES"), (too_costly, "COST_LIMIT")],
    ids=["depth", "aliases", "cost"],
)
async def test_limit_refuses_the_whole_document_with_its_code(
    client, actors, settings, connection, other, code
):
    """The over-limit query sits beside a mutation in one document; running the mutation is refused."""
    office = actors["credit_office"]
    before = await token_count(connection)
    response = await client.post(
        "/graphql",
        json={"query": ISSUE % actors["bank"].code + "\n" + other(settings), "operationName": "Issue"},
        headers=office.headers,
    )
    result = response.json()
    assert result["data"] is None, result
    assert codes(result) == [code], result
    assert await token_count(connection) == before
    # The control: the mutation alone runs.
    alone = await gql(client, ISSUE % actors["bank"].code, None, office)
    assert alone["data"]["issueToken"]["__typename"] == "IssuedToken", alone
    assert await token_count(connection) == before + 1


async def test_token_limit_refuses_the_mutation_with_its_code(client, actors, settings, connection):
    office = actors["credit_office"]
    before = await token_count(connection)
    query = ISSUE % actors["bank"].code + "\nquery Other " + query_of_tokens(settings.max_tokens)
    result = (
        await client.post("/graphql", json={"query": query, "operationName": "Issue"}, headers=office.headers)
    ).json()
    assert result["data"] is None, result
    assert codes(result) == ["MAX_TOKENS"], result
    assert await token_count(connection) == before


async def test_cost_limit_is_configurable(sessions, client):
    query = "{ supervisionDomains { code measures { category } } }"  # 500 by hand
    app = create_app(Settings(request_timeout_seconds=60, max_cost=500), sessions=sessions)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub.test"
    ) as at_limit:
        assert "errors" not in await gql(at_limit, query)
    app = create_app(Settings(request_timeout_seconds=60, max_cost=499), sessions=sessions)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test") as below:
        result = await gql(below, query)
        assert codes(result) == ["COST_LIMIT"] and result["errors"][0]["extensions"]["cost"] == 500, result


# --- versions is paginated ----------------------------------------------------------------------------


async def test_versions_takes_first_newest_first_within_the_page_size(client, actors):
    dept = actors["department"]
    first = penalty(dept.code, U)
    second = penalty(dept.code, U)
    second["fields"] = {**first["fields"], "NR": "警告（更正）"}
    for key, record in (("cost-v1", first), ("cost-v2", second)):
        pushed = await gql(client, PUSH, {"records": [record], "key": key}, dept)
        assert "errors" not in pushed, pushed
    query = (
        "query($u: String!, $n: Int!) { entity(uscc: $u) { records(first: 1) { edges { node { "
        "versions(first: $n) { version fields } } } } } }"
    )

    async def versions(n: int) -> dict[str, Any]:
        return await gql(client, query, {"u": U, "n": n}, dept)

    two = await versions(2)
    assert [v["version"] for v in two["data"]["entity"]["records"]["edges"][0]["node"]["versions"]] == [
        2,
        1,
    ], two
    one = await versions(1)
    newest = one["data"]["entity"]["records"]["edges"][0]["node"]["versions"]
    assert [(v["version"], v["fields"]["NR"]) for v in newest] == [(2, "警告（更正）")], one
    for n in (0, 101):
        refused = await versions(n)
        assert codes(refused) == ["PAGE_SIZE"], refused


# --- no "Did you mean" from variables (coercion), nor literals; introspection on or off ------------


@pytest.fixture(params=[True, False], ids=["introspection on", "introspection off"])
async def either_client(request, sessions) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(request_timeout_seconds=60, introspection=request.param), sessions=sessions)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test") as c:
        yield c


TYPOS = [
    # (query, variables, the right spelling that must not come back)
    ("query($r: RoleName) { organisations(role: $r) { code } }", {"r": "DEPARTMEN"}, "DEPARTMENT"),
    ("{ organisations(role: DEPARTMEN) { code } }", {}, "DEPARTMENT"),
    (
        "query($u: String!, $f: RecordFilterInput) { entity(uscc: $u) { records(filter: $f) { totalCount } } }",
        {"u": U, "f": {"recordTipes": ["administrative_penalty"]}},
        "recordTypes",
    ),
    (
        f'{{ entity(uscc: "{U}") {{ records(filter: {{recordTipes: []}}) {{ totalCount }} }} }}',
        {},
        "recordTypes",
    ),
    (f'{{ entity(uscc: "{U}") {{ records(frist: 1) {{ totalCount }} }} }}', {}, "'first'"),
    ("query($r: RoleNam) { organisations(role: $r) { code } }", {}, "RoleName"),
]


@pytest.mark.parametrize(
    ("query", "variables", "right"), TYPOS, ids=[t[2] + str(i) for i, t in enumerate(TYPOS)]
)
async def test_typo_gets_no_suggestion(either_client, actors, query, variables, right):
    result = await gql(either_client, query, variables, actors["credit_office"])
    assert result["data"] is None, result
    message = messages(result)
    assert message, result
    assert "Did you mean" not in message and right not in message, result


# --- a rule that fails answers INTERNAL, not its exception's text; parser nesting is coded ---------


class FailingRule(ValidationRule):
    """A validation rule with a real bug: the way an unexpected error in validation arrives."""

    def enter_field(self, node: FieldNode, *_args: object) -> None:
        {}["secret_key"]


async def test_failing_validation_rule_is_masked(settings, sessions, caplog):
    caplog.set_level(logging.ERROR, logger="hub.graphql")
    schema = HubSchema(query=Query, extensions=[UnitOfWork, lambda: QueryDocument([FailingRule], 2000, 4000)])
    app = create_app(settings, sessions=sessions, schema=schema)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub.test"
    ) as broken:
        response = await broken.post("/graphql", json={"query": "{ me { role } }"})
    result = response.json()
    assert result["data"] is None, result
    [error] = result["errors"]
    assert error["message"] == "Unexpected error." and error["extensions"]["code"] == "INTERNAL", result
    assert "secret_key" not in response.text and "KeyError" not in response.text
    [logged] = [r for r in caplog.records if r.getMessage() == "validation failed"]
    assert logged.error_type == "KeyError"


async def test_document_nested_too_deeply_for_the_parser_is_max_depth(client):
    query = f'{{ entity(uscc: "{U}") {{ records(filter: {{recordTypes: {"[" * 600}{"]" * 600}}}) {{ totalCount }} }} }}'
    result = await gql(client, query)
    assert result["data"] is None, result
    assert codes(result) == ["MAX_DEPTH"], result


def fragment_bomb(levels: int) -> str:
    """Each fragment spreads the next twice: 2^levels copies of `me { role }`, in ~40 tokens a level."""
    fragments = [f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)]
    return "{ ...F0 } " + " ".join([*fragments, f"fragment F{levels} on Query {{ me {{ role }} }}"])


async def test_fragments_that_multiply_are_refused_fast(client, settings):
    # 2^20 × 2 fields: without the check first, strawberry's depth and alias limits walk them all.
    started = time.perf_counter()
    result = await gql(client, fragment_bomb(20))
    elapsed = time.perf_counter() - started
    assert result["data"] is None, result
    assert codes(result) == ["MAX_TOKENS"], result
    assert f"more than {settings.max_tokens} fields" in messages(result)
    assert elapsed < 1.0, elapsed
    # The control: 2^3 × 2 = 16 fields is an ordinary query.
    assert await gql(client, fragment_bomb(3)) == {"data": {"me": {"role": "PUBLIC"}}}
