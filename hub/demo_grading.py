"""The demo's grading data: domains assigned to the demo departments, the province's public
comprehensive evaluation of every entity, and two departments' industry evaluations.

Everything goes through the real push service, so classification, history and the outbox are
exactly what production would produce.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.caller import Caller, Role
from hub.grading.admin import add_members, assign_domain
from hub.ports import KeyProvider
from hub.records.ingestion.service import RecordInput, push_records

# (demo department key, domains it answers for)
ASSIGNMENTS = {
    "market": ("market_regulation", "food_production", "drug_retail", "catering_services"),
    "ecology": ("enterprise_environment",),
    "housing": ("construction_industry", "real_estate"),
    "ndrc": ("grain",),
    "health": ("medical_institutions",),
}
PUBLIC_GRADES = (("A", 0.3), ("B", 0.45), ("C", 0.15), ("D", 0.07), ("E", 0.03))
SAMR_GRADES = (("A", 0.55), ("B", 0.3), ("C", 0.1), ("D", 0.05))
ENVIRONMENTAL_GRADES = (("green", 0.5), ("blue", 0.3), ("yellow", 0.15), ("red", 0.05))


def _pick(rng: random.Random, weighted: Sequence[tuple[str, float]]) -> str:
    return rng.choices([g for g, _ in weighted], weights=[w for _, w in weighted])[0]


def _evaluation(
    record_type: str,
    org: tuple[str, str],
    party: tuple[str, str, str],
    grade: str,
    scheme: str,
    evaluated: dt.date,
    record_id: str,
    domain: str | None = None,
) -> RecordInput:
    uscc, name, category = party
    fields = {
        "XDR_MC": name,
        "XDR_LB": category,
        "XDR_SHXYM": uscc,
        "PJBH": record_id,
        "PJMX": scheme,
        "PJDJ": grade,
        "PJRQ": evaluated.isoformat(),
        "YXQZ": dt.date(evaluated.year + 1, 12, 31).isoformat(),
        "PJJG": org[1],
        "PJJGDM": org[0],
        "LYDW": org[1],
        "LYDWDM": org[0],
    }
    if record_type == "public_evaluation":
        fields["PJND"] = str(evaluated.year - 1)
    if domain:
        fields["JGLY"] = domain
    return RecordInput(record_type, record_id, fields)


async def _push(
    session: AsyncSession,
    caller: Caller,
    items: list[RecordInput],
    keys: KeyProvider,
    today: dt.date,
    key: str,
) -> None:
    for start in range(0, len(items), 1000):
        await push_records(
            session,
            caller,
            items[start : start + 1000],
            idempotency_key=f"{key}-{start}",
            keys=keys,
            max_records=1000,
            today=today,
        )


async def load_grading_demo(
    session: AsyncSession,
    rng: random.Random,
    population: Sequence[tuple[str, str, str]],
    departments: dict[str, tuple[str, str, str | None]],
    province: tuple[str, str],
    office: str,
    keys: KeyProvider,
    today: dt.date,
) -> None:
    for key, domains in ASSIGNMENTS.items():
        for domain in domains:
            await assign_domain(session, domain, departments[key][0], by=office)
    market = departments["market"]
    market_caller = Caller(Role.DEPARTMENT, market[0], market[1])
    # Every enterprise is supervised in market regulation; the others are registered as they are graded.
    await add_members(session, market_caller, "market_regulation", [p[0] for p in population[:2000]], today)

    evaluated = today - dt.timedelta(days=rng.randint(20, 60))
    public = [
        _evaluation(
            "public_evaluation",
            province,
            party,
            _pick(rng, PUBLIC_GRADES),
            "heilongjiang",
            evaluated,
            f"GGPJ-{evaluated.year}-{i}",
        )
        for i, party in enumerate(population)
    ]
    await _push(session, Caller(Role.PROVINCE, *province), public, keys, today, "demo-public")

    samr = [
        _evaluation(
            "industry_evaluation",
            market[:2],
            party,
            _pick(rng, SAMR_GRADES),
            "samr_risk",
            evaluated,
            f"SCJG-{i}",
            "market_regulation",
        )
        for i, party in enumerate(population)
        if rng.random() < 0.4
    ]
    await _push(session, market_caller, samr, keys, today, "demo-samr")
    ecology = departments["ecology"]
    environmental = [
        _evaluation(
            "industry_evaluation",
            ecology[:2],
            party,
            _pick(rng, ENVIRONMENTAL_GRADES),
            "environmental",
            evaluated,
            f"HJXY-{i}",
            "enterprise_environment",
        )
        for i, party in enumerate(population)
        if rng.random() < 0.1
    ]
    await _push(
        session, Caller(Role.DEPARTMENT, *ecology[:2]), environmental, keys, today, "demo-environment"
    )
