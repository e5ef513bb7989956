"""Every String and ID argument within bounds: at most `max_string_length` characters and no control
character (C0 other than tab, LF and CR; DEL; C1), whether written in the document or sent as a
variable, at any depth of lists and input objects. JSON arguments (record fields, policy documents)
are the catalogue's to check, field by field, and are not walked here."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    OperationDefinitionNode,
    StringValueNode,
    ValidationRule,
    get_named_type,
    is_input_type,
    type_from_ast,
)

_TEXT_SCALARS = frozenset({"String", "ID"})
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def problem_of(value: str, limit: int) -> tuple[str, str] | None:
    """(code, message) of a text argument out of bounds, or None."""
    if len(value) > limit:
        return "STRING_TOO_LONG", f"has {len(value)} characters; at most {limit} allowed"
    found = _CONTROL.search(value)
    if found is not None:
        code = "NUL_CHARACTER" if found.group() == "\x00" else "CONTROL_CHARACTER"
        return code, f"holds the control character U+{ord(found.group()):04X}"
    return None


def _error(code: str, message: str, path: str, limit: int, nodes: Any = None) -> GraphQLError:
    extensions: dict[str, Any] = {"code": code, "path": path}
    if code == "STRING_TOO_LONG":
        extensions["maxLength"] = limit
    return GraphQLError(f"{path} {message}", nodes, extensions=extensions)


def string_rule(limit: int) -> type[ValidationRule]:
    """The rule for string literals of the document; built once (the validation cache keys on it)."""

    class StringArguments(ValidationRule):
        argument = "default value"  # of a variable, outside any argument

        def enter_argument(self, node: ArgumentNode, *_args: Any) -> None:
            self.argument = node.name.value

        def leave_argument(self, node: ArgumentNode, *_args: Any) -> None:
            self.argument = "default value"

        def enter_string_value(self, node: StringValueNode, *_args: Any) -> None:
            named = get_named_type(self.context.get_input_type())
            if named is None or named.name not in _TEXT_SCALARS:
                return
            problem = problem_of(node.value, limit)
            if problem is not None:
                self.report_error(_error(problem[0], problem[1], self.argument, limit, [node]))

    return StringArguments


def variable_errors(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    limit: int,
) -> list[GraphQLError]:
    """The first text variable out of bounds, as a request error (empty when all are within)."""
    if not variables:
        return []
    for name, input_type in _text_variables(schema, document, operation_name):
        if name in variables:
            for path, value in _texts(input_type, variables[name], f"variables.{name}"):
                problem = problem_of(value, limit)
                if problem is not None:
                    return [_error(problem[0], problem[1], path, limit)]
    return []


# The document is the cached one of its query text (schema.extensions), so its id is stable.
@functools.lru_cache(maxsize=256)
def _text_variables(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None
) -> tuple[tuple[str, GraphQLInputType], ...]:
    """The operation's variables whose type holds a String or ID somewhere."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)]
    if len(chosen) != 1:
        return ()  # graphql-core refuses the request itself
    found: list[tuple[str, GraphQLInputType]] = []
    for definition in chosen[0].variable_definitions or ():
        input_type = type_from_ast(schema, definition.type)
        if is_input_type(input_type) and _holds_text(input_type, set()):
            found.append((definition.variable.name.value, input_type))
    return tuple(found)


def _holds_text(input_type: Any, seen: set[str]) -> bool:
    named = get_named_type(input_type)
    if named.name in _TEXT_SCALARS:
        return True
    if isinstance(named, GraphQLInputObjectType) and named.name not in seen:
        seen.add(named.name)
        return any(_holds_text(field.type, seen) for field in named.fields.values())
    return False


def _texts(input_type: Any, value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(path, string) of every String or ID in a variable's value, by its type."""
    if isinstance(input_type, GraphQLNonNull):
        input_type = input_type.of_type
    if isinstance(input_type, GraphQLList):
        if isinstance(value, list):
            for index, item in enumerate(value):
                yield from _texts(input_type.of_type, item, f"{path}.{index}")
        else:  # a single value stands for a list of one
            yield from _texts(input_type.of_type, value, path)
    elif isinstance(input_type, GraphQLInputObjectType):
        if isinstance(value, dict):
            for name, field in input_type.fields.items():
                if name in value:
                    yield from _texts(field.type, value[name], f"{path}.{name}")
    elif getattr(input_type, "name", None) in _TEXT_SCALARS and isinstance(value, str):
        yield path, value
