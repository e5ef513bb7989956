"""Credit repair (信用修复): an entity applies, the authority decides; temporary shielding (暂时屏蔽)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from hub.auth.caller import Role
from hub.repairs import service
from schema.context import Info
from schema.errors import ConflictProblem, InvalidInput, NotFoundProblem, NotPermitted
from schema.objections.types import EvidenceInput
from schema.permissions import allow
from schema.repairs.types import EntityShield, RepairApplication, RepairDecision, RepairIneligible

ApplyResult = Annotated[
    RepairApplication | RepairIneligible | InvalidInput | NotPermitted | NotFoundProblem | ConflictProblem,
    strawberry.union("ApplyForRepairResult", description="The application received, or why not."),
]
RepairResult = Annotated[
    RepairApplication | InvalidInput | NotPermitted | NotFoundProblem | ConflictProblem,
    strawberry.union("RepairResult", description="The application as decided, or why not."),
]
LiftShieldResult = Annotated[
    EntityShield | NotFoundProblem | ConflictProblem | InvalidInput,
    strawberry.union("LiftShieldResult", description="The shield as lifted, or why not."),
]
ShieldResult = Annotated[
    EntityShield | InvalidInput | NotFoundProblem | ConflictProblem,
    strawberry.union("ShieldResult", description="The shield, or why not."),
]


@strawberry.type
class RepairQueries:
    @strawberry.field(
        description="Credit repair applications, oldest first: an entity its own, a department those to "
        "its records, the credit office any (`overdue`: pending past the 3-working-day decision day).",
        extensions=allow(Role.ENTITY, Role.DEPARTMENT, Role.CREDIT_OFFICE),
    )
    async def repair_applications(
        self,
        info: Info,
        uscc: Annotated[str | None, strawberry.argument(description="Only this entity's.")] = None,
        pending_only: Annotated[bool, strawberry.argument(description="Only pending ones.")] = False,
        overdue: Annotated[
            bool, strawberry.argument(description="Only pending ones past their decision day.")
        ] = False,
        after: Annotated[int | None, strawberry.argument(description="After this application id.")] = None,
        first: Annotated[int, strawberry.argument(description="How many, 1-500.")] = 100,
    ) -> list[RepairApplication]:
        context = info.context
        rows = await service.listing(
            context.session,
            context.caller,
            uscc=uscc,
            pending_only=pending_only,
            overdue=overdue,
            after_id=after,
            first=first,
            today=context.today,
        )
        return [RepairApplication.of(context.disclosure, row) for row in rows]


@strawberry.type
class RepairMutations:
    @strawberry.mutation(
        description="Apply for the credit repair (信用修复) of one of your dishonesty records: once its minimum "
        "publicity period has passed, with proof that the obligations were performed and a signed repair "
        "commitment. Too early: RepairIneligible with the date from which to apply.",
        extensions=allow(Role.ENTITY),
    )
    async def apply_for_repair(
        self,
        info: Info,
        source_department: Annotated[str, strawberry.argument(description="The record's source department.")],
        source_record_id: Annotated[str, strawberry.argument(description="The record's id there.")],
        obligations_evidence: Annotated[
            list[EvidenceInput],
            strawberry.argument(description="Proof the obligations were performed, 1-10."),
        ],
        commitment: Annotated[
            str,
            strawberry.argument(
                description="The repair commitment signed (信用修复承诺书), 10-2,000 characters."
            ),
        ],
    ) -> ApplyResult:
        context = info.context
        result = await service.apply(
            context.session,
            context.caller,
            source_dept=source_department,
            source_record_id=source_record_id,
            obligations_evidence=[(e.title, e.reference) for e in obligations_evidence],
            commitment=commitment,
            today=context.today,
        )
        if isinstance(result, service.Ineligible):
            return RepairIneligible.of(result)
        return RepairApplication.of(context.disclosure, result)

    @strawberry.mutation(
        description="Decide a repair application: the record's source department or the credit office. "
        "Approved: the record is marked repaired (已修复) in the same transaction, no longer published, shared "
        "or used in evaluation; the entity is re-classified; a withdrawal (record.repaired) goes to the province.",
        extensions=allow(Role.DEPARTMENT, Role.CREDIT_OFFICE),
    )
    async def decide_repair(
        self,
        info: Info,
        uscc: Annotated[str, strawberry.argument(description="The applicant's USCC.")],
        id: Annotated[int, strawberry.argument(description="The application's id.")],
        decision: Annotated[RepairDecision, strawberry.argument(description="Approved or rejected.")],
        reason: Annotated[
            str, strawberry.argument(description="Why, 2-2,000 characters (shown to the applicant).")
        ],
    ) -> RepairResult:
        context = info.context
        row = await service.decide(
            context.session,
            context.caller,
            uscc=uscc,
            application_id=id,
            decision=service.Decision(str(decision.value)),
            reason=reason,
            today=context.today,
        )
        return RepairApplication.of(context.disclosure, row)

    @strawberry.mutation(
        description="Temporarily shield (暂时屏蔽) the dishonesty records of a firm in bankruptcy restructuring "
        "(State Council 2025 No. 22), until an end date at most three years ahead: credit office only.",
        extensions=allow(Role.CREDIT_OFFICE),
    )
    async def shield_entity(
        self,
        info: Info,
        uscc: Annotated[str, strawberry.argument(description="The firm's USCC.")],
        reason: Annotated[
            str, strawberry.argument(description="Why, 2-500 characters (e.g. the court's ruling).")
        ],
        until: Annotated[dt.date, strawberry.argument(description="The last day of the shield.")],
    ) -> ShieldResult:
        context = info.context
        row = await service.shield(
            context.session, context.caller, uscc=uscc, reason=reason, until=until, today=context.today
        )
        return EntityShield.of(context.disclosure, row)

    @strawberry.mutation(
        description="Lift a temporary shield before its end date (credit office only): the firm's dishonesty "
        "records are published again; announced as entity.shield_lifted.",
        extensions=allow(Role.CREDIT_OFFICE),
    )
    async def lift_shield(
        self,
        info: Info,
        uscc: Annotated[str, strawberry.argument(description="The firm's USCC.")],
        id: Annotated[int, strawberry.argument(description="The shield's id.")],
    ) -> LiftShieldResult:
        context = info.context
        row = await service.lift_shield(
            context.session, context.caller, uscc=uscc, shield_id=id, today=context.today
        )
        return EntityShield.of(context.disclosure, row)
