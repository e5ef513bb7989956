"""publicProfile: an entity as the public sees it (信用公示), whoever asks and with or without a token."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, cast

import strawberry
from strawberry.scalars import JSON

from hub.entities.service import checked_uscc
from hub.records.archive import service as archive
from hub.records.archive.service import RecordView
from schema.context import Info
from schema.cursors import page_size
from schema.permissions import ALL_ROLES, allow
from schema.records.types import RecordState


@strawberry.type(description="A credit record as published (公示): public fields only.")
class PublicRecord:
    record_type: str = strawberry.field(
        description="Record type code, e.g. administrative_penalty (行政处罚)."
    )
    source_department: str = strawberry.field(description="Code of the department that produced it.")
    source_record_id: str = strawberry.field(description="The source department's own id of the record.")
    decision_date: dt.date = strawberry.field(description="Decision date (决定日期).")
    severity: str | None = strawberry.field(description="Severity of a penalty: minor, general or serious.")
    publish_until: dt.date | None = strawberry.field(
        description="Publicity deadline (公示截止期); null means long-term or until removal."
    )
    state: RecordState = strawberry.field(description="Its state: published, disputed, corrected, upheld…")
    disputed: bool = strawberry.field(description="Marked disputed (异议中): an objection is open.")
    fields: JSON = strawberry.field(description="The record's public fields, by field code.")
    withheld_fields: list[str] = strawberry.field(
        description="Codes of the fields withheld from the public (personal or restricted)."
    )

    @classmethod
    def of(cls, view: RecordView) -> PublicRecord:
        return cls(
            record_type=view.record_type,
            source_department=view.source_dept,
            source_record_id=view.source_record_id,
            decision_date=view.decision_date,
            severity=view.severity,
            publish_until=view.publish_until,
            state=RecordState(view.state),
            disputed=view.disputed,
            fields=cast(JSON, view.fields),
            withheld_fields=list(view.withheld),
        )


@strawberry.type(description="The public credit profile of an entity (信用公示): what anyone may see.")
class PublicProfile:
    uscc: str = strawberry.field(description="USCC (统一社会信用代码).")
    name: str | None = strawberry.field(description="Registered name (名称).")
    kind: str = strawberry.field(description="Entity type, e.g. enterprise, individual_business.")
    district: str = strawberry.field(description="Administrative division code (行政区划代码).")
    records: list[PublicRecord] = strawberry.field(
        description="Records under publicity, newest decision first: none repaired (已修复), revoked, "
        "temporarily shielded (暂时屏蔽) or past their maximum period; disputed ones marked."
    )
    total_count: int = strawberry.field(description="How many such records there are in all.")


@strawberry.type
class PublicQueries:
    @strawberry.field(
        description="The public credit profile (信用公示) of an entity, the same for every caller, with or "
        "without a token: public fields only, every personal field withheld. Null for an unknown code and "
        "for a natural person, whose information is never published.",
        extensions=allow(*ALL_ROLES),
    )
    async def public_profile(
        self,
        info: Info,
        uscc: Annotated[str, strawberry.argument(description="The entity's USCC.")],
        first: Annotated[int, strawberry.argument(description="How many records, 1-max page size.")] = 100,
    ) -> PublicProfile | None:
        context = info.context
        code = checked_uscc(uscc)
        size = page_size(first, context.settings.max_page_size)
        found = await archive.public_profile(
            context.session, context.disclosure.public_view(), context.keys, code, context.today, size
        )
        if found is None:
            return None
        return PublicProfile(
            uscc=found.uscc,
            name=found.name,
            kind=found.kind,
            district=found.district,
            records=[PublicRecord.of(v) for v in found.records],
            total_count=found.total,
        )
