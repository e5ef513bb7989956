"""The query-cost estimate: how many objects a request can make the hub build, known before it runs.

A validation rule, so it runs once per distinct query text (validation is cached by QueryDocument)
and costs nothing on repeated requests. Every object (non-leaf) value counts 1; a list counts its
size times the cost of one element, so nested lists multiply. A list's size is
- the field's `first` (given, else its default); on a connection (`records`, `searchEntities`) the
  `first` sizes the connection's `edges`;
- a `first` given in a variable counts as the page-size maximum: the estimate is made once per
  query text, before variables are known, and the page-size check refuses any larger value;
- for an unpaginated list, its known bound from SIZES, else UNPAGINATED.
Leaves (scalars, enums), `__typename` and introspection fields count 0."""

from __future__ import annotations

from typing import Any, cast

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    get_named_type,
    get_nullable_type,
    is_leaf_type,
    is_list_type,
)
from graphql.validation import ASTValidationRule, ValidationRule

# Unpaginated lists with a bound smaller (or larger) than UNPAGINATED, by "Type.field".
SIZES: dict[str, int] = {
    "Domain.measures": 4,  # one per category
    "InspectionPlan.categories": 4,
    "Scheme.levels": 10,
    "Query.supervisionBatch": 1000,  # its documented maximum of USCCs
    "Query.recordTypes": 50,  # the catalogue: 15 today
    "RecordType.fields": 50,  # 32 at most today
    "RecordResult.errors": 10,
    "RecordResult.warnings": 10,
    "RejectedRow.errors": 10,
    "RejectedIndicatorRow.errors": 10,
    # Authorisations: a purpose covers at most every record type and two more items (17 today).
    "Query.purposes": 50,
    "Purpose.items": 20,
    "Authorisation.scope": 20,
    "AuthorizedProfile.scope": 20,
    "Objection.evidence": 20,  # the rights profile allows at most 20 pieces (hub/catalog/rights.py)
    "RepairApplication.obligationsEvidence": 20,
}
UNPAGINATED = 100
# The largest estimate an answer shows: the largest integer every JSON reader keeps exactly (a
# `first` of 2^64 nested three deep would not fit JSON's encoders, and means no more than this).
SHOWN_MAXIMUM = 2**53 - 1


def cost_rule(max_cost: int, max_page_size: int) -> type[ValidationRule]:
    """The rule for these limits; built once (ValidationCache keys on the class)."""

    class CostLimit(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
            root = self.context.schema.get_root_type(node.operation)
            if root is None:
                return
            estimate = Estimate(self.context, max_page_size).selections(node.selection_set, root, None)
            cost = min(estimate, SHOWN_MAXIMUM)
            if cost > max_cost:
                self.report_error(
                    GraphQLError(
                        f"the query's estimated cost of {cost} objects exceeds the maximum of {max_cost}",
                        [node],
                        extensions={"code": "COST_LIMIT", "cost": cost, "maxCost": max_cost},
                    )
                )

    return CostLimit


class Estimate:
    def __init__(self, context: ValidationContext, max_page_size: int) -> None:
        self.context = context
        self.max_page_size = max_page_size
        self.fragments: set[str] = set()  # spreads on the current path (cycles are invalid anyway)
        # By selection set, type and size: a fragment spread many times is walked once, so the
        # walk stays linear in the document however its fragments multiply.
        self.known: dict[tuple[int, str, int | None], int] = {}

    def selections(self, node: SelectionSetNode, parent: GraphQLNamedType, edges: int | None) -> int:
        """Cost of one value of `parent`'s selections; `edges` sizes a connection's lists."""
        key = (id(node), parent.name, edges)
        known = self.known.get(key)
        if known is None:
            known = self.known[key] = self.walk(node, parent, edges)
        return known

    def walk(self, node: SelectionSetNode, parent: GraphQLNamedType, edges: int | None) -> int:
        total = 0
        for selection in node.selections or ():
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent, edges)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.context.schema.get_type(condition.name.value) if condition else parent
                if target is not None:
                    total += self.selections(selection.selection_set, target, edges)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment: FragmentDefinitionNode | None = self.context.get_fragment(name)
                if fragment is None or name in self.fragments:
                    continue
                target = self.context.schema.get_type(fragment.type_condition.name.value)
                if target is not None:
                    self.fragments.add(name)
                    total += self.selections(fragment.selection_set, target, edges)
                    self.fragments.discard(name)
        return total

    def field(self, node: FieldNode, parent: GraphQLNamedType, edges: int | None) -> int:
        name = node.name.value
        if name.startswith("__") or not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return 0
        definition = parent.fields.get(name)
        if definition is None or node.selection_set is None:
            return 0
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            return 0
        first = self.first(node, definition.args.get("first"))
        if is_list_type(get_nullable_type(definition.type)):
            size = first if first is not None else edges
            if size is None:
                size = SIZES.get(f"{parent.name}.{name}", UNPAGINATED)
            return size * (1 + self.selections(node.selection_set, named, None))
        # A connection: its `first` sizes the lists inside it (edges).
        return 1 + self.selections(node.selection_set, named, first)

    def first(self, node: FieldNode, argument: Any) -> int | None:
        if argument is None:
            return None
        for given in node.arguments or ():
            if given.name.value == "first":
                # Past a 32-bit Int the literal is refused by validation; int() of thousands of digits
                # would raise (Python's conversion limit) before that.
                if isinstance(given.value, IntValueNode) and len(given.value.value) <= 10:
                    return max(0, int(given.value.value))
                return self.max_page_size  # a variable (or an invalid value, refused elsewhere)
        default = argument.default_value
        return default if isinstance(default, int) else self.max_page_size


class _CodedContext:
    """A validation context whose errors carry `extensions.code` (strawberry's limits set none)."""

    def __init__(self, context: ValidationContext, code: str) -> None:
        self._context = context
        self._code = code

    def report_error(self, error: GraphQLError) -> None:
        error.extensions = {**(error.extensions or {}), "code": self._code}
        self._context.report_error(error)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


def coded(rule: type[ASTValidationRule], code: str) -> type[ASTValidationRule]:
    """`rule`, with `code` on every error it reports. strawberry's depth limiter raises (KeyError,
    ValueError) on a spread of an undefined fragment and on an empty selection set, which graphql-core
    parses: such a document is refused (never let through unmeasured), as a malformed one."""

    def __init__(self: ASTValidationRule, context: ValidationContext) -> None:
        try:
            rule.__init__(self, cast(ValidationContext, _CodedContext(context, code)))
        except (KeyError, ValueError):
            ASTValidationRule.__init__(self, context)
            message = "the document spreads a fragment it does not define, or has an empty selection set"
            context.report_error(GraphQLError(message, extensions={"code": "GRAPHQL_VALIDATION_FAILED"}))

    return type(f"{rule.__name__}Coded", (rule,), {"__init__": __init__})


def expanded_fields(document: DocumentNode) -> int:
    """How many fields the operations hold once every fragment is spread in place. strawberry's depth
    and alias limits walk fragments at every spread, so fragments that spread others twice would
    make them take exponential time; this count, linear (each fragment counted once), comes first."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    known: dict[str, int] = {}
    open_: set[str] = set()  # a cycle is refused by validation; here it counts 0

    def count(node: SelectionSetNode | None) -> int:
        total = 0
        for selection in node.selections if node else ():
            if isinstance(selection, FieldNode):
                total += 1 + count(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                total += count(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in known and name in fragments and name not in open_:
                    open_.add(name)
                    known[name] = count(fragments[name].selection_set)
                    open_.discard(name)
                total += known.get(name, 0)
        return total

    return sum(count(d.selection_set) for d in document.definitions if isinstance(d, OperationDefinitionNode))
