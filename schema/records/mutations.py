"""Departments push records through GraphQL: up to 1,000 per call, each answered on its own."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from hub.disclosure.gate import Disclosure
from hub.disclosure.policy import Subject
from hub.records.ingestion import service
from schema.context import Info
from schema.disclosure import answered_id, problems
from schema.errors import (
    ConflictProblem,
    FieldProblem,
    InvalidInput,
    NotPermitted,
    json_object,
)
from schema.permissions import PUSHING_ROLES, allow


@strawberry.enum(description="What became of one pushed record.")
class PushOutcome(Enum):
    CREATED = strawberry.enum_value("created", description="Stored as version 1.")
    UPDATED = strawberry.enum_value("updated", description="Content changed: stored as a new version.")
    UNCHANGED = strawberry.enum_value(
        "unchanged", description="Same content as the version in force; nothing written."
    )
    REJECTED = strawberry.enum_value("rejected", description="Not stored; `errors` says why.")


@strawberry.input(description="One record to push, in the catalogue's field codes.")
class RecordInput:
    record_type: str = strawberry.field(
        description="Record type code, e.g. administrative_licence (行政许可)."
    )
    fields: JSON = strawberry.field(
        description='Field code → value, e.g. {"XDR_MC": "…", "JDRQ": "2026-11-20"}.'
    )
    source_record_id: str | None = strawberry.field(
        default=None,
        description="The department's own id of the record; defaults to the type's identity field (e.g. WSH 文书号).",
    )


@strawberry.type(description="The answer for one pushed record.")
class RecordResult:
    index: int = strawberry.field(description="Position of the record in the push (0-based).")
    source_record_id: str | None = strawberry.field(description="The record's id at its source.")
    outcome: PushOutcome = strawberry.field(description="created, updated, unchanged or rejected.")
    version: int | None = strawberry.field(description="Version in force after the push.")
    late: bool | None = strawberry.field(description="Pushed after the 7-working-day 双公示 deadline.")
    errors: list[FieldProblem] = strawberry.field(description="Why it was rejected (empty unless rejected).")
    warnings: list[FieldProblem] = strawberry.field(description="Accepted, but worth a look.")


@strawberry.type(description="The answer to a push: one result per record, in order.")
class PushReceipt:
    results: list[RecordResult] = strawberry.field(description="One per pushed record.")
    created: int = strawberry.field(description="Records stored as new.")
    updated: int = strawberry.field(description="Records stored as a new version.")
    unchanged: int = strawberry.field(description="Records identical to the version in force.")
    rejected: int = strawberry.field(description="Records not stored.")
    replayed: bool = strawberry.field(
        description="True when this is the stored answer to an earlier identical push."
    )


PushRecordsResult = Annotated[
    PushReceipt | InvalidInput | ConflictProblem | NotPermitted,
    strawberry.union("PushRecordsResult", description="A receipt, or why the whole push was refused."),
]


def receipt_of(gate: Disclosure, answer: service.PushAnswer, pusher: str | None) -> PushReceipt:
    """The answer (or its replay) as it leaves: ids and messages are the pushed records' data."""
    subject = Subject(owner=pusher)
    return PushReceipt(
        results=[
            RecordResult(
                index=o.index,
                source_record_id=answered_id(gate, o.source_record_id, subject),
                outcome=PushOutcome(o.outcome.value),
                version=o.version,
                late=o.late,
                errors=problems(gate, o.errors, subject),
                warnings=problems(gate, o.warnings, subject),
            )
            for o in answer.outcomes
        ],
        created=answer.count(service.Outcome.CREATED),
        updated=answer.count(service.Outcome.UPDATED),
        unchanged=answer.count(service.Outcome.UNCHANGED),
        rejected=answer.count(service.Outcome.REJECTED),
        replayed=answer.replayed,
    )


@strawberry.type
class RecordMutations:
    @strawberry.mutation(
        description="Push up to 1,000 records produced by the calling department (归集推送). Accepted records are "
        "committed before the answer returns; a rejected one writes nothing. The same idempotencyKey with the "
        "same body replays the first answer; with a different body it is refused.",
        extensions=allow(*PUSHING_ROLES),
    )
    async def push_records(
        self,
        info: Info,
        records: Annotated[list[RecordInput], strawberry.argument(description="1 to 1,000 records.")],
        idempotency_key: Annotated[
            str, strawberry.argument(description="Unique per push, chosen by the caller.")
        ],
    ) -> PushRecordsResult:
        context = info.context
        items = [
            service.RecordInput(
                r.record_type,
                r.source_record_id,
                json_object(r.fields, f"records.{i}.fields", "fields must be a JSON object of field codes"),
            )
            for i, r in enumerate(records)
        ]
        answer = await service.push_records(
            context.session,
            context.caller,
            items,
            idempotency_key=idempotency_key,
            keys=context.keys,
            max_records=context.settings.max_push_records,
            authority_domain=await context.authority_domain(),
            today=context.today,
            index_bits=context.settings.blind_index_bits,
        )
        return receipt_of(context.disclosure, answer, context.caller.organisation_code)
