"""A property-based fuzz of the whole GraphQL schema (issue 8): schemathesis generates queries and
mutations for every root field from the SDL snapshot, valid and invalid (negative mode), and each one
goes through the real app (httpx ASGI transport) on the real PostgreSQL with a real token of a role
drawn with it, introspection on or off, over POST or GET.

Every answer must be clean: JSON, a status below 500 (503 only with Retry-After), every error with a
code of the registry, no INTERNAL, and nothing of the inside — traceback, driver, SQL, file path,
"Did you mean" hint. What counts as leaked is the table below, written by hand.

The suite runs a few hundred examples, derandomized so that CI sees the same ones every run;
`make fuzz` runs thousands (HUB_FUZZ_EXAMPLES, the total over all root fields).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import string
from collections.abc import AsyncIterator
from typing import Any

import graphql
import httpx
import orjson
import pytest
import schemathesis
import schemathesis.graphql
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode
from schemathesis.graphql import nodes
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.error_codes import CODES
from hub.settings import Settings
from hub.web.app import create_app
from tests import permission_table
from tests.conftest import Actor

SDL = "schema/hub.graphql"
EXAMPLES = int(os.environ.get("HUB_FUZZ_EXAMPLES", "350"))
ROLES = ("public", "entity", "department", "bank", "association", "province", "credit_office")

# What must never reach a caller (issue 8): each pattern and what it would betray.
LEAKS: dict[str, re.Pattern[str]] = {
    "a traceback": re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+"),
    "a driver or ORM name": re.compile(r"asyncpg|psycopg|sqlalchemy", re.IGNORECASE),
    "SQL text": re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE)\b.{0,200}\b(FROM|INTO|SET|WHERE)\b", re.DOTALL),
    "a PostgreSQL error": re.compile(
        r"\b(relation|column) \"|violates .* constraint|syntax error at or near"
    ),
    "a file path": re.compile(r"/work/|\.py\"|\.py:\d+|site-packages"),
    "a suggestion": re.compile(r"Did you mean", re.IGNORECASE),
}
JSON_MEDIA_TYPES = ("application/json", "application/graphql-response+json")


# --- what schemathesis generates for the hub's own scalars ----------------------------------------

# Names a record's fields and a scheme's keys use, so that generated objects reach past the first check.
KEYS = st.sampled_from(
    ["XDR_MC", "XDR_SHXYM", "XDR_LB", "JDRQ", "CFLB", "SJLYDM", "code", "name", "levels", "weight"]
) | st.from_regex(r"\A[_A-Za-z][_0-9A-Za-z]{0,8}\Z")
JSON_LEAVES = st.one_of(
    st.text(max_size=20).map(nodes.String),
    st.integers().map(nodes.Int),
    st.floats(allow_nan=False, allow_infinity=False).map(nodes.Float),
    st.booleans().map(nodes.Boolean),
    st.just(nodes.Null),
)


def _object(pairs: list[tuple[str, graphql.ValueNode]]) -> graphql.ObjectValueNode:
    fields = {name: value for name, value in pairs}  # names are unique in a literal object
    return nodes.Object(
        [graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=v) for k, v in fields.items()]
    )


JSON_VALUES: st.SearchStrategy[graphql.ValueNode] = st.deferred(
    lambda: (
        JSON_LEAVES
        | st.lists(JSON_VALUES, max_size=4).map(nodes.List)
        | st.lists(st.tuples(KEYS, JSON_VALUES), max_size=5).map(_object)
    )
)
DATES = st.dates().map(lambda d: nodes.String(d.isoformat()))
schemathesis.graphql.scalar("Date", DATES | st.text(max_size=12).map(nodes.String))
schemathesis.graphql.scalar(
    "DateTime",
    st.datetimes().map(lambda d: nodes.String(d.isoformat())) | st.text(max_size=12).map(nodes.String),
)
schemathesis.graphql.scalar("JSON", JSON_VALUES)
# An upload only comes as a multipart file; inline, any literal is a wrong one.
schemathesis.graphql.scalar("Upload", st.just(nodes.Null) | st.text(max_size=8).map(nodes.String))

SCHEMA = schemathesis.graphql.from_path(SDL)
OPERATIONS = {operation.label: operation for operation in (r.ok() for r in SCHEMA.get_all_operations())}
PER_OPERATION = max(1, EXAMPLES // len(OPERATIONS))


ADMITTED = {row.name: sorted(role.value for role in row.admitted) for row in permission_table.load()}


def bodies(label: str) -> st.SearchStrategy[str]:
    """GraphQL documents for one root field: mostly valid ones, some made wrong on purpose."""
    operation = OPERATIONS[label]
    valid = operation.as_strategy(GenerationMode.POSITIVE).map(lambda case: str(case.body))
    wrong = operation.as_strategy(GenerationMode.NEGATIVE).map(lambda case: str(case.body))
    # A valid document with a piece cut out: mostly not GraphQL any more.
    cut = st.tuples(valid, st.integers(min_value=0, max_value=2000), st.integers(min_value=1, max_value=8))
    broken = cut.map(lambda c: c[0][: c[1] % max(1, len(c[0]))] + c[0][c[1] % max(1, len(c[0])) + c[2] :])
    return st.one_of(valid, valid, wrong, broken)


def roles(label: str) -> st.SearchStrategy[str]:
    """Half the time a role the permission table admits (so the resolver runs), else any role."""
    admitted = ADMITTED.get(label.split(".", 1)[1]) or list(ROLES)
    return st.sampled_from(admitted) | st.sampled_from(ROLES)


def lifted(document: str) -> tuple[str, dict[str, Any]]:
    """The same operation with its root field's arguments sent as variables of their declared types,
    as clients send them: the values then go through variable coercion instead of literal parsing."""
    try:
        tree = graphql.parse(document)
    except graphql.GraphQLSyntaxError:
        return document, {}  # a broken document goes as it is
    [operation] = [d for d in tree.definitions if isinstance(d, graphql.OperationDefinitionNode)]
    root = SCHEMA.client_schema.get_root_type(operation.operation)
    assert root is not None
    variables: dict[str, Any] = {}
    definitions = []
    fields = []
    for selection in operation.selection_set.selections:
        if not isinstance(selection, graphql.FieldNode) or selection.name.value not in root.fields:
            fields.append(selection)
            continue
        declared = root.fields[selection.name.value].args
        arguments = []
        for argument in selection.arguments or ():
            if argument.name.value not in declared:  # an argument made up on purpose stays a literal
                arguments.append(argument)
                continue
            name = f"v{len(variables)}"
            variables[name] = graphql.value_from_ast_untyped(argument.value)
            type_node = graphql.parse_type(str(declared[argument.name.value].type))
            definitions.append(
                graphql.VariableDefinitionNode(
                    variable=graphql.VariableNode(name=graphql.NameNode(value=name)), type=type_node
                )
            )
            arguments.append(
                graphql.ArgumentNode(
                    name=argument.name, value=graphql.VariableNode(name=graphql.NameNode(value=name))
                )
            )
        fields.append(
            graphql.FieldNode(
                alias=selection.alias,
                name=selection.name,
                arguments=tuple(arguments),
                directives=selection.directives,
                selection_set=selection.selection_set,
            )
        )
    with_variables = graphql.OperationDefinitionNode(
        operation=operation.operation,
        name=operation.name,
        variable_definitions=tuple(definitions),
        directives=operation.directives,
        selection_set=graphql.SelectionSetNode(selections=tuple(fields)),
    )
    return graphql.print_ast(graphql.DocumentNode(definitions=(with_variables,))), variables


# Uploads (multipart, GraphQL multipart request spec): a file of cells under column names the hub
# knows (a penalty's, an indicator file's) or not, in UTF-8 or GB 18030, or any bytes at all.
COLUMNS = st.sampled_from(
    ["XDR_MC", "XDR_LB", "XDR_SHXYM", "FRDB", "WSH", "WFXW", "CFLB", "NR", "JDRQ", "SJLYDM", "USCC", "A01"]
) | st.text(max_size=10)
CELLS = st.text(max_size=40) | st.sampled_from(["91230102MA0000000X", "2026-01-01", "=1+1", "-1", ""])


@st.composite
def files(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(["rows.csv", "rows.xlsx", "rows.json", "rows.txt", "rows"]))
    if draw(st.booleans()):
        return name, draw(st.binary(max_size=300))
    header = draw(st.lists(COLUMNS, min_size=1, max_size=8))
    rows = draw(st.lists(st.lists(CELLS, max_size=10), max_size=6))
    out = io.StringIO()
    writer = csv.writer(out)
    for row in [header, *rows]:
        writer.writerow(row)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
    return name, out.getvalue().encode(encoding, errors="replace")


def upload_variable(document: str) -> str | None:
    """The variable of type Upload in a lifted document, if any."""
    [operation] = graphql.parse(document).definitions
    assert isinstance(operation, graphql.OperationDefinitionNode)
    for definition in operation.variable_definitions or ():
        if graphql.print_ast(definition.type).strip("!") == "Upload":
            return definition.variable.name.value
    return None


# Introspection, asked for as a client would (and with names that are not types).
INTROSPECTION = st.one_of(
    st.just("{ __schema { queryType { name } mutationType { fields { name args { name } } } } }"),
    st.text(alphabet=string.ascii_letters + "_", min_size=1, max_size=12).map(
        lambda name: f'{{ __type(name: "{name}") {{ name kind fields {{ name }} }} }}'
    ),
    st.just("{ __typename __schema { types { name description } } }"),
)


# --- the checks ------------------------------------------------------------------------------------


def leaks(text: str) -> list[str]:
    return [what for what, pattern in LEAKS.items() if pattern.search(text)]


def assert_clean(response: httpx.Response, document: str) -> None:
    """One answer of the hub, held against issue 8's rules; the message names the document sent."""
    where = f"\n--- sent ---\n{document}\n--- answered {response.status_code} ---\n{response.text[:2000]}"
    assert response.status_code < 500 or (
        response.status_code == 503 and "retry-after" in response.headers
    ), f"a server error{where}"
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    assert media_type in JSON_MEDIA_TYPES, f"not JSON ({media_type!r}){where}"
    try:
        answer = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        pytest.fail(f"a body that does not parse as JSON{where}")
    assert isinstance(answer, dict), f"not a JSON object{where}"
    found = leaks(response.text)
    assert not found, f"the answer shows {', '.join(found)}{where}"
    for error in answer.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code is not None, f"an error without extensions.code{where}"
        assert code in CODES, f"code {code!r} is not in hub/error_codes.py{where}"
        assert code != "INTERNAL", f"an INTERNAL error{where}"
    for problem in _problems(answer.get("data")):
        assert problem in CODES, f"problem code {problem!r} is not in hub/error_codes.py{where}"


def _problems(data: object) -> list[str]:
    """The `code` of every typed problem (InvalidInput, FieldProblem…) anywhere in `data`."""
    if isinstance(data, list):
        return [code for item in data for code in _problems(item)]
    if not isinstance(data, dict):
        return []
    own = [data["code"]] if isinstance(data.get("code"), str) and "message" in data else []
    return own + [code for value in data.values() for code in _problems(value)]


# --- the fuzz ----------------------------------------------------------------------------------------


@pytest.fixture
async def clients(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[dict[bool, httpx.AsyncClient]]:
    """The real app twice, on the test's transaction: introspection on (True) and off (False)."""
    opened: dict[bool, httpx.AsyncClient] = {}
    for introspection in (True, False):
        settings_ = Settings(request_timeout_seconds=60, introspection=introspection)
        transport = httpx.ASGITransport(app=create_app(settings_, sessions=sessions))
        opened[introspection] = httpx.AsyncClient(transport=transport, base_url="http://hub.test")
    try:
        yield opened
    finally:
        for client in opened.values():
            await client.aclose()


async def send(
    clients: dict[bool, httpx.AsyncClient],
    actors: dict[str, Actor],
    document: str,
    role: str,
    introspection: bool,
    over_get: bool,
    variables: dict[str, Any] | None = None,
) -> httpx.Response:
    client = clients[introspection]
    headers = actors[role].headers if role != "public" else {}
    if over_get:  # a mutation over GET must be refused (405) as cleanly as anything else
        params = {"query": document}
        if variables:
            params["variables"] = json.dumps(variables)
        return await client.get("/graphql", params=params, headers=headers)
    # The standard library's encoder: it writes integers of any size, as a client may.
    body = json.dumps({"query": document, "variables": variables or {}}).encode()
    return await client.post(
        "/graphql", content=body, headers={**headers, "content-type": "application/json"}
    )


FUZZ = settings(
    max_examples=PER_OPERATION,
    derandomize=True,  # the same examples on every run: CI stays stable
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    print_blob=False,
)


@pytest.mark.parametrize("label", sorted(OPERATIONS))
@FUZZ
@given(
    data=st.data(),
    introspection=st.booleans(),
    over_get=st.sampled_from([False, False, False, True]),
    as_variables=st.booleans(),
)
async def test_fuzzed_operation_answers_clean_json_with_registered_codes(
    label, clients, actors, data, introspection, over_get, as_variables
):
    role = data.draw(roles(label), label="role")
    document = data.draw(bodies(label), label="document")
    variables: dict[str, Any] = {}
    if as_variables:
        document, variables = lifted(document)
    response = await send(clients, actors, document, role, introspection, over_get, variables)
    assert_clean(response, f"{document}\nvariables: {variables!r}")


@FUZZ
@given(document=INTROSPECTION, role=st.sampled_from(ROLES), introspection=st.booleans())
async def test_fuzzed_introspection_answers_clean_json_on_and_off(
    clients, actors, document, role, introspection
):
    response = await send(clients, actors, document, role, introspection, over_get=False)
    assert_clean(response, document)
    errors = response.json().get("errors")
    if introspection:
        assert errors is None, response.text
    else:  # refused, with a code
        assert errors, response.text


UPLOADS = sorted(
    label
    for label, operation in OPERATIONS.items()
    if any(str(arg.type).strip("!") == "Upload" for arg in operation.definition.raw.args.values())
)


@pytest.mark.parametrize("label", UPLOADS)
@FUZZ
@given(data=st.data(), file=files())
async def test_fuzzed_upload_answers_clean_json_with_registered_codes(label, clients, actors, data, file):
    role = data.draw(roles(label), label="role")
    valid = OPERATIONS[label].as_strategy(GenerationMode.POSITIVE).map(lambda case: str(case.body))
    document, variables = lifted(data.draw(valid, label="document"))
    variable = upload_variable(document)
    assert variable is not None, document
    variables[variable] = None
    name, content = file
    headers = actors[role].headers if role != "public" else {"graphql-require-preflight": "1"}
    response = await clients[True].post(
        "/graphql",
        data={
            "operations": json.dumps({"query": document, "variables": variables}),
            "map": json.dumps({"0": [f"variables.{variable}"]}),
        },
        files={"0": (name, content, "text/csv")},
        headers=headers,
    )
    assert_clean(response, f"{document}\nvariables: {variables!r}\nfile {name}: {content[:300]!r}")
