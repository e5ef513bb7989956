"""Objections (异议): an entity files one; the source department or the credit office decides it."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from hub.auth.caller import Role
from hub.catalog import amendments
from hub.objections import service
from schema.context import Info
from schema.errors import ConflictProblem, InvalidInput, NotFoundProblem, NotPermitted, json_object
from schema.objections.types import (
    EvidenceInput,
    Objection,
    ObjectionAction,
    ObjectionAttention,
    ObjectionOutcome,
)
from schema.permissions import allow


@strawberry.type(description="The rights profile as stored: time limits of objections and credit repair.")
class RightsProfile:
    version: int = strawberry.field(description="Version in the catalogue; cases name the version they used.")
    in_force: str = strawberry.field(description="The profile in force, e.g. seed_001.")
    objection_decision_days: int = strawberry.field(description="Objections decided within (working days).")
    repair_decision_days: int = strawberry.field(description="Repair decided within (working days).")
    repair_answer_days: int = strawberry.field(description="Repair answered within (working days).")
    repair_report_days: int = strawberry.field(
        description="A repair reported upstream within (working days)."
    )
    negative_record_types: list[str] = strawberry.field(
        description="The record types that are dishonesty information (失信信息)."
    )


SaveRightsProfileResult = Annotated[
    RightsProfile | InvalidInput,
    strawberry.union("SaveRightsProfileResult", description="The stored version, or why it was refused."),
]
ObjectionResult = Annotated[
    Objection | InvalidInput | NotPermitted | NotFoundProblem | ConflictProblem,
    strawberry.union("ObjectionResult", description="The objection as filed or decided, or why not."),
]


@strawberry.type
class ObjectionQueries:
    @strawberry.field(
        description="Objections, oldest first: an entity its own, a department those to the records it "
        "produced, the credit office any (its worklist: attention DUE_SOON or OVERDUE).",
        extensions=allow(Role.ENTITY, Role.DEPARTMENT, Role.CREDIT_OFFICE),
    )
    async def objections(
        self,
        info: Info,
        uscc: Annotated[str | None, strawberry.argument(description="Only this entity's.")] = None,
        attention: Annotated[
            ObjectionAttention | None,
            strawberry.argument(description="Only open ones due soon, or overdue (today)."),
        ] = None,
        open_only: Annotated[bool, strawberry.argument(description="Only open ones.")] = False,
        after: Annotated[int | None, strawberry.argument(description="After this objection id.")] = None,
        first: Annotated[int, strawberry.argument(description="How many, 1-500.")] = 100,
    ) -> list[Objection]:
        context = info.context
        rows = await service.listing(
            context.session,
            context.caller,
            uscc=uscc,
            attention=service.Attention(str(attention.value)) if attention else None,
            open_only=open_only,
            after_id=after,
            first=first,
            today=context.today,
        )
        return [Objection.of(context.disclosure, row, context.today) for row in rows]

    @strawberry.field(
        description="One objection: to the entity itself, the record's source department, the credit office.",
        extensions=allow(Role.ENTITY, Role.DEPARTMENT, Role.CREDIT_OFFICE),
    )
    async def objection(
        self,
        info: Info,
        uscc: Annotated[str, strawberry.argument(description="The objecting entity's USCC.")],
        id: Annotated[int, strawberry.argument(description="The objection's id.")],
    ) -> Objection:
        context = info.context
        row = await service.get(context.session, context.caller, uscc, id)
        return Objection.of(context.disclosure, row, context.today)


@strawberry.type
class ObjectionMutations:
    @strawberry.mutation(
        description="Object to one of your records or evaluations (异议申请), with a reason and evidence. The "
        "record is marked disputed (异议中) at once, everywhere it appears; the decision is due within the "
        "working days of the profile in force (seed 001: 7, seed 002: 5).",
        extensions=allow(Role.ENTITY),
    )
    async def file_objection(
        self,
        info: Info,
        source_department: Annotated[
            str, strawberry.argument(description="The record's source department (its USCC).")
        ],
        source_record_id: Annotated[str, strawberry.argument(description="The record's id there.")],
        reason: Annotated[
            str, strawberry.argument(description="Why the record is wrong, 10-2,000 characters.")
        ],
        evidence: Annotated[
            list[EvidenceInput] | None,
            strawberry.argument(description="References to evidence, at most the profile's number (10)."),
        ] = None,
    ) -> ObjectionResult:
        context = info.context
        row = await service.file(
            context.session,
            context.caller,
            source_dept=source_department,
            source_record_id=source_record_id,
            reason=reason,
            evidence=[(e.title, e.reference) for e in (evidence or [])],
            today=context.today,
        )
        return Objection.of(context.disclosure, row, context.today)

    @strawberry.mutation(
        description="Decide an objection (异议处理): the record's source department or the credit office. "
        "Upheld: the record was corrected (push the corrected version first) or is revoked, and the entity "
        "is re-classified; rejected: the reason is shown to the entity; not confirmable: both sides recorded.",
        extensions=allow(Role.DEPARTMENT, Role.CREDIT_OFFICE),
    )
    async def decide_objection(
        self,
        info: Info,
        uscc: Annotated[str, strawberry.argument(description="The objecting entity's USCC.")],
        id: Annotated[int, strawberry.argument(description="The objection's id.")],
        outcome: Annotated[ObjectionOutcome, strawberry.argument(description="The decision.")],
        reason: Annotated[
            str, strawberry.argument(description="Why, 2-2,000 characters (shown to the entity).")
        ],
        action: Annotated[
            ObjectionAction | None, strawberry.argument(description="For UPHELD: corrected or revoked.")
        ] = None,
        department_statement: Annotated[
            str | None,
            strawberry.argument(description="The department's side (required for NOT_CONFIRMABLE)."),
        ] = None,
    ) -> ObjectionResult:
        context = info.context
        row = await service.decide(
            context.session,
            context.caller,
            uscc=uscc,
            objection_id=id,
            outcome=service.Outcome(str(outcome.value)),
            action=service.Action(str(action.value)) if action else None,
            reason=reason,
            department_statement=department_statement,
            today=context.today,
        )
        return Objection.of(context.disclosure, row, context.today)

    @strawberry.mutation(
        description="Amend the rights profile (credit office only): the time-limit profiles of objections and "
        "credit repair, the one in force, the dishonesty record types; in the layout of hub/catalog/rights.yaml, "
        "stored as a new version. Cases filed afterwards are timed with it.",
        extensions=allow(Role.CREDIT_OFFICE),
    )
    async def save_rights_profile(
        self,
        info: Info,
        profile: Annotated[JSON, strawberry.argument(description="The profile document.")],
    ) -> SaveRightsProfileResult:
        context = info.context
        rights, document = await amendments.save_rights_profile(
            context.session, json_object(profile, "profile"), context.caller.label
        )
        limits = rights.in_force
        return RightsProfile(
            version=document.version,
            in_force=limits.code,
            objection_decision_days=limits.objection_decision_days,
            repair_decision_days=limits.repair_decision_days,
            repair_answer_days=limits.repair_answer_days,
            repair_report_days=limits.repair_report_days,
            negative_record_types=sorted(rights.negative_record_types),
        )
