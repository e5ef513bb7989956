"""schema/hub.graphql is the contract: it must equal what the code builds, and describe itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLObjectType, GraphQLUnionType

from hub.settings import Settings
from schema.build import build_schema

SNAPSHOT = Path(__file__).resolve().parent.parent / "schema" / "hub.graphql"


def test_snapshot_matches_the_code() -> None:
    built = build_schema(Settings()).as_str()
    assert SNAPSHOT.read_text(encoding="utf-8").strip() == built.strip(), (
        "schema/hub.graphql is stale: run `make schema` and review the diff (breaking changes are deliberate)"
    )


def test_cli_prints_the_same_sdl() -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "hub.cli", "schema"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert printed.strip() == SNAPSHOT.read_text(encoding="utf-8").strip()


def test_every_type_field_argument_and_enum_value_has_a_description() -> None:
    schema = build_schema(Settings())._schema
    missing = []
    for name, graphql_type in schema.type_map.items():
        if name.startswith("__") or name in {"String", "Int", "Boolean", "ID", "Float"}:
            continue
        if not graphql_type.description:
            missing.append(name)
        if isinstance(graphql_type, (GraphQLObjectType, GraphQLInputObjectType)):
            for field_name, field in graphql_type.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                for arg_name, arg in getattr(field, "args", {}).items():
                    if not arg.description:
                        missing.append(f"{name}.{field_name}({arg_name})")
        if isinstance(graphql_type, GraphQLEnumType):
            missing.extend(f"{name}.{v}" for v, value in graphql_type.values.items() if not value.description)
        if isinstance(graphql_type, GraphQLUnionType) and not graphql_type.description:
            missing.append(name)
    assert not missing, f"undocumented: {', '.join(missing)}"
