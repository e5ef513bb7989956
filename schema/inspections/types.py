"""GraphQL types of double-random inspections (双随机、一公开)."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import cast

import orjson
import strawberry
from strawberry.scalars import JSON

from hub.disclosure.gate import Disclosure
from hub.disclosure.policy import Item, Subject
from hub.gc_pause import collector_paused
from hub.inspections import service
from hub.inspections.draw import CATEGORIES
from hub.models import InspectionPlan as PlanRow
from hub.models import Inspector as InspectorRow
from schema.context import Info
from schema.grading.types import CreditCategory

ALGORITHM_DESCRIPTION = (
    "chub-draw-v1 (hub/inspections/ALGORITHM.md), deterministic from the seed S, the frozen lists and "
    "the ratios. U(label, m) is an exactly uniform integer in [0, m): the big-endian value x of "
    'HMAC-SHA256(S, label + "|" + counter), counter = 0, 1, …, accepted when x < 2^256 − (2^256 mod m), '
    "then x mod m. Per category, L = its candidates sorted by USCC, n = |L|, k = ceil(ratio × n) in exact "
    'decimal arithmetic; for i = 0…k−1 swap L[i] with L[i + U("entity|<category>|<i>", n − i)] (partial '
    "Fisher–Yates); L[0…k−1] are drawn (k = n: all, no randomness). Drawn entities are then taken in USCC "
    "order; each gets two picks p = 1, 2: among the inspectors with no declared conflict with it and not "
    "yet picked for it, those with the fewest assignments so far, sorted by id, form G; the pick is "
    'G[U("inspector|<USCC>|<p>", |G|)].'
)


@strawberry.enum(description="Where a plan stands: committed (seed hidden) or drawn (seed revealed).")
class PlanStatus(Enum):
    COMMITTED = strawberry.enum_value(
        "committed", description="Lists frozen and seed committed (已承诺); not drawn yet."
    )
    DRAWN = strawberry.enum_value("drawn", description="Drawn (已抽取); the seed and assignments are public.")


@strawberry.type(description="An inspector of a department's pool (执法检查人员).")
class Inspector:
    id: str = strawberry.field(description="The department's id of the inspector (执法证号 or staff number).")
    name: str | None = strawberry.field(
        description="Name (姓名), masked or null as the disclosure policy says (`extensions.disclosure`)."
    )
    active: bool = strawberry.field(description="Whether the inspector takes part in draws (在岗).")

    @classmethod
    def of(cls, gate: Disclosure, row: InspectorRow) -> Inspector:
        name = gate.text(Item.INSPECTOR, "name", row.name, Subject(owner=row.department_code))
        return cls(id=row.inspector_id, name=name, active=row.active)


@strawberry.type(description="The calling department's inspector pool (执法检查人员名录库).")
class InspectorPool:
    inspectors: list[Inspector] = strawberry.field(description="Every inspector of the pool, by id.")


@strawberry.type(
    description="A declared conflict of interest (回避): the inspector never inspects the entity."
)
class DeclaredConflict:
    inspector_id: str = strawberry.field(description="The inspector's id.")
    uscc: str | None = strawberry.field(
        description="The entity's USCC (统一社会信用代码); null when withheld."
    )
    reason: str | None = strawberry.field(description="Why (回避事由); never published; null when withheld.")

    @classmethod
    def of(
        cls, gate: Disclosure, department: str | None, inspector_id: str, uscc: str, reason: str
    ) -> DeclaredConflict:
        subject = Subject(uscc=uscc, owner=department)
        return cls(
            inspector_id=inspector_id,
            uscc=gate.text(Item.CONFLICT, "uscc", uscc, subject),
            reason=gate.text(Item.CONFLICT, "reason", reason, subject),
        )


@strawberry.input(description="An inspector to register or update in your pool.")
class InspectorInput:
    id: str = strawberry.field(description="Id: 1-40 letters, digits, '.', '_' or '-' (e.g. 执法证号).")
    name: str = strawberry.field(
        description="Name (姓名), 1-100 characters; the public sees only its first character."
    )
    active: bool = strawberry.field(
        default=True, description="False takes the inspector out of future draws."
    )


@strawberry.input(description="The sampling ratio (抽查比例) chosen for one category of a plan.")
class CategoryRatio:
    category: CreditCategory = strawberry.field(description="The category (信用分类).")
    ratio: float = strawberry.field(
        description="Fraction 0-1 with at most 6 decimal places, within the domain's bounds for the category."
    )


@strawberry.type(description="One category of a plan: how many candidates, the ratio, how many drawn.")
class CategorySampling:
    category: CreditCategory = strawberry.field(description="The category (信用分类).")
    candidates: int = strawberry.field(description="Candidates of this category in the frozen list.")
    ratio: str = strawberry.field(description="Sampling ratio (抽查比例) as an exact decimal, e.g. 0.05.")
    drawn: int | None = strawberry.field(description="Entities drawn (抽取数); null before the draw.")


@strawberry.type(
    description="A double-random inspection plan (双随机抽查计划). Before the draw anyone sees the seed "
    "commitment, both hashes and the counts; after it, the seed and the publication that lets anyone "
    "re-run the draw (`credit-hub plan verify`)."
)
class InspectionPlan:
    row: strawberry.Private[PlanRow]

    @strawberry.field(description="Plan id; inspection results name it as RWBH (抽查任务编号).")
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field(description="Supervision domain code (监管领域).")
    def domain(self) -> str:
        return self.row.domain

    @strawberry.field(description="USCC of the department that drew it (抽查部门).")
    def department_code(self) -> str:
        return self.row.department_code

    @strawberry.field(description="Period the plan covers (抽查期间), e.g. 2026-Q4.")
    def period(self) -> str:
        return self.row.period

    @strawberry.field(description="Title (任务名称).")
    def title(self) -> str:
        return self.row.title

    @strawberry.field(description="committed or drawn.")
    def status(self) -> PlanStatus:
        return PlanStatus(self.row.status)

    @strawberry.field(description=f"Algorithm id: {ALGORITHM_DESCRIPTION}")
    def algorithm(self) -> str:
        return self.row.algorithm

    @strawberry.field(
        description="SHA-256 of the 32 seed bytes, hex (随机种子承诺值), published at commitment."
    )
    def seed_commitment(self) -> str:
        return self.row.seed_commitment

    @strawberry.field(
        description='SHA-256 (hex) of the frozen candidate list (抽查对象名录): lines "USCC,category\\n" '
        "sorted by USCC, UTF-8."
    )
    def candidates_hash(self) -> str:
        return self.row.candidates_hash

    @strawberry.field(
        description='SHA-256 (hex) of the frozen inspector pool (执法检查人员名录): lines "id,USCC;USCC…\\n" '
        "sorted by id, listing each inspector's declared conflicts among the candidates sorted (names excluded)."
    )
    def inspectors_hash(self) -> str:
        return self.row.inspectors_hash

    @strawberry.field(description="Entities in the frozen candidate list.")
    def candidate_count(self) -> int:
        return self.row.candidate_count

    @strawberry.field(description="Active inspectors in the frozen pool.")
    def inspector_count(self) -> int:
        return int(self.row.parameters["inspector_count"])

    @strawberry.field(description="Per category: candidates, ratio and (after the draw) how many were drawn.")
    def categories(self) -> list[CategorySampling]:
        parameters = self.row.parameters
        drawn = parameters.get("drawn")
        return [
            CategorySampling(
                category=CreditCategory(c),
                candidates=int(parameters["counts"].get(c, 0)),
                ratio=str(parameters["ratios"][c]),
                drawn=None if drawn is None else int(drawn.get(c, 0)),
            )
            for c in CATEGORIES
        ]

    @strawberry.field(description="When the plan was committed.")
    def committed_at(self) -> dt.datetime:
        return self.row.created_at

    @strawberry.field(description="When it was drawn; null before.")
    def drawn_at(self) -> dt.datetime | None:
        return self.row.drawn_at

    @strawberry.field(description="The seed (随机种子), 64 hex digits; null until the draw reveals it.")
    def seed(self) -> str | None:
        return self.row.seed if self.row.status == service.DRAWN else None

    @strawberry.field(
        description="The published plan (一公开) as JSON, format chub-plan-publication-v1: seed, commitment, "
        "hashes, ratios, candidates [[USCC, category]…], inspectors [{id, name, conflicts}] and assignments "
        "[{uscc, name, category, inspectors: [a, b]}]. Inspector names are masked (张*) except for the "
        "planning department and the credit office. Null before the draw. Save it (or download "
        "/plans/<id>/publication.json) and run `credit-hub plan verify <file>` to check it."
    )
    async def publication(self, info: Info) -> JSON | None:
        context = info.context
        keep = None if context.sessions is None else service.keeper(context.sessions)
        document = await service.publication_document(context.session, context.disclosure, self.row, keep)
        if document is None:
            return None
        with collector_paused():  # a million small lists: see hub/gc_pause.py
            return cast(JSON, orjson.loads(document))
