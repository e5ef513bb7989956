"""Expected failures as typed members of a result union (house rule 5), mapped in one place.

`answer_expected_failures` (run when the schema is built) gives every root field whose result union
has Problem members the `ExpectedFailures` extension: a mutation's work runs in a savepoint, and a
HubError undoes what it wrote and becomes the union's member for its kind (Invalid → InvalidInput,
Forbidden → NotPermitted, NotFound → NotFoundProblem, Conflict → ConflictProblem). Anything else
goes on up, to be masked (schema/extensions.py). Resolvers hold no error handling of their own.
"""

from __future__ import annotations

import logging
from typing import Any

import strawberry
from strawberry.extensions.field_extension import AsyncExtensionResolver, FieldExtension
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField
from strawberry.types.union import StrawberryUnion

from hub.disclosure.policy import Subject
from hub.errors import Conflict, Forbidden, HubError, Invalid, NotFound

log = logging.getLogger("hub.graphql")


@strawberry.type(description="One problem with one input field: machine code, field path and explanation.")
class FieldProblem:
    code: str = strawberry.field(description="Machine-readable code, e.g. REQUIRED, USCC_CHECK, NOT_IN_ENUM.")
    path: str = strawberry.field(description="The input field, e.g. `fields.XDR_SHXYM` or `sourceRecordId`.")
    message: str = strawberry.field(description="What is wrong, for people.")


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


def json_object(value: object, path: str, message: str | None = None) -> dict[str, object]:
    """A JSON argument that must be an object (a record's fields, a scheme, measures…)."""
    if not isinstance(value, dict):
        raise Invalid(message or f"{path} must be a JSON object", code="NOT_AN_OBJECT", path=path)
    return value


ProblemMember = type[InvalidInput] | type[NotPermitted] | type[NotFoundProblem] | type[ConflictProblem]

# Each kind of expected failure and the result-union member that answers it.
MEMBER_OF_KIND: tuple[tuple[type[HubError], ProblemMember], ...] = (
    (Invalid, InvalidInput),
    (Forbidden, NotPermitted),
    (NotFound, NotFoundProblem),
    (Conflict, ConflictProblem),
)


def member_for(error: HubError) -> ProblemMember | None:
    """The result-union member answering `error`; None for a kind no mutation answers (e.g. Unauthenticated)."""
    for kind, member in MEMBER_OF_KIND:
        if isinstance(error, kind):
            return member
    return None


def problem_members(field: StrawberryField) -> frozenset[type[Problem]]:
    """The Problem members of a field's result union (empty when it answers no expected failure)."""
    union = field.type
    if not isinstance(union, StrawberryUnion):
        return frozenset()
    return frozenset(t for t in union.types if isinstance(t, type) and issubclass(t, Problem))


class ExpectedFailures(FieldExtension):
    """Turns a HubError into the member of the field's result union for its kind.

    With `savepoint`, the field's work runs in a savepoint, so that a failure writes nothing while the
    request's other mutations keep their work. Mutation fields run one after another, so their
    savepoints never interleave; query fields run concurrently on one session and take none.
    """

    def __init__(self, *, savepoint: bool) -> None:
        self.savepoint = savepoint
        self.field_name = ""
        self.members: frozenset[type[Problem]] = frozenset()

    def apply(self, field: StrawberryField) -> None:
        self.field_name = field.name
        self.members = problem_members(field)
        answerable = {member for _, member in MEMBER_OF_KIND}
        if not self.members or not self.members <= answerable:
            raise TypeError(
                f"{field.name}: a field answering expected failures returns a union of its result and "
                f"some of {sorted(m.__name__ for m in answerable)}"
            )
        if not field.is_async:
            raise TypeError(f"{field.name}: a field answering expected failures has an async resolver")

    async def resolve_async(
        self, next_: AsyncExtensionResolver, source: Any, info: strawberry.Info, **kwargs: Any
    ) -> Any:
        try:
            if not self.savepoint:
                return await next_(source, info, **kwargs)
            async with info.context.session.begin_nested():
                return await next_(source, info, **kwargs)
        except HubError as error:
            member = member_for(error)
            if member is None or member not in self.members:
                # The union lacks this kind (tests/test_error_codes.py guards against it): the error goes
                # up with its code in errors[]; a mutation's answer is then null and nothing is kept.
                log.error(
                    "undeclared expected failure",
                    extra={"field_name": self.field_name, "error_code": error.code},
                )
                raise
            # The message may echo the input it is about: it leaves through the gate like any entity value.
            context = info.context
            message = context.disclosure.message(
                error.message, Subject(owner=context.caller.organisation_code)
            )
            return member(code=error.code, message=message, path=error.path)


def answer_expected_failures(query: type, mutation: type) -> None:
    """Give the root fields that answer expected failures their extension (once per class).

    Every mutation must answer them: its result is a union with at least one Problem member.
    """
    roots: list[tuple[StrawberryObjectDefinition, bool]] = [
        (getattr(query, "__strawberry_definition__"), False),  # noqa: B009  (mypy cannot see it)
        (getattr(mutation, "__strawberry_definition__"), True),  # noqa: B009
    ]
    for definition, is_mutation in roots:
        for field in definition.fields:
            if any(isinstance(e, ExpectedFailures) for e in field.extensions):
                continue
            if not problem_members(field):
                if is_mutation:
                    raise TypeError(
                        f"mutation {field.name} must answer expected failures in its result union"
                    )
                continue
            # First in the list is innermost: the access rule runs before the savepoint is taken.
            field.extensions.insert(0, ExpectedFailures(savepoint=is_mutation))
