"""Schema extensions: the request's document (parsed and validated once per distinct query, within
the limits), the unit of work (one commit per request), the disclosure report and error masking.

Few extensions on purpose: strawberry runs every extension's hooks on every request, and on the
look-up path their bookkeeping cost more than the work they do."""

from __future__ import annotations

import contextlib
import functools
import logging
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    parse,
    validate,
)
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from hub import metrics
from hub.db import FAILURE_MESSAGES, database_failure, settle
from hub.disclosure.gate import Disclosure
from hub.disclosure.policy import Subject
from hub.errors import HubError
from hub.metrics import Observation
from schema.audit.reads import log_reads
from schema.cost import expanded_fields
from schema.strings import long_number, variable_errors

log = logging.getLogger("hub.graphql")

UNEXPECTED = "Unexpected error."
# graphql-core's hints: "Did you mean 'x'?" (validation, coercion), ", did you mean '...'?" (the lexer).
_SUGGESTION = re.compile(r",? ?did you mean [^?]*\?", re.IGNORECASE)
EXPECTED = (HubError, GraphQLError)


def _public_error(error: GraphQLError, request_id: str, gate: Disclosure) -> GraphQLError:
    """Expected errors keep their message and code; anything else is masked and logged without detail.
    A domain error's message may echo the input it is about, so it leaves through the request's gate."""
    original = error.original_error
    if original is None:
        # Syntax and validation errors are meant for the caller, minus any "Did you mean" hints,
        # which would reveal the schema even with introspection off; each with its code.
        code = (
            "GRAPHQL_PARSE_FAILED" if isinstance(error, GraphQLSyntaxError) else "GRAPHQL_VALIDATION_FAILED"
        )
        return _request_error(error, code)
    if isinstance(original, GraphQLError):
        # Raised on purpose (permission rules): message and extensions are written for the caller.
        # Variables that fail coercion come here too, with graphql-core's hints, which go.
        return _request_error(error, "BAD_VARIABLES", original.extensions)
    if isinstance(original, HubError):
        extensions = {"code": original.code}
        if original.path:
            extensions["path"] = original.path
        message = gate.message(original.message, Subject(owner=gate.caller.organisation_code))
        return GraphQLError(message, nodes=error.nodes, path=error.path, extensions=extensions)
    # The database failed (or the request's time ran out): the request may be retried as it is.
    failure = "TIMEOUT" if isinstance(original, TimeoutError) else database_failure(original)
    if failure is not None:
        log.error("database failure", extra={"error_type": type(original).__name__, "error_code": failure})
        return GraphQLError(
            FAILURE_MESSAGES[failure],
            nodes=error.nodes,
            path=error.path,
            extensions={"code": failure, "requestId": request_id},
        )
    # The log names the kind of failure and where, never the message (it may hold SQL or data).
    log.error(
        "unexpected error",
        extra={"error_type": type(original).__name__, "field_path": list(error.path or [])},
    )
    return GraphQLError(
        UNEXPECTED,
        nodes=error.nodes,
        path=error.path,
        extensions={"code": "INTERNAL", "requestId": request_id},
    )


def _request_error(error: GraphQLError, code: str, extensions: dict[str, Any] | None = None) -> GraphQLError:
    """A request error as the caller sees it: no suggestion in its message, and a code (its own when it
    came with one: the limits, the permission rules)."""
    own = error.extensions if extensions is None else extensions
    coded = {"code": code, **(own or {})}
    message = _SUGGESTION.sub("", error.message)
    if message == error.message and coded == error.extensions:
        return error
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=coded,
    )


# Bounded: unique query texts from the public endpoint must not grow memory without limit.
_CACHED_DOCUMENTS = 256


class QueryDocument(SchemaExtension):
    """Parses (within the token limit) and validates (with the depth, alias and introspection rules)
    each distinct query once; later requests with the same text reuse both results."""

    def __init__(
        self, rules: Sequence[type[ASTValidationRule]], max_tokens: int, max_string_length: int
    ) -> None:
        self.rules = tuple(rules)
        self.max_tokens = max_tokens
        self.max_string_length = max_string_length

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        context.graphql_document = _parse(context.query, self.max_tokens)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        rules = (*context.validation_rules, *self.rules)
        assert context.query is not None
        try:
            schema = context.schema._schema
            context.pre_execution_errors = _validate(
                schema, context.query, self.max_tokens, rules
            ) or variable_errors(
                schema,
                context.query,
                context.operation_name,
                context.variables,
                self.max_string_length,
            )
        except Exception as exc:
            # A failing rule must not answer with its exception's text (strawberry would send it).
            log.error("validation failed", extra={"error_type": type(exc).__name__})
            request_id = getattr(context.context, "request_id", None)
            context.pre_execution_errors = [
                GraphQLError(UNEXPECTED, extensions={"code": "INTERNAL", "requestId": request_id})
            ]
        yield


@functools.lru_cache(maxsize=_CACHED_DOCUMENTS)
def _parse(query: str, max_tokens: int) -> DocumentNode:
    try:
        return parse(query, max_tokens=max_tokens)
    except GraphQLSyntaxError as error:
        # graphql-core's token and nesting limits are syntax errors without a code.
        if f"more than {max_tokens} tokens" in error.message:
            error.extensions = {"code": "MAX_TOKENS", "maxTokens": max_tokens}
        elif "nested too deeply" in error.message:
            error.extensions = {"code": "MAX_DEPTH"}
        else:  # coded here: a failing on_parse hook ends the operation before UnitOfWork sees its errors
            error.extensions = {"code": "GRAPHQL_PARSE_FAILED"}
            error.message = _SUGGESTION.sub("", error.message)
        raise


# Keyed by the query's text, not its document: a string hashes once; a document would be hashed
# node by node on every request.
@functools.lru_cache(maxsize=_CACHED_DOCUMENTS)
def _validate(
    schema: GraphQLSchema, query: str, max_tokens: int, rules: tuple[type[ASTValidationRule], ...]
) -> list[GraphQLError]:
    document = _parse(query, max_tokens)
    if expanded_fields(document) > max_tokens:
        # Before the rules: some of them would take exponential time on such a document.
        message = f"the document holds more than {max_tokens} fields once its fragments are spread"
        return [GraphQLError(message, extensions={"code": "MAX_TOKENS", "maxTokens": max_tokens})]
    too_long = long_number(document)
    if too_long is not None:
        return [too_long]
    return validate(schema, document, rules)


class UnitOfWork(SchemaExtension):
    """Ends the operation's unit of work (hub.db) before the answer is sent: commits what the answer
    reports, queries included (a read may write its access-log entry), and rolls back the rest.
    Also masks unexpected errors, and adds what the request's disclosure gate withheld or masked
    to the response (`extensions.disclosure`, house rule 12)."""

    def get_results(self) -> dict[str, Any]:
        context = self.execution_context.context
        gate = getattr(context, "disclosure", None)
        report = gate.report() if gate is not None else []
        results: dict[str, Any] = {"disclosure": report} if report else {}
        access = getattr(context, "access_entries", None)
        if access:  # the access-log entries this answer was logged under (accessReceipt takes the id)
            results["access"] = access
        return results

    async def on_operation(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        try:
            yield
        except GraphQLError as error:  # the document did not parse (QueryDocument): nothing ran
            if context.observation is not None:
                context.observation.field, context.observation.outcome = metrics.OTHER, metrics.REQUEST_ERROR
                code = str((error.extensions or {}).get("code"))
                context.observation.reason = metrics.REASON_OF_CODE.get(code)
            raise
        result = self.execution_context.result
        errors: list[GraphQLError] = list(getattr(result, "errors", None) or [])
        # Commit only what the answer reports: when a refused field nulls the whole answer (mutation
        # results are non-null), the caller is told nothing was done, so nothing is kept.
        answered = result is not None and result.data is not None
        clean = answered and all(
            e.original_error is None or isinstance(e.original_error, EXPECTED) for e in errors
        )
        # Non-public data in the answer is logged in the request's transaction, which commits before
        # the answer leaves; when the rest of the request is not kept, the entries alone are.
        must_log = result is not None and result.data is not None and bool(context.disclosure.reads())
        try:
            if not clean:
                await settle(context.session, keep=False)
            if must_log and result is not None:
                context.access_entries = await log_reads(
                    context.session, context.disclosure, context.request_id, result.data
                )
            if clean or must_log:
                await settle(context.session, keep=True)
        except Exception as exc:
            context.access_entries = []
            if clean or must_log:  # the answer must not claim what was not stored, nor leave unlogged
                with contextlib.suppress(Exception):
                    await settle(context.session, keep=False)
                log.error("commit failed", extra={"error_type": type(exc).__name__})
                if result is not None:
                    result.data = None
                    errors.append(GraphQLError("the change could not be stored", original_error=exc))
            else:  # the connection is gone; the answer stands, nothing was committed
                log.error("rollback failed", extra={"error_type": type(exc).__name__})
        if result is not None and errors:
            result.errors = [_public_error(e, context.request_id, context.disclosure) for e in errors]
        if context.observation is not None:
            _observe(context.observation, self.execution_context)


def _observe(observation: Observation, execution_context: ExecutionContext) -> None:
    """The request's metric labels from its operation and result (hub.metrics): the operation type and
    the root field when the schema has it, never a name from the request itself."""
    document = execution_context.graphql_document
    operation = None if document is None else _operation(document, execution_context.operation_name)
    if operation is None:
        observation.field = metrics.OTHER
    else:
        observation.operation = operation.operation.value
        observation.field = _root_field(execution_context.schema._schema, operation)
    result = execution_context.result
    errors = result.errors if result is not None else None
    if not errors:
        observation.outcome = metrics.OK
        return
    request_error = result is not None and result.data is None
    observation.outcome = metrics.FIELD_ERROR
    for error in errors:
        code = str((error.extensions or {}).get("code"))
        if code in _SERVER_FAULTS:
            observation.outcome = metrics.SERVER_ERROR
            return
        request_error = request_error and error.path is None
        observation.reason = observation.reason or metrics.REASON_OF_CODE.get(code)
    if request_error:
        observation.outcome = metrics.REQUEST_ERROR


_SERVER_FAULTS = frozenset({"INTERNAL", "TIMEOUT"})


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    """The operation that runs: the one named, else the only one."""
    found = None
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if name is None:
            if found is not None:
                return None  # several without a name: not run
            found = definition
        elif definition.name is not None and definition.name.value == name:
            return definition
    return found


def _root_field(schema: GraphQLSchema, operation: OperationDefinitionNode) -> str:
    """The root field of the operation if it has one (meta fields aside) that the schema has."""
    root = schema.get_root_type(operation.operation)
    found: str | None = None
    for selection in operation.selection_set.selections:
        if not isinstance(selection, FieldNode):
            return metrics.OTHER  # a fragment at the root
        name = selection.name.value
        if name.startswith("__"):
            continue
        if root is None or name not in root.fields:
            return metrics.OTHER
        if found is not None and found != name:
            return metrics.MULTIPLE
        found = name
    return metrics.INTROSPECTION if found is None else found
