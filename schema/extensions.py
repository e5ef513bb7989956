"""Schema extensions: the unit of work (one commit per request) and error masking."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from hub.db import settle
from hub.disclosure.gate import Disclosure
from hub.disclosure.policy import Subject
from hub.errors import HubError

log = logging.getLogger("hub.graphql")

UNEXPECTED = "Unexpected error."
_SUGGESTION = re.compile(r" ?Did you mean [^?]*\?")
EXPECTED = (HubError, GraphQLError)


def _public_error(error: GraphQLError, request_id: str, gate: Disclosure) -> GraphQLError:
    """Expected errors keep their message and code; anything else is masked and logged without detail.
    A domain error's message may echo the input it is about, so it leaves through the request's gate."""
    original = error.original_error
    if original is None:
        # Syntax and validation errors are meant for the caller, minus any "Did you mean" hints,
        # which would reveal the schema even with introspection off.
        message = _SUGGESTION.sub("", error.message)
        if message == error.message:
            return error
        return GraphQLError(
            message, nodes=error.nodes, source=error.source, positions=error.positions, path=error.path
        )
    if isinstance(original, GraphQLError):
        # Raised on purpose (permission rules): message and extensions are written for the caller.
        return GraphQLError(
            original.message, nodes=error.nodes, path=error.path, extensions=original.extensions
        )
    if isinstance(original, HubError):
        extensions = {"code": original.code}
        if original.path:
            extensions["path"] = original.path
        message = gate.message(original.message, Subject(owner=gate.caller.organisation_code))
        return GraphQLError(message, nodes=error.nodes, path=error.path, extensions=extensions)
    if isinstance(original, TimeoutError):
        return GraphQLError(
            "the request took too long and was stopped",
            nodes=error.nodes,
            path=error.path,
            extensions={"code": "TIMEOUT", "requestId": request_id},
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


class UnitOfWork(SchemaExtension):
    """Ends the operation's unit of work (hub.db) before the answer is sent: commits what the answer
    reports, queries included (a read may write its access-log entry), and rolls back the rest.
    Also masks unexpected errors."""

    async def on_operation(self) -> AsyncIterator[None]:
        yield
        context = self.execution_context.context
        result = self.execution_context.result
        errors: list[GraphQLError] = list(getattr(result, "errors", None) or [])
        # Commit only what the answer reports: when a refused field nulls the whole answer (mutation
        # results are non-null), the caller is told nothing was done, so nothing is kept.
        answered = result is not None and result.data is not None
        clean = answered and all(
            e.original_error is None or isinstance(e.original_error, EXPECTED) for e in errors
        )
        try:
            await settle(context.session, keep=clean)
        except Exception as exc:
            if clean:  # the answer must not claim what was not stored
                log.error("commit failed", extra={"error_type": type(exc).__name__})
                if result is not None:
                    result.data = None
                    errors.append(GraphQLError("the change could not be stored", original_error=exc))
            else:  # the connection is gone; the answer stands, nothing was committed
                log.error("rollback failed", extra={"error_type": type(exc).__name__})
        if result is not None and errors:
            result.errors = [_public_error(e, context.request_id, context.disclosure) for e in errors]
