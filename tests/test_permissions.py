"""Permissions as a table (house rule 14): tests/permissions.yaml, kept by hand, against the code.

The table lists exactly the operations that exist; each role rule (`allow(...)`) admits exactly the
roles the table admits; every operation is called by every role through the real HTTP app with real
tokens, and a `denied` cell must be refused with FORBIDDEN and write nothing. The `own` cells are
proved with real data in tests/test_permissions_own.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import httpx
import orjson
import pytest
import strawberry
import websockets
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from starlette.routing import Route

from hub.auth import service as auth
from hub.auth.caller import Role
from hub.entities.codes import make_uscc
from hub.grading import admin
from hub.settings import Settings
from hub.web.app import create_app
from schema.build import build_schema
from schema.permissions import assert_every_root_field_guarded, rule_of
from tests.conftest import Actor
from tests.permission_table import ALLOWED, DENIED, OWN, Row, load, writes

SCHEMA = build_schema(Settings())
ROWS = load()
SAMPLES = {
    "String": "x",
    "Int": 1,
    "Boolean": False,
    "ID": "1",
    "Date": "2026-01-05",
    "JSON": {},
    "DateTime": None,
}
# Routes that serve no entity data of their own: GraphQL is swept operation by operation.
NOT_DATA_ROUTES = {"GET /healthz", "GET /readyz", "GET /graphql", "POST /graphql"}


def _root(kind: str) -> GraphQLObjectType:
    graphql_schema = SCHEMA._schema
    root = {
        "query": graphql_schema.query_type,
        "mutation": graphql_schema.mutation_type,
        "subscription": graphql_schema.subscription_type,
    }[kind]
    assert root is not None
    return root


def _strawberry_fields(kind: str) -> dict[str, Any]:
    root = {"query": SCHEMA.query, "mutation": SCHEMA.mutation, "subscription": SCHEMA.subscription}[kind]
    definition = root.__strawberry_definition__
    return {SCHEMA.config.name_converter.get_graphql_name(f): f for f in definition.fields}


def _routes() -> set[str]:
    app = create_app(Settings(), sessions=async_sessionmaker(class_=AsyncSession))
    found = set()
    for route in app.routes:
        if isinstance(route, Route):
            path = route.path
            for param in route.param_convertors:
                path = path.replace(f"{{{param}}}", "{id}")
            found |= {f"{method} {path}" for method in route.methods or () if method != "HEAD"}
    return found - NOT_DATA_ROUTES


GRAPHQL_ROWS = [r for r in ROWS if r.kind in ("query", "mutation")]
HTTP_ROWS = [r for r in ROWS if r.kind == "http"]
[SUBSCRIPTION_ROW] = [r for r in ROWS if r.kind == "subscription"]


def test_the_table_lists_exactly_the_operations_that_exist() -> None:
    for kind in ("query", "mutation", "subscription"):
        in_table = {r.name for r in ROWS if r.kind == kind}
        in_schema = set(_root(kind).fields)
        assert in_schema - in_table == set(), f"{kind} operations without a row in permissions.yaml"
        assert in_table - in_schema == set(), f"rows of permissions.yaml for no {kind} operation"
    in_table = {r.name for r in HTTP_ROWS}
    assert _routes() - in_table == set(), "HTTP routes without a row in permissions.yaml"
    assert in_table - _routes() == set(), "rows of permissions.yaml for no HTTP route"


def test_every_operation_has_a_rule() -> None:
    assert_every_root_field_guarded(SCHEMA)


def test_an_operation_without_a_rule_is_refused_at_build_time() -> None:
    @strawberry.type
    class Query:
        @strawberry.field
        def leak(self) -> str:
            return "secret"

    with pytest.raises(RuntimeError, match=r"Query\.leak"):
        assert_every_root_field_guarded(strawberry.Schema(query=Query))


@pytest.mark.parametrize("row", [r for r in ROWS if r.kind != "http"], ids=lambda r: r.name)
def test_each_role_rule_admits_the_roles_of_the_table(row: Row) -> None:
    rule = rule_of(_strawberry_fields(row.kind)[row.name])
    assert rule is not None, row.name
    assert sorted(rule) == sorted(row.admitted), (
        f"{row.name}: allow(...) admits {sorted(r.value for r in rule)}, "
        f"permissions.yaml {sorted(r.value for r in row.admitted)}"
    )


def _sample(graphql_type: Any) -> Any:
    """A value of the type that passes GraphQL validation (the rule runs before any business check)."""
    if isinstance(graphql_type, GraphQLNonNull):
        return _sample(graphql_type.of_type)
    if isinstance(graphql_type, GraphQLList):
        return []
    if isinstance(graphql_type, GraphQLEnumType):
        return next(iter(graphql_type.values))
    if isinstance(graphql_type, GraphQLInputObjectType):
        return {
            name: _sample(f.type)
            for name, f in graphql_type.fields.items()
            if isinstance(f.type, GraphQLNonNull)
        }
    assert isinstance(graphql_type, GraphQLScalarType)
    return SAMPLES.get(graphql_type.name, "x")


def _literal(value: Any, graphql_type: Any) -> str:
    inner = graphql_type.of_type if isinstance(graphql_type, GraphQLNonNull) else graphql_type
    if isinstance(inner, GraphQLEnumType):
        return str(value)
    if isinstance(inner, GraphQLInputObjectType):
        fields = ", ".join(f"{k}: {_literal(v, inner.fields[k].type)}" for k, v in value.items())
        return "{" + fields + "}"
    return orjson.dumps(value).decode()


def _document(kind: str, name: str) -> tuple[str, bool]:
    """The operation called with sample values of its required arguments, and whether it takes a file."""
    field = _root(kind).fields[name]
    args = [
        f"{arg_name}: {'$file' if 'Upload' in str(arg.type) else _literal(_sample(arg.type), arg.type)}"
        for arg_name, arg in field.args.items()
        if isinstance(arg.type, GraphQLNonNull)
    ]
    named = field.type
    while isinstance(named, (GraphQLNonNull, GraphQLList)):
        named = named.of_type
    selection = "" if isinstance(named, (GraphQLScalarType, GraphQLEnumType)) else " { __typename }"
    upload = any("$file" in a for a in args)
    variables = "($file: Upload!)" if upload else ""
    call = f"{name}({', '.join(args)})" if args else name
    return f"{kind} Sweep{variables} {{ {call}{selection} }}", upload


def _callers(actors: dict[str, Actor]) -> dict[Role, Actor | None]:
    return {Role.PUBLIC: None, **{Role(key): a for key, a in actors.items() if key in set(Role)}}


@pytest.mark.parametrize("row", GRAPHQL_ROWS, ids=lambda r: r.name)
async def test_sweep_every_operation_for_every_role(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection, row: Row
) -> None:
    document, upload = _document(row.kind, row.name)
    for role, actor in _callers(actors).items():
        headers = actor.headers if actor else {}
        before = await writes(connection)
        if upload:
            operations = {"query": document, "variables": {"file": None}}
            response = await client.post(
                "/graphql",
                data={"operations": orjson.dumps(operations).decode(), "map": '{"0": ["variables.file"]}'},
                files={"0": ("f.csv", b"A\n", "text/csv")},
                headers={**headers, "GraphQL-Require-Preflight": "1"},  # the public's upload too
            )
        else:
            response = await client.post("/graphql", json={"query": document}, headers=headers)
        body = response.json()
        codes = {(e.get("extensions") or {}).get("code") for e in body.get("errors") or []}
        cell = row.cells[role]
        if cell == DENIED:
            assert "FORBIDDEN" in codes, (row.name, role.value, cell, body)
            assert not (body.get("data") or {}).get(row.name), (row.name, role.value, body)
            assert await writes(connection) == before, (row.name, role.value, "a refused call wrote")
        else:
            # Sample arguments name nobody's object: an `own` cell passes the role rule like `allowed`.
            assert cell in (ALLOWED, OWN)
            assert "FORBIDDEN" not in codes, (row.name, role.value, cell, body)


@pytest.mark.parametrize("row", HTTP_ROWS, ids=lambda r: r.name)
async def test_sweep_every_route_for_every_role(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection, row: Row
) -> None:
    method, path = row.name.split(" ")
    url = path.replace("{id}", str(uuid.uuid4()))  # nobody's object
    for role, actor in _callers(actors).items():
        before = await writes(connection)
        response = await client.request(method, url, headers=actor.headers if actor else {})
        code = response.json()["errors"][0]["extensions"]["code"] if response.status_code >= 400 else None
        if row.cells[role] == DENIED:
            assert (response.status_code, code) == (403, "FORBIDDEN"), (row.name, role.value, response.text)
            assert await writes(connection) == before, (row.name, role.value, "a refused call wrote")
        else:
            assert response.status_code != 403 and code != "FORBIDDEN", (row.name, role.value, response.text)


# The subscription needs a real server: what it commits lands in the live database, so the codes
# here are its own (nothing else uses the P… serials there).
WATCHED, FOREIGN = "drug_retail", "drug_manufacturing"
SUBSCRIBE = """subscription($d: [String!], $a: Int) { classificationChanged(domains: $d, afterId: $a) {
  id uscc domain } }"""


async def _live_callers(engine: AsyncEngine) -> tuple[dict[Role, str | None], str]:
    """A token per role in the live database; the department answers for WATCHED, where one change
    is recorded, and another department for FOREIGN. Returns the tokens and the member's USCC."""
    member = make_uscc("9", "1", "230102", "P0000009")
    codes = {
        Role.ENTITY: make_uscc("9", "1", "230102", "P0000001"),
        Role.DEPARTMENT: make_uscc("1", "1", "230100", "P0000002"),
        Role.PROVINCE: make_uscc("1", "1", "230000", "P0000003"),
        Role.BANK: make_uscc("9", "1", "230100", "P0000004"),
        Role.ASSOCIATION: make_uscc("5", "1", "230100", "P0000005"),
        Role.CREDIT_OFFICE: make_uscc("1", "1", "230100", "P0000006"),
    }
    other = make_uscc("1", "1", "230100", "P0000007")
    tokens: dict[Role, str | None] = {Role.PUBLIC: None}
    async with engine.begin() as connection:
        session = AsyncSession(bind=connection)
        for role, code in codes.items():
            await auth.register_organisation(session, code, f"订阅权限{role.value}", role)
            tokens[role] = (await auth.issue_token(session, code, "sweep", 1, by="tests")).secret
        await auth.register_organisation(session, other, "订阅权限另一部门", Role.DEPARTMENT)
        await admin.assign_domain(session, WATCHED, codes[Role.DEPARTMENT], by="tests")
        await admin.assign_domain(session, FOREIGN, other, by="tests")
        department = await auth.authenticate(session, str(tokens[Role.DEPARTMENT]))
        await admin.add_members(session, department, WATCHED, [member], dt.date.today())
        await session.flush()
    return tokens, member


async def _subscribe(url: str, token: str | None, domain: str) -> dict[str, Any]:
    """The first message of a subscription replaying `domain` from the start."""
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        payload = {"authorization": f"Bearer {token}"} if token else {}
        await ws.send(orjson.dumps({"type": "connection_init", "payload": payload}).decode())
        assert orjson.loads(await asyncio.wait_for(ws.recv(), timeout=20))["type"] == "connection_ack"
        variables = {"d": [domain], "a": 0}
        message = {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE, "variables": variables}}
        await ws.send(orjson.dumps(message).decode())
        try:
            return dict(orjson.loads(await asyncio.wait_for(ws.recv(), timeout=20)))
        except TimeoutError:
            return {"type": "silence", "payload": {}}  # subscribed, and nothing to replay


def _refusal(message: dict[str, Any]) -> str | None:
    """The code of a refused subscription (an `error` message, or a `next` carrying errors)."""
    errors = message["payload"] if message["type"] == "error" else message["payload"].get("errors") or []
    codes = [e.get("extensions", {}).get("code") for e in errors]
    return codes[0] if codes else None


async def test_sweep_the_subscription_for_every_role(live_engine: AsyncEngine, hub_server: str) -> None:
    row = SUBSCRIPTION_ROW
    tokens, member = await _live_callers(live_engine)
    url = hub_server.replace("http://", "ws://")
    for role, token in tokens.items():
        first = await _subscribe(url, token, WATCHED)
        cell = row.cells[role]
        if cell == DENIED:
            assert _refusal(first) == "FORBIDDEN", (row.name, role.value, first)
            continue
        # Allowed, or own (WATCHED is the department's): the recorded change is replayed.
        assert first["type"] == "next" and _refusal(first) is None, (row.name, role.value, first)
        assert first["payload"]["data"]["classificationChanged"]["uscc"] == member, first
        if cell == OWN:
            assert role is Role.DEPARTMENT, f"no proof of {row.name} × {role.value}: own objects of what?"
            refused = await _subscribe(url, token, FOREIGN)
            assert _refusal(refused) == row.refusal, (row.name, role.value, refused)
