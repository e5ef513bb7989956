"""GraphQL types of the entity registry."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Annotated

import strawberry

from hub import models
from hub.disclosure.policy import Item, Subject
from hub.entities.service import EntityRow
from hub.records.archive.service import PageRequest, RecordFilter, SourceSummary
from schema.context import Info
from schema.cursors import decode_record_cursor, page_size
from schema.records.types import PageInfo, RecordConnection, record_page

# What a withheld entity name reads as (the field is not nullable).
WITHHELD_NAME = "***"


@strawberry.enum(description="Role of a caller (调用方角色).")
class RoleName(Enum):
    CREDIT_OFFICE = strawberry.enum_value("credit_office", description="The city credit office (信用办).")
    DEPARTMENT = strawberry.enum_value("department", description="A government department (行业主管部门).")
    PROVINCE = strawberry.enum_value("province", description="The provincial platform (省平台).")
    BANK = strawberry.enum_value("bank", description="A bank (金融机构).")
    ASSOCIATION = strawberry.enum_value("association", description="An industry association (行业协会).")
    ENTITY = strawberry.enum_value("entity", description="A market entity (市场主体).")
    PUBLIC = strawberry.enum_value("public", description="Anyone without a token (社会公众).")


@strawberry.type(description="An organisation known to the hub (a caller, or a record's source).")
class Organisation:
    code: str = strawberry.field(description="Its USCC (统一社会信用代码).")
    name: str = strawberry.field(description="Its name.")
    role: RoleName = strawberry.field(description="Its role.")

    @classmethod
    def of(cls, row: models.Organisation) -> Organisation:
        return cls(code=row.code, name=row.name, role=RoleName(row.role))


@strawberry.type(description="A department that contributed records to an archive (数据来源).")
class Source:
    summary: strawberry.Private[SourceSummary]

    @strawberry.field(description="Code of the source department.")
    def code(self) -> str:
        return self.summary.source_dept

    @strawberry.field(description="Current records from this source.")
    def record_count(self) -> int:
        return self.summary.records

    @strawberry.field(description="Most recent decision date among them.")
    def latest_decision_date(self) -> dt.date:
        return self.summary.latest_decision

    @strawberry.field(description="The department itself.")
    async def organisation(self, info: Info) -> Organisation | None:
        row = await info.context.loaders.organisation.load(self.summary.source_dept)
        return Organisation.of(row) if row else None


@strawberry.input(description="Which records to list.")
class RecordFilterInput:
    record_types: list[str] | None = strawberry.field(default=None, description="Record type codes.")
    sources: list[str] | None = strawberry.field(default=None, description="Source department codes.")
    decided_from: dt.date | None = strawberry.field(default=None, description="Decision date on or after.")
    decided_to: dt.date | None = strawberry.field(default=None, description="Decision date on or before.")

    def to_filter(self) -> RecordFilter:
        return RecordFilter(
            record_types=tuple(sorted(self.record_types)) if self.record_types else None,
            sources=tuple(sorted(self.sources)) if self.sources else None,
            decided_from=self.decided_from,
            decided_to=self.decided_to,
        )


@strawberry.type(description="A market entity's credit archive (信用档案), keyed by its USCC.")
class Entity:
    row: strawberry.Private[EntityRow]

    @strawberry.field(description="Unified social credit code (统一社会信用代码).")
    def uscc(self) -> str:
        return self.row.uscc

    @strawberry.field(
        description="Name of the entity (主体名称), as last reported; masked for a third party when the "
        "masking policy (脱敏策略) says so, and `***` when it withholds it (`extensions.disclosure` says why)."
    )
    def name(self, info: Info) -> str:
        subject = Subject(uscc=self.row.uscc, sensitivity="public")
        return info.context.disclosure.text(Item.ENTITY, "name", self.row.name, subject) or WITHHELD_NAME

    @strawberry.field(
        description="Entity type from the code (主体类型), e.g. enterprise, individual_business."
    )
    def kind(self) -> str:
        return self.row.kind

    @strawberry.field(description="Administrative division code (行政区划代码), positions 3-8 of the USCC.")
    def district(self) -> str:
        return self.row.district

    @strawberry.field(
        description="Credit records in force, newest decision first (paginated; `first` at most 100)."
    )
    async def records(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description="Page size, 1-100.")] = 20,
        after: Annotated[
            str | None, strawberry.argument(description="endCursor of the previous page.")
        ] = None,
        filter: Annotated[RecordFilterInput | None, strawberry.argument(description="Which records.")] = None,
    ) -> RecordConnection:
        size = page_size(first, info.context.settings.max_page_size)
        flt = filter.to_filter() if filter else RecordFilter()
        cursor = decode_record_cursor(after) if after else None
        loaders = info.context.loaders
        views = await loaders.records.load(PageRequest(self.row.uscc, flt, cursor, size + 1))
        total = await loaders.record_count.load((self.row.uscc, flt))
        return record_page(views, size, total)

    @strawberry.field(description="Departments that contributed records (数据来源).")
    async def sources(self, info: Info) -> list[Source]:
        return [Source(summary=s) for s in await info.context.loaders.sources.load(self.row.uscc)]


@strawberry.type(description="An edge of an entity search.")
class EntityEdge:
    node: Entity = strawberry.field(description="The entity.")
    cursor: str = strawberry.field(description="Opaque cursor.")


@strawberry.type(description="A page of entities, in code order.")
class EntityConnection:
    edges: list[EntityEdge] = strawberry.field(description="The entities of this page.")
    page_info: PageInfo = strawberry.field(description="Paging state.")
    total_count: int = strawberry.field(description="All entities matching the search.")


__all__ = [
    "Entity",
    "EntityConnection",
    "EntityEdge",
    "Organisation",
    "RecordConnection",
    "RoleName",
    "Source",
]
