"""The record catalogue and the working-day calendar, as the API shows and amends them."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, cast

import strawberry
from strawberry.scalars import JSON

from hub.auth.caller import Role
from hub.catalog import amendments as catalog_admin
from hub.catalog import policy as policy_service
from hub.catalog.record_types import FieldDef, RecordTypeDef
from schema.context import Info
from schema.errors import InvalidInput, json_object
from schema.permissions import ALL_ROLES, allow


@strawberry.type(description="A field of a record type (数据项).")
class CatalogField:
    definition: strawberry.Private[FieldDef]

    @strawberry.field(description="Field code, e.g. XDR_MC.")
    def name(self) -> str:
        return self.definition.name

    @strawberry.field(description="Chinese label, e.g. 行政相对人名称.")
    def label_zh(self) -> str:
        return self.definition.label_zh

    @strawberry.field(description="English label.")
    def label(self) -> str:
        return self.definition.label

    @strawberry.field(description="What the field holds.")
    def description(self) -> str:
        return self.definition.description

    @strawberry.field(
        description="Value type: string, text, date, decimal, enum, enum_list, uscc, id_number…"
    )
    def type(self) -> str:
        return self.definition.type

    @strawberry.field(description="Always required.")
    def required(self) -> bool:
        return self.definition.required

    @strawberry.field(
        description="Required when another field has one of these values, e.g. {XDR_LB: [自然人]}."
    )
    def required_when(self) -> JSON:
        return cast(JSON, {c.field: list(c.values) for c in self.definition.required_when})

    @strawberry.field(description="Sensitivity class: public, restricted or personal.")
    def sensitivity(self) -> str:
        return self.definition.sensitivity

    @strawberry.field(description="Allowed values of an enum.")
    def values(self) -> list[str]:
        return list(self.definition.values)

    @strawberry.field(description="Unit of a decimal, e.g. 万元 (10,000 yuan).")
    def unit(self) -> str | None:
        return self.definition.unit

    @strawberry.field(description="Maximum length of a string.")
    def max_length(self) -> int | None:
        return self.definition.max_length


@strawberry.type(description="A record type of the catalogue (信用信息目录), at its version in force.")
class RecordType:
    definition: strawberry.Private[RecordTypeDef]
    stored_version: int = strawberry.field(description="Version of this definition in the hub's catalogue.")

    @strawberry.field(description="Type code, e.g. administrative_penalty.")
    def code(self) -> str:
        return self.definition.code

    @strawberry.field(description="English title.")
    def title(self) -> str:
        return self.definition.title

    @strawberry.field(description="Chinese title, e.g. 行政处罚.")
    def title_zh(self) -> str:
        return self.definition.title_zh

    @strawberry.field(description="double_publicity, supervision, commitment, list or other.")
    def category(self) -> str:
        return self.definition.category

    @strawberry.field(description="Field holding the decision date.")
    def decision_date_field(self) -> str:
        return self.definition.decision_date_field

    @strawberry.field(description="Field that must hold the pushing department's code.")
    def source_code_field(self) -> str:
        return self.definition.source_code_field

    @strawberry.field(description="Default record id when the push gives none.")
    def identity_field(self) -> str:
        return self.definition.identity_field

    @strawberry.field(
        description="Roles that may push records of this type (department, province, association, "
        "credit_office); a record's source unit code must still be the pusher's own."
    )
    def pushers(self) -> list[str]:
        return list(self.definition.pushers)

    @strawberry.field(description="The fields.")
    def fields(self) -> list[CatalogField]:
        return [CatalogField(definition=f) for f in self.definition.fields]


@strawberry.type(description="A year of the working-day calendar (工作日历).")
class CalendarYear:
    year: int = strawberry.field(description="The year.")
    version: int = strawberry.field(description="Version of its schedule in the catalogue.")


@strawberry.input(description="A year's State Council holiday schedule (节假日安排).")
class CalendarYearInput:
    year: int = strawberry.field(description="The year.")
    source: str = strawberry.field(description="The notice it comes from.")
    holidays: list[dt.date] = strawberry.field(description="Every day off that is not a plain weekend day.")
    workdays: list[dt.date] = strawberry.field(description="Make-up working days (调休) on weekends.")


LoadCalendarResult = Annotated[
    CalendarYear | InvalidInput,
    strawberry.union("LoadCalendarResult", description="The stored year, or why it was refused."),
]


@strawberry.type
class CatalogQueries:
    @strawberry.field(description="The record catalogue in force.", extensions=allow(*ALL_ROLES))
    async def record_types(self, info: Info) -> list[RecordType]:
        policy = await policy_service.current_policy(info.context.session)
        return [
            RecordType(definition=d, stored_version=policy.type_versions[code])
            for code, d in sorted(policy.record_types.items())
        ]

    @strawberry.field(description="Years the working-day calendar knows.", extensions=allow(*ALL_ROLES))
    async def calendar_years(self, info: Info) -> list[CalendarYear]:
        policy = await policy_service.current_policy(info.context.session)
        return [CalendarYear(year=y, version=v) for y, v in sorted(policy.calendar_versions.items())]


SaveRecordTypeResult = Annotated[
    RecordType | InvalidInput,
    strawberry.union("SaveRecordTypeResult", description="The stored definition, or why it was refused."),
]


@strawberry.type(description="A stored version of the publicity rules (公示期限规则).")
class PublicityRules:
    version: int = strawberry.field(description="Version in the catalogue.")


SavePublicityRulesResult = Annotated[
    PublicityRules | InvalidInput,
    strawberry.union("SavePublicityRulesResult", description="The stored version, or why it was refused."),
]


@strawberry.type
class CatalogMutations:
    @strawberry.mutation(
        description="Add or amend a record type of the catalogue (credit office); stored as a new version. "
        "Fields holding stored data cannot be removed.",
        extensions=allow(Role.CREDIT_OFFICE),
    )
    async def save_record_type(
        self,
        info: Info,
        definition: Annotated[
            JSON,
            strawberry.argument(description="The definition, in the layout of hub/catalog/records/*.yaml."),
        ],
    ) -> SaveRecordTypeResult:
        saved, version = await catalog_admin.save_record_type(
            info.context.session, json_object(definition, "definition"), info.context.caller.label
        )
        return RecordType(definition=saved, stored_version=version)

    @strawberry.mutation(
        description="Replace the publicity rules (credit office), e.g. when a new national rule comes into force; "
        "stored as a new version. Rules apply by the decision date of each record.",
        extensions=allow(Role.CREDIT_OFFICE),
    )
    async def save_publicity_rules(
        self,
        info: Info,
        rules: Annotated[
            JSON, strawberry.argument(description="The rules, in the layout of hub/catalog/publicity.yaml.")
        ],
    ) -> SavePublicityRulesResult:
        document = await catalog_admin.save_publicity_rules(
            info.context.session, json_object(rules, "rules"), info.context.caller.label
        )
        return PublicityRules(version=document.version)

    @strawberry.mutation(
        description="Load or amend a year's working-day schedule (credit office only); stored as a new version.",
        extensions=allow(Role.CREDIT_OFFICE),
    )
    async def load_calendar_year(
        self,
        info: Info,
        schedule: Annotated[CalendarYearInput, strawberry.argument(description="The schedule.")],
    ) -> LoadCalendarResult:
        body = {
            "year": schedule.year,
            "source": schedule.source,
            "holidays": [d.isoformat() for d in schedule.holidays],
            "workdays": [d.isoformat() for d in schedule.workdays],
        }
        document = await policy_service.load_calendar_year(
            info.context.session, body, by=info.context.caller.label
        )
        return CalendarYear(year=schedule.year, version=document.version)
