"""A department's inspector pool (执法检查人员名录库) and its declared conflicts of interest (回避)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.caller import Caller, Role
from hub.entities.codes import normalise, uscc_problem
from hub.errors import Forbidden, Invalid, NotFound
from hub.inspections import repository as repo
from hub.models import Inspector

MAX_INSPECTORS_PER_CALL = 1000
# Ids appear in the canonical inspector list ("id,USCC;USCC\n"): no separators, no blanks.
_INSPECTOR_ID = re.compile(r"[A-Za-z0-9._-]{1,40}")


@dataclass(frozen=True, slots=True)
class InspectorInput:
    id: str
    name: str
    active: bool = True


def department_of(caller: Caller) -> str:
    """The calling department's code; only departments keep pools and plans."""
    if caller.role is not Role.DEPARTMENT or caller.organisation_code is None:
        raise Forbidden("only a department keeps an inspector pool", code="NOT_A_DEPARTMENT")
    return caller.organisation_code


def _checked(items: Sequence[InspectorInput]) -> list[tuple[str, str, bool]]:
    if not items:
        raise Invalid("give at least one inspector", code="EMPTY", path="inspectors")
    if len(items) > MAX_INSPECTORS_PER_CALL:
        raise Invalid(
            f"at most {MAX_INSPECTORS_PER_CALL} inspectors per call, got {len(items)}",
            code="TOO_MANY",
            path="inspectors",
        )
    seen: set[str] = set()
    rows = []
    for index, item in enumerate(items):
        path = f"inspectors.{index}"
        if not _INSPECTOR_ID.fullmatch(item.id):
            raise Invalid(
                "an inspector id is 1-40 letters, digits, '.', '_' or '-'",
                code="INSPECTOR_ID_FORMAT",
                path=f"{path}.id",
            )
        if item.id in seen:
            raise Invalid(f"inspector {item.id} is listed twice", code="DUPLICATE", path=f"{path}.id")
        seen.add(item.id)
        name = item.name.strip()
        if not name or len(name) > 100:
            raise Invalid("a name has 1-100 characters", code="NAME_LENGTH", path=f"{path}.name")
        rows.append((item.id, name, item.active))
    return rows


async def add_inspectors(
    session: AsyncSession, caller: Caller, items: Sequence[InspectorInput]
) -> list[Inspector]:
    """Register or update inspectors in the caller's own pool; returns the whole pool by id."""
    department = department_of(caller)
    rows = _checked(items)
    await repo.upsert_inspectors(session, department, rows)
    return await repo.inspectors_of(session, department)


async def declare_conflict(
    session: AsyncSession, caller: Caller, inspector_id: str, uscc: str, reason: str
) -> tuple[str, str, str]:
    """Record that an inspector of the caller's pool must never inspect an entity (回避)."""
    department = department_of(caller)
    code = normalise(uscc)
    problem = uscc_problem(code)
    if problem is not None:
        raise Invalid(problem.message, code=problem.code, path="uscc")
    text = reason.strip()
    if not text or len(text) > 200:
        raise Invalid("a reason has 1-200 characters", code="REASON_LENGTH", path="reason")
    if await repo.inspector(session, department, inspector_id) is None:
        raise NotFound(
            f"no inspector {inspector_id!r} in your pool", code="UNKNOWN_INSPECTOR", path="inspectorId"
        )
    await repo.upsert_conflict(session, code, department, inspector_id, text)
    return inspector_id, code, text
