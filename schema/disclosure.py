"""Helpers for answers that carry input back to its sender: problems and pushed records' ids leave
through the request's disclosure gate (house rule 12)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from hub.disclosure.gate import Disclosure
from hub.disclosure.policy import Item, Subject
from hub.records.validation.record import FieldError
from schema.errors import FieldProblem


def problems(
    gate: Disclosure, errors: Iterable[FieldError | Mapping[str, Any]], subject: Subject
) -> list[FieldProblem]:
    """Problems with input, as they leave: their messages may echo the values they are about."""
    out = []
    for error in errors:
        code, path, message = (
            (error.code, error.path, error.message)
            if isinstance(error, FieldError)
            else (str(error["code"]), str(error["path"]), str(error["message"]))
        )
        out.append(FieldProblem(code=code, path=path, message=gate.message(message, subject)))
    return out


def answered_id(gate: Disclosure, record_id: str | None, subject: Subject) -> str | None:
    """A pushed record's id at its source, in a push answer or a rejected row."""
    return gate.text(Item.PUSH_ANSWER, "sourceRecordId", record_id, subject)
