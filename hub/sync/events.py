"""The change events other platforms learn of (house rule 13), one class per type and payload version.

An event names what changed, never the entity data itself: the relay reads the record, evaluation or
classification change it points to and sends it through hub.disclosure (rule 12). Payloads are
validated when an event is made, so a malformed one cannot reach the outbox; `decode` reads a stored
row back into its class, and refuses a type or version it does not know. hub/sync/EVENTS.md is the
integrators' description of each type.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any, ClassVar


class EventType(StrEnum):
    RECORD_CREATED = "record.created"
    RECORD_UPDATED = "record.updated"
    EVALUATION_STORED = "evaluation.stored"
    RECORDS_LOADED = "records.loaded"
    EVALUATIONS_LOADED = "evaluations.loaded"
    EVALUATIONS_GRADED = "evaluations.graded"
    EVALUATION_WITHDRAWN = "evaluation.withdrawn"
    CLASSIFICATION_CHANGED = "classification.changed"
    ENTITY_RENAMED = "entity.renamed"
    AUTHORISATION_REQUESTED = "authorisation.requested"
    AUTHORISATION_APPROVED = "authorisation.approved"
    AUTHORISATION_REJECTED = "authorisation.rejected"
    AUTHORISATION_PAUSED = "authorisation.paused"
    AUTHORISATION_RESUMED = "authorisation.resumed"
    AUTHORISATION_REVOKED = "authorisation.revoked"
    AUTHORISATION_EXPIRED = "authorisation.expired"
    RECORD_STATE_CHANGED = "record.state_changed"
    RECORD_REPAIRED = "record.repaired"
    ENTITY_SHIELDED = "entity.shielded"
    ENTITY_SHIELD_LIFTED = "entity.shield_lifted"


class InvalidEvent(ValueError):
    """A payload that breaks its type's contract: a defect of the writing code, never a caller's input."""


# A USCC, or a natural person's 18-character archive key (hub.crypto.person_key).
_CODE = re.compile(r"[0-9A-Z]{18}")
_KEY = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of every event class: `type` and `payload_version` name the class, `uscc` (when the event
    concerns one entity) is the ordering key a relay keeps per entity."""

    type: ClassVar[EventType]
    payload_version: ClassVar[int] = 1

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        raise NotImplementedError

    @property
    def ordering_key(self) -> str | None:
        uscc = getattr(self, "uscc", None)
        return uscc if isinstance(uscc, str) else None

    def payload(self) -> dict[str, Any]:
        """The stored payload: every field but the ordering key, which has its own column."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "uscc"}


def _code(name: str, value: object) -> None:
    if not isinstance(value, str) or not _CODE.fullmatch(value):
        raise InvalidEvent(f"{name} must be an 18-character code, got {value!r}")


def _text(name: str, value: object, longest: int) -> None:
    if not isinstance(value, str) or not value or len(value) > longest:
        raise InvalidEvent(f"{name} must be a text of 1 to {longest} characters, got {value!r}")


def _key(name: str, value: object) -> None:
    """A catalogue key (record type, domain code)."""
    if not isinstance(value, str) or len(value) > 60 or not _KEY.fullmatch(value):
        raise InvalidEvent(f"{name} must be a catalogue key, got {value!r}")


def _number(name: str, value: object, least: int) -> None:
    # bool is an int to Python, never a count or an id here.
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise InvalidEvent(f"{name} must be a whole number of at least {least}, got {value!r}")


def _uuid(name: str, value: object) -> None:
    try:
        canonical = str(uuid.UUID(value)) if isinstance(value, str) else None
    except ValueError:
        canonical = None
    if canonical != value:
        raise InvalidEvent(f"{name} must be a UUID in canonical form, got {value!r}")


# --- one record ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _RecordVersion(Event):
    """A new version of one record: (source_dept, source_record_id) is the record, `version` its number."""

    uscc: str
    source_dept: str
    source_record_id: str
    record_type: str
    version: int

    def check(self) -> None:
        _code("uscc", self.uscc)
        _code("source_dept", self.source_dept)
        _text("source_record_id", self.source_record_id, 100)
        _key("record_type", self.record_type)
        _number("version", self.version, 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordCreated(_RecordVersion):
    """A credit record pushed for the first time (version 1)."""

    type: ClassVar[EventType] = EventType.RECORD_CREATED

    def check(self) -> None:
        _RecordVersion.check(self)
        if self.version != 1:
            raise InvalidEvent(f"a created record is version 1, got {self.version}")


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordUpdated(_RecordVersion):
    """A changed credit record pushed again: a new version replaces the one in force."""

    type: ClassVar[EventType] = EventType.RECORD_UPDATED

    def check(self) -> None:
        _RecordVersion.check(self)
        if self.version < 2:
            raise InvalidEvent(f"an updated record is version 2 or later, got {self.version}")


@dataclass(frozen=True, slots=True, kw_only=True)
class EvaluationStored(_RecordVersion):
    """An evaluation result (public, industry or market) pushed as a record: version 1 is new."""

    type: ClassVar[EventType] = EventType.EVALUATION_STORED


@dataclass(frozen=True, slots=True, kw_only=True)
class EvaluationWithdrawn(Event):
    """A grading run withdrew an entity's industry result in force (its score lies in no band): the
    record has no version in force any more. `receipt_id` is the run's."""

    type: ClassVar[EventType] = EventType.EVALUATION_WITHDRAWN

    uscc: str
    source_dept: str
    source_record_id: str
    record_type: str
    receipt_id: str

    def check(self) -> None:
        _code("uscc", self.uscc)
        _code("source_dept", self.source_dept)
        _text("source_record_id", self.source_record_id, 100)
        _key("record_type", self.record_type)
        _uuid("receipt_id", self.receipt_id)


# --- many records in one change ------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _Batch(Event):
    """Many records written at once, all carrying `receipt_id`: one event, however many rows (the relay
    reads them by that id; a million-row file stays one outbox row)."""

    receipt_id: str
    source_dept: str
    record_type: str
    created: int
    updated: int

    def check(self) -> None:
        _uuid("receipt_id", self.receipt_id)
        _code("source_dept", self.source_dept)
        _key("record_type", self.record_type)
        _number("created", self.created, 0)
        _number("updated", self.updated, 0)
        if self.created + self.updated == 0:
            raise InvalidEvent("a batch that created and updated nothing is no change")


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordsLoaded(_Batch):
    """A file of credit records (pushRecordsFile) created or updated records."""

    type: ClassVar[EventType] = EventType.RECORDS_LOADED


@dataclass(frozen=True, slots=True, kw_only=True)
class EvaluationsLoaded(_Batch):
    """A file of evaluation results (pushRecordsFile) created or updated results."""

    type: ClassVar[EventType] = EventType.EVALUATIONS_LOADED


@dataclass(frozen=True, slots=True, kw_only=True)
class EvaluationsGraded(_Batch):
    """A grading run (gradeDomain) stored new or changed industry results. `withdrawn` counts the
    results it withdrew, each of which has its own evaluation.withdrawn event."""

    type: ClassVar[EventType] = EventType.EVALUATIONS_GRADED

    withdrawn: int

    def check(self) -> None:
        _Batch.check(self)
        _number("withdrawn", self.withdrawn, 0)


# --- classification ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ClassificationChanged(Event):
    """One re-classification of a domain changed categories: the relay reads the changes with ids
    first_change_id..last_change_id of the domain (classification_changes). `uscc` is set when the run
    concerned one entity."""

    type: ClassVar[EventType] = EventType.CLASSIFICATION_CHANGED

    domain: str
    first_change_id: int
    last_change_id: int
    uscc: str | None = None

    def check(self) -> None:
        if self.uscc is not None:
            _code("uscc", self.uscc)
        _key("domain", self.domain)
        _number("first_change_id", self.first_change_id, 1)
        _number("last_change_id", self.last_change_id, self.first_change_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class EntityRenamed(Event):
    """The credit office corrected the entity's registered name: the relay reads correction
    `change_id` (entity_name_changes)."""

    type: ClassVar[EventType] = EventType.ENTITY_RENAMED

    uscc: str
    change_id: int

    def check(self) -> None:
        _code("uscc", self.uscc)
        _number("change_id", self.change_id, 1)


# --- authorisations (授权) -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _AuthorisationChange(Event):
    """A step of an entity's authorisation: the relay reads grant `authorisation_id` of the entity
    (authorisations). `grantee` is the requesting organisation, `purpose` the catalogue's purpose."""

    uscc: str
    authorisation_id: str
    grantee: str
    purpose: str

    def check(self) -> None:
        _code("uscc", self.uscc)
        _uuid("authorisation_id", self.authorisation_id)
        _code("grantee", self.grantee)
        _key("purpose", self.purpose)


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthorisationRequested(_AuthorisationChange):
    """A bank or association asked the entity for an authorisation (requestAuthorisation)."""

    type: ClassVar[EventType] = EventType.AUTHORISATION_REQUESTED


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthorisationApproved(_AuthorisationChange):
    """The entity approved: the grant is active and signed."""

    type: ClassVar[EventType] = EventType.AUTHORISATION_APPROVED


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthorisationRejected(_AuthorisationChange):
    """The entity rejected the request."""

    type: ClassVar[EventType] = EventType.AUTHORISATION_REJECTED


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthorisationPaused(_AuthorisationChange):
    """The entity paused an active grant: no read until resumed."""

    type: ClassVar[EventType] = EventType.AUTHORISATION_PAUSED


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthorisationResumed(_AuthorisationChange):
    """The entity resumed a paused grant."""

    type: ClassVar[EventType] = EventType.AUTHORISATION_RESUMED


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthorisationRevoked(_AuthorisationChange):
    """The entity revoked a grant (or withdrew consent to a request): it ends for good."""

    type: ClassVar[EventType] = EventType.AUTHORISATION_REVOKED


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthorisationExpired(_AuthorisationChange):
    """A grant passed its validity; recorded by the first use or change that finds it so."""

    type: ClassVar[EventType] = EventType.AUTHORISATION_EXPIRED


# --- record states, repair, shielding (issue 9) ---------------------------------------------------

# The states a record can be put in (hub.records.states.State; "published" is where every record starts).
RECORD_STATES = frozenset(
    {"published", "disputed", "corrected", "upheld", "both_recorded", "repaired", "revoked"}
)
_CAUSE = re.compile(r"(objection|repair):[1-9][0-9]{0,18}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _state(name: str, value: object) -> None:
    if value not in RECORD_STATES:
        raise InvalidEvent(f"{name} must be a record state, got {value!r}")


def _date(name: str, value: object) -> None:
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise InvalidEvent(f"{name} must be an ISO date, got {value!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordStateChanged(Event):
    """A record's state changed (an objection filed or decided, a record revoked): the record is the
    same; a relay sends its new state (disputed records carry their 异议中 mark upstream). `cause` names
    the case, e.g. "objection:12"."""

    type: ClassVar[EventType] = EventType.RECORD_STATE_CHANGED

    uscc: str
    source_dept: str
    source_record_id: str
    record_type: str
    previous_state: str
    state: str
    cause: str

    def check(self) -> None:
        _code("uscc", self.uscc)
        _code("source_dept", self.source_dept)
        _text("source_record_id", self.source_record_id, 100)
        _key("record_type", self.record_type)
        _state("previous_state", self.previous_state)
        _state("state", self.state)
        if self.state == self.previous_state:
            raise InvalidEvent(f"a state change to the same state {self.state!r} is no change")
        if not isinstance(self.cause, str) or not _CAUSE.fullmatch(self.cause):
            raise InvalidEvent(f"cause must name an objection or a repair, got {self.cause!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordRepaired(Event):
    """Credit repair approved (信用修复): the record is withdrawn from publication and sharing; the
    province must be told by `report_by` (seed 002 §二(六): within 2 working days)."""

    type: ClassVar[EventType] = EventType.RECORD_REPAIRED

    uscc: str
    source_dept: str
    source_record_id: str
    record_type: str
    repair_id: int
    report_by: str

    def check(self) -> None:
        _code("uscc", self.uscc)
        _code("source_dept", self.source_dept)
        _text("source_record_id", self.source_record_id, 100)
        _key("record_type", self.record_type)
        _number("repair_id", self.repair_id, 1)
        _date("report_by", self.report_by)


@dataclass(frozen=True, slots=True, kw_only=True)
class EntityShielded(Event):
    """The credit office temporarily shielded (暂时屏蔽) a firm's dishonesty records until `until`
    (bankruptcy restructuring); the relay reads shield `shield_id` (entity_shields)."""

    type: ClassVar[EventType] = EventType.ENTITY_SHIELDED

    uscc: str
    shield_id: int
    until: str

    def check(self) -> None:
        _code("uscc", self.uscc)
        _number("shield_id", self.shield_id, 1)
        _date("until", self.until)


@dataclass(frozen=True, slots=True, kw_only=True)
class EntityShieldLifted(Event):
    """The credit office lifted shield `shield_id` before its end date: the firm's records show again."""

    type: ClassVar[EventType] = EventType.ENTITY_SHIELD_LIFTED

    uscc: str
    shield_id: int

    def check(self) -> None:
        _code("uscc", self.uscc)
        _number("shield_id", self.shield_id, 1)


EVENT_CLASSES: Mapping[tuple[EventType, int], type[Event]] = {
    (cls.type, cls.payload_version): cls
    for cls in (
        RecordCreated,
        RecordUpdated,
        EvaluationStored,
        EvaluationWithdrawn,
        RecordsLoaded,
        EvaluationsLoaded,
        EvaluationsGraded,
        ClassificationChanged,
        EntityRenamed,
        AuthorisationRequested,
        AuthorisationApproved,
        AuthorisationRejected,
        AuthorisationPaused,
        AuthorisationResumed,
        AuthorisationRevoked,
        AuthorisationExpired,
        RecordStateChanged,
        RecordRepaired,
        EntityShielded,
        EntityShieldLifted,
    )
}


def decode(event_type: str, payload_version: int, uscc: str | None, payload: Mapping[str, Any]) -> Event:
    """An outbox row read back as its event; InvalidEvent for an unknown type or version, or a payload
    that is not exactly that version's."""
    try:
        cls = EVENT_CLASSES[(EventType(event_type), payload_version)]
    except (ValueError, KeyError) as exc:
        raise InvalidEvent(f"no event {event_type!r} version {payload_version}") from exc
    names = {f.name for f in fields(cls)}
    if set(payload) != names - {"uscc"}:
        expected = sorted(names - {"uscc"})
        raise InvalidEvent(f"{event_type} v{payload_version} carries {expected}, got {sorted(payload)}")
    values = dict(payload)
    if "uscc" in names:
        values["uscc"] = uscc
    elif uscc is not None:
        raise InvalidEvent(f"{event_type} concerns no single entity, got uscc {uscc!r}")
    return cls(**values)
