"""Authorisations (授权): requested by a bank or association, decided by the entity, then used.

Life cycle: requested → active (approved, signed) or rejected; active ⇄ paused (the entity); any
of requested, active, paused → revoked (the entity); active or paused → expired (its validity ran
out). Every transition is a typed change event in the same transaction (hub.sync). Every use and
every change reads the grant's row from the database, locked (`repository.locked`), so a
revocation or a pause holds from the very next request in every hub process; nothing is cached.

A request beyond its purpose's caps (hub/catalog/purposes.yaml) is refused with a code naming the
cap; a read beyond the grant's caps is refused with a code too, and logged (`log_read`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit import record as audit
from hub.auth.caller import Caller, Role
from hub.catalog.policy import current_policy
from hub.catalog.purposes import RECORDS, TIERS, Purpose, Tier, deeper
from hub.consents import artefact
from hub.consents import repository as repo
from hub.disclosure.gate import Disclosure
from hub.entities import service as entities
from hub.errors import Conflict, Forbidden, Invalid, NotFound
from hub.models import Authorisation
from hub.ports import KeyProvider
from hub.sync import events as ev
from hub.sync.outbox import emit

# Reads are counted per calendar day in China (UTC+8 all year: no daylight saving).
CHINA = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
NOTE_LONGEST = 200
SCOPE_LONGEST = 20
# A read of the archive that names no record type: every record type the grant covers.
ANY_RECORDS = RECORDS + "*"


@dataclass(frozen=True, slots=True)
class ScopeItem:
    item: str
    tier: Tier


@dataclass(frozen=True, slots=True)
class GrantRequest:
    uscc: str
    purpose: str
    scope: Sequence[ScopeItem]
    validity_days: int
    reads_per_day: int | None = None
    reads_total: int | None = None


def china_day(now: dt.datetime) -> dt.date:
    return now.astimezone(CHINA).date()


def effective_state(row: Authorisation, now: dt.datetime) -> str:
    """The state as of `now`: an active or paused grant past its validity is expired, recorded or not."""
    if row.state in ("active", "paused") and row.valid_until is not None and row.valid_until <= now:
        return "expired"
    return row.state


def scope_of(row: Authorisation) -> dict[str, Tier]:
    return {str(s["item"]): s["tier"] for s in row.scope}


# --- requests ------------------------------------------------------------------------------------


def _check_against_purpose(purpose: Purpose, caller: Caller, request: GrantRequest) -> tuple[int, int]:
    """The request's caps (reads per day, in all) when it lies within the purpose's; else the code
    naming the cap it passes."""
    if caller.role.value not in purpose.requester_roles:
        raise Forbidden(
            f"purpose {purpose.code} is not for a {caller.role.value} (for {', '.join(purpose.requester_roles)})",
            code="PURPOSE_NOT_FOR_ROLE",
            path="purpose",
        )
    if not request.scope:
        raise Invalid("name at least one data item", code="SCOPE_EMPTY", path="scope")
    if len(request.scope) > SCOPE_LONGEST:
        raise Invalid(f"at most {SCOPE_LONGEST} data items", code="TOO_MANY", path="scope")
    seen: set[str] = set()
    for index, entry in enumerate(request.scope):
        if entry.item in seen:
            raise Invalid(f"data item {entry.item!r} twice", code="DUPLICATE", path=f"scope.{index}.item")
        seen.add(entry.item)
        deepest = purpose.items.get(entry.item)
        if deepest is None:
            raise Invalid(
                f"purpose {purpose.code} does not cover {entry.item!r} (it covers {', '.join(purpose.items)})",
                code="CAP_ITEM",
                path=f"scope.{index}.item",
            )
        if entry.tier not in TIERS:
            raise Invalid(
                f"tier {entry.tier!r} is not one of {', '.join(TIERS)}",
                code="CAP_TIER",
                path=f"scope.{index}.tier",
            )
        if deeper(entry.tier, deepest):
            raise Invalid(
                f"purpose {purpose.code} covers {entry.item} at tier {deepest} at most, not {entry.tier}",
                code="CAP_TIER",
                path=f"scope.{index}.tier",
            )
    if not 1 <= request.validity_days <= purpose.max_validity_days:
        raise Invalid(
            f"purpose {purpose.code} allows a validity of 1 to {purpose.max_validity_days} days",
            code="CAP_VALIDITY",
            path="validityDays",
        )
    per_day = purpose.reads_per_day if request.reads_per_day is None else request.reads_per_day
    total = purpose.reads_total if request.reads_total is None else request.reads_total
    if not 1 <= per_day <= purpose.reads_per_day:
        raise Invalid(
            f"purpose {purpose.code} allows 1 to {purpose.reads_per_day} reads a day",
            code="CAP_READS_PER_DAY",
            path="readsPerDay",
        )
    if not 1 <= total <= purpose.reads_total:
        raise Invalid(
            f"purpose {purpose.code} allows 1 to {purpose.reads_total} reads in all",
            code="CAP_READS_TOTAL",
            path="readsTotal",
        )
    if per_day > total:
        raise Invalid("reads a day cannot pass reads in all", code="CAP_READS_PER_DAY", path="readsPerDay")
    return per_day, total


async def request(
    session: AsyncSession, caller: Caller, grant: GrantRequest, now: dt.datetime
) -> Authorisation:
    """A bank or association asks the entity for a grant; it waits for the entity's decision."""
    if caller.role not in (Role.BANK, Role.ASSOCIATION) or caller.organisation_code is None:
        raise Forbidden("only a bank or an association requests an authorisation")
    policy = await current_policy(session)
    purpose = policy.purposes.get(grant.purpose)
    if purpose is None:
        raise NotFound(f"no purpose {grant.purpose!r}", code="UNKNOWN_PURPOSE", path="purpose")
    per_day, total = _check_against_purpose(purpose, caller, grant)
    [entity] = await entities.get_many(session, [grant.uscc])
    if entity is None:
        raise NotFound("no entity of that code in the registry", code="UNKNOWN_ENTITY", path="uscc")
    row = await repo.add(
        session,
        {
            "uscc": grant.uscc,
            "id": uuid.uuid4(),
            "grantee": caller.organisation_code,
            "grantee_role": caller.role.value,
            "purpose": purpose.code,
            "purpose_version": policy.purpose_versions[purpose.code],
            "scope": [{"item": s.item, "tier": s.tier} for s in sorted(grant.scope, key=lambda s: s.item)],
            "validity_days": grant.validity_days,
            "reads_per_day": per_day,
            "reads_total": total,
            "state": "requested",
            "requested_by": caller.label,
            # The caller's clock, not the transaction's: requests of one transaction keep their order.
            "requested_at": now,
        },
    )
    await _changed(session, ev.AuthorisationRequested, row, caller.label)
    return row


def _event(cls: type[ev._AuthorisationChange], row: Authorisation) -> ev.Event:
    return cls(uscc=row.uscc, authorisation_id=str(row.id), grantee=row.grantee, purpose=row.purpose)


async def _changed(
    session: AsyncSession, cls: type[ev._AuthorisationChange], row: Authorisation, by: str
) -> None:
    """A step of a grant: its typed event for other platforms, and an administrative entry of the
    access log (who changed which grant to what), both in the step's transaction."""
    await emit(session, [_event(cls, row)])
    await audit.record_admin_change(
        session, audit.Who.of_label(by), cls.type.value, subject=f"authorisation {row.id}", uscc=row.uscc
    )


# --- the entity's decisions ----------------------------------------------------------------------


def parse_id(value: str, path: str = "id") -> uuid.UUID:
    try:
        parsed = uuid.UUID(value)
    except (ValueError, AttributeError):
        raise Invalid("not an authorisation id", code="BAD_ID", path=path) from None
    return parsed


async def _own(session: AsyncSession, caller: Caller, authorisation_id: str) -> Authorisation:
    """The entity's own grant, locked; another's is refused (NOT_YOUR_AUTHORISATION)."""
    row = await repo.locked(session, parse_id(authorisation_id))
    if row is None:
        raise NotFound("no authorisation of that id", code="UNKNOWN_AUTHORISATION", path="id")
    if caller.role is not Role.ENTITY or row.uscc != caller.organisation_code:
        raise Forbidden("the authorisation is another entity's", code="NOT_YOUR_AUTHORISATION", path="id")
    return row


def _require(row: Authorisation, now: dt.datetime, *states: str) -> None:
    state = effective_state(row, now)
    if state == "expired":
        raise Conflict("the authorisation has expired", code="AUTHORISATION_EXPIRED", path="id")
    if state not in states:
        raise Conflict(
            f"the authorisation is {state}; this needs it {' or '.join(states)}",
            code="AUTHORISATION_STATE",
            path="id",
        )


def _note(reason: str | None) -> str | None:
    if reason is None:
        return None
    if not reason.strip() or len(reason) > NOTE_LONGEST:
        raise Invalid(f"a reason has 1 to {NOTE_LONGEST} characters", code="REASON_LENGTH", path="reason")
    return reason


async def approve(
    session: AsyncSession, caller: Caller, keys: KeyProvider, authorisation_id: str, now: dt.datetime
) -> Authorisation:
    """The entity approves: the grant is valid from now for its days, and signed (compact JWS)."""
    row = await _own(session, caller, authorisation_id)
    _require(row, now, "requested")
    valid_until = now + dt.timedelta(days=row.validity_days)
    claims = artefact.GrantClaims(
        grant_id=str(row.id),
        grantor=row.uscc,
        grantee=row.grantee,
        purpose=row.purpose,
        purpose_version=row.purpose_version,
        scope=row.scope,
        valid_from=now,
        valid_until=valid_until,
        reads_per_day=row.reads_per_day,
        reads_total=row.reads_total,
    )
    jws, key_id = artefact.sign(keys, claims)
    # What was signed is what is stored: whole seconds, as the artefact states them.
    row = await repo.set_state(
        session,
        row,
        "active",
        decided_at=now,
        valid_from=now.replace(microsecond=0),
        valid_until=valid_until.replace(microsecond=0),
        jws=jws,
        key_id=key_id,
    )
    await _changed(session, ev.AuthorisationApproved, row, caller.label)
    return row


# The entity's steps after the request: the states each needs, the state it leaves, its event.
STEPS: dict[str, tuple[tuple[str, ...], str, type[ev._AuthorisationChange]]] = {
    "reject": (("requested",), "rejected", ev.AuthorisationRejected),
    "pause": (("active",), "paused", ev.AuthorisationPaused),
    "resume": (("paused",), "active", ev.AuthorisationResumed),
    "revoke": (("requested", "active", "paused"), "revoked", ev.AuthorisationRevoked),
}


async def step(
    session: AsyncSession,
    caller: Caller,
    name: str,
    authorisation_id: str,
    now: dt.datetime,
    reason: str | None = None,
) -> Authorisation:
    """The entity rejects, pauses, resumes or revokes its grant (`STEPS`); a rejection or revocation
    ends it, with the entity's reason."""
    needs, state, event = STEPS[name]
    row = await _own(session, caller, authorisation_id)
    _require(row, now, *needs)
    values: dict[str, object] = {}
    if state in ("rejected", "revoked"):
        values = {"ended_at": now, "note": _note(reason)}
    if state == "rejected":
        values["decided_at"] = now
    row = await repo.set_state(session, row, state, **values)
    await _changed(session, event, row, caller.label)
    return row


async def expire_due(session: AsyncSession, now: dt.datetime, limit: int = 1000) -> int:
    """Record as expired (with their events) up to `limit` grants past their validity; how many.
    `credit-hub consents expire` runs it (cron); a read that finds a grant expired records it too."""
    rows = await repo.lock_due(session, now, limit)
    for row in rows:
        ended = await repo.set_state(session, row, "expired", ended_at=row.valid_until)
        await _changed(session, ev.AuthorisationExpired, ended, "credit-hub consents expire")
    return len(rows)


# --- reading -------------------------------------------------------------------------------------


async def visible(session: AsyncSession, caller: Caller, authorisation_id: str) -> Authorisation:
    """One grant, for the entity that gave it, the organisation that asked, or the credit office."""
    row = await repo.get(session, parse_id(authorisation_id))
    if row is None:
        raise NotFound("no authorisation of that id", code="UNKNOWN_AUTHORISATION", path="id")
    if caller.role is not Role.CREDIT_OFFICE and caller.organisation_code not in (row.uscc, row.grantee):
        raise Forbidden("the authorisation is another's", code="NOT_YOUR_AUTHORISATION", path="id")
    return row


async def listing(
    session: AsyncSession,
    caller: Caller,
    *,
    states: Sequence[str] | None,
    after: tuple[dt.datetime, uuid.UUID] | None,
    limit: int,
) -> list[Authorisation]:
    """The entity's grants (given), a requester's (asked), or, for the credit office, all."""
    if caller.role is Role.CREDIT_OFFICE:
        return await repo.page(session, grantor=None, grantee=None, states=states, after=after, limit=limit)
    if caller.role is Role.ENTITY:
        return await repo.page(
            session, grantor=caller.organisation_code, grantee=None, states=states, after=after, limit=limit
        )
    if caller.role in (Role.BANK, Role.ASSOCIATION):
        return await repo.page(
            session, grantor=None, grantee=caller.organisation_code, states=states, after=after, limit=limit
        )
    raise Forbidden("no authorisations to list for your role")


# --- use -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Use:
    """A counted read under a grant: what it may cover and at which tier."""

    grant: Authorisation
    scope: dict[str, Tier]
    tier: Tier
    reads_used: int
    reads_today: int


def shallowest(tiers: Sequence[Tier]) -> Tier:
    """The tier that shows least of those given (TIERS is in increasing depth)."""
    return min(tiers, key=TIERS.index)


def log_read(
    gate: Disclosure,
    uscc: str,
    authorisation_id: str,
    outcome: str,
    *,
    purpose: str | None,
    items: Collection[str],
) -> None:
    """Every authorised read, and every refused one (over a cap, paused, revoked…), is an entry of the
    access log: the request's gate is told why the caller reads (the grant, its purpose) and what it
    asked for, and the UnitOfWork writes the entry in the read's transaction, before the answer
    leaves (hub/audit). `outcome` is "read" or the refusal's code: a refused read is logged with
    what it asked for as "refused.<item>" and the code in its legal basis."""
    refused = outcome != "read"
    gate.read_basis(
        uscc,
        purpose=purpose,
        authorisation=authorisation_id,
        legal_basis=f"refused: {outcome}" if refused else "the entity's authorisation (授权)",
    )
    prefix = "refused." if refused else "profile."
    gate.disclosed(uscc, [prefix + item for item in sorted(items)] or [prefix + "*"])


async def use(
    session: AsyncSession,
    caller: Caller,
    uscc: str,
    authorisation_id: str,
    items: Collection[str],
    now: dt.datetime,
    gate: Disclosure,
) -> Use:
    """Check a read of `items` of `uscc` under the grant, count it, and say at which tier it may
    see them (the shallowest tier among the items read). A refusal raises with its code, after it
    is logged; a grant found past its validity is recorded expired (with its event) first."""
    try:
        found = await _use(session, caller, uscc, authorisation_id, items, now)
    except (Forbidden, NotFound, Conflict, Invalid) as refusal:
        log_read(gate, uscc, authorisation_id, refusal.code, purpose=None, items=items)
        raise
    log_read(gate, uscc, authorisation_id, "read", purpose=found.grant.purpose, items=items)
    # The gate holds one tier per entity for the request: two reads of one entity in one request
    # (aliases, under two grants) both get the shallower one.
    tiers: list[Tier] = [found.tier]
    earlier = gate.tier(uscc)
    if earlier in TIERS:
        tiers.append(earlier)
    gate.grant(uscc, shallowest(tiers))
    return found


async def _use(
    session: AsyncSession,
    caller: Caller,
    uscc: str,
    authorisation_id: str,
    items: Collection[str],
    now: dt.datetime,
) -> Use:
    day = china_day(now)
    found = await repo.locked_for_use(session, parse_id(authorisation_id, "authorisation"), day)
    if found is None:
        raise NotFound("no authorisation of that id", code="UNKNOWN_AUTHORISATION", path="authorisation")
    row, reads_today = found
    if row.grantee != caller.organisation_code:
        raise Forbidden(
            "the authorisation was given to another organisation",
            code="NOT_YOUR_AUTHORISATION",
            path="authorisation",
        )
    if row.uscc != uscc:
        raise Forbidden(
            "the authorisation is for another entity", code="AUTHORISATION_OTHER_ENTITY", path="uscc"
        )
    state = effective_state(row, now)
    if state == "expired" and row.state != "expired":
        row = await repo.set_state(session, row, "expired", ended_at=row.valid_until)
        await _changed(session, ev.AuthorisationExpired, row, caller.label)
    refusals = {
        "requested": ("the entity has not approved the authorisation yet", "AUTHORISATION_NOT_APPROVED"),
        "rejected": ("the entity rejected the authorisation", "AUTHORISATION_REJECTED"),
        "paused": ("the entity paused the authorisation", "AUTHORISATION_PAUSED"),
        "revoked": ("the entity revoked the authorisation", "AUTHORISATION_REVOKED"),
        "expired": ("the authorisation has expired", "AUTHORISATION_EXPIRED"),
    }
    if state in refusals:
        message, code = refusals[state]
        raise Conflict(message, code=code, path="authorisation")
    scope = scope_of(row)
    granted_records = [i for i in scope if i.startswith(RECORDS)]
    asked: set[str] = set()
    for item in items:
        # "records.*": the archive asked for without naming record types (every type granted).
        if item == ANY_RECORDS:
            asked.update(granted_records or [item])
        else:
            asked.add(item)
    outside = sorted(asked - set(scope))
    if outside:
        raise Forbidden(
            f"the authorisation does not cover {', '.join(outside)}",
            code="OUT_OF_SCOPE",
            path="authorisation",
        )
    if row.reads_used >= row.reads_total:
        raise Conflict(
            f"the authorisation's {row.reads_total} reads are used up",
            code="READS_TOTAL_REACHED",
            path="authorisation",
        )
    if reads_today >= row.reads_per_day:
        raise Conflict(
            f"the authorisation's {row.reads_per_day} reads of {day.isoformat()} are used up",
            code="READS_PER_DAY_REACHED",
            path="authorisation",
        )
    total, today = await repo.count_use(session, row.uscc, row.id, day)
    tiers = [scope[i] for i in asked] or list(scope.values())
    tier = shallowest(tiers)
    return Use(grant=row, scope=scope, tier=tier, reads_used=total, reads_today=today)
