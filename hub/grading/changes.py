"""Streaming classification changes to subscribers (a department hears of its own domains)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.auth.caller import Caller, Role
from hub.catalog.policy import current_policy
from hub.db import unit_of_work
from hub.errors import Forbidden, Invalid
from hub.grading import repository as repo
from hub.notifications import WAKE, listening

CHANNEL = "classification_changes"
BATCH = 500


async def subscribable_domains(
    session: AsyncSession, caller: Caller, requested: Sequence[str] | None
) -> list[str]:
    """The domains the caller may follow: a department its own, the credit office and province all."""
    policy = await current_policy(session)
    if caller.role is Role.DEPARTMENT:
        allowed = {d for d, dept in policy.domain_departments.items() if dept == caller.organisation_code}
    else:
        allowed = set(policy.domains)
    if requested is None:
        return sorted(allowed)
    unknown = [d for d in requested if d not in policy.domains]
    if unknown:
        raise Invalid(f"no supervision domain {unknown[0]!r}", code="UNKNOWN_DOMAIN", path="domains")
    foreign = [d for d in requested if d not in allowed]
    if foreign:
        raise Forbidden(f"{foreign[0]} is not one of your domains", code="NOT_YOUR_DOMAIN", path="domains")
    return sorted(set(requested))


async def stream(
    sessions: async_sessionmaker[AsyncSession], url: URL, domains: Sequence[str], after_id: int | None
) -> AsyncIterator[Any]:
    """Every change in `domains` after `after_id` (or from now on), as they are committed.

    Notifications only wake the reader: what it yields is read from the table by id, so a dropped
    notification or a reconnection of the shared LISTEN connection loses nothing."""
    wanted = set(domains)
    async with listening(url, CHANNEL) as queue:
        # Listen first, then read where to start: no change can fall between the two.
        async with unit_of_work(sessions) as session:
            last = after_id if after_id is not None else await repo.last_change_id(session)
        while True:
            # One short unit of work per batch: a subscription may live for days, a transaction not.
            async with unit_of_work(sessions) as session:
                rows = await repo.changes_since(session, sorted(wanted), last, BATCH)
            for row in rows:
                last = max(last, row.id)
                yield row
            if len(rows) == BATCH:
                continue  # more waiting: read on before sleeping
            while True:
                payload = await queue.get()
                if payload == WAKE or _domain(payload) in wanted:
                    break


def _domain(payload: str) -> object:
    try:
        note = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    return note.get("domain") if isinstance(note, dict) else None
