"""GraphQL types of grading schemes, supervision domains, measures and classifications."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Any

import strawberry
from sqlalchemy import Row

from hub.catalog.grading_schemes import GradingScheme
from hub.catalog.supervision_domains import Measures as MeasuresData
from hub.catalog.supervision_domains import SupervisionDomain
from hub.disclosure.gate import Disclosure
from hub.disclosure.policy import Item, Subject
from hub.grading.service import Effective


@strawberry.enum(description="The four unified credit categories (信用分类).")
class CreditCategory(Enum):
    TRUSTWORTHY = strawberry.enum_value("trustworthy", description="诚信守法 (grades A and B).")
    MINOR = strawberry.enum_value("minor", description="轻微失信 (grade C).")
    GENERAL = strawberry.enum_value("general", description="一般失信 (grade D).")
    SERIOUS = strawberry.enum_value("serious", description="严重失信 (grade E).")


@strawberry.type(description="A level of a grading scheme (评价等级) and the category it means.")
class SchemeLevel:
    code: str = strawberry.field(description="Level code, e.g. A.")
    label_zh: str = strawberry.field(description="Chinese label.")
    category: CreditCategory = strawberry.field(description="The unified category of this level.")
    min_score: str | None = strawberry.field(
        description="Lowest score of the band (inclusive), if score based."
    )
    max_score: str | None = strawberry.field(description="Upper bound of the band (exclusive); null: none.")


@strawberry.type(description="A grading scheme (评价标准) at its version in force.")
class Scheme:
    code: str = strawberry.field(description="Scheme code, e.g. samr_risk.")
    version: int = strawberry.field(description="Version in the hub's catalogue; evaluations name it.")
    title: str = strawberry.field(description="English title.")
    title_zh: str = strawberry.field(description="Chinese title.")
    issuer: str = strawberry.field(description="Who issues it.")
    valid_from: dt.date | None = strawberry.field(description="In force from (e.g. customs: 2026-04-01).")
    valid_to: dt.date | None = strawberry.field(description="In force until.")
    levels: list[SchemeLevel] = strawberry.field(description="Its levels, best first.")

    @classmethod
    def of(cls, scheme: GradingScheme, version: int) -> Scheme:
        return cls(
            code=scheme.code,
            version=version,
            title=scheme.title,
            title_zh=scheme.title_zh,
            issuer=scheme.issuer,
            valid_from=scheme.valid_from,
            valid_to=scheme.valid_to,
            levels=[
                SchemeLevel(
                    code=level.code,
                    label_zh=level.label_zh,
                    category=CreditCategory(level.category.value),
                    min_score=str(level.min_score) if level.min_score is not None else None,
                    max_score=str(level.max_score) if level.max_score is not None else None,
                )
                for level in scheme.levels
            ],
        )


@strawberry.type(description="Measures for one category in one domain (差异化监管措施).")
class Measures:
    sampling_ratio_min: str = strawberry.field(
        description="Lowest random-inspection sampling ratio (抽查比例), 0-1."
    )
    sampling_ratio_max: str | None = strawberry.field(
        description="Highest sampling ratio; null: no upper limit."
    )
    yearly_frequency_min: str = strawberry.field(description="Fewest inspections a year (抽查频次).")
    yearly_frequency_max: str | None = strawberry.field(
        description="Most inspections a year; null: as needed."
    )
    inspection_mode: str = strawberry.field(description="paper (书面检查) or on_site (实地检查).")
    may_exclude: bool = strawberry.field(description="Low risk: may be left out of a random draw.")
    always_inspect: bool = strawberry.field(description="High risk: always drawn, on site.")
    incentives: list[str] = strawberry.field(
        description="Incentives (激励措施), e.g. green_channel, 容缺受理."
    )
    restrictions: list[str] = strawberry.field(
        description="Restrictions (约束措施), e.g. no_notification_commitment."
    )
    notes: str = strawberry.field(description="Where the measures come from.")

    @classmethod
    def of(cls, m: MeasuresData) -> Measures:
        return cls(
            sampling_ratio_min=str(m.sampling_ratio_min),
            sampling_ratio_max=str(m.sampling_ratio_max) if m.sampling_ratio_max is not None else None,
            yearly_frequency_min=str(m.yearly_frequency_min),
            yearly_frequency_max=str(m.yearly_frequency_max) if m.yearly_frequency_max is not None else None,
            inspection_mode=m.inspection_mode,
            may_exclude=m.may_exclude,
            always_inspect=m.always_inspect,
            incentives=[i.value for i in m.incentives],
            restrictions=[r.value for r in m.restrictions],
            notes=m.notes,
        )


@strawberry.type(description="The measures of one category.")
class CategoryMeasures:
    category: CreditCategory = strawberry.field(description="The category.")
    measures: Measures = strawberry.field(description="What applies to it.")


@strawberry.type(description="A supervision domain (监管领域) and its responsible department.")
class Domain:
    code: str = strawberry.field(description="Domain code, e.g. food_production.")
    version: int = strawberry.field(description="Version of its definition (measures) in the catalogue.")
    name_zh: str = strawberry.field(description="Chinese name.")
    name: str = strawberry.field(description="English name.")
    department_zh: str = strawberry.field(
        description="Responsible department (责任部门), as the seeds name it."
    )
    department_code: str | None = strawberry.field(
        description="USCC of the department assigned to the domain."
    )
    scheme: str = strawberry.field(description="Grading scheme of its industry evaluations.")
    default_category: CreditCategory = strawberry.field(
        description="Category of an entity with no evaluation."
    )
    measures: list[CategoryMeasures] = strawberry.field(description="Measures for each category.")

    @classmethod
    def of(cls, domain: SupervisionDomain, version: int, department_code: str | None) -> Domain:
        return cls(
            code=domain.code,
            version=version,
            name_zh=domain.name_zh,
            name=domain.name,
            department_zh=domain.department_zh,
            department_code=department_code,
            scheme=domain.scheme,
            default_category=CreditCategory(domain.default_category.value),
            measures=[
                CategoryMeasures(category=CreditCategory(c.value), measures=Measures.of(m))
                for c, m in domain.measures.items()
            ],
        )


@strawberry.type(
    description="An entity's classification in a domain (分级分类结果) and the measures that apply."
)
class Supervision:
    uscc: str = strawberry.field(description="The entity's USCC.")
    domain: str = strawberry.field(description="The domain.")
    category: CreditCategory = strawberry.field(description="Effective category.")
    grade: str | None = strawberry.field(
        description="Grade of the evaluation it rests on; null for the default."
    )
    scheme: str | None = strawberry.field(description="Scheme of that grade.")
    scheme_version: int | None = strawberry.field(
        description="Version of the scheme the grade was checked against."
    )
    basis: str = strawberry.field(
        description="industry (行业信用评价), public (公共信用综合评价) or default (no evaluation)."
    )
    evaluated_by: str | None = strawberry.field(
        description="Code of the organisation that pushed the evaluation."
    )
    evaluation_id: str | None = strawberry.field(description="Its id at the evaluator.")
    evaluated_on: dt.date | None = strawberry.field(description="Evaluation date.")
    valid_until: dt.date | None = strawberry.field(
        description="Valid until; after it, the evaluation is not current."
    )
    measures: Measures = strawberry.field(description="Measures that apply (激励与约束).")
    basis_disputed: bool = strawberry.field(
        description="The evaluation it rests on is under objection (异议中): the mark travels with it."
    )

    @classmethod
    def disclosed(cls, gate: Disclosure, e: Effective) -> Supervision | None:
        """The classification as the gate lets it leave (null when withheld)."""
        if not gate.admits(Item.SUPERVISION, Subject(uscc=e.uscc, owner=e.source_dept), kind=e.domain):
            return None
        return cls.of(e)

    @classmethod
    def of(cls, e: Effective) -> Supervision:
        return cls(
            uscc=e.uscc,
            domain=e.domain,
            category=CreditCategory(e.category.value),
            grade=e.grade,
            scheme=e.scheme,
            scheme_version=e.scheme_version,
            basis=e.basis,
            evaluated_by=e.source_dept,
            evaluation_id=e.source_record_id,
            evaluated_on=e.evaluated_on,
            valid_until=e.valid_until,
            measures=Measures.of(e.measures),
            basis_disputed=e.basis_disputed,
        )


@strawberry.type(
    description="A change of an entity's category or grade in a domain (分类变更), with its cause."
)
class ClassificationChange:
    id: int = strawberry.field(description="Increasing id; subscriptions resume after it.")
    uscc: str = strawberry.field(description="The entity.")
    domain: str = strawberry.field(description="The domain.")
    old_category: CreditCategory | None = strawberry.field(description="Before; null when first classified.")
    new_category: CreditCategory = strawberry.field(description="After.")
    old_grade: str | None = strawberry.field(description="Grade before.")
    new_grade: str | None = strawberry.field(description="Grade after.")
    basis: str = strawberry.field(description="industry, public or default.")
    cause: str = strawberry.field(description="Why it was recomputed.")
    changed_at: dt.datetime = strawberry.field(description="When.")

    @classmethod
    def disclosed(cls, gate: Disclosure, row: Row[Any]) -> ClassificationChange | None:
        """The change as the gate lets it leave (None when withheld)."""
        r = row._mapping
        if not gate.admits(Item.CLASSIFICATION, Subject(uscc=r["uscc"]), kind=r["domain"]):
            return None
        return cls.of(row)

    @classmethod
    def of(cls, row: Row[Any]) -> ClassificationChange:
        r = row._mapping
        return cls(
            id=r["id"],
            uscc=r["uscc"],
            domain=r["domain"],
            old_category=CreditCategory(r["old_category"]) if r["old_category"] else None,
            new_category=CreditCategory(r["new_category"]),
            old_grade=r["old_grade"],
            new_grade=r["new_grade"],
            basis=r["basis"],
            cause=r["cause"],
            changed_at=r["changed_at"],
        )
