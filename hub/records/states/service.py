"""The state machine of a negative record (issue 9): one place decides which moves are allowed.

    published ─▶ disputed ─▶ corrected | upheld | both_recorded   (an objection decided)
         │           └─────▶ revoked                               (upheld: the source revokes it)
         ├─▶ repaired                                              (credit repair approved)
         └─▶ revoked
    corrected, upheld, both_recorded ─▶ disputed (a new objection), repaired, revoked
    repaired, revoked: final

Two more states are what the day makes of a record, never stored: shielded (the firm is under a
temporary shield, 暂时屏蔽) and expired (past its maximum publicity period). hub.records.archive
computes the effective state in SQL (repository.STATE), and hub.disclosure.record_states says who
sees a record in which state. Each move is kept (record_state_changes) and, but for repairs (which
announce a withdrawal of their own), announced as record.state_changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.caller import Caller, Role
from hub.catalog.policy import Policy
from hub.catalog.rights import RightsPolicy, TimeLimits
from hub.errors import Conflict, Forbidden, Invalid, NotFound
from hub.records.states import repository as repo
from hub.records.validation.field_check import checked_text
from hub.sync.events import RecordStateChanged
from hub.sync.outbox import emit


class State(StrEnum):
    PUBLISHED = "published"
    DISPUTED = "disputed"
    CORRECTED = "corrected"
    UPHELD = "upheld"
    BOTH_RECORDED = "both_recorded"
    SHIELDED = "shielded"
    REPAIRED = "repaired"
    EXPIRED = "expired"
    REVOKED = "revoked"


_AFTER_DECISION = frozenset({State.DISPUTED, State.REPAIRED, State.REVOKED})
MOVES: dict[State, frozenset[State]] = {
    State.PUBLISHED: _AFTER_DECISION,
    State.DISPUTED: frozenset({State.CORRECTED, State.UPHELD, State.BOTH_RECORDED, State.REVOKED}),
    State.CORRECTED: _AFTER_DECISION,
    State.UPHELD: _AFTER_DECISION,
    State.BOTH_RECORDED: _AFTER_DECISION,
    State.REPAIRED: frozenset(),
    State.REVOKED: frozenset(),
}
# Shielded and expired are derived, never stored.
STORED = frozenset(MOVES)


@dataclass(frozen=True, slots=True)
class LockedRecord:
    """A record's version in force, locked for this transaction, with its stored state."""

    uscc: str
    source_dept: str
    source_record_id: str
    version: int
    record_type: str
    row: Any
    state: State

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.uscc, self.source_dept, self.source_record_id)


async def lock(
    session: AsyncSession, uscc: str, source_dept: str, source_record_id: str, path: str = "record"
) -> LockedRecord:
    """The record in force, locked; NotFound when the entity has no such record in force."""
    row = await repo.lock_current(session, uscc, source_dept, source_record_id)
    if row is None:
        raise NotFound("the entity has no such record in force", code="RECORD_NOT_FOUND", path=path)
    return LockedRecord(
        uscc=row.uscc,
        source_dept=row.source_dept,
        source_record_id=row.source_record_id,
        version=row.version,
        record_type=row.record_type,
        row=row,
        state=State(row.stored_state or State.PUBLISHED),
    )


def may_move(current: State, to: State) -> bool:
    return to in MOVES.get(current, frozenset())


def check_move(current: State, to: State, path: str = "record") -> None:
    if not may_move(current, to):
        raise Conflict(
            f"a record that is {current.value} cannot become {to.value}", code="RECORD_STATE", path=path
        )


async def move(
    session: AsyncSession, record: LockedRecord, to: State, *, cause: str, by: str, announce: bool = True
) -> State:
    """Move the locked record to `to` (checked against MOVES); keep the change and announce it.
    Returns the state it left."""
    check_move(record.state, to)
    await repo.store_state(
        session, record.key, previous=record.state.value, state=to.value, cause=cause, by=by
    )
    if announce:
        await emit(
            session,
            [
                RecordStateChanged(
                    uscc=record.uscc,
                    source_dept=record.source_dept,
                    source_record_id=record.source_record_id,
                    record_type=record.record_type,
                    previous_state=record.state.value,
                    state=to.value,
                    cause=cause,
                )
            ],
        )
    return record.state


# --- what objections and repair applications share --------------------------------------------------


def rights_of(policy: Policy) -> tuple[RightsPolicy, TimeLimits, int]:
    """The rights profile in force, its time limits and the document version (to name in each case)."""
    if policy.rights is None or policy.rights_version is None:
        raise Invalid("the rights profile is not loaded; run `credit-hub migrate`", code="CATALOG_NOT_LOADED")
    return policy.rights, policy.rights.in_force, policy.rights_version


EVIDENCE_TITLE = (1, 200)
EVIDENCE_REFERENCE = (1, 500)


def checked_evidence(items: list[tuple[str, str]], most: int, path: str = "evidence") -> list[dict[str, str]]:
    """References to evidence (a document number, a file in the applicant's own system, a URL): at
    most `most` of them, each a title and a reference. Evidence itself is not uploaded to the hub."""
    if len(items) > most:
        raise Invalid(f"at most {most} pieces of evidence, got {len(items)}", code="TOO_MANY", path=path)
    return [
        {
            "title": checked_text(title, f"{path}.{i}.title", EVIDENCE_TITLE),
            "reference": checked_text(reference, f"{path}.{i}.reference", EVIDENCE_REFERENCE),
        }
        for i, (title, reference) in enumerate(items)
    ]


def check_may_decide(caller: Caller, source_dept: str) -> None:
    """A case about a record is decided by the record's source department or the credit office."""
    if caller.role is Role.CREDIT_OFFICE:
        return
    if caller.role is Role.DEPARTMENT and caller.organisation_code == source_dept:
        return
    raise Forbidden(
        "only the record's source department or the credit office decides", code="NOT_YOUR_RECORD", path="id"
    )


def may_see_case(caller: Caller, uscc: str, source_dept: str) -> bool:
    """The entity's own case, a case about the department's record, or any case for the credit office."""
    return (
        caller.role is Role.CREDIT_OFFICE
        or (caller.role is Role.ENTITY and caller.organisation_code == uscc)
        or (caller.role is Role.DEPARTMENT and caller.organisation_code == source_dept)
    )


def case_scope(caller: Caller, uscc: str | None) -> tuple[str | None, str | None]:
    """(entity, source department) a caller's list of cases is limited to: an entity its own, a
    department those about its records, the credit office any (optionally one entity's)."""
    if caller.role is Role.ENTITY:
        if uscc is not None and uscc != caller.organisation_code:
            raise Forbidden("an entity sees its own cases only", path="uscc")
        return caller.organisation_code, None
    if caller.role is Role.DEPARTMENT:
        return uscc, caller.organisation_code
    if caller.role is Role.CREDIT_OFFICE:
        return uscc, None
    raise Forbidden("this operation is not permitted for your role")
