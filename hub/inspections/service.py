"""Double-random inspection plans (双随机、一公开): commit, draw, and what each caller may see.

Commit freezes the candidates (the domain's entities with their category) and the inspector
pool with its conflicts, draws a secret 32-byte seed and publishes only its SHA-256 commitment
and the hashes of both lists. Draw runs chub-draw-v1 (hub/inspections/draw.py) on the frozen
lists, stores the assignments and reveals the seed, so anyone can re-run it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import secrets
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.auth.caller import Caller
from hub.catalog.grading_schemes import CATEGORIES
from hub.catalog.policy import current_policy
from hub.crypto import seal, unseal
from hub.db import unit_of_work
from hub.disclosure.gate import Disclosure
from hub.disclosure.policy import Item, Subject
from hub.errors import Conflict, Forbidden, Invalid, NotFound
from hub.gc_pause import collector_paused
from hub.grading import service as grading
from hub.inspections import draw, ratios
from hub.inspections import repository as repo
from hub.inspections.pool import department_of
from hub.inspections.publication import to_json_bytes
from hub.models import InspectionPlan
from hub.ports import KeyProvider

log = logging.getLogger(__name__)

COMMITTED = "committed"
SEED_PURPOSE = "inspection-plan-seed"
DRAWN = "drawn"


@dataclass(frozen=True, slots=True)
class PlanRequest:
    domain: str
    period: str
    title: str
    ratios: Sequence[tuple[str, Decimal]] = ()


def _text(value: str, path: str, limit: int) -> str:
    stripped = value.strip()
    if not stripped or len(stripped) > limit:
        raise Invalid(f"{path} has 1-{limit} characters", code="LENGTH", path=path)
    return stripped


def _pool(
    plan_inspectors: Sequence[tuple[str, str]], conflicts: Sequence[tuple[str, str]]
) -> list[draw.PoolInspector]:
    """The pool as the draw takes it: each inspector with the USCCs of its (inspector, USCC) conflicts."""
    declared: dict[str, list[str]] = {}
    for inspector_id, uscc in conflicts:
        declared.setdefault(inspector_id, []).append(uscc)
    return [draw.PoolInspector(i, name, tuple(declared.get(i, ()))) for i, name in plan_inspectors]


async def commit_plan(
    session: AsyncSession, caller: Caller, keys: KeyProvider, request: PlanRequest
) -> InspectionPlan:
    """Freeze the lists and commit to a secret seed; nothing of the seed leaves the hub until the draw."""
    department = department_of(caller)
    period = _text(request.period, "period", 20)
    title = _text(request.title, "title", 200)
    policy = await current_policy(session)
    domain = grading.domain_of(policy, request.domain)
    if policy.domain_departments.get(domain.code) != department:
        raise Forbidden(
            f"domain {domain.code} is run by another department", code="NOT_YOUR_DOMAIN", path="domain"
        )
    chosen = ratios.choose(domain, request.ratios)
    pool = [(i.inspector_id, i.name) for i in await repo.inspectors_of(session, department) if i.active]
    if len(pool) < 2:
        raise Invalid(
            f"the pool has {len(pool)} active inspector(s); a draw needs at least two",
            code="POOL_TOO_SMALL",
            path="domain",
        )
    members = {i for i, _ in pool}
    frozen_conflicts = [
        (inspector_id, uscc)
        for inspector_id, uscc in await repo.candidate_conflicts(session, department, domain.code)
        if inspector_id in members
    ]
    seed = secrets.token_bytes(draw.SEED_BYTES)
    plan_id = uuid.uuid4()
    plan = InspectionPlan(
        id=plan_id,
        domain=domain.code,
        department_code=department,
        period=period,
        title=title,
        status=COMMITTED,
        algorithm=draw.ALGORITHM,
        seed_commitment=draw.seed_commitment(seed),
        candidates_hash="",  # set once the list is frozen, below
        inspectors_hash=draw.inspectors_hash(_pool(pool, frozen_conflicts)),
        candidate_count=0,
        parameters={
            "ratios": ratios.published(chosen),
            "inspector_count": len(pool),
            "domain_version": policy.domain_versions.get(domain.code),
        },
        seed=None,
        sealed_seed=seal(keys, SEED_PURPOSE, seed, plan_id.bytes),
        created_by=department,
    )
    await repo.add_plan(session, plan)
    # The candidates are the domain's entities with their stored category: evaluation pushes and
    # member registration keep it current at once, expiries the daily `credit-hub reclassify`.
    # They are frozen and hashed inside PostgreSQL, so a million never travel through Python here.
    plan.candidates_hash, counts = await repo.freeze_candidates(
        session, plan.id, domain.code, [c.value for c in CATEGORIES]
    )
    plan.candidate_count = sum(counts.values())
    if plan.candidate_count == 0:  # the caller's savepoint takes back the plan row written above
        raise Invalid(
            f"domain {domain.code} has no entities to draw from", code="NO_CANDIDATES", path="domain"
        )
    plan.parameters = {**plan.parameters, "counts": counts}
    await repo.add_plan_inspectors(session, plan.id, pool)
    await repo.add_plan_conflicts(session, plan.id, frozen_conflicts)
    await session.flush()
    return plan


async def _plan(session: AsyncSession, plan_id: str, *, lock: bool = False) -> InspectionPlan:
    try:
        key = uuid.UUID(plan_id)
    except ValueError:
        raise NotFound(f"no inspection plan {plan_id!r}", code="UNKNOWN_PLAN", path="planId") from None
    plan = await repo.plan(session, key, lock=lock)
    if plan is None:
        raise NotFound(f"no inspection plan {plan_id!r}", code="UNKNOWN_PLAN", path="planId")
    return plan


def _run_draw(
    seed: bytes, canonical: str, chosen: dict[str, Decimal], inspectors: list[draw.PoolInspector]
) -> list[draw.Assignment]:
    wanted = [c.value for c in CATEGORIES if chosen.get(c.value, Decimal(0)) > 0]
    with collector_paused():
        return draw.compute(seed, draw.candidates_of(canonical, wanted), chosen, inspectors)


async def draw_plan(session: AsyncSession, caller: Caller, keys: KeyProvider, plan_id: str) -> InspectionPlan:
    """Run the draw on the frozen lists, store it and reveal the seed; refused before any write."""
    department = department_of(caller)
    plan = await _plan(session, plan_id, lock=True)
    if plan.department_code != department:
        raise Forbidden(
            "only the department that committed a plan draws it", code="NOT_YOUR_PLAN", path="planId"
        )
    if plan.status != COMMITTED or plan.sealed_seed is None:
        raise Conflict(
            "this plan was drawn already; a plan is drawn once", code="ALREADY_DRAWN", path="planId"
        )
    seed = unseal(keys, SEED_PURPOSE, plan.sealed_seed, plan.id.bytes)
    chosen = {c: Decimal(r) for c, r in plan.parameters["ratios"].items()}
    canonical = await repo.candidate_list(session, plan.id)
    if draw.text_hash(canonical) != plan.candidates_hash:
        # The stored list is not the one committed to: drawing from it would publish a plan that
        # fails verification. Nothing is drawn; the credit office must look into the database.
        log.error("frozen candidate list altered", extra={"plan": str(plan.id)})
        raise Conflict(
            "the frozen candidate list no longer matches its published hash; nothing was drawn",
            code="FROZEN_LIST_ALTERED",
            path="planId",
        )
    inspectors = _pool(
        await repo.plan_inspectors(session, plan.id), await repo.plan_conflicts(session, plan.id)
    )
    try:
        # Seconds of pure computation for a big domain: on a worker thread, so the event loop keeps
        # answering other callers (health checks included) meanwhile.
        assignments = await asyncio.to_thread(_run_draw, seed, canonical, chosen, inspectors)
    except draw.TooFewInspectors as error:
        raise Invalid(
            f"{error}: declared conflicts leave too few inspectors; nothing was drawn",
            code="TOO_FEW_INSPECTORS",
            path="planId",
        ) from None
    await repo.store_draw(session, plan.id, [(a.uscc, a.category, *a.inspectors) for a in assignments])
    plan.status = DRAWN
    plan.seed = seed.hex()  # revealed: anyone may now re-run the draw
    plan.sealed_seed = None
    plan.drawn_at = dt.datetime.now(dt.UTC)
    plan.parameters = {**plan.parameters, "drawn": dict(Counter(a.category for a in assignments))}
    await session.flush()
    return plan


def _names_shown(gate: Disclosure, plan: InspectionPlan) -> bool:
    """Whether this caller gets inspectors' names as they are (the gate's rule: the planning
    department and the credit office), or the public copy, which the gate masks."""
    return gate.shows(Item.INSPECTOR, "name", Subject(owner=plan.department_code))


async def plan_for(session: AsyncSession, plan_id: str) -> InspectionPlan:
    """A plan by id: anyone may read it (its seed only after the draw; the schema sees to that)."""
    return await _plan(session, plan_id)


async def _publication(session: AsyncSession, gate: Disclosure, plan: InspectionPlan) -> bytes:
    """The published plan as JSON bytes (format chub-plan-publication-v1) of a drawn plan."""
    assert plan.seed is not None  # drawn plans have their seed revealed
    await gate.prepare(session)  # the masking policy in force (entities' names leave below)
    canonical = await repo.candidate_list(session, plan.id)
    owner = Subject(owner=plan.department_code)
    pool = [
        (i, gate.text(Item.INSPECTOR, "name", name, owner) or "")
        for i, name in await repo.plan_inspectors(session, plan.id)
    ]
    rows = await repo.drawn(session, plan.id)
    published = draw.PlanPublication(
        algorithm=plan.algorithm,
        seed=plan.seed,
        seed_commitment=plan.seed_commitment,
        candidates_hash=plan.candidates_hash,
        inspectors_hash=plan.inspectors_hash,
        ratios=plan.parameters["ratios"],
        candidates=(),  # written from `canonical` by to_json_bytes
        inspectors=_pool(pool, await repo.plan_conflicts(session, plan.id)),
        assignments=[draw.Assignment(u, c, (a, b)) for u, c, a, b, _ in rows],
        details={
            "planId": str(plan.id),
            "domain": plan.domain,
            "period": plan.period,
            "title": plan.title,
            "department": plan.department_code,
        },
    )
    with collector_paused():
        # A registry entry's name (企业名称) is public data; the masking policy may still mask it.
        names = {
            u: gate.text(Item.ENTITY, "name", name, Subject(uscc=u, sensitivity="public"))
            for u, _, _, _, name in rows
        }
        return to_json_bytes(published, canonical, names)


async def publication_document(
    session: AsyncSession,
    gate: Disclosure,
    plan: InspectionPlan,
    keep: Callable[[uuid.UUID, bytes], Awaitable[None]] | None = None,
) -> bytes | None:
    """The publication as JSON bytes; None before the draw.

    The public (masked) one is built once and kept (`keep` stores it): a drawn plan does not change,
    and building it for a million candidates takes seconds that no anonymous caller should be able
    to make the hub spend again and again. The planning department and the credit office get it
    built afresh, with names in full."""
    if plan.status != DRAWN:
        return None
    if not gate.admits(Item.PUBLICATION, Subject(owner=plan.department_code), kind=plan.domain):
        return None
    public = not _names_shown(gate, plan)
    if public:
        kept = await repo.public_document(session, plan.id)
        if kept is not None:
            return kept
    document = await _publication(session, gate, plan)
    if public and keep is not None:
        await keep(plan.id, document)
    return document


def keeper(sessions: async_sessionmaker[AsyncSession]) -> Callable[[uuid.UUID, bytes], Awaitable[None]]:
    """`keep` in a short unit of work of its own: the public copy is kept even when the request that
    built it (a GraphQL query, which may be refused elsewhere) keeps nothing."""

    async def keep(plan_id: uuid.UUID, document: bytes) -> None:
        async with unit_of_work(sessions) as writer:
            await repo.keep_public_document(writer, plan_id, document)

    return keep


def keeper_in(session: AsyncSession) -> Callable[[uuid.UUID, bytes], Awaitable[None]]:
    """`keep` in the caller's own session, which the caller commits."""

    async def keep(plan_id: uuid.UUID, document: bytes) -> None:
        await repo.keep_public_document(session, plan_id, document)

    return keep
