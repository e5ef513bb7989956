"""GraphQL types of records and their versions."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import TYPE_CHECKING, Annotated, cast

import strawberry
from strawberry.scalars import JSON

from hub.records.archive.service import RecordView
from schema.context import Info
from schema.cursors import page_size, record_cursor

if TYPE_CHECKING:
    from schema.entities.types import Organisation


@strawberry.enum(description="The state of a credit record (信用记录状态), above all of a negative one.")
class RecordState(Enum):
    PUBLISHED = strawberry.enum_value("published", description="In force as pushed (正常公示).")
    DISPUTED = strawberry.enum_value("disputed", description="An objection is open (异议中).")
    CORRECTED = strawberry.enum_value(
        "corrected", description="An objection was upheld and the source department corrected it (已更正)."
    )
    UPHELD = strawberry.enum_value(
        "upheld", description="An objection was rejected: the record stands (异议不成立, 维持)."
    )
    BOTH_RECORDED = strawberry.enum_value(
        "both_recorded",
        description="An objection could not be confirmed: both sides are recorded (异议无法核实, 双方意见并存).",
    )
    SHIELDED = strawberry.enum_value(
        "shielded", description="Temporarily shielded (暂时屏蔽): the firm is in bankruptcy restructuring."
    )
    REPAIRED = strawberry.enum_value(
        "repaired", description="Credit repaired (已修复): no longer published, shared or used in evaluation."
    )
    EXPIRED = strawberry.enum_value(
        "expired", description="Past its maximum publicity period (公示期满): no longer published."
    )
    REVOKED = strawberry.enum_value(
        "revoked", description="Revoked by its source department after an objection (已撤销)."
    )


@strawberry.type(description="One version of a credit record (信用记录) as the caller may see it.")
class Record:
    # Plain fields filled once from the view: cheaper to serve than a resolver per field.
    view: strawberry.Private[RecordView]
    record_type: str = strawberry.field(
        description="Record type code from the catalogue, e.g. administrative_penalty (行政处罚)."
    )
    type_version: int = strawberry.field(
        description="Catalogue version of the record type the record was validated against."
    )
    uscc: str = strawberry.field(
        description="USCC of the party (统一社会信用代码), or a pseudonymous key for a natural person."
    )
    source_department: str = strawberry.field(
        description="Code of the department that produced the record (数据来源单位)."
    )
    source_record_id: str = strawberry.field(description="The source department's own id of the record.")
    version: int = strawberry.field(
        description="Version number, 1 for the first push; a changed re-push adds one."
    )
    current: bool = strawberry.field(description="Whether this is the version in force.")
    decision_date: dt.date = strawberry.field(description="Decision date (决定日期).")
    severity: str | None = strawberry.field(
        description="Severity of a penalty (失信严重程度): minor, general or serious."
    )
    publicity_rule: str | None = strawberry.field(
        description="Code of the publicity rule applied, in force on the decision date."
    )
    published: bool = strawberry.field(description="Whether the record is published at all (公示).")
    repair_from: dt.date | None = strawberry.field(
        description="Earliest date credit repair may be applied for (最短公示期届满)."
    )
    publish_until: dt.date | None = strawberry.field(
        description="Publicity deadline (公示截止期); null means long-term or until removal."
    )
    late: bool | None = strawberry.field(
        description="Pushed more than 7 working days after the decision (双公示 deadline); null when not "
        "applicable or the calendar does not know the year."
    )
    pushed_by: str = strawberry.field(description="Organisation that pushed this version.")
    pushed_at: dt.datetime = strawberry.field(description="When this version was stored.")
    changed_fields: list[str] | None = strawberry.field(
        description="Fields that differ from the previous version; null for version 1."
    )
    fields: JSON = strawberry.field(
        description="The record's catalogue fields the caller may see, by field code (e.g. XDR_MC)."
    )
    withheld_fields: list[str] = strawberry.field(
        description="Codes of fields withheld from this caller (sensitive or personal)."
    )
    state: RecordState = strawberry.field(
        description="The record's state today (published, disputed, repaired…); of the record as a whole, "
        "whichever version this is."
    )
    disputed: bool = strawberry.field(
        description="Marked disputed (异议标注): an objection to the record is open."
    )

    @classmethod
    def of(cls, view: RecordView) -> Record:
        return cls(
            view=view,
            record_type=view.record_type,
            type_version=view.type_version,
            uscc=view.uscc,
            source_department=view.source_dept,
            source_record_id=view.source_record_id,
            version=view.version,
            current=view.current,
            decision_date=view.decision_date,
            severity=view.severity,
            publicity_rule=view.publicity_rule,
            published=view.published,
            repair_from=view.repair_from,
            publish_until=view.publish_until,
            late=view.late,
            pushed_by=view.pushed_by,
            pushed_at=view.pushed_at,
            changed_fields=list(view.changed_fields) if view.changed_fields is not None else None,
            fields=cast(JSON, view.fields),
            withheld_fields=list(view.withheld),
            state=RecordState(view.state),
            disputed=view.disputed,
        )

    @strawberry.field(
        description="The newest versions of this record, newest first (history: who, when, what changed)."
    )
    async def versions(
        self,
        info: Info,
        # Capped: versions nest (each version has versions), so an uncapped list multiplies.
        first: Annotated[int, strawberry.argument(description="How many, 1-100.")] = 20,
    ) -> list[Record]:
        size = page_size(first, info.context.settings.max_page_size)
        views = await info.context.loaders.history.load(
            (self.view.uscc, self.view.source_dept, self.view.source_record_id)
        )
        return [Record.of(v) for v in views[:size]]

    @strawberry.field(description="The department that produced the record.")
    async def source(
        self, info: Info
    ) -> Annotated[Organisation, strawberry.lazy("schema.entities.types")] | None:
        from schema.entities.types import Organisation

        organisation = await info.context.loaders.organisation.load(self.view.source_dept)
        return Organisation.of(organisation) if organisation else None


@strawberry.type(description="An edge of a record page.")
class RecordEdge:
    node: Record = strawberry.field(description="The record.")
    cursor: str = strawberry.field(description="Opaque cursor of this record.")


@strawberry.type(description="PageInfo (分页信息).")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow.")
    end_cursor: str | None = strawberry.field(description="Pass as `after` for the next page.")


@strawberry.type(description="A page of records, newest decision first.")
class RecordConnection:
    edges: list[RecordEdge] = strawberry.field(description="The records of this page.")
    page_info: PageInfo = strawberry.field(description="Paging state.")
    total_count: int = strawberry.field(
        description="All records that match the filter (visible to the caller)."
    )


def record_page(views: list[RecordView], first: int, total: int) -> RecordConnection:
    shown = views[:first]
    edges = [RecordEdge(node=Record.of(v), cursor=record_cursor(*v.cursor_key)) for v in shown]
    return RecordConnection(
        edges=edges,
        page_info=PageInfo(has_next_page=len(views) > first, end_cursor=edges[-1].cursor if edges else None),
        total_count=total,
    )
