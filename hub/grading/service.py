"""Classification of entities per supervision domain, and the measures that follow from it.

The computation lives in one place (`reclassify`, backed by grading/repository.py), callable for a
few entities or a whole domain; evaluation pushes, model runs and (later) objections and credit
repair all go through it, so every change of category is recorded with its cause.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.caller import Caller, Role
from hub.catalog.grading_schemes import Category
from hub.catalog.policy import Policy, current_policy
from hub.catalog.supervision_domains import Measures, SupervisionDomain
from hub.errors import Forbidden, Invalid, NotFound
from hub.grading import repository as repo
from hub.sync.events import ClassificationChanged
from hub.sync.outbox import emit


@dataclass(frozen=True, slots=True)
class Effective:
    """An entity's classification in a domain and what it rests on."""

    uscc: str
    domain: str
    category: Category
    grade: str | None
    scheme: str | None
    scheme_version: int | None
    basis: str
    source_dept: str | None
    source_record_id: str | None
    evaluated_on: dt.date | None
    valid_until: dt.date | None
    measures: Measures
    # The evaluation it rests on is under objection (异议中).
    basis_disputed: bool = False


@dataclass(frozen=True, slots=True)
class ReclassifyResult:
    domain: str
    population: int
    changed: int
    first_change_id: int | None
    last_change_id: int | None


def level_categories(policy: Policy) -> dict[str, dict[str, str]]:
    """{scheme: {level: category}} for SQL: which category a grade of each scheme means."""
    return {
        code: {level.code: level.category.value for level in scheme.levels}
        for code, scheme in policy.schemes.items()
    }


def domain_of(policy: Policy, code: str, path: str = "domain") -> SupervisionDomain:
    domain = policy.domains.get(code)
    if domain is None:
        raise NotFound(f"no supervision domain {code!r}", code="UNKNOWN_DOMAIN", path=path)
    return domain


def check_may_read(
    caller: Caller, usccs: Sequence[str], path: str = "uscc", *, indexed: bool = False
) -> None:
    """An entity reads its own classification only; the organisations that supervise, lend, evaluate
    or run the platform read any entity's (seed 001 §三(一)2, seed 002 §二(四))."""
    if caller.role not in (Role.ENTITY, Role.PUBLIC):
        return
    for index, uscc in enumerate(usccs):
        if uscc != caller.organisation_code:
            where = f"{path}.{index}" if indexed else path
            raise Forbidden("an entity sees its own classification only", path=where)


async def supervision(
    session: AsyncSession,
    caller: Caller,
    usccs: Sequence[str],
    domain_code: str,
    today: dt.date,
    *,
    batch: bool = False,
) -> list[Effective]:
    """The classification and measures of each entity in the domain, as of today, in the order asked."""
    check_may_read(caller, usccs, "usccs" if batch else "uscc", indexed=batch)
    policy = await current_policy(session)
    domain = domain_of(policy, domain_code)
    rows = await repo.effective_for(
        session,
        domain.code,
        usccs,
        default_category=domain.default_category.value,
        levels=level_categories(policy),
        today=today,
    )
    found = {row["uscc"]: _effective(domain, row) for row in rows}
    return [found[u] for u in usccs]


def _effective(domain: SupervisionDomain, row: dict[str, Any]) -> Effective:
    category = Category(row["category"])
    return Effective(
        uscc=row["uscc"],
        domain=domain.code,
        category=category,
        grade=row["grade"],
        scheme=row["scheme"],
        scheme_version=row["scheme_version"],
        basis=row["basis"],
        source_dept=row["source_dept"],
        source_record_id=row["source_record_id"],
        evaluated_on=row["evaluated_on"],
        valid_until=row["valid_until"],
        measures=domain.measures[category],
        basis_disputed=bool(row.get("basis_disputed", False)),
    )


async def reclassify(
    session: AsyncSession,
    domain_code: str,
    usccs: Sequence[str] | None,
    *,
    cause: str,
    today: dt.date,
) -> ReclassifyResult:
    """Recompute and store the classification of `usccs` (or the whole domain when None).

    Each change is kept with its cause; one outbox event per run tells the provincial platform,
    and subscribers are notified when the transaction commits.
    """
    policy = await current_policy(session)
    domain = domain_of(policy, domain_code)
    population, changed, first, last = await repo.store(
        session,
        domain.code,
        usccs,
        default_category=domain.default_category.value,
        levels=level_categories(policy),
        today=today,
        cause=cause,
    )
    if changed and first is not None and last is not None:
        one = usccs[0] if usccs and len(usccs) == 1 else None
        await emit(
            session,
            [ClassificationChanged(domain=domain.code, first_change_id=first, last_change_id=last, uscc=one)],
        )
        await repo.notify(session, domain.code, first, last)
    return ReclassifyResult(domain.code, population, changed, first, last)


async def reclassify_after_evaluations(
    session: AsyncSession, evaluations: Iterable[tuple[str, str, str | None]], today: dt.date, cause: str
) -> list[ReclassifyResult]:
    """Re-classify where new evaluations land: (record_type, uscc, domain or None) of each stored one.

    An industry evaluation concerns its own domain; a public comprehensive evaluation concerns
    every domain the entity is supervised or classified in.
    """
    by_domain: dict[str, set[str]] = defaultdict(set)
    public: set[str] = set()
    for record_type, uscc, domain in evaluations:
        if record_type == "industry_evaluation" and domain:
            by_domain[domain].add(uscc)
        elif record_type == "public_evaluation":
            public.add(uscc)
    if public:
        for uscc, domain in await repo.domains_of(session, sorted(public)):
            by_domain[domain].add(uscc)
    policy = await current_policy(session)
    results = []
    for domain, usccs in sorted(by_domain.items()):
        if domain in policy.domains:
            results.append(await reclassify(session, domain, sorted(usccs), cause=cause, today=today))
    return results


async def reclassify_entity(
    session: AsyncSession, uscc: str, *, cause: str, today: dt.date
) -> list[ReclassifyResult]:
    """Re-classify one entity in every domain it is a member of or classified in (an objection upheld,
    a credit repair approved): its measures (restrictions included) follow the new category."""
    policy = await current_policy(session)
    results = []
    for _, domain in sorted(await repo.domains_of(session, [uscc])):
        if domain in policy.domains:
            results.append(await reclassify(session, domain, [uscc], cause=cause, today=today))
    return results


async def history(session: AsyncSession, caller: Caller, uscc: str, domain: str | None) -> list[Any]:
    """Every change of the entity's classification, newest first (an entity asks for its own only)."""
    check_may_read(caller, [uscc])
    return await repo.history(session, uscc, domain)


async def changes_since(
    session: AsyncSession, domains: Sequence[str], after_id: int, limit: int = 500
) -> list[Any]:
    return await repo.changes_since(session, domains, after_id, limit)


def check_usccs(usccs: Sequence[str], limit: int) -> None:
    if not usccs:
        raise Invalid("give at least one code", code="EMPTY", path="usccs")
    if len(usccs) > limit:
        raise Invalid(f"at most {limit} codes per call, got {len(usccs)}", code="TOO_MANY", path="usccs")
