"""Objections (异议): an entity disputes one of its records or evaluations; the source department or
the credit office decides within the time limit of the profile in force.

Filing marks the record disputed (异议中) in the same transaction (hub.records.states), so the mark
leaves with the record everywhere: archive reads, the public view, supervision answers resting on a
disputed evaluation, and the record.state_changed event to the province. The time limit counts
working days on the State Council calendar (with make-up days); a year the calendar does not know
is refused, never guessed. The credit office's worklist shows open cases once `attention_share` of
their time limit has passed, and those past it.

Outcomes (seed 001 §三(五)1, seed 002 §二(五), 征信业管理条例 Art. 25):
- upheld: the source department corrected the record (pushed a new version since the objection) or
  revokes it; the entity is re-classified in its domains (measures, restrictions included, follow)
  and the change goes upstream;
- rejected: the record stands (state upheld); the reason is recorded and shown to the entity;
- not confirmable: both sides are recorded (state both_recorded): the entity's reason and the
  department's statement.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.caller import Caller, Role
from hub.catalog.policy import current_policy
from hub.catalog.workdays import UnknownCalendarYear, WorkingCalendar
from hub.entities.service import checked_uscc
from hub.errors import Conflict, Forbidden, Invalid, NotFound
from hub.grading.service import reclassify_entity
from hub.models import Objection
from hub.objections import repository as repo
from hub.records.states import service as states
from hub.records.states.service import State
from hub.records.validation.field_check import checked_text

REASON = (10, 2000)
DECISION_REASON = (2, 2000)
STATEMENT = (2, 2000)
MAX_PAGE = 500


class Outcome(StrEnum):
    UPHELD = "upheld"  # the objection is right
    REJECTED = "rejected"  # the record stands
    NOT_CONFIRMABLE = "not_confirmable"  # both sides recorded


class Action(StrEnum):
    """What the source department did with a record an upheld objection found wrong."""

    CORRECTED = "corrected"
    REVOKED = "revoked"


class Attention(StrEnum):
    DUE_SOON = "due_soon"  # open, at least attention_share of the time limit gone
    OVERDUE = "overdue"  # open, past the due day


@dataclass(frozen=True, slots=True)
class Deadlines:
    received_on: dt.date
    attention_on: dt.date
    due_on: dt.date


def deadlines(calendar: WorkingCalendar, received_on: dt.date, days: int, share: float) -> Deadlines:
    """The due day (`days` working days after receipt) and the attention day (the working day on which
    `share` of the time limit has passed, rounded up: 80% of 7 days is the 6th working day)."""
    attention_days = max(1, math.ceil(days * share - 1e-9))
    try:
        return Deadlines(
            received_on,
            calendar.add_working_days(received_on, attention_days),
            calendar.add_working_days(received_on, days),
        )
    except UnknownCalendarYear as exc:
        raise Conflict(
            f"cannot compute the time limit: {exc}", code="DEADLINE_YEAR_UNKNOWN", path=None
        ) from exc


def attention_of(objection: Objection, today: dt.date) -> Attention | None:
    if objection.status != "open":
        return None
    if today > objection.due_on:
        return Attention.OVERDUE
    if today >= objection.attention_on:
        return Attention.DUE_SOON
    return None


async def file(
    session: AsyncSession,
    caller: Caller,
    *,
    source_dept: str,
    source_record_id: str,
    reason: str,
    evidence: list[tuple[str, str]],
    today: dt.date,
) -> Objection:
    """An entity objects to one of its own records (or evaluations, which are records too)."""
    if caller.role is not Role.ENTITY or caller.organisation_code is None:
        raise Forbidden("only the entity itself files an objection to its records")
    uscc = caller.organisation_code
    dept = checked_uscc(source_dept, "sourceDepartment")
    reason = checked_text(reason, "reason", REASON)
    policy = await current_policy(session)
    rights, limits, version = states.rights_of(policy)
    proof = states.checked_evidence(evidence, rights.evidence_items)
    record = await states.lock(session, uscc, dept, source_record_id, path="sourceRecordId")
    if record.state is State.DISPUTED:
        raise Conflict(
            "an objection to this record is already open", code="OBJECTION_OPEN", path="sourceRecordId"
        )
    states.check_move(record.state, State.DISPUTED, path="sourceRecordId")
    due = deadlines(policy.calendar, today, limits.objection_decision_days, float(limits.attention_share))
    objection = await repo.add(
        session,
        {
            "uscc": uscc,
            "source_dept": record.source_dept,
            "source_record_id": record.source_record_id,
            "record_type": record.record_type,
            "record_version": record.version,
            "prior_state": record.state.value,
            "reason": reason,
            "evidence": proof,
            "filed_by": uscc,
            "received_on": due.received_on,
            "attention_on": due.attention_on,
            "due_on": due.due_on,
            "profile": limits.code,
            "profile_version": version,
            "status": "open",
        },
    )
    await states.move(session, record, State.DISPUTED, cause=f"objection:{objection.id}", by=uscc)
    return objection


async def decide(
    session: AsyncSession,
    caller: Caller,
    *,
    uscc: str,
    objection_id: int,
    outcome: Outcome,
    action: Action | None,
    reason: str,
    department_statement: str | None,
    today: dt.date,
) -> Objection:
    code = checked_uscc(uscc)
    objection = await repo.lock(session, code, objection_id)
    if objection is None:
        raise NotFound("no such objection", code="OBJECTION_NOT_FOUND", path="id")
    states.check_may_decide(caller, objection.source_dept)
    if objection.status != "open":
        raise Conflict(
            f"the objection was already decided ({objection.status})", code="OBJECTION_DECIDED", path="id"
        )
    reason = checked_text(reason, "reason", DECISION_REASON)
    statement: str | None = None
    if outcome is Outcome.UPHELD:
        if action is None:
            raise Invalid(
                "an upheld objection says whether the record was corrected or revoked",
                code="REQUIRED",
                path="action",
            )
    elif action is not None:
        raise Invalid("only an upheld objection takes an action", code="NOT_APPLICABLE", path="action")
    if outcome is Outcome.NOT_CONFIRMABLE:
        if department_statement is None:
            raise Invalid(
                "both sides are recorded: give the department's statement",
                code="REQUIRED",
                path="departmentStatement",
            )
        statement = checked_text(department_statement, "departmentStatement", STATEMENT)
    elif department_statement is not None:
        statement = checked_text(department_statement, "departmentStatement", STATEMENT)
    record = await states.lock(session, objection.uscc, objection.source_dept, objection.source_record_id)
    if (
        outcome is Outcome.UPHELD
        and action is Action.CORRECTED
        and record.version <= objection.record_version
    ):
        raise Conflict(
            "the source department has not pushed a corrected version since the objection was filed",
            code="CORRECTION_NOT_PUSHED",
            path="action",
        )
    to = {
        Outcome.REJECTED: State.UPHELD,
        Outcome.NOT_CONFIRMABLE: State.BOTH_RECORDED,
    }.get(outcome) or (State.CORRECTED if action is Action.CORRECTED else State.REVOKED)
    assert caller.organisation_code is not None  # the field's rule admits organisations only
    decided = await repo.decide(
        session,
        objection.uscc,
        objection.id,
        {
            "status": outcome.value,
            "action": action.value if action else None,
            "decision_reason": reason,
            "department_statement": statement,
            "decided_by": caller.organisation_code,
            "decided_on": today,
        },
    )
    cause = f"objection:{objection.id}"
    await states.move(session, record, to, cause=cause, by=caller.organisation_code)
    if outcome is Outcome.UPHELD:
        # Evaluations and classifications resting on the record are recomputed; measures follow.
        await reclassify_entity(session, objection.uscc, cause=f"{cause} upheld", today=today)
    return decided


async def get(session: AsyncSession, caller: Caller, uscc: str, objection_id: int) -> Objection:
    code = checked_uscc(uscc)
    objection = await repo.get(session, code, objection_id)
    if objection is None or not states.may_see_case(caller, objection.uscc, objection.source_dept):
        # Another's objection is not confirmed to exist.
        raise NotFound("no such objection", code="OBJECTION_NOT_FOUND", path="id")
    return objection


async def listing(
    session: AsyncSession,
    caller: Caller,
    *,
    uscc: str | None,
    attention: Attention | None,
    open_only: bool,
    after_id: int | None,
    first: int,
    today: dt.date,
) -> list[Objection]:
    """An entity's own objections; a department's, on the records it produced; the credit office's, any
    (its worklist: `attention` due_soon or overdue)."""
    if not 1 <= first <= MAX_PAGE:
        raise Invalid(f"first must be 1 to {MAX_PAGE}", code="PAGE_SIZE", path="first")
    code, source_dept = states.case_scope(caller, checked_uscc(uscc) if uscc is not None else None)
    return await repo.listing(
        session,
        uscc=code,
        source_dept=source_dept,
        statuses=["open"] if open_only else None,
        attention_from=today if attention is Attention.DUE_SOON else None,
        overdue_on=today if attention is Attention.OVERDUE else None,
        after_id=after_id,
        limit=first,
    )
