"""Corrections of the entity registry. A push never renames an entity (a differing XDR_MC stays on its
record, with a NAME_DIFFERS warning); the credit office corrects a registered name here, on the
registration authority's word, and every correction is kept with who made it and why."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.caller import Caller
from hub.entities import repository as entities
from hub.entities.service import checked_uscc
from hub.errors import Conflict, Invalid, NotFound
from hub.models import EntityNameChange
from hub.records.validation.field_check import control_problem
from hub.sync.events import EntityRenamed
from hub.sync.outbox import emit

NAME_LENGTH = (2, 200)
REASON_LENGTH = (2, 500)


def _text(value: str, path: str, bounds: tuple[int, int]) -> str:
    value = value.strip()
    # The rule a pushed XDR_MC meets: a name a push could register can be corrected back.
    problem = control_problem(path, path, value)
    if problem is not None:
        raise Invalid(problem.message, code=problem.code, path=path)
    if len(value) < bounds[0]:
        raise Invalid(f"{path} needs at least {bounds[0]} characters", code="TOO_SHORT", path=path)
    if len(value) > bounds[1]:
        raise Invalid(f"{path} has at most {bounds[1]} characters", code="TOO_LONG", path=path)
    return value


async def correct_name(
    session: AsyncSession, caller: Caller, uscc: str, name: str, reason: str
) -> EntityNameChange:
    code = checked_uscc(uscc)
    name, reason = _text(name, "name", NAME_LENGTH), _text(reason, "reason", REASON_LENGTH)
    previous = await entities.lock_name(session, code)  # two corrections at once: one after the other
    if previous is None:
        raise NotFound(f"no entity {code} in the registry", path="uscc")
    if previous == name:
        raise Conflict("the registered name is already this", code="NAME_UNCHANGED", path="name")
    assert caller.organisation_code is not None  # the credit office (the field's rule)
    change = await entities.rename(session, code, previous, name, reason, caller.organisation_code)
    await emit(session, [EntityRenamed(uscc=code, change_id=change.id)])
    return change
