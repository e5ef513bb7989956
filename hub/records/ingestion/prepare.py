"""Turn one pushed record into a row ready to store, or into its errors.

The same code serves the GraphQL push and the bulk upload, so a record is judged the same way
whichever door it comes through.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.auth.caller import Role
from hub.catalog.policy import Policy
from hub.catalog.publicity import NoPublicityRule, PublicityWindow, Severity, severity_of_penalty
from hub.catalog.record_types import RecordTypeDef
from hub.catalog.workdays import UnknownCalendarYear
from hub.crypto import person_key
from hub.ports import KeyProvider
from hub.records.ingestion.evaluations import EVALUATION_TYPES, check_evaluation
from hub.records.sealing.fields import BLIND_INDEX_BITS, Sealer
from hub.records.validation.record import FieldError, validator_for

# 双公示: licences and penalties are published within 7 working days of the decision.
DOUBLE_PUBLICITY_WORKING_DAYS = 7
NATURAL_PERSON = "自然人"
SEVERITY_FROM_LABEL = {"轻微": Severity.MINOR, "一般": Severity.GENERAL, "严重": Severity.SERIOUS}
MAX_RECORD_ID = 100
# A push never renames its entity (the registered name is not echoed: the caller may not read it).
NAME_DIFFERS_MESSAGE = (
    "XDR_MC differs from the entity's registered name; stored as pushed, the registry keeps its name"
)
# Bounds the per-push memo of derived columns; a file has few distinct (date, categories, …) sets.
_DERIVED_LIMIT = 65_536

# (decision date, severity, publicity window, publication end, late, lateness warning)
_Derived = tuple[dt.date, str | None, PublicityWindow, dt.date | None, bool | None, FieldError | None]


@dataclass(slots=True)
class PreparedRecord:
    record_type: str
    type_version: int
    uscc: str
    source_dept: str
    source_record_id: str
    content: dict[str, Any]
    content_hash: bytes
    decision_date: dt.date
    severity: str | None
    publicity_rule: str | None
    published: bool
    repair_from: dt.date | None
    publish_until: dt.date | None
    late: bool | None
    party_name: str
    is_person: bool
    warnings: list[FieldError] = field(default_factory=list)
    # Evaluation results: the version of the grading scheme their grade was checked against.
    scheme_version: int | None = None
    # `content` as canonical JSON (sorted keys), as stored (the bulk load's COPY).
    content_json: bytes = b""
    # The personal fields, sealed (hub.records.sealing.fields); None when the record has none.
    sealed: dict[str, str] | None = None
    tags: dict[str, str] | None = None
    key_version: int | None = None
    wrapped_key: bytes | None = None
    id_index: list[int] | None = None


@dataclass(slots=True)
class RejectedRecord:
    source_record_id: str | None
    errors: list[FieldError]


class RecordPreparer:
    """Validates and derives a record's stored columns for one pushing organisation."""

    def __init__(
        self,
        policy: Policy,
        keys: KeyProvider,
        pusher_code: str,
        today: dt.date,
        *,
        authority_domain: str | None = None,
        historical: bool = False,
        pusher_role: Role = Role.DEPARTMENT,
        index_bits: int = BLIND_INDEX_BITS,
    ) -> None:
        self.authority_domain = authority_domain
        self.pusher_role = pusher_role
        self.policy = policy
        self.keys = keys
        self.sealer = Sealer(keys, index_bits=index_bits)
        self.pusher_code = pusher_code
        self.today = today
        self.historical = historical
        self._validators: dict[str, Any] = {}
        self._derived: dict[tuple[Any, ...], _Derived | FieldError] = {}

    def prepare(
        self, record_type: str, source_record_id: str | None, fields: Mapping[str, Any]
    ) -> PreparedRecord | RejectedRecord:
        definition = self.policy.record_types.get(record_type)
        if definition is None:
            known = ", ".join(sorted(self.policy.record_types))
            return RejectedRecord(
                source_record_id,
                [
                    FieldError(
                        "UNKNOWN_RECORD_TYPE",
                        "recordType",
                        f"unknown record type {record_type!r}; known: {known}",
                    )
                ],
            )
        validate = self._validators.get(record_type)
        if validate is None:
            validate = self._validators[record_type] = validator_for(
                self.policy, record_type, historical=self.historical
            )
        result = validate(fields)
        values = result.values
        record_id = (source_record_id or "").strip() or str(values.get(definition.identity_field) or "")
        errors = list(result.errors)
        if not record_id:
            errors.append(
                FieldError(
                    "REQUIRED",
                    "sourceRecordId",
                    f"a record needs the department's own id (sourceRecordId) or {definition.identity_field}",
                )
            )
        elif len(record_id) > MAX_RECORD_ID:
            errors.append(FieldError("TOO_LONG", "sourceRecordId", f"at most {MAX_RECORD_ID} characters"))
            record_id = ""
        elif not record_id.isprintable():
            errors.append(
                FieldError("CONTROL_CHARACTER", "sourceRecordId", "the record id holds a control character")
            )
            record_id = ""  # not echoed: it could not be stored with the answer
        if errors:
            return RejectedRecord(record_id or None, errors)

        source = values.get(definition.source_code_field)
        if source != self.pusher_code:
            return RejectedRecord(
                record_id,
                [
                    FieldError(
                        "NOT_SOURCE",
                        f"fields.{definition.source_code_field}",
                        f"the source unit code {source!r} is not the pushing organisation {self.pusher_code}; "
                        "a department pushes only records it produced",
                    )
                ],
            )
        if self.pusher_role.value not in definition.pushers:
            # Who pushes each type is data of the record catalogue (its `pushers`).
            code = "NOT_EVALUATOR" if definition.category == "evaluation" else "NOT_PUSHER"
            allowed = ", ".join(sorted(definition.pushers))
            return RejectedRecord(
                record_id, [FieldError(code, "recordType", f"{record_type} is pushed by: {allowed}")]
            )
        scheme_version = None
        if record_type in EVALUATION_TYPES:
            problems, scheme_version = check_evaluation(self.policy, record_type, values, self.pusher_code)
            if problems:
                return RejectedRecord(record_id, problems)
        derived = self._derive(record_type, definition, values)
        if isinstance(derived, FieldError):
            return RejectedRecord(record_id, [derived])
        decision_date, severity, window, publish_until, late, late_warning = derived
        is_person = values.get("XDR_LB") == NATURAL_PERSON
        subject = person_key(self.keys, values["XDR_ZJHM"]) if is_person else values["XDR_SHXYM"]
        warnings = list(result.warnings)
        if late_warning is not None:
            warnings.append(late_warning)
        stored = self.sealer.seal(definition, subject, self.pusher_code, record_id, values)
        return PreparedRecord(
            record_type=record_type,
            type_version=self.policy.type_versions[record_type],
            uscc=subject,
            source_dept=self.pusher_code,
            source_record_id=record_id,
            content=stored.content,
            content_hash=stored.content_hash,
            decision_date=decision_date,
            severity=severity,
            publicity_rule=window.rule_code,
            published=window.published,
            repair_from=window.repair_from,
            publish_until=publish_until,
            late=late,
            # A natural person's name is personal: it is not kept beside the sealed record.
            party_name="" if is_person else str(values.get("XDR_MC", "")),
            is_person=is_person,
            warnings=warnings,
            scheme_version=scheme_version,
            content_json=stored.content_json,
            sealed=stored.sealed,
            tags=stored.tags,
            key_version=stored.key_version,
            wrapped_key=stored.wrapped_key,
            id_index=stored.id_index,
        )

    def _derive(
        self, record_type: str, definition: RecordTypeDef, values: Mapping[str, Any]
    ) -> _Derived | FieldError:
        """Decision date, severity, publicity window, publication end and lateness, or the error that
        refuses the record. They depend on a handful of fields that repeat across a file's rows, so they
        are memoised per preparer (~5 µs a row saved in bulk loads)."""
        own_end_field = "YCRQ" if definition.category == "list" else "GSJZQ"
        categories = values.get("CFLB")
        key = (
            record_type,
            values[definition.decision_date_field],
            values.get("YZCD"),
            tuple(categories) if categories else (),
            values.get("ZDLY"),
            values.get(definition.validity_end_field) if definition.validity_end_field else None,
            values.get(own_end_field),
        )
        found = self._derived.get(key)
        if found is None:
            found = self._compute_derived(record_type, definition, values)
            if len(self._derived) >= _DERIVED_LIMIT:
                self._derived.clear()
            self._derived[key] = found
        return found

    def _compute_derived(
        self, record_type: str, definition: RecordTypeDef, values: Mapping[str, Any]
    ) -> _Derived | FieldError:
        decision_date = dt.date.fromisoformat(values[definition.decision_date_field])
        if decision_date > self.today:
            return FieldError(
                "DATE_IN_FUTURE",
                f"fields.{definition.decision_date_field}",
                f"decision date {decision_date} is after today ({self.today})",
            )
        severity = self._severity(record_type, values)
        try:
            window = self.policy.publicity.window(
                record_type,
                decision_date,
                severity,
                authority_domain=self.authority_domain,
                special_field=bool(values.get("ZDLY", False)),
                categories=tuple(values.get("CFLB") or ()),
                validity_end=_date_or_none(values.get(definition.validity_end_field or "")),
            )
        except NoPublicityRule as exc:
            return FieldError("NO_PUBLICITY_RULE", f"fields.{definition.decision_date_field}", str(exc))
        publish_until = _publication_end(definition.category, values, window.publish_until)
        warnings: list[FieldError] = []
        late = self._late(definition.category, decision_date, warnings, definition.decision_date_field)
        return (
            decision_date,
            severity.value if severity else None,
            window,
            publish_until,
            late,
            warnings[0] if warnings else None,
        )

    @staticmethod
    def _severity(record_type: str, values: Mapping[str, Any]) -> Severity | None:
        if record_type != "administrative_penalty":
            return None
        label = values.get("YZCD")
        if label:
            return SEVERITY_FROM_LABEL[label]
        return severity_of_penalty(values.get("CFLB") or ())

    def _late(
        self, category: str, decision_date: dt.date, warnings: list[FieldError], date_field: str
    ) -> bool | None:
        if category != "double_publicity":
            return None
        try:
            deadline = self.policy.calendar.add_working_days(decision_date, DOUBLE_PUBLICITY_WORKING_DAYS)
        except UnknownCalendarYear as exc:
            warnings.append(
                FieldError("CALENDAR_YEAR_UNKNOWN", f"fields.{date_field}", f"lateness not computed: {exc}")
            )
            return None
        return self.today > deadline


def _date_or_none(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) and value else None


def _publication_end(category: str, values: Mapping[str, Any], rule_end: dt.date | None) -> dt.date | None:
    """The rule's end, shortened by what the record itself says.

    A list entry stops being published when it is removed (移出日期); a penalty's own publicity
    deadline (公示截止期, GSJZQ) set by the authority applies when it comes before the rule's maximum.
    """
    own = _date_or_none(values.get("YCRQ")) if category == "list" else _date_or_none(values.get("GSJZQ"))
    if own is None:
        return rule_end
    return own if rule_end is None else min(own, rule_end)
