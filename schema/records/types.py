"""GraphQL types of records and their versions."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, cast

import strawberry
from strawberry.scalars import JSON

from hub.records.archive import RecordView
from schema.context import Info
from schema.cursors import record_cursor

if TYPE_CHECKING:
    from schema.entities.types import Organisation


@strawberry.type(description="One version of a credit record (信用记录) as the caller may see it.")
class Record:
    view: strawberry.Private[RecordView]

    @strawberry.field(
        description="Record type code from the catalogue, e.g. administrative_penalty (行政处罚)."
    )
    def record_type(self) -> str:
        return self.view.record_type

    @strawberry.field(description="Catalogue version of the record type the record was validated against.")
    def type_version(self) -> int:
        return self.view.type_version

    @strawberry.field(
        description="USCC of the party (统一社会信用代码), or a pseudonymous key for a natural person."
    )
    def uscc(self) -> str:
        return self.view.uscc

    @strawberry.field(description="Code of the department that produced the record (数据来源单位).")
    def source_department(self) -> str:
        return self.view.source_dept

    @strawberry.field(description="The source department's own id of the record.")
    def source_record_id(self) -> str:
        return self.view.source_record_id

    @strawberry.field(description="Version number, 1 for the first push; a changed re-push adds one.")
    def version(self) -> int:
        return self.view.version

    @strawberry.field(description="Whether this is the version in force.")
    def current(self) -> bool:
        return self.view.current

    @strawberry.field(description="Decision date (决定日期).")
    def decision_date(self) -> dt.date:
        return self.view.decision_date

    @strawberry.field(description="Severity of a penalty (失信严重程度): minor, general or serious.")
    def severity(self) -> str | None:
        return self.view.severity

    @strawberry.field(description="Code of the publicity rule applied, in force on the decision date.")
    def publicity_rule(self) -> str | None:
        return self.view.publicity_rule

    @strawberry.field(description="Whether the record is published at all (公示).")
    def published(self) -> bool:
        return self.view.published

    @strawberry.field(description="Earliest date credit repair may be applied for (最短公示期届满).")
    def repair_from(self) -> dt.date | None:
        return self.view.repair_from

    @strawberry.field(description="Publicity deadline (公示截止期); null means long-term or until removal.")
    def publish_until(self) -> dt.date | None:
        return self.view.publish_until

    @strawberry.field(
        description="Pushed more than 7 working days after the decision (双公示 deadline); null when not "
        "applicable or the calendar does not know the year."
    )
    def late(self) -> bool | None:
        return self.view.late

    @strawberry.field(description="Organisation that pushed this version.")
    def pushed_by(self) -> str:
        return self.view.pushed_by

    @strawberry.field(description="When this version was stored.")
    def pushed_at(self) -> dt.datetime:
        return self.view.pushed_at

    @strawberry.field(description="Fields that differ from the previous version; null for version 1.")
    def changed_fields(self) -> list[str] | None:
        return list(self.view.changed_fields) if self.view.changed_fields is not None else None

    @strawberry.field(
        description="The record's catalogue fields the caller may see, by field code (e.g. XDR_MC)."
    )
    def fields(self) -> JSON:
        return cast(JSON, self.view.fields)

    @strawberry.field(description="Codes of fields withheld from this caller (sensitive or personal).")
    def withheld_fields(self) -> list[str]:
        return list(self.view.withheld)

    @strawberry.field(
        description="Every version of this record, newest first (history: who, when, what changed)."
    )
    async def versions(self, info: Info) -> list[Record]:
        views = await info.context.loaders.history.load(
            (self.view.uscc, self.view.source_dept, self.view.source_record_id)
        )
        return [Record(view=v) for v in views]

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
    edges = [RecordEdge(node=Record(view=v), cursor=record_cursor(*v.cursor_key)) for v in shown]
    return RecordConnection(
        edges=edges,
        page_info=PageInfo(has_next_page=len(views) > first, end_cursor=edges[-1].cursor if edges else None),
        total_count=total,
    )
