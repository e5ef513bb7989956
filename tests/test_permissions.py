"""Deny by default: every operation names the roles it admits, and the sweep proves each rule holds."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
import strawberry
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
)

from hub.auth.caller import Role
from hub.settings import Settings
from schema.build import build_schema
from schema.permissions import assert_every_root_field_guarded, rule_of

SCHEMA = build_schema(Settings())
SAMPLES = {
    "String": "x",
    "Int": 1,
    "Boolean": False,
    "ID": "1",
    "Date": "2026-01-05",
    "JSON": {},
    "DateTime": None,
}


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


def _operations() -> list[tuple[str, str, frozenset[Role], bool]]:
    """(operation kind, field name, admitted roles, needs upload) for every root field."""
    found = []
    graphql_schema = SCHEMA._schema
    for kind, root in (("query", SCHEMA.query), ("mutation", SCHEMA.mutation)):
        definition = root.__strawberry_definition__
        graphql_root = graphql_schema.query_type if kind == "query" else graphql_schema.mutation_type
        assert graphql_root is not None
        for field in definition.fields:
            roles = rule_of(field)
            assert roles is not None, field.name
            graphql_field = graphql_root.fields[SCHEMA.config.name_converter.get_graphql_name(field)]
            needs_upload = any("Upload" in str(arg.type) for arg in graphql_field.args.values())
            found.append((kind, SCHEMA.config.name_converter.get_graphql_name(field), roles, needs_upload))
    return found


OPERATIONS = _operations()


def _document(kind: str, name: str) -> str:
    graphql_schema = SCHEMA._schema
    root = graphql_schema.query_type if kind == "query" else graphql_schema.mutation_type
    assert root is not None
    field = root.fields[name]
    args = [
        f"{arg_name}: {'$file' if 'Upload' in str(arg.type) else _literal(_sample(arg.type), arg.type)}"
        for arg_name, arg in field.args.items()
        if isinstance(arg.type, GraphQLNonNull)
    ]
    named = field.type
    while isinstance(named, (GraphQLNonNull, GraphQLList)):
        named = named.of_type
    selection = "" if isinstance(named, (GraphQLScalarType, GraphQLEnumType)) else " { __typename }"
    variables = "($file: Upload!)" if any("$file" in a for a in args) else ""
    call = f"{name}({', '.join(args)})" if args else name
    return f"{kind} Sweep{variables} {{ {call}{selection} }}"


def test_every_operation_has_a_rule() -> None:
    assert_every_root_field_guarded(SCHEMA)
    assert {name for _, name, _, _ in OPERATIONS} >= {
        "entity",
        "pushRecords",
        "issueToken",
        "pushRecordsFile",
    }


def test_an_operation_without_a_rule_is_refused_at_build_time() -> None:
    @strawberry.type
    class Query:
        @strawberry.field
        def leak(self) -> str:
            return "secret"

    with pytest.raises(RuntimeError, match=r"Query\.leak"):
        assert_every_root_field_guarded(strawberry.Schema(query=Query))


@pytest.mark.parametrize(("kind", "name", "roles", "upload"), OPERATIONS, ids=[o[1] for o in OPERATIONS])
async def test_sweep_every_operation_for_every_role(client, actors, kind, name, roles, upload) -> None:
    document = _document(kind, name)
    callers = {"public": None, **{a.role.value: a for a in actors.values()}}
    for role_name, actor in callers.items():
        headers = actor.headers if actor else {}
        if upload:
            operations = {"query": document, "variables": {"file": None}}
            response = await client.post(
                "/graphql",
                data={"operations": orjson.dumps(operations).decode(), "map": '{"0": ["variables.file"]}'},
                files={"0": ("f.csv", b"A\n", "text/csv")},
                headers=headers,
            )
        else:
            response = await client.post("/graphql", json={"query": document}, headers=headers)
        body = response.json()
        codes = {(e.get("extensions") or {}).get("code") for e in body.get("errors") or []}
        if Role(role_name) in roles:
            assert "FORBIDDEN" not in codes, (name, role_name, body)
        else:
            assert "FORBIDDEN" in codes, (name, role_name, body)
            assert not (body.get("data") or {}).get(name), (name, role_name, body)
