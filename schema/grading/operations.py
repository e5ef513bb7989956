"""Queries and mutations of grading: supervision look-ups, schemes, domains, measures, members."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from hub.auth.caller import Role
from hub.catalog.grading_schemes import Category
from hub.catalog.policy import current_policy
from hub.entities.service import checked_uscc
from hub.grading import admin, service
from schema.context import Info
from schema.errors import (
    ConflictProblem,
    InvalidInput,
    NotFoundProblem,
    NotPermitted,
    json_object,
)
from schema.grading.types import ClassificationChange, CreditCategory, Domain, Scheme, Supervision
from schema.permissions import ALL_ROLES, ORGANISATIONS, allow

SUPERVISION_BATCH = 1000


@strawberry.type(description="The result of (re)classifying entities in a domain.")
class Reclassified:
    domain: str = strawberry.field(description="The domain.")
    population: int = strawberry.field(description="Entities considered.")
    changed: int = strawberry.field(description="Entities whose category or grade changed.")


SchemeResult = Annotated[
    Scheme | InvalidInput | ConflictProblem,
    strawberry.union("SchemeResult", description="The scheme, or why not."),
]
DomainResult = Annotated[
    Domain | InvalidInput | NotFoundProblem | NotPermitted,
    strawberry.union("DomainResult", description="The domain as amended, or why not."),
]
ReclassifiedResult = Annotated[
    Reclassified | InvalidInput | NotFoundProblem | NotPermitted,
    strawberry.union("ReclassifiedResult", description="What changed, or why not."),
]


@strawberry.type
class GradingQueries:
    @strawberry.field(
        description="Classification of an entity in a supervision domain (分级分类结果): category, grade, "
        "scheme, the evaluation it rests on, and the measures that apply.",
        extensions=allow(*ORGANISATIONS),
    )
    async def supervision(
        self,
        info: Info,
        uscc: Annotated[str, strawberry.argument(description="The entity's USCC.")],
        domain: Annotated[str, strawberry.argument(description="Supervision domain code.")],
    ) -> Supervision | None:
        code = checked_uscc(uscc)
        context = info.context
        [found] = await service.supervision(context.session, context.caller, [code], domain, context.today)
        return Supervision.disclosed(context.disclosure, found)

    @strawberry.field(
        description="The same for up to 1,000 codes in one call, for approval systems checking many applicants "
        "(批量查询); answers in the order asked (null where withheld).",
        extensions=allow(*ORGANISATIONS),
    )
    async def supervision_batch(
        self,
        info: Info,
        usccs: Annotated[list[str], strawberry.argument(description="1 to 1,000 USCCs.")],
        domain: Annotated[str, strawberry.argument(description="Supervision domain code.")],
    ) -> list[Supervision | None]:
        service.check_usccs(usccs, SUPERVISION_BATCH)
        codes = [checked_uscc(u, path=f"usccs.{i}") for i, u in enumerate(usccs)]
        context = info.context
        found = await service.supervision(
            context.session, context.caller, codes, domain, context.today, batch=True
        )
        return [Supervision.disclosed(context.disclosure, e) for e in found]

    @strawberry.field(description="Grading schemes in force (评价标准).", extensions=allow(*ALL_ROLES))
    async def grading_schemes(self, info: Info) -> list[Scheme]:
        policy = await current_policy(info.context.session)
        return [Scheme.of(s, policy.scheme_versions[c]) for c, s in sorted(policy.schemes.items())]

    @strawberry.field(
        description="Supervision domains (监管领域) with their departments and measures.",
        extensions=allow(*ALL_ROLES),
    )
    async def supervision_domains(self, info: Info) -> list[Domain]:
        policy = await current_policy(info.context.session)
        return [
            Domain.of(d, policy.domain_versions[c], policy.domain_departments.get(c))
            for c, d in sorted(policy.domains.items())
        ]

    @strawberry.field(
        description="Every change of an entity's classification (分类变更记录), newest first.",
        extensions=allow(Role.CREDIT_OFFICE, Role.DEPARTMENT, Role.PROVINCE, Role.ENTITY),
    )
    async def classification_history(
        self,
        info: Info,
        uscc: Annotated[str, strawberry.argument(description="The entity's USCC.")],
        domain: Annotated[str | None, strawberry.argument(description="Only this domain.")] = None,
    ) -> list[ClassificationChange]:
        code = checked_uscc(uscc)
        rows = await service.history(info.context.session, info.context.caller, code, domain)
        gate = info.context.disclosure
        return [change for r in rows if (change := ClassificationChange.disclosed(gate, r)) is not None]


@strawberry.type
class GradingMutations:
    @strawberry.mutation(
        description="Add or amend a grading scheme (credit office); stored as a new version. Levels in use "
        "cannot be removed.",
        extensions=allow(Role.CREDIT_OFFICE),
    )
    async def save_grading_scheme(
        self,
        info: Info,
        scheme: Annotated[JSON, strawberry.argument(description="The scheme, as `gradingSchemes` shows it.")],
    ) -> SchemeResult:
        saved, version = await admin.save_scheme(
            info.context.session, json_object(scheme, "scheme"), info.context.caller.label
        )
        return Scheme.of(saved, version)

    @strawberry.mutation(
        description="Assign a supervision domain to the department that answers for it (credit office).",
        extensions=allow(Role.CREDIT_OFFICE),
    )
    async def assign_domain(
        self,
        info: Info,
        domain: Annotated[str, strawberry.argument(description="Domain code.")],
        department_code: Annotated[str, strawberry.argument(description="The department's USCC.")],
    ) -> DomainResult:
        await admin.assign_domain(info.context.session, domain, department_code, info.context.caller.label)
        policy = await current_policy(info.context.session)
        return Domain.of(
            policy.domains[domain], policy.domain_versions[domain], policy.domain_departments[domain]
        )

    @strawberry.mutation(
        description="Amend the measures of one category in one of your domains (department); a new version.",
        extensions=allow(Role.DEPARTMENT),
    )
    async def amend_measures(
        self,
        info: Info,
        domain: Annotated[str, strawberry.argument(description="Domain code.")],
        category: Annotated[CreditCategory, strawberry.argument(description="The category.")],
        measures: Annotated[
            JSON, strawberry.argument(description="The measures, as `supervisionDomains` shows them.")
        ],
    ) -> DomainResult:
        context = info.context
        amended, version = await admin.amend_measures(
            context.session,
            context.caller,
            domain,
            Category(str(category.value)),
            json_object(measures, "measures"),
        )
        policy = await current_policy(context.session)
        return Domain.of(amended, version, policy.domain_departments.get(domain))

    @strawberry.mutation(
        description="Register entities as supervised in one of your domains (监管对象) and classify them.",
        extensions=allow(Role.DEPARTMENT),
    )
    async def add_domain_members(
        self,
        info: Info,
        domain: Annotated[str, strawberry.argument(description="Domain code.")],
        usccs: Annotated[list[str], strawberry.argument(description="Up to 10,000 USCCs.")],
    ) -> ReclassifiedResult:
        context = info.context
        result = await admin.add_members(context.session, context.caller, domain, usccs, context.today)
        return Reclassified(domain=result.domain, population=result.population, changed=result.changed)

    @strawberry.mutation(
        description="Re-classify every entity of one of your domains now (e.g. after evaluations expired).",
        extensions=allow(Role.DEPARTMENT, Role.CREDIT_OFFICE),
    )
    async def reclassify_domain(
        self, info: Info, domain: Annotated[str, strawberry.argument(description="Domain code.")]
    ) -> ReclassifiedResult:
        context = info.context
        result = await admin.reclassify_domain(context.session, context.caller, domain, context.today)
        return Reclassified(domain=result.domain, population=result.population, changed=result.changed)
