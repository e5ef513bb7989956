"""Every text argument within bounds: at most `max_string_length` characters and no control character
(C0 other than tab, LF and CR; DEL; C1), whether written in the document or sent as a variable, at
any depth of lists and input objects. Text is a String, an ID (also written as an integer), a Date,
DateTime or other scalar given as a string, an enum value. JSON arguments (record fields, policy
documents) are the catalogue's to check, field by field, and are not walked here."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    BREAK,
    ArgumentNode,
    DocumentNode,
    FloatValueNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLSchema,
    IntValueNode,
    ObjectFieldNode,
    OperationDefinitionNode,
    StringValueNode,
    ValidationRule,
    get_named_type,
    is_input_type,
    parse,
    type_from_ast,
    visit,
)
from graphql.language import Visitor

from hub.records.validation.field_check import control_problem

# Scalars whose values are no free text of the caller to bound here.
_FREE_SCALARS = frozenset({"JSON", "Int", "Float", "Boolean"})


def problem_of(value: str, limit: int, path: str, nodes: Any = None) -> GraphQLError | None:
    """The request error of a text argument out of bounds, or None. Control characters are judged
    by the rule pushed record fields meet (hub.records.validation.field_check)."""
    if len(value) > limit:
        message = f"{path} has {len(value)} characters; at most {limit} allowed"
        return GraphQLError(
            message, nodes, extensions={"code": "STRING_TOO_LONG", "path": path, "maxLength": limit}
        )
    found = control_problem(path, path, value)
    if found is not None:
        return GraphQLError(found.message, nodes, extensions={"code": found.code, "path": path})
    return None


# Digits a number literal may have: any Int or Float of the schema has fewer; Python refuses int() of
# more than 4300, which graphql-core's own rules would meet first.
LONGEST_NUMBER = 100


def long_number(document: DocumentNode) -> GraphQLError | None:
    """A number literal longer than LONGEST_NUMBER characters, refused before validation runs."""
    found: list[GraphQLError] = []

    class Numbers(Visitor):
        def enter_int_value(self, node: IntValueNode, *_args: Any) -> Any:
            return self._check(node)

        def enter_float_value(self, node: FloatValueNode, *_args: Any) -> Any:
            return self._check(node)

        def _check(self, node: IntValueNode | FloatValueNode) -> Any:
            if len(node.value) > LONGEST_NUMBER:
                message = (
                    f"a number literal has {len(node.value)} characters; at most {LONGEST_NUMBER} allowed"
                )
                found.append(GraphQLError(message, [node], extensions={"code": "NUMBER_TOO_LONG"}))
                return BREAK
            return None

    visit(document, Numbers())
    return found[0] if found else None


def string_rule(limit: int) -> type[ValidationRule]:
    """The rule for string literals of the document; built once (the validation cache keys on it)."""

    class StringArguments(ValidationRule):
        def __init__(self, context: Any) -> None:
            super().__init__(context)
            self.path: list[str] = []  # argument, then input object fields; empty in a default value

        def enter_argument(self, node: ArgumentNode, *_args: Any) -> None:
            self.path = [node.name.value]

        def leave_argument(self, node: ArgumentNode, *_args: Any) -> None:
            self.path = []

        def enter_object_field(self, node: ObjectFieldNode, *_args: Any) -> None:
            self.path.append(node.name.value)

        def leave_object_field(self, node: ObjectFieldNode, *_args: Any) -> None:
            if self.path:
                self.path.pop()

        def enter_string_value(self, node: StringValueNode, *_args: Any) -> None:
            if _checked(self.context.get_input_type()):
                self._check(node.value, node)

        def enter_int_value(self, node: IntValueNode, *_args: Any) -> None:
            # An ID may be written as an integer: its digits count as its characters.
            named = get_named_type(self.context.get_input_type())
            if named is not None and named.name == "ID":
                self._check(node.value, node)

        def _check(self, value: str, node: Any) -> None:
            problem = problem_of(value, limit, ".".join(self.path) or "default value", [node])
            if problem is not None:
                self.report_error(problem)

    return StringArguments


def _checked(input_type: Any) -> bool:
    """Whether strings in this position are text to bound: any scalar or enum but JSON (whose
    strings are record fields and policy documents, checked by the catalogue field by field)."""
    named = get_named_type(input_type)
    return isinstance(named, (GraphQLScalarType, GraphQLEnumType)) and named.name not in _FREE_SCALARS


def variable_errors(
    schema: GraphQLSchema,
    query: str,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    limit: int,
) -> list[GraphQLError]:
    """The first text variable out of bounds, as a request error (empty when all are within)."""
    if not variables:
        return []
    for name, input_type in _text_variables(schema, query, operation_name):
        if name in variables:
            for path, value in _texts(input_type, variables[name], f"variables.{name}"):
                problem = problem_of(value, limit, path)
                if problem is not None:
                    return [problem]
    return []


# Keyed by the query's text (hashed once), not its document, which would be hashed node by node. A
# text gets here only once it parsed and validated; it is parsed again once per distinct text.
@functools.lru_cache(maxsize=256)
def _text_variables(
    schema: GraphQLSchema, query: str, operation_name: str | None
) -> tuple[tuple[str, GraphQLInputType], ...]:
    """The operation's variables whose type holds text to bound somewhere."""
    document = parse(query, no_location=True)
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
    if _checked(named):
        return True
    if isinstance(named, GraphQLInputObjectType) and named.name not in seen:
        seen.add(named.name)
        return any(_holds_text(field.type, seen) for field in named.fields.values())
    return False


def _texts(input_type: Any, value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(path, string) of every string in a variable's value in a position to bound, by its type."""
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
    elif _checked(input_type) and isinstance(value, str):
        yield path, value
