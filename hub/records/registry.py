"""Corrections of the entity registry. A push never renames an entity (a differing XDR_MC stays on its
record, with a NAME_DIFFERS warning); the credit office corrects a registered name here, on the
registration authority's word, and every correction is kept with who made it and why."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.caller import Caller
from hub.entities import repository as entities
from hub.entities.service import checked_uscc
from hub.errors import Conflict, NotFound
from hub.models import EntityNameChange
from hub.records.validation.field_check import checked_text
from hub.sync.events import EntityRenamed
from hub.sync.outbox import emit

NAME_LENGTH = (2, 200)
REASON_LENGTH = (2, 500)


async def correct_name(
    session: AsyncSession, caller: Caller, uscc: str, name: str, reason: str
) -> EntityNameChange:
    code = checked_uscc(uscc)
    name, reason = checked_text(name, "name", NAME_LENGTH), checked_text(reason, "reason", REASON_LENGTH)
    previous = await entities.lock_name(session, code)  # two corrections at once: one after the other
    if previous is None:
        raise NotFound(f"no entity {code} in the registry", path="uscc")
    if previous == name:
        raise Conflict("the registered name is already this", code="NAME_UNCHANGED", path="name")
    assert caller.organisation_code is not None  # the credit office (the field's rule)
    change = await entities.rename(session, code, previous, name, reason, caller.organisation_code)
    await emit(session, [EntityRenamed(uscc=code, change_id=change.id)])
    return change
