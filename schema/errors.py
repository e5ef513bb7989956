"""Expected failures as typed members of a mutation's result union (house rule 5)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from hub.errors import Conflict, Forbidden, HubError, Invalid, NotFound
from hub.records.validation.record import FieldError


@strawberry.type(description="One problem with one input field: machine code, field path and explanation.")
class FieldProblem:
    code: str = strawberry.field(description="Machine-readable code, e.g. REQUIRED, USCC_CHECK, NOT_IN_ENUM.")
    path: str = strawberry.field(description="The input field, e.g. `fields.XDR_SHXYM` or `sourceRecordId`.")
    message: str = strawberry.field(description="What is wrong, for people.")

    @classmethod
    def of(cls, error: FieldError) -> FieldProblem:
        return cls(code=error.code, path=error.path, message=error.message)


@strawberry.interface(description="Something the caller can correct; nothing was written.")
class Problem:
    code: str = strawberry.field(description="Machine-readable code; the README lists them.")
    message: str = strawberry.field(description="What is wrong, for people.")
    path: str | None = strawberry.field(description="The input field at fault, when there is one.")


@strawberry.type(description="The input breaks a rule (输入不合规).")
class InvalidInput(Problem):
    pass


@strawberry.type(description="The caller may not do this to this object (无权操作).")
class NotPermitted(Problem):
    pass


@strawberry.type(description="The object named does not exist (不存在).")
class NotFoundProblem(Problem):
    pass


@strawberry.type(
    description="The request conflicts with the current state (冲突), e.g. a reused idempotency key."
)
class ConflictProblem(Problem):
    pass


ProblemType = InvalidInput | NotPermitted | NotFoundProblem | ConflictProblem


def problem_of(error: HubError) -> ProblemType:
    """Map a domain error to its GraphQL member; unknown kinds are not expected failures."""
    kinds: list[tuple[type[HubError], type[ProblemType]]] = [
        (Invalid, InvalidInput),
        (Forbidden, NotPermitted),
        (NotFound, NotFoundProblem),
        (Conflict, ConflictProblem),
    ]
    for kind, member in kinds:
        if isinstance(error, kind):
            return member(code=error.code, message=error.message, path=error.path)
    return InvalidInput(code=error.code, message=error.message, path=error.path)


def json_object(value: object, path: str, message: str | None = None) -> dict[str, object]:
    """A JSON argument that must be an object (a record's fields, a scheme, measures…)."""
    if not isinstance(value, dict):
        raise Invalid(message or f"{path} must be a JSON object", code="NOT_AN_OBJECT", path=path)
    return value


@dataclass
class Attempt:
    """What a mutation's attempt came to: None, or the typed problem to answer with."""

    problem: ProblemType | None = None


@asynccontextmanager
async def expected_failures(session: AsyncSession) -> AsyncIterator[Attempt]:
    """Run a mutation's work in a savepoint: an expected failure (HubError) undoes what it wrote and
    becomes the typed problem the mutation answers with; anything else goes on up, to be masked."""
    attempt = Attempt()
    try:
        async with session.begin_nested():
            yield attempt
    except HubError as error:
        attempt.problem = problem_of(error)
