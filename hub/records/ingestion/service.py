"""Pushing records through the API: validate each, store the accepted ones set-based, answer per record."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.caller import Caller
from hub.catalog.policy import current_policy
from hub.crypto import body_digest
from hub.entities.codes import district, entity_kind
from hub.errors import Conflict, Forbidden, Invalid
from hub.grading.service import reclassify_after_evaluations
from hub.ports import KeyProvider
from hub.records.ingestion import repository as repo
from hub.records.ingestion.evaluations import EVALUATION_TYPES
from hub.records.ingestion.prepare import NAME_DIFFERS_MESSAGE, PreparedRecord, RecordPreparer, RejectedRecord
from hub.records.sealing.fields import BLIND_INDEX_BITS, compared_content
from hub.records.validation.record import FieldError
from hub.sync.events import EvaluationStored, Event, RecordCreated, RecordUpdated
from hub.sync.outbox import emit


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REJECTED = "rejected"


@dataclass(slots=True)
class RecordInput:
    record_type: str
    source_record_id: str | None
    fields: dict[str, Any]


@dataclass(slots=True)
class RecordOutcome:
    index: int
    source_record_id: str | None
    outcome: Outcome
    version: int | None = None
    late: bool | None = None
    errors: list[FieldError] = field(default_factory=list)
    warnings: list[FieldError] = field(default_factory=list)


@dataclass(slots=True)
class PushAnswer:
    outcomes: list[RecordOutcome]
    replayed: bool = False

    def count(self, outcome: Outcome) -> int:
        return sum(1 for o in self.outcomes if o.outcome is outcome)

    def to_mapping(self) -> dict[str, Any]:
        return {
            "outcomes": [
                {
                    "index": o.index,
                    "source_record_id": o.source_record_id,
                    "outcome": o.outcome.value,
                    "version": o.version,
                    "late": o.late,
                    "errors": [[e.code, e.path, e.message] for e in o.errors],
                    "warnings": [[e.code, e.path, e.message] for e in o.warnings],
                }
                for o in self.outcomes
            ]
        }

    @classmethod
    def from_mapping(cls, data: dict[str, Any], *, replayed: bool) -> PushAnswer:
        return cls(
            outcomes=[
                RecordOutcome(
                    index=o["index"],
                    source_record_id=o["source_record_id"],
                    outcome=Outcome(o["outcome"]),
                    version=o["version"],
                    late=o["late"],
                    errors=[FieldError(*e) for e in o["errors"]],
                    warnings=[FieldError(*e) for e in o["warnings"]],
                )
                for o in data["outcomes"]
            ],
            replayed=replayed,
        )


def _body_hash(items: Sequence[RecordInput]) -> bytes:
    body = [[i.record_type, i.source_record_id, i.fields] for i in items]
    try:
        return body_digest(orjson.dumps(body, option=orjson.OPT_SORT_KEYS))
    except orjson.JSONEncodeError as exc:  # nested deeper than orjson's 254 levels, or a huge integer
        if "Integer" in str(exc):
            raise Invalid(
                "a record's field holds an integer beyond 64 bits", code="NOT_A_NUMBER", path="records"
            ) from exc
        raise Invalid(
            "a record's fields are nested too deep; a field holds a value or a list of values",
            code="JSON_TOO_DEEP",
            path="records",
        ) from exc


async def push_records(
    session: AsyncSession,
    caller: Caller,
    items: Sequence[RecordInput],
    *,
    idempotency_key: str,
    keys: KeyProvider,
    max_records: int,
    authority_domain: str | None = None,
    today: dt.date | None = None,
    index_bits: int = BLIND_INDEX_BITS,
) -> PushAnswer:
    if caller.organisation_code is None:
        raise Forbidden("only an organisation can push records")
    if not items:
        raise Invalid("a push carries at least one record", code="EMPTY_PUSH", path="records")
    if len(items) > max_records:
        raise Invalid(
            f"a push carries at most {max_records} records, got {len(items)}", code="TOO_MANY", path="records"
        )
    key = idempotency_key.strip()
    if not key or len(key) > 200 or not key.isprintable():
        raise Invalid(
            "idempotencyKey must be 1 to 200 printable characters", code="INVALID_KEY", path="idempotencyKey"
        )

    organisation = caller.organisation_code
    body_hash = _body_hash(items)
    await repo.lock_idempotency_key(session, organisation, key)
    previous = await repo.find_idempotent(session, organisation, key)
    if previous is not None:
        if previous.body_hash != body_hash:
            raise Conflict(
                "this idempotencyKey was used with a different body; use a new key for new content",
                code="IDEMPOTENCY_KEY_REUSED",
                path="idempotencyKey",
            )
        return PushAnswer.from_mapping(previous.answer, replayed=True)

    policy = await current_policy(session)
    preparer = RecordPreparer(
        policy,
        keys,
        organisation,
        today or dt.date.today(),
        authority_domain=authority_domain,
        pusher_role=caller.role,
        index_bits=index_bits,
    )
    prepared: dict[int, PreparedRecord] = {}
    outcomes: dict[int, RecordOutcome] = {}
    last_index: dict[tuple[str, str], int] = {}
    for index, item in enumerate(items):
        result = preparer.prepare(item.record_type, item.source_record_id, item.fields)
        if isinstance(result, RejectedRecord):
            outcomes[index] = RecordOutcome(
                index, result.source_record_id, Outcome.REJECTED, errors=result.errors
            )
            continue
        identity = (result.source_dept, result.source_record_id)
        if identity in last_index:
            # The same record twice in one push: the later one is the department's final word.
            earlier = last_index[identity]
            del prepared[earlier]
            outcomes[earlier] = RecordOutcome(
                earlier,
                result.source_record_id,
                Outcome.REJECTED,
                errors=[
                    FieldError(
                        "DUPLICATE_IN_PUSH", "sourceRecordId", f"superseded by record {index} of this push"
                    )
                ],
            )
        last_index[identity] = index
        prepared[index] = result

    await _store(session, prepared, outcomes, organisation)
    stored = {Outcome.CREATED, Outcome.UPDATED}
    evaluations = [
        (p.record_type, p.uscc, p.content.get("JGLY"))
        for i, p in prepared.items()
        if p.record_type in EVALUATION_TYPES and outcomes[i].outcome in stored
    ]
    if evaluations:
        await reclassify_after_evaluations(
            session, evaluations, today or dt.date.today(), cause=f"evaluation pushed by {organisation}"
        )
    answer = PushAnswer(outcomes=[outcomes[i] for i in range(len(items))])
    await repo.save_idempotent(session, organisation, key, body_hash, answer.to_mapping())
    return answer


def _check_name(record: PreparedRecord, names: dict[str, str], entities: dict[str, dict[str, str]]) -> None:
    """A record never renames its entity: the first record of an unknown entity names it; one whose
    XDR_MC differs from the registered name is stored as pushed, with a warning."""
    registered = names.get(record.uscc)
    if registered is None:
        names[record.uscc] = record.party_name
        entities[record.uscc] = {
            "uscc": record.uscc,
            "name": record.party_name,
            "kind": entity_kind(record.uscc),
            "district": district(record.uscc),
        }
    elif registered != record.party_name:
        record.warnings.append(FieldError("NAME_DIFFERS", "fields.XDR_MC", NAME_DIFFERS_MESSAGE))


async def _store(
    session: AsyncSession,
    prepared: dict[int, PreparedRecord],
    outcomes: dict[int, RecordOutcome],
    pushed_by: str,
) -> None:
    current = await repo.current_by_identity(
        session, [(p.source_dept, p.source_record_id) for p in prepared.values()]
    )
    names = await repo.registered_names(session, {p.uscc for p in prepared.values() if not p.is_person})
    new_rows: list[dict[str, Any]] = []
    retired: list[tuple[str, str, str]] = []
    events: list[Event] = []
    entities: dict[str, dict[str, str]] = {}
    for index, record in prepared.items():
        existing = current.get((record.source_dept, record.source_record_id))
        if not record.is_person and (existing is None or existing[0] == record.uscc):
            _check_name(record, names, entities)
        outcome, version, changed = Outcome.CREATED, 1, None
        if existing is not None:
            uscc, old_version, old_hash, old_content, old_late = existing
            if uscc != record.uscc:
                outcomes[index] = RecordOutcome(
                    index,
                    record.source_record_id,
                    Outcome.REJECTED,
                    errors=[
                        FieldError(
                            "SUBJECT_CHANGED",
                            # The field that names the party: a person's ID number, else the USCC.
                            "fields.XDR_ZJHM" if record.is_person else "fields.XDR_SHXYM",
                            "a record cannot move to another party; withdraw it and push a new record",
                        )
                    ],
                )
                continue
            if old_hash == record.content_hash:
                # Nothing is stored: the answer describes the version in force, pushed earlier.
                outcomes[index] = RecordOutcome(
                    index,
                    record.source_record_id,
                    Outcome.UNCHANGED,
                    old_version,
                    old_late,
                    warnings=record.warnings,
                )
                continue
            outcome, version = Outcome.UPDATED, old_version + 1
            new_content = compared_content(record.content, record.tags)
            changed = sorted(
                k for k in old_content.keys() | new_content.keys() if old_content.get(k) != new_content.get(k)
            )
            retired.append((record.uscc, record.source_dept, record.source_record_id))
        new_rows.append(repo.version_row(record, version, changed, pushed_by))
        outcomes[index] = RecordOutcome(
            index, record.source_record_id, outcome, version, record.late, warnings=record.warnings
        )
        if record.record_type in EVALUATION_TYPES:
            kind: type[EvaluationStored | RecordCreated | RecordUpdated] = EvaluationStored
        else:
            kind = RecordCreated if outcome is Outcome.CREATED else RecordUpdated
        events.append(
            kind(
                uscc=record.uscc,
                source_dept=record.source_dept,
                source_record_id=record.source_record_id,
                record_type=record.record_type,
                version=version,
            )
        )
    await repo.retire_versions(session, retired)
    await repo.insert_versions(session, new_rows)
    await repo.register_entities(session, list(entities.values()))
    await emit(session, events)
