"""All mapped tables, imported so that Base.metadata knows them."""

from hub.models.audit import (
    AccessLogBatch,
    AccessLogCheckpoint,
    AccessLogEntry,
    AccessLogLeaf,
    AccessLogNode,
    AccessLogPurge,
)
from hub.models.base import Base
from hub.models.catalog import CatalogDocument
from hub.models.consents import Authorisation, AuthorisationUse
from hub.models.entities import Entity, EntityNameChange
from hub.models.grading import Classification, ClassificationChange, DomainMember, IndicatorValues
from hub.models.ingest import BulkReceipt, BulkRejection, BulkWarning, IdempotentPush
from hub.models.inspections import (
    InspectionPlan,
    Inspector,
    InspectorConflict,
    PlanAssignment,
    PlanCandidateList,
    PlanConflict,
    PlanInspector,
    PlanPublication,
)
from hub.models.objections import Objection
from hub.models.organisations import ROLES, ApiToken, Organisation
from hub.models.record_states import EntityShield, RecordState, RecordStateChange
from hub.models.records import Record
from hub.models.repairs import RepairApplication
from hub.models.sync import OutboxEvent

__all__ = [
    "ROLES",
    "AccessLogBatch",
    "AccessLogCheckpoint",
    "AccessLogEntry",
    "AccessLogLeaf",
    "AccessLogNode",
    "AccessLogPurge",
    "ApiToken",
    "Authorisation",
    "AuthorisationUse",
    "Base",
    "BulkReceipt",
    "BulkRejection",
    "BulkWarning",
    "CatalogDocument",
    "Classification",
    "ClassificationChange",
    "DomainMember",
    "Entity",
    "EntityNameChange",
    "EntityShield",
    "IdempotentPush",
    "IndicatorValues",
    "InspectionPlan",
    "Inspector",
    "InspectorConflict",
    "Objection",
    "Organisation",
    "OutboxEvent",
    "PlanAssignment",
    "PlanCandidateList",
    "PlanConflict",
    "PlanInspector",
    "PlanPublication",
    "Record",
    "RecordState",
    "RecordStateChange",
    "RepairApplication",
]
