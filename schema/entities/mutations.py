"""Correcting the registry: the one way an entity's registered name changes (credit office)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from hub.auth.caller import Role
from hub.disclosure.policy import Item, Subject
from hub.records import registry
from schema.context import Info
from schema.errors import ConflictProblem, InvalidInput, NotFoundProblem
from schema.permissions import allow


@strawberry.type(description="A correction of an entity's registered name, as kept by the hub.")
class EntityNameCorrection:
    id: int = strawberry.field(description="The correction's id (the change_id of its entity.renamed event).")
    uscc: str = strawberry.field(description="The entity's USCC.")
    name: str | None = strawberry.field(description="The registered name from now on.")
    previous_name: str | None = strawberry.field(description="The name it replaced.")
    reason: str = strawberry.field(description="Why, e.g. the registration authority's change notice.")
    corrected_by: str = strawberry.field(description="The credit office that made it (its USCC).")
    corrected_at: dt.datetime = strawberry.field(description="When.")


CorrectEntityNameResult = Annotated[
    EntityNameCorrection | InvalidInput | NotFoundProblem | ConflictProblem,
    strawberry.union("CorrectEntityNameResult", description="The correction, or why none was made."),
]


@strawberry.type
class EntityMutations:
    @strawberry.mutation(
        description="Correct an entity's registered name (credit office only), on the registration "
        "authority's word: pushes never rename an entity. Kept with its reason and announced as "
        "entity.renamed.",
        extensions=allow(Role.CREDIT_OFFICE),
    )
    async def correct_entity_name(
        self,
        info: Info,
        uscc: Annotated[str, strawberry.argument(description="The entity's USCC.")],
        name: Annotated[str, strawberry.argument(description="The registered name, 2-200 characters.")],
        reason: Annotated[str, strawberry.argument(description="Why, 2-500 characters.")],
    ) -> CorrectEntityNameResult:
        change = await registry.correct_name(info.context.session, info.context.caller, uscc, name, reason)
        gate, subject = info.context.disclosure, Subject(uscc=change.uscc)
        return EntityNameCorrection(
            id=change.id,
            uscc=change.uscc,
            name=gate.text(Item.ENTITY, "name", change.name, subject),
            previous_name=gate.text(Item.ENTITY, "name", change.previous_name, subject),
            reason=change.reason,
            corrected_by=change.changed_by,
            corrected_at=change.changed_at,
        )
