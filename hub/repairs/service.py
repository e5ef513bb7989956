"""Credit repair (信用修复) and temporary shielding (暂时屏蔽).

Eligibility (NDRC Order 36, State Council 2025 No. 22): the record is dishonesty information (the
rights profile's negative_record_types); its minimum publicity period has passed — `repair_from`,
which the publicity rule in force on the record's decision date gave it when it was pushed; the
applicant shows that it performed its obligations (evidence) and signs a repair commitment. An
ineligible application is refused with the date from which it becomes eligible and nothing is kept.

The authority (the record's source department, or the credit office) decides within 3 working days
of receipt and the applicant has an answer within 10; both days are kept and the worklist shows the
overdue. Approval, in one transaction: the record is marked repaired (已修复) — no longer published,
shared or used as an evaluation input (hub.disclosure.record_states, the grading SQL) — the entity
is re-classified in its domains, and a record.repaired withdrawal goes to the province with the day
it must be reported by (seed 002 §二(六): 2 working days).

A firm in bankruptcy restructuring may have its dishonesty records shielded by the credit office,
with a reason and an end date; they leave publication until then (state shielded).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.caller import Caller, Role
from hub.catalog.policy import current_policy
from hub.catalog.workdays import UnknownCalendarYear, WorkingCalendar
from hub.entities import service as entities
from hub.entities.service import checked_uscc
from hub.errors import Conflict, Forbidden, Invalid, NotFound
from hub.grading.service import reclassify_entity
from hub.models import EntityShield, RepairApplication
from hub.records.states import service as states
from hub.records.states.service import State
from hub.records.validation.field_check import checked_text
from hub.repairs import repository as repo
from hub.sync.events import EntityShielded, EntityShieldLifted, RecordRepaired
from hub.sync.outbox import emit

COMMITMENT = (10, 2000)
DECISION_REASON = (2, 2000)
SHIELD_REASON = (2, 500)
LONGEST_SHIELD_DAYS = 3 * 366  # a restructuring plan's term: three years at most
MAX_PAGE = 500


class Decision(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Ineligible:
    """Why a record cannot be repaired yet, and from when it can."""

    code: str
    message: str
    eligible_from: dt.date | None


def _working_day(calendar: WorkingCalendar, start: dt.date, days: int) -> dt.date:
    try:
        return calendar.add_working_days(start, days)
    except UnknownCalendarYear as exc:
        raise Conflict(f"cannot compute the time limit: {exc}", code="DEADLINE_YEAR_UNKNOWN") from exc


def eligibility(record: states.LockedRecord, negative: frozenset[str], today: dt.date) -> Ineligible | None:
    """None when the record may be repaired today; else why not (and from when)."""
    row = record.row
    if record.record_type not in negative:
        return Ineligible(
            "REPAIR_NOT_APPLICABLE", f"{record.record_type} is not dishonesty information", None
        )
    if not row.published:
        return Ineligible(
            "REPAIR_NOT_APPLICABLE", "the record is not published: there is nothing to repair", None
        )
    if row.repair_from is None:
        until = row.publish_until.isoformat() if row.publish_until else "its removal"
        return Ineligible(
            "REPAIR_NOT_APPLICABLE",
            f"the record has no minimum publicity period: it leaves publication by itself on {until}",
            None,
        )
    if today < row.repair_from:
        return Ineligible(
            "REPAIR_NOT_YET_ELIGIBLE",
            f"the minimum publicity period ends on {row.repair_from.isoformat()}: apply from then",
            row.repair_from,
        )
    return None


async def apply(
    session: AsyncSession,
    caller: Caller,
    *,
    source_dept: str,
    source_record_id: str,
    obligations_evidence: list[tuple[str, str]],
    commitment: str,
    today: dt.date,
) -> RepairApplication | Ineligible:
    """An entity applies to repair one of its dishonesty records."""
    if caller.role is not Role.ENTITY or caller.organisation_code is None:
        raise Forbidden("only the entity itself applies for the repair of its records")
    uscc = caller.organisation_code
    dept = checked_uscc(source_dept, "sourceDepartment")
    policy = await current_policy(session)
    rights, limits, version = states.rights_of(policy)
    if not obligations_evidence:
        raise Invalid(
            "show that the obligations were performed (履行义务证明)",
            code="REQUIRED",
            path="obligationsEvidence",
        )
    proof = states.checked_evidence(obligations_evidence, rights.evidence_items, path="obligationsEvidence")
    signed = checked_text(commitment, "commitment", COMMITMENT)
    record = await states.lock(session, uscc, dept, source_record_id, path="sourceRecordId")
    if await repo.pending_for(session, record.key) is not None:
        raise Conflict(
            "an application for this record is pending", code="REPAIR_PENDING", path="sourceRecordId"
        )
    states.check_move(record.state, State.REPAIRED, path="sourceRecordId")
    refused = eligibility(record, rights.negative_record_types, today)
    if refused is not None:
        return refused
    return await repo.add(
        session,
        {
            "uscc": uscc,
            "source_dept": record.source_dept,
            "source_record_id": record.source_record_id,
            "record_type": record.record_type,
            "record_version": record.version,
            "obligations_evidence": proof,
            "commitment": signed,
            "filed_by": uscc,
            "received_on": today,
            "decision_due_on": _working_day(policy.calendar, today, limits.repair_decision_days),
            "answer_due_on": _working_day(policy.calendar, today, limits.repair_answer_days),
            "profile": limits.code,
            "profile_version": version,
            "status": "pending",
        },
    )


async def decide(
    session: AsyncSession,
    caller: Caller,
    *,
    uscc: str,
    application_id: int,
    decision: Decision,
    reason: str,
    today: dt.date,
) -> RepairApplication:
    code = checked_uscc(uscc)
    application = await repo.lock(session, code, application_id)
    if application is None:
        raise NotFound("no such repair application", code="REPAIR_NOT_FOUND", path="id")
    states.check_may_decide(caller, application.source_dept)
    if application.status != "pending":
        raise Conflict(
            f"the application was already decided ({application.status})", code="REPAIR_DECIDED", path="id"
        )
    reason = checked_text(reason, "reason", DECISION_REASON)
    assert caller.organisation_code is not None  # the field's rule admits organisations only
    values: dict[str, object] = {
        "status": decision.value,
        "decision_reason": reason,
        "decided_by": caller.organisation_code,
        "decided_on": today,
    }
    if decision is Decision.APPROVED:
        policy = await current_policy(session)
        _, limits, _ = states.rights_of(policy)
        report_by = _working_day(policy.calendar, today, limits.repair_report_days)
        values["report_due_on"] = report_by
        record = await states.lock(
            session, application.uscc, application.source_dept, application.source_record_id
        )
        cause = f"repair:{application.id}"
        await states.move(
            session, record, State.REPAIRED, cause=cause, by=caller.organisation_code, announce=False
        )
        await emit(
            session,
            [
                RecordRepaired(
                    uscc=record.uscc,
                    source_dept=record.source_dept,
                    source_record_id=record.source_record_id,
                    record_type=record.record_type,
                    repair_id=application.id,
                    report_by=report_by.isoformat(),
                )
            ],
        )
        await reclassify_entity(session, application.uscc, cause=f"{cause} approved", today=today)
    return await repo.decide(session, application.uscc, application.id, values)


async def listing(
    session: AsyncSession,
    caller: Caller,
    *,
    uscc: str | None,
    pending_only: bool,
    overdue: bool,
    after_id: int | None,
    first: int,
    today: dt.date,
) -> list[RepairApplication]:
    """An entity's own applications; a department's, on its records; the credit office's, any
    (`overdue`: pending past the 3-working-day decision day)."""
    if not 1 <= first <= MAX_PAGE:
        raise Invalid(f"first must be 1 to {MAX_PAGE}", code="PAGE_SIZE", path="first")
    code, source_dept = states.case_scope(caller, checked_uscc(uscc) if uscc is not None else None)
    return await repo.listing(
        session,
        uscc=code,
        source_dept=source_dept,
        pending_only=pending_only,
        overdue_on=today if overdue else None,
        after_id=after_id,
        limit=first,
    )


# --- temporary shielding (暂时屏蔽) -----------------------------------------------------------------


async def shield(
    session: AsyncSession, caller: Caller, *, uscc: str, reason: str, until: dt.date, today: dt.date
) -> EntityShield:
    """The credit office shields a firm in bankruptcy restructuring until `until` (inclusive)."""
    code = checked_uscc(uscc)
    why = checked_text(reason, "reason", SHIELD_REASON)
    if until < today:
        raise Invalid("the end date is in the past", code="DATE_ORDER", path="until")
    if (until - today).days > LONGEST_SHIELD_DAYS:
        raise Invalid("a shield lasts three years at most", code="OUT_OF_RANGE", path="until")
    if (await entities.get_many(session, [code]))[0] is None:
        raise NotFound(f"no entity {code} in the registry", path="uscc")
    if await repo.active_shield(session, code, today) is not None:
        raise Conflict(
            "the firm is shielded already; lift that shield first", code="SHIELD_ACTIVE", path="uscc"
        )
    assert caller.organisation_code is not None  # the credit office (the field's rule)
    shielded = await repo.add_shield(
        session,
        {
            "uscc": code,
            "reason": why,
            "shield_from": today,
            "shield_until": until,
            "shielded_by": caller.organisation_code,
        },
    )
    await emit(session, [EntityShielded(uscc=code, shield_id=shielded.id, until=until.isoformat())])
    return shielded


async def lift_shield(
    session: AsyncSession, caller: Caller, *, uscc: str, shield_id: int, today: dt.date
) -> EntityShield:
    """The credit office lifts a shield before its end date (the restructuring ended or failed)."""
    code = checked_uscc(uscc)
    shielded = await repo.lock_shield(session, code, shield_id)
    if shielded is None:
        raise NotFound("no such shield", code="SHIELD_NOT_FOUND", path="id")
    if shielded.lifted_at is not None or shielded.shield_until < today:
        raise Conflict("the shield has ended already", code="SHIELD_ENDED", path="id")
    assert caller.organisation_code is not None  # the credit office (the field's rule)
    lifted = await repo.lift_shield(session, code, shield_id, caller.organisation_code)
    await emit(session, [EntityShieldLifted(uscc=code, shield_id=shield_id)])
    return lifted
