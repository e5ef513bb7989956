"""Managing grading policy: schemes (credit office), domain ownership, measures and members (departments).

Every change is a new version of a catalogue document, so an evaluation or a decision can name
the version it used.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.caller import Caller, Role
from hub.catalog.grading_schemes import Category, GradingScheme, SchemeError
from hub.catalog.policy import (
    KIND_DOMAIN,
    KIND_DOMAIN_DEPARTMENT,
    KIND_SCHEME,
    current_policy,
    store_document,
)
from hub.catalog.supervision_domains import DomainError, Measures, SupervisionDomain
from hub.entities.codes import normalise, uscc_problem
from hub.errors import Forbidden, Invalid
from hub.grading import repository as repo
from hub.grading.service import ReclassifyResult, domain_of, reclassify
from hub.models import CatalogDocument

MAX_MEMBERS = 10_000


async def save_scheme(session: AsyncSession, body: Mapping[str, Any], by: str) -> tuple[GradingScheme, int]:
    """Add a scheme or amend one (a new version); the credit office does this."""
    try:
        scheme = GradingScheme.from_mapping(body)
    except (SchemeError, KeyError, TypeError) as exc:
        raise Invalid(f"scheme: {exc}", code="SCHEME_INVALID", path="scheme") from exc
    policy = await current_policy(session)
    old = policy.schemes.get(scheme.code)
    if old is not None:
        # Domains and stored evaluations name these levels: a new version may add levels, not drop them.
        dropped = sorted(set(old.codes) - set(scheme.codes))
        if dropped:
            raise Invalid(
                f"levels {', '.join(dropped)} of {scheme.code} are in use; add a new scheme instead",
                code="LEVEL_REMOVED",
                path="scheme.levels",
            )
    document = await store_document(session, KIND_SCHEME, scheme.code, scheme.to_mapping(), by)
    return scheme, document.version


async def assign_domain(
    session: AsyncSession, domain_code: str, department_code: str, by: str
) -> CatalogDocument:
    """Name the department that answers for a domain (the credit office does this)."""
    policy = await current_policy(session)
    domain_of(policy, domain_code)
    code = normalise(department_code)
    problem = uscc_problem(code)
    if problem is not None:
        raise Invalid(problem.message, code=problem.code, path="departmentCode")
    return await store_document(session, KIND_DOMAIN_DEPARTMENT, domain_code, {"department_code": code}, by)


async def own_domain(session: AsyncSession, caller: Caller, domain_code: str) -> SupervisionDomain:
    """The domain, if the caller is the department it is assigned to: its measures, members, models
    and grading are that department's work (seed 001 §三(一)3, §三(三)), not the credit office's."""
    policy = await current_policy(session)
    domain = domain_of(policy, domain_code)
    if (
        caller.role is not Role.DEPARTMENT
        or policy.domain_departments.get(domain.code) != caller.organisation_code
    ):
        raise Forbidden(f"{domain.code} is not one of your domains", code="NOT_YOUR_DOMAIN", path="domain")
    return domain


async def amend_measures(
    session: AsyncSession, caller: Caller, domain_code: str, category: Category, body: Mapping[str, Any]
) -> tuple[SupervisionDomain, int]:
    """A department amends the measures of one category in its own domain (a new domain version)."""
    domain = await own_domain(session, caller, domain_code)
    try:
        measures = Measures.from_mapping(body)
    except (DomainError, KeyError, TypeError, ValueError) as exc:
        raise Invalid(f"measures: {exc}", code="MEASURES_INVALID", path="measures") from exc
    policy = await current_policy(session)
    mapping = domain.to_mapping()
    mapping["measures"][category.value] = measures.to_mapping()
    try:
        amended = SupervisionDomain.from_mapping(mapping, policy.schemes)
    except DomainError as exc:
        raise Invalid(f"measures: {exc}", code="MEASURES_INVALID", path="measures") from exc
    document = await store_document(session, KIND_DOMAIN, domain.code, amended.to_mapping(), caller.label)
    return amended, document.version


async def add_members(
    session: AsyncSession, caller: Caller, domain_code: str, usccs: Sequence[str], today: dt.date
) -> ReclassifyResult:
    """Register entities as supervised in the department's domain, and classify them."""
    domain = await own_domain(session, caller, domain_code)
    if not usccs or len(usccs) > MAX_MEMBERS:
        raise Invalid(f"give 1 to {MAX_MEMBERS} codes", code="OUT_OF_RANGE", path="usccs")
    codes = []
    for index, raw in enumerate(usccs):
        code = normalise(raw)
        problem = uscc_problem(code)
        if problem is not None:
            raise Invalid(problem.message, code=problem.code, path=f"usccs.{index}")
        codes.append(code)
    await repo.add_members(session, domain.code, sorted(set(codes)), caller.organisation_code or "")
    return await reclassify(
        session, domain.code, sorted(set(codes)), cause="registered in the domain", today=today
    )


async def reclassify_domain(
    session: AsyncSession, caller: Caller, domain_code: str, today: dt.date
) -> ReclassifyResult:
    # The credit office runs the same re-classification for every domain daily (`credit-hub
    # reclassify`); it applies stored evaluations and decides nothing, so it may ask for it any time.
    if caller.role is Role.CREDIT_OFFICE:
        domain = domain_of(await current_policy(session), domain_code)
    else:
        domain = await own_domain(session, caller, domain_code)
    return await reclassify(
        session, domain.code, None, cause=f"domain re-classified by {caller.label}", today=today
    )
