"""The request's access-log entries: one per entity whose non-public data the request's gate let out
unmasked, written by the UnitOfWork extension in the request's own transaction, before it commits and
so before the answer leaves."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit import service as audit
from hub.audit.entry import response_digest
from hub.auth.caller import Caller
from hub.disclosure.gate import Disclosure
from hub.disclosure.policy import Item, Subject


def who(caller: Caller) -> audit.Who:
    return audit.Who(caller.role.value, caller.organisation_code, caller.token_id)


async def log_reads(
    session: AsyncSession, gate: Disclosure, request_id: str, data: Any
) -> list[dict[str, Any]]:
    """Write the entries; what `extensions.access` says of them (entry id and entity)."""
    reads = gate.reads()
    if not reads:
        return []
    ids = await audit.record_reads(
        session, who(gate.caller), reads, request_id=request_id, response_sha256=response_digest(data)
    )
    # The entity's code leaves through the gate like any entity data (a policy may withhold it).
    return [
        {"entry": str(i), "uscc": gate.text(Item.ENTITY, "uscc", r.uscc, Subject(uscc=r.uscc))}
        for i, r in zip(ids, reads, strict=True)
    ]
