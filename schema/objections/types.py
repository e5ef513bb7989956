"""GraphQL types of objections (异议)."""

from __future__ import annotations

import datetime as dt
from enum import Enum

import strawberry

from hub.disclosure.gate import Disclosure
from hub.disclosure.policy import Item, Subject
from hub.models import Objection as ObjectionRow
from hub.objections.service import attention_of


@strawberry.enum(description="How an objection ended, or that it is open (异议处理结果).")
class ObjectionStatus(Enum):
    OPEN = strawberry.enum_value("open", description="Filed, not decided yet (处理中).")
    UPHELD = strawberry.enum_value(
        "upheld", description="The objection is right (异议成立): the record was corrected or revoked."
    )
    REJECTED = strawberry.enum_value(
        "rejected", description="The objection is not right (异议不成立): the record stands."
    )
    NOT_CONFIRMABLE = strawberry.enum_value(
        "not_confirmable", description="It cannot be confirmed (无法核实): both sides are recorded."
    )


@strawberry.enum(description="A decision on an objection (异议处理决定).")
class ObjectionOutcome(Enum):
    UPHELD = strawberry.enum_value("upheld", description="异议成立: the record is corrected or revoked.")
    REJECTED = strawberry.enum_value("rejected", description="异议不成立: the record stands; say why.")
    NOT_CONFIRMABLE = strawberry.enum_value(
        "not_confirmable", description="无法核实: both sides are recorded (征信业管理条例 Art. 25)."
    )


@strawberry.enum(description="What the source department did with a record an upheld objection found wrong.")
class ObjectionAction(Enum):
    CORRECTED = strawberry.enum_value(
        "corrected", description="Corrected (更正): its corrected version was pushed since the objection."
    )
    REVOKED = strawberry.enum_value("revoked", description="Revoked (撤销): the record no longer stands.")


@strawberry.enum(description="Where an open objection stands against its time limit (处理时限).")
class ObjectionAttention(Enum):
    DUE_SOON = strawberry.enum_value(
        "due_soon", description="The profile's attention share (80%) of the time limit has passed."
    )
    OVERDUE = strawberry.enum_value("overdue", description="Past its due day (超期).")


@strawberry.input(description="A reference to a piece of evidence (证明材料): what it is and where.")
class EvidenceInput:
    title: str = strawberry.field(description="What it is, 1-200 characters, e.g. 缴款凭证.")
    reference: str = strawberry.field(
        description="Where it is, 1-500 characters: a document number, a URL, a file reference."
    )


@strawberry.type(description="A piece of evidence an entity gave (证明材料).")
class Evidence:
    title: str = strawberry.field(description="What it is.")
    reference: str = strawberry.field(description="Where it is.")


@strawberry.type(description="An objection (异议) to a record or an evaluation, and how it was decided.")
class Objection:
    id: int = strawberry.field(description="The objection's id.")
    uscc: str = strawberry.field(description="The objecting entity (its USCC).")
    source_department: str = strawberry.field(description="The record's source department (数据来源单位).")
    source_record_id: str = strawberry.field(description="The record's id at its source department.")
    record_type: str = strawberry.field(description="The record's type, e.g. administrative_penalty.")
    record_version: int = strawberry.field(description="The record's version in force when it was filed.")
    reason: str | None = strawberry.field(description="The entity's reason (异议理由).")
    evidence: list[Evidence] = strawberry.field(description="Its evidence (证明材料).")
    filed_at: dt.datetime = strawberry.field(description="When it was filed.")
    received_on: dt.date = strawberry.field(description="The day it was received (受理日).")
    attention_on: dt.date = strawberry.field(
        description="The working day on which the profile's attention share of the time limit has passed."
    )
    due_on: dt.date = strawberry.field(description="The last day to decide it (处理期限), in working days.")
    profile: str = strawberry.field(description="The time-limit profile it was timed with, e.g. seed_001.")
    profile_version: int = strawberry.field(description="The version of the rights profile document.")
    status: ObjectionStatus = strawberry.field(description="Open, or how it ended.")
    action: ObjectionAction | None = strawberry.field(description="For an upheld one: corrected or revoked.")
    decision_reason: str | None = strawberry.field(description="Why it was decided so (shown to the entity).")
    department_statement: str | None = strawberry.field(
        description="The source department's side, recorded beside the entity's (双方意见)."
    )
    decided_by: str | None = strawberry.field(
        description="Who decided (the department or the credit office)."
    )
    decided_at: dt.datetime | None = strawberry.field(description="When.")
    decided_on: dt.date | None = strawberry.field(description="The day it was decided.")
    late: bool | None = strawberry.field(description="Decided after its due day; null while open.")
    attention: ObjectionAttention | None = strawberry.field(
        description="For an open one today: due soon or overdue; null otherwise."
    )

    @classmethod
    def of(cls, gate: Disclosure, row: ObjectionRow, today: dt.date) -> Objection:
        subject = Subject(uscc=row.uscc, owner=row.source_dept)
        attention = attention_of(row, today)
        return cls(
            id=row.id,
            uscc=row.uscc,
            source_department=row.source_dept,
            source_record_id=row.source_record_id,
            record_type=row.record_type,
            record_version=row.record_version,
            reason=gate.text(Item.OBJECTION, "reason", row.reason, subject),
            evidence=[Evidence(title=e["title"], reference=e["reference"]) for e in row.evidence]
            if gate.shows(Item.OBJECTION, "evidence", subject)
            else [],
            filed_at=row.filed_at,
            received_on=row.received_on,
            attention_on=row.attention_on,
            due_on=row.due_on,
            profile=row.profile,
            profile_version=row.profile_version,
            status=ObjectionStatus(row.status),
            action=ObjectionAction(row.action) if row.action else None,
            decision_reason=row.decision_reason,
            department_statement=gate.text(
                Item.OBJECTION, "department_statement", row.department_statement, subject
            ),
            decided_by=row.decided_by,
            decided_at=row.decided_at,
            decided_on=row.decided_on,
            late=row.decided_on > row.due_on if row.decided_on is not None else None,
            attention=ObjectionAttention(attention.value) if attention else None,
        )
