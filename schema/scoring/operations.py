"""Industry credit evaluation (行业信用评价): models, indicator values and grading a whole domain."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Any, cast

import strawberry
from strawberry.file_uploads import Upload

from hub.auth.caller import Role
from hub.catalog.evaluation_models import EvaluationModel as ModelData
from hub.catalog.evaluation_models import plain
from hub.disclosure.policy import Item, Subject
from hub.records.bulk import receipts as bulk_service
from hub.records.bulk.service import ByteSource
from hub.scoring import service as scoring
from schema.context import Info
from schema.disclosure import problems
from schema.errors import (
    FieldProblem,
    InvalidInput,
    NotFoundProblem,
    NotPermitted,
)
from schema.permissions import allow

# Models, values and grading are the domain's department's work (seed 001 §三(一)3); the credit
# office reads the models, for the work ledger.
GRADERS = (Role.DEPARTMENT,)
MODEL_READERS = (Role.DEPARTMENT, Role.CREDIT_OFFICE)
MAX_REJECTIONS = 1000


@strawberry.type(description="An indicator of an industry evaluation model (评价指标).")
class EvaluationIndicator:
    code: str = strawberry.field(description="Indicator code: upper-case letters, digits and _, e.g. PUB.")
    label_zh: str = strawberry.field(description="Chinese name of the indicator (指标名称).")
    weight: str = strawberry.field(description="Weight (权重), a fraction of 1 with at most 4 decimals.")
    min: str = strawberry.field(description="Lowest value (最低值), worth 0 points.")
    max: str = strawberry.field(description="Highest value (最高值), worth 100 points.")
    optional: bool = strawberry.field(
        description="May be left empty; its weight is then shared among the indicators given."
    )


@strawberry.type(
    description="A department's industry credit evaluation model (行业信用评价模型) for one domain and period. "
    "score = Σ weight × points / Σ weight of the indicators given, points = (value − min) / (max − min) × 100, "
    "rounded to 2 decimals; the grade is the domain scheme's level whose score band holds it."
)
class EvaluationModel:
    domain: str = strawberry.field(description="Supervision domain code (监管领域).")
    period: str = strawberry.field(
        description="Evaluation period (评价期间): YYYY, YYYY-H1, YYYY-Q2 or YYYY-MM."
    )
    version: int = strawberry.field(description="Version of the model in the catalogue; results name it.")
    title_zh: str = strawberry.field(description="Chinese title of the model (模型名称).")
    public_indicator: str = strawberry.field(
        description="Code of the public comprehensive evaluation indicator (公共信用综合评价结果)."
    )
    average_weight: str = strawberry.field(
        description="Average indicator weight (平均权重), 1/n: the public indicator weighs at least this."
    )
    valid_until: dt.date = strawberry.field(
        description="Results are valid until the period's end (有效期至)."
    )
    indicators: list[EvaluationIndicator] = strawberry.field(description="The indicators (评价指标体系).")

    @classmethod
    def of(cls, model: ModelData, version: int) -> EvaluationModel:
        average = (Decimal(1) / len(model.indicators)).quantize(Decimal("0.0001"))
        return cls(
            domain=model.domain,
            period=model.period,
            version=version,
            title_zh=model.title_zh,
            public_indicator=model.public_indicator,
            average_weight=plain(average),
            valid_until=model.valid_until,
            indicators=[
                EvaluationIndicator(
                    code=i.code,
                    label_zh=i.label_zh,
                    weight=plain(i.weight),
                    min=plain(i.min_value),
                    max=plain(i.max_value),
                    optional=i.optional,
                )
                for i in model.indicators
            ],
        )


@strawberry.input(description="An indicator of an evaluation model (评价指标).")
class EvaluationIndicatorInput:
    code: str = strawberry.field(description="Indicator code: upper-case letters, digits and _.")
    label_zh: str = strawberry.field(description="Chinese name of the indicator (指标名称).")
    weight: str = strawberry.field(description="Weight (权重): above 0, at most 1, at most 4 decimals.")
    min: str = strawberry.field(description="Lowest value (最低值), inclusive.")
    max: str = strawberry.field(description="Highest value (最高值), inclusive; above min.")
    optional: bool = strawberry.field(
        default=False, description="May be left empty for an entity (not for the public indicator)."
    )


@strawberry.input(
    description="An industry evaluation model (行业信用评价模型); the weights sum to exactly 1."
)
class EvaluationModelInput:
    domain: str = strawberry.field(description="One of your supervision domains (监管领域).")
    period: str = strawberry.field(
        description="Evaluation period (评价期间): YYYY, YYYY-H1, YYYY-Q2 or YYYY-MM."
    )
    public_indicator: str = strawberry.field(
        description="Code of the public comprehensive evaluation indicator (公共信用综合评价结果); its weight is "
        "at least the average weight (seed 001 §三(一)3)."
    )
    indicators: list[EvaluationIndicatorInput] = strawberry.field(description="1 to 50 indicators.")
    title_zh: str | None = strawberry.field(default=None, description="Chinese title (模型名称).")


@strawberry.input(description="One indicator value of one entity (指标值).")
class IndicatorValueInput:
    code: str = strawberry.field(description="Indicator code of the model.")
    value: str | None = strawberry.field(
        description="Plain decimal within the indicator's min and max; null or empty: left empty."
    )


@strawberry.input(description="An entity's indicator values for the period.")
class EntityIndicatorsInput:
    uscc: str = strawberry.field(description="The entity's USCC (统一社会信用代码).")
    indicators: list[IndicatorValueInput] = strawberry.field(
        description="Its values; the public indicator may be left out (taken from its public evaluation score)."
    )


@strawberry.type(description="A line of indicator values that was not stored, and why.")
class RejectedIndicatorRow:
    line: int = strawberry.field(
        description="CSV line (the header is line 1), or for loadIndicatorValues the index in `entities` (from 0)."
    )
    uscc: str | None = strawberry.field(description="The USCC as given, when there was one.")
    errors: list[FieldProblem] = strawberry.field(
        description="Codes: USCC_*, UNKNOWN_INDICATOR, NOT_A_NUMBER, VALUE_OUT_OF_RANGE, MISSING_INDICATOR, "
        "DUPLICATE_INDICATOR, DUPLICATE_IN_FILE, ROW_WIDTH."
    )


@strawberry.type(description="Receipt of an indicator value load (指标值归集回执); valid lines are stored.")
class IndicatorValuesLoaded:
    receipt_id: strawberry.ID = strawberry.field(description="Receipt id (also readable with bulkReceipt).")
    domain: str = strawberry.field(description="Supervision domain.")
    period: str = strawberry.field(description="Evaluation period.")
    model_version: int = strawberry.field(description="Version of the model the values were checked against.")
    total: int = strawberry.field(description="Lines read.")
    created: int = strawberry.field(description="Entities with values stored for the first time.")
    updated: int = strawberry.field(description="Entities whose values changed.")
    unchanged: int = strawberry.field(description="Entities whose values were already the same.")
    filled_from_public: int = strawberry.field(
        description="Stored lines whose public indicator was taken from the entity's current public "
        "comprehensive evaluation score (PJFS)."
    )
    rejected: int = strawberry.field(description="Lines not stored.")
    rejections_url: str = strawberry.field(
        description="Path of the CSV of every rejected line with reasons (GET with the same bearer token)."
    )

    loaded_by: strawberry.Private[str | None] = None

    @strawberry.field(description="The first rejected lines with their reasons (at most 1,000).")
    async def rejections(
        self, info: Info, first: Annotated[int, strawberry.argument(description="How many, 1-1000.")] = 100
    ) -> list[RejectedIndicatorRow]:
        size = max(1, min(first, MAX_REJECTIONS))
        rows = await bulk_service.rejections(
            info.context.session, info.context.caller, uuid.UUID(self.receipt_id), size
        )
        gate = info.context.disclosure
        return [
            RejectedIndicatorRow(
                line=line,
                uscc=gate.text(Item.PUSH_ANSWER, "uscc", uscc, Subject(uscc=uscc, owner=self.loaded_by)),
                errors=problems(gate, errors, Subject(uscc=uscc, owner=self.loaded_by)),
            )
            for line, uscc, errors in rows
        ]

    @classmethod
    def of(cls, loaded: scoring.ValuesLoaded, loaded_by: str | None) -> IndicatorValuesLoaded:
        return cls(
            loaded_by=loaded_by,
            receipt_id=strawberry.ID(str(loaded.receipt_id)),
            domain=loaded.domain,
            period=loaded.period,
            model_version=loaded.model_version,
            total=loaded.total,
            created=loaded.created,
            updated=loaded.updated,
            unchanged=loaded.unchanged,
            filled_from_public=loaded.filled,
            rejected=loaded.rejected,
            rejections_url=f"/bulk/{loaded.receipt_id}/rejections.csv",
        )


@strawberry.type(description="What grading a domain did (行业信用评价结果生成).")
class DomainGraded:
    domain: str = strawberry.field(description="Supervision domain.")
    period: str = strawberry.field(description="Evaluation period.")
    model_version: int = strawberry.field(description="Version of the model used.")
    scheme: str = strawberry.field(description="The domain's grading scheme (评价标准).")
    entities: int = strawberry.field(description="Entities with values for the period.")
    scored: int = strawberry.field(description="Entities scored and graded.")
    incomplete: int = strawberry.field(
        description="Entities not graded: values missing or out of range for the model in force."
    )
    ungraded: int = strawberry.field(
        description="Entities not graded: the score lies in no band of the scheme."
    )
    created: int = strawberry.field(description="Industry evaluation results stored for the first time.")
    updated: int = strawberry.field(description="Results that changed: stored as a new version.")
    unchanged: int = strawberry.field(description="Results equal to the version in force: nothing written.")
    withdrawn: int = strawberry.field(
        description="Results in force withdrawn because the new score lies in no band (no grade any more)."
    )
    population: int = strawberry.field(
        description="Entities re-classified: those whose result was created, changed or withdrawn."
    )
    classification_changes: int = strawberry.field(
        description="Entities whose category or grade changed (分类变更)."
    )

    @classmethod
    def of(cls, graded: scoring.DomainGraded) -> DomainGraded:
        return cls(**dataclasses.asdict(graded))


EvaluationModelResult = Annotated[
    EvaluationModel | InvalidInput | NotFoundProblem | NotPermitted,
    strawberry.union("EvaluationModelResult", description="The model as stored, or why not."),
]
IndicatorValuesResult = Annotated[
    IndicatorValuesLoaded | InvalidInput | NotFoundProblem | NotPermitted,
    strawberry.union("IndicatorValuesResult", description="The receipt, or why nothing was stored."),
]
GradeDomainResult = Annotated[
    DomainGraded | InvalidInput | NotFoundProblem | NotPermitted,
    strawberry.union("GradeDomainResult", description="What grading did, or why not."),
]
DomainArg = Annotated[str, strawberry.argument(description="One of your supervision domains (监管领域).")]
PeriodArg = Annotated[str, strawberry.argument(description="Evaluation period (评价期间), e.g. 2026.")]


def _body(model: EvaluationModelInput) -> dict[str, Any]:
    return {
        "domain": model.domain,
        "period": model.period,
        "title_zh": model.title_zh,
        "public_indicator": model.public_indicator,
        "indicators": [
            {
                "code": i.code,
                "label_zh": i.label_zh,
                "weight": i.weight,
                "min": i.min,
                "max": i.max,
                "optional": i.optional,
            }
            for i in model.indicators
        ],
    }


@strawberry.type
class ScoringQueries:
    @strawberry.field(
        description="The industry evaluation model (行业信用评价模型) of one of your domains: the newest "
        "version, or the newest for `period`; null when none is defined.",
        extensions=allow(*MODEL_READERS),
    )
    async def evaluation_model(
        self,
        info: Info,
        domain: DomainArg,
        period: Annotated[str | None, strawberry.argument(description="Only this period.")] = None,
    ) -> EvaluationModel | None:
        found = await scoring.model_of(info.context.session, info.context.caller, domain, period)
        return EvaluationModel.of(*found) if found else None


@strawberry.type
class ScoringMutations:
    @strawberry.mutation(
        description="Define or amend the evaluation model of one of your domains for a period (a new "
        "version). Refused: PUBLIC_INDICATOR_MISSING, PUBLIC_WEIGHT_TOO_LOW (seed 001 §三(一)3), "
        "WEIGHTS_DO_NOT_SUM, SCHEME_NOT_SCORE_BASED, NOT_YOUR_DOMAIN and other input codes.",
        extensions=allow(*GRADERS),
    )
    async def save_evaluation_model(
        self,
        info: Info,
        model: Annotated[EvaluationModelInput, strawberry.argument(description="The model.")],
    ) -> EvaluationModelResult:
        context = info.context
        saved, version = await scoring.save_model(context.session, context.caller, _body(model))
        return EvaluationModel.of(saved, version)

    @strawberry.mutation(
        description="Load up to 1,000 entities' indicator values (指标值) for a period of one of your "
        "domains; valid entities are stored, each bad one is reported with its index and codes.",
        extensions=allow(*GRADERS),
    )
    async def load_indicator_values(
        self,
        info: Info,
        domain: DomainArg,
        period: PeriodArg,
        entities: Annotated[
            list[EntityIndicatorsInput], strawberry.argument(description="1 to 1,000 entities.")
        ],
    ) -> IndicatorValuesResult:
        context = info.context
        rows = [(e.uscc, [(v.code, v.value) for v in e.indicators]) for e in entities]
        loaded = await scoring.load_values(
            context.session, context.caller, domain, period, rows, context.today
        )
        return IndicatorValuesLoaded.of(loaded, context.caller.organisation_code)

    @strawberry.mutation(
        description="Load indicator values from a CSV file (GraphQL multipart upload) with the header "
        "USCC,<indicator codes…>; streamed, valid lines stored, bad ones reported with line numbers.",
        extensions=allow(*GRADERS),
    )
    async def upload_indicator_values(
        self,
        info: Info,
        domain: DomainArg,
        period: PeriodArg,
        file: Annotated[Upload, strawberry.argument(description="The CSV file.")],
        encoding: Annotated[str, strawberry.argument(description="utf-8 (default) or gb18030.")] = "utf-8",
    ) -> IndicatorValuesResult:
        context = info.context
        loaded = await scoring.upload_values(
            context.session,
            context.caller,
            domain,
            period,
            cast(ByteSource, file),  # Starlette's UploadFile
            filename=getattr(file, "filename", None) or "upload.csv",
            encoding=encoding.lower(),
            max_bytes=context.settings.max_upload_bytes,
            today=context.today,
        )
        return IndicatorValuesLoaded.of(loaded, context.caller.organisation_code)

    @strawberry.mutation(
        description="Grade every entity of one of your domains with values for the period (行业信用评价): "
        "scores and grades computed in one set-based pass, stored as industry evaluation results "
        "(unchanged ones write nothing), then the domain is re-classified once.",
        extensions=allow(*GRADERS),
    )
    async def grade_domain(self, info: Info, domain: DomainArg, period: PeriodArg) -> GradeDomainResult:
        context = info.context
        graded = await scoring.grade_domain(context.session, context.caller, domain, period, context.today)
        return DomainGraded.of(graded)
