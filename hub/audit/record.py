"""What other domains call to log, in their own unit of work: reads of non-public data and
administrative changes. Kept apart from hub.audit.service (the sequencer, proofs, verification), so
that the catalogue, hub.auth and the disclosure gate depend on this and a repository module alone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit import repository as repo
from hub.audit.entry import ADMIN, READ


@dataclass(frozen=True, slots=True)
class Who:
    """The caller, as plain values (hub.auth sits above this package): role, organisation, token."""

    role: str
    organisation: str | None = None
    token_id: int | None = None

    @classmethod
    def of_label(cls, label: str) -> Who:
        """From a caller's label ("credit_office:<USCC>", hub.auth.Caller.label) or an operator's
        ("cli", "credit-hub demo"), as the services that take `by` receive it."""
        role, _, organisation = label.partition(":")
        return cls(role[:20], organisation[:18] or None)


@dataclass(frozen=True, slots=True)
class Read:
    """One read of an entity's non-public data within a request."""

    uscc: str
    fields: Sequence[str]
    tier: str | None = None
    purpose: str | None = None
    authorisation: str | None = None
    legal_basis: str | None = None
    hidden_until: dt.date | None = None


def _clip(value: str | None, size: int) -> str | None:
    return value[:size] if value is not None else None


def _read_row(who: Who, read: Read, request_id: str | None, response_sha256: bytes | None) -> dict[str, Any]:
    return {
        "uscc": read.uscc,
        "kind": READ,
        "action": "read",
        "caller_role": who.role,
        "caller_organisation": who.organisation,
        "token_id": who.token_id,
        "fields": sorted({f[:120] for f in read.fields}),
        "tier": read.tier,
        "purpose": _clip(read.purpose, 60),
        "authorisation": _clip(read.authorisation, 64),
        "legal_basis": _clip(read.legal_basis, 200),
        "request_id": _clip(request_id, 64),
        "response_sha256": response_sha256,
        "hidden_until": read.hidden_until,
    }


async def record_read(
    session: AsyncSession,
    who: Who,
    read: Read,
    *,
    request_id: str | None = None,
    response_sha256: bytes | None = None,
) -> int:
    """Log one read in the caller's unit of work (durable when it commits). Returns the entry's id."""
    return (await record_reads(session, who, [read], request_id=request_id, response_sha256=response_sha256))[
        0
    ]


async def record_reads(
    session: AsyncSession,
    who: Who,
    reads: Sequence[Read],
    *,
    request_id: str | None = None,
    response_sha256: bytes | None = None,
) -> list[int]:
    """Log several reads of one request (one per entity) in one statement."""
    rows = [_read_row(who, r, request_id, response_sha256) for r in reads]
    return await repo.add_entries(session, rows)


async def record_admin_change(
    session: AsyncSession,
    who: Who,
    action: str,
    *,
    subject: str,
    uscc: str = "",
    request_id: str | None = None,
) -> int:
    """Log an administrative change (`action`: "catalog.amended", "token.issued", …; `subject`: what
    changed, e.g. "record_types v4") in the caller's unit of work."""
    row: dict[str, Any] = {
        "uscc": uscc,
        "kind": ADMIN,
        "action": action[:60],
        "caller_role": who.role,
        "caller_organisation": who.organisation,
        "token_id": who.token_id,
        "fields": [],
        "subject": subject[:200],
        "request_id": _clip(request_id, 64),
    }
    return (await repo.add_entries(session, [row]))[0]
