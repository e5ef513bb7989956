"""Queries and mutations of double-random inspections: pools, conflicts, plans."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import strawberry

from hub.auth.caller import Role
from hub.inspections import pool, service
from schema.context import Info
from schema.errors import (
    ConflictProblem,
    InvalidInput,
    NotFoundProblem,
    NotPermitted,
)
from schema.inspections.types import (
    ALGORITHM_DESCRIPTION,
    CategoryRatio,
    DeclaredConflict,
    InspectionPlan,
    Inspector,
    InspectorInput,
    InspectorPool,
)
from schema.permissions import ALL_ROLES, allow

AddInspectorsResult = Annotated[
    InspectorPool | InvalidInput | NotPermitted,
    strawberry.union("AddInspectorsResult", description="The pool after the change, or why nothing changed."),
]
DeclareConflictResult = Annotated[
    DeclaredConflict | InvalidInput | NotFoundProblem | NotPermitted,
    strawberry.union("DeclareConflictResult", description="The declared conflict, or why it was refused."),
]
CommitPlanResult = Annotated[
    InspectionPlan | InvalidInput | NotFoundProblem | NotPermitted,
    strawberry.union("CommitPlanResult", description="The committed plan, or why nothing was committed."),
]
DrawPlanResult = Annotated[
    InspectionPlan | InvalidInput | NotFoundProblem | NotPermitted | ConflictProblem,
    strawberry.union("DrawPlanResult", description="The drawn plan, or why nothing was drawn."),
]
InspectionPlanResult = Annotated[
    InspectionPlan | NotFoundProblem,
    strawberry.union("InspectionPlanResult", description="The plan, or that there is none with this id."),
]


@strawberry.type
class InspectionMutations:
    @strawberry.mutation(
        description="Register or update inspectors in your department's pool (执法检查人员名录库); an existing id "
        "is updated (name, active). Returns the whole pool.",
        extensions=allow(Role.DEPARTMENT),
    )
    async def add_inspectors(
        self,
        info: Info,
        inspectors: Annotated[
            list[InspectorInput], strawberry.argument(description="1 to 1,000 inspectors.")
        ],
    ) -> AddInspectorsResult:
        items = [pool.InspectorInput(i.id, i.name, i.active) for i in inspectors]
        rows = await pool.add_inspectors(info.context.session, info.context.caller, items)
        return InspectorPool(inspectors=[Inspector.of(info.context.disclosure, r) for r in rows])

    @strawberry.mutation(
        description="Declare that an inspector of your pool must never inspect an entity (回避). Applies to plans "
        "committed afterwards; the reason is never published, the pair is (so anyone can verify the draw).",
        extensions=allow(Role.DEPARTMENT),
    )
    async def declare_conflict(
        self,
        info: Info,
        inspector_id: Annotated[str, strawberry.argument(description="The inspector's id in your pool.")],
        uscc: Annotated[str, strawberry.argument(description="The entity's USCC (统一社会信用代码).")],
        reason: Annotated[str, strawberry.argument(description="Why (回避事由), 1-200 characters.")],
    ) -> DeclareConflictResult:
        who, code, why = await pool.declare_conflict(
            info.context.session, info.context.caller, inspector_id, uscc, reason
        )
        context = info.context
        return DeclaredConflict.of(context.disclosure, context.caller.organisation_code, who, code, why)

    @strawberry.mutation(
        description="Commit a double-random plan (双随机抽查) for one of your domains: freezes the candidates (the "
        "domain's entities with their category, re-classified now) and your active inspectors with their "
        "conflicts, draws a secret 32-byte seed and publishes only its SHA-256 commitment and the hashes. "
        "Ratios: per category, the one you give must lie within the domain's measures (sampling_ratio_min to "
        "sampling_ratio_max, no maximum meaning 1; 0 allowed where low-risk entities may be left out); a "
        "category you omit uses the domain's minimum; always-inspected categories (严重失信) use 1 and take "
        f"no other. Algorithm: {ALGORITHM_DESCRIPTION}",
        extensions=allow(Role.DEPARTMENT),
    )
    async def commit_inspection_plan(
        self,
        info: Info,
        domain: Annotated[str, strawberry.argument(description="Supervision domain code (监管领域).")],
        period: Annotated[str, strawberry.argument(description="Period (抽查期间), 1-20 characters.")],
        title: Annotated[str, strawberry.argument(description="Title (任务名称), 1-200 characters.")],
        ratios: Annotated[
            list[CategoryRatio] | None,
            strawberry.argument(
                description="Sampling ratio (抽查比例) per category; omitted: the domain's minimum."
            ),
        ] = None,
    ) -> CommitPlanResult:
        context = info.context
        request = service.PlanRequest(
            domain=domain,
            period=period,
            title=title,
            ratios=[(str(r.category.value), Decimal(repr(r.ratio))) for r in ratios or []],
        )
        row = await service.commit_plan(context.session, context.caller, context.keys, request)
        return InspectionPlan(row=row)

    @strawberry.mutation(
        description="Draw a committed plan of your department (抽取), once: selects the entities and assigns two "
        "inspectors to each, then reveals the seed. Refused, with nothing written, when a drawn entity has "
        f"fewer than two inspectors without a conflict. Algorithm: {ALGORITHM_DESCRIPTION}",
        extensions=allow(Role.DEPARTMENT),
    )
    async def draw_inspection_plan(
        self, info: Info, plan_id: Annotated[strawberry.ID, strawberry.argument(description="The plan's id.")]
    ) -> DrawPlanResult:
        context = info.context
        row = await service.draw_plan(context.session, context.caller, context.keys, str(plan_id))
        return InspectionPlan(row=row)


@strawberry.type
class InspectionQueries:
    @strawberry.field(
        description="A double-random plan (双随机、一公开), readable by everyone: before the draw its commitment, "
        "hashes and counts; after it the seed and the desensitised publication.",
        extensions=allow(*ALL_ROLES),
    )
    async def inspection_plan(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The plan's id.")]
    ) -> InspectionPlanResult:
        row = await service.plan_for(info.context.session, str(id))
        return InspectionPlan(row=row)
