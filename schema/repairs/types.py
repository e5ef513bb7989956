"""GraphQL types of credit repair (信用修复) and temporary shielding (暂时屏蔽)."""

from __future__ import annotations

import datetime as dt
from enum import Enum

import strawberry

from hub.disclosure.gate import Disclosure
from hub.disclosure.policy import Item, Subject
from hub.models import EntityShield as ShieldRow
from hub.models import RepairApplication as ApplicationRow
from hub.repairs.service import Ineligible
from schema.objections.types import Evidence


@strawberry.enum(description="Where a credit repair application stands (信用修复申请状态).")
class RepairStatus(Enum):
    PENDING = strawberry.enum_value("pending", description="Received, not decided (受理中).")
    APPROVED = strawberry.enum_value("approved", description="Repaired (准予修复): the record is 已修复.")
    REJECTED = strawberry.enum_value("rejected", description="Not repaired (不予修复); the reason says why.")


@strawberry.enum(description="The authority's decision on a credit repair application.")
class RepairDecision(Enum):
    APPROVED = strawberry.enum_value("approved", description="准予修复.")
    REJECTED = strawberry.enum_value("rejected", description="不予修复; give the reason.")


@strawberry.type(
    description="A credit repair application (信用修复申请) and its time limits (State Council 2025 No. 22)."
)
class RepairApplication:
    id: int = strawberry.field(description="The application's id.")
    uscc: str = strawberry.field(description="The applicant (its USCC).")
    source_department: str = strawberry.field(description="The record's source department.")
    source_record_id: str = strawberry.field(description="The record's id there.")
    record_type: str = strawberry.field(description="The record's type, e.g. administrative_penalty.")
    record_version: int = strawberry.field(description="The record's version when applied for.")
    obligations_evidence: list[Evidence] = strawberry.field(
        description="Proof that the obligations were performed (履行法定义务)."
    )
    commitment: str | None = strawberry.field(description="The repair commitment signed (信用修复承诺书).")
    received_on: dt.date = strawberry.field(description="The day it was received (受理日).")
    decision_due_on: dt.date = strawberry.field(description="The authority decides by (3 working days).")
    answer_due_on: dt.date = strawberry.field(description="The applicant has an answer by (10 working days).")
    profile: str = strawberry.field(description="The time-limit profile it was timed with.")
    status: RepairStatus = strawberry.field(description="Pending, approved or rejected.")
    decision_reason: str | None = strawberry.field(description="Why (shown to the applicant).")
    decided_by: str | None = strawberry.field(description="Who decided.")
    decided_on: dt.date | None = strawberry.field(description="The day it was decided.")
    late: bool | None = strawberry.field(description="Decided after its decision day; null while pending.")
    report_due_on: dt.date | None = strawberry.field(
        description="Approved: the withdrawal is reported to the province by (seed 002 §二(六): 2 working days)."
    )

    @classmethod
    def of(cls, gate: Disclosure, row: ApplicationRow) -> RepairApplication:
        subject = Subject(uscc=row.uscc, owner=row.source_dept)
        return cls(
            id=row.id,
            uscc=row.uscc,
            source_department=row.source_dept,
            source_record_id=row.source_record_id,
            record_type=row.record_type,
            record_version=row.record_version,
            obligations_evidence=[
                Evidence(title=e["title"], reference=e["reference"]) for e in row.obligations_evidence
            ]
            if gate.shows(Item.OBJECTION, "evidence", subject)
            else [],
            commitment=gate.text(Item.OBJECTION, "commitment", row.commitment, subject),
            received_on=row.received_on,
            decision_due_on=row.decision_due_on,
            answer_due_on=row.answer_due_on,
            profile=row.profile,
            status=RepairStatus(row.status),
            decision_reason=row.decision_reason,
            decided_by=row.decided_by,
            decided_on=row.decided_on,
            late=row.decided_on > row.decision_due_on if row.decided_on is not None else None,
            report_due_on=row.report_due_on,
        )


@strawberry.type(
    description="The record cannot be repaired (yet): nothing was kept. `eligibleFrom` is the day the "
    "minimum publicity period ends (最短公示期届满), when there is one."
)
class RepairIneligible:
    code: str = strawberry.field(description="REPAIR_NOT_YET_ELIGIBLE or REPAIR_NOT_APPLICABLE.")
    message: str = strawberry.field(description="Why, for people.")
    eligible_from: dt.date | None = strawberry.field(description="Apply from this day; null: never.")

    @classmethod
    def of(cls, refused: Ineligible) -> RepairIneligible:
        return cls(code=refused.code, message=refused.message, eligible_from=refused.eligible_from)


@strawberry.type(description="A temporary shield (暂时屏蔽) of a firm in bankruptcy restructuring.")
class EntityShield:
    id: int = strawberry.field(description="The shield's id.")
    uscc: str = strawberry.field(description="The firm.")
    reason: str | None = strawberry.field(
        description="Why, e.g. the court's ruling on the restructuring; null when withheld."
    )
    shield_from: dt.date = strawberry.field(description="From.")
    shield_until: dt.date = strawberry.field(description="Until (inclusive); then its records show again.")
    shielded_by: str = strawberry.field(description="The credit office.")
    lifted_at: dt.datetime | None = strawberry.field(
        description="When it was lifted before its end; null: not."
    )

    @classmethod
    def of(cls, gate: Disclosure, row: ShieldRow) -> EntityShield:
        return cls(
            id=row.id,
            uscc=row.uscc,
            reason=gate.text(Item.OBJECTION, "reason", row.reason, Subject(uscc=row.uscc)),
            shield_from=row.shield_from,
            shield_until=row.shield_until,
            shielded_by=row.shielded_by,
            lifted_at=row.lifted_at,
        )
