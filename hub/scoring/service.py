"""Industry credit evaluation (行业信用评价, seed 001 §三(一)3): models, indicator values and scoring.

A department defines a model for one of its domains (hub.catalog.evaluation_models says how scores are made),
loads its entities' indicator values per period (a list, or a CSV file streamed with COPY; an empty
public indicator is filled from the entity's current public evaluation score PJFS, else the line is
rejected) and grades the whole domain in one set-based pass: each result is an industry evaluation
record, versioned like any record (an unchanged result writes nothing); then the domain is
re-classified once.

Results: PJBH = "<domain>:<period>:<USCC>", PJRQ = the day of the run, YXQZ = the period's last day,
PJJG/PJJGDM and LYDW/LYDWDM = the domain's department, BZ names the model version. An entity whose
values are incomplete for the model in force keeps its result; one whose score lies in no band of
the scheme (catering below 60) gets none, and its result in force for the period is withdrawn.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.caller import Caller, Role
from hub.auth.service import organisations
from hub.catalog.evaluation_models import (
    KIND_EVALUATION_MODEL,
    USCC_COLUMN,
    EvaluationModel,
    ModelError,
    period_end,
)
from hub.catalog.grading_schemes import GradingScheme
from hub.catalog.policy import Policy, current_policy, store_document
from hub.catalog.publicity import NoPublicityRule
from hub.catalog.supervision_domains import SupervisionDomain
from hub.errors import Forbidden, Invalid, NotFound
from hub.grading.admin import own_domain
from hub.grading.service import domain_of, reclassify
from hub.records.bulk import receipt_repository as receipts
from hub.records.bulk import repository as bulk_repository
from hub.records.bulk.service import ByteSource
from hub.scoring import repository as repo
from hub.sync.events import EvaluationsGraded, EvaluationWithdrawn, Event
from hub.sync.outbox import emit

MAX_LIST = 1000
CHUNK_BYTES = 1 << 20
BATCH_LINES = 2000
# An indicator row is a USCC and a few numbers: a longer line is a broken or hostile file.
MAX_LINE_CHARS = 1 << 20
# A batch is parsed once it holds this many characters too (long lines), and one left open by a
# quote four times as long is refused.
BATCH_CHARS = 4 << 20
RECORD_TYPE = "industry_evaluation"

# (line number, USCC as given, (indicator code, raw value) pairs, what is wrong with the line's shape)
Row = tuple[int, str, Sequence[tuple[str, Any]], str | None]


@dataclass(frozen=True, slots=True)
class ValuesLoaded:
    receipt_id: uuid.UUID
    domain: str
    period: str
    model_version: int
    total: int
    created: int
    updated: int
    unchanged: int
    filled: int
    rejected: int


@dataclass(frozen=True, slots=True)
class DomainGraded:
    domain: str
    period: str
    model_version: int
    scheme: str
    entities: int
    scored: int
    incomplete: int
    ungraded: int
    created: int
    updated: int
    unchanged: int
    withdrawn: int
    population: int
    classification_changes: int


def _invalid(error: ModelError, prefix: str = "") -> Invalid:
    return Invalid(error.message, code=error.code, path=prefix + error.path)


def _score_scheme(policy: Policy, domain: SupervisionDomain) -> GradingScheme:
    scheme = policy.schemes[domain.scheme]
    if not scheme.score_based:
        unbanded = ", ".join(lv.code for lv in scheme.levels if not lv.banded)
        message = (
            f"{domain.code} grades with scheme {scheme.code}, whose levels {unbanded} are assigned by rule, "
            "not by score bands; an evaluation model needs a score-based scheme"
        )
        raise Invalid(message, code="SCHEME_NOT_SCORE_BASED", path="domain")
    return scheme


def _period(period: str) -> dt.date:
    try:
        return period_end(period)
    except ModelError as exc:
        raise _invalid(exc) from exc


async def _model_for(
    session: AsyncSession, domain: str, period: str | None
) -> tuple[EvaluationModel, int] | None:
    document = await repo.latest_model(session, KIND_EVALUATION_MODEL, domain, period)
    if document is None:
        return None
    return EvaluationModel.from_mapping(document.body), document.version


async def _required_model(session: AsyncSession, domain: str, period: str) -> tuple[EvaluationModel, int]:
    _period(period)
    found = await _model_for(session, domain, period)
    if found is None:
        message = f"no evaluation model for {domain} in period {period}; define one with saveEvaluationModel"
        raise NotFound(message, code="NO_MODEL", path="period")
    return found


async def save_model(
    session: AsyncSession, caller: Caller, body: dict[str, Any]
) -> tuple[EvaluationModel, int]:
    """Define or amend the model of one of the caller's domains for a period (a new version)."""
    domain = await own_domain(session, caller, str(body.get("domain", "")))
    try:
        model = EvaluationModel.from_mapping(body)
    except ModelError as exc:
        raise _invalid(exc, "model.") from exc
    _score_scheme(await current_policy(session), domain)
    found = await _model_for(session, domain.code, model.period)
    if found is not None and found[0] == model:
        return found  # the same model again: no new version
    document = await store_document(
        session, KIND_EVALUATION_MODEL, domain.code, model.to_mapping(), caller.label
    )
    return model, document.version


async def model_of(
    session: AsyncSession, caller: Caller, domain_code: str, period: str | None
) -> tuple[EvaluationModel, int] | None:
    """The newest model of the domain (for the period, when given); None when there is none. The
    domain's department reads its own; the credit office any (it keeps the work ledger, seed 000)."""
    if caller.role is Role.CREDIT_OFFICE:
        domain = domain_of(await current_policy(session), domain_code)
    else:
        domain = await own_domain(session, caller, domain_code)
    if period is not None:
        _period(period)
    return await _model_for(session, domain.code, period)


async def load_values(
    session: AsyncSession,
    caller: Caller,
    domain_code: str,
    period: str,
    entities: Sequence[tuple[str, Sequence[tuple[str, Any]]]],
    today: dt.date,
) -> ValuesLoaded:
    """Store up to 1,000 entities' values (line = index in the list, paths entities.<i>.…)."""
    if not entities or len(entities) > MAX_LIST:
        raise Invalid(
            f"give 1 to {MAX_LIST} entities, got {len(entities)}", code="OUT_OF_RANGE", path="entities"
        )

    async def rows(_: EvaluationModel) -> AsyncIterator[Row]:
        for index, (uscc, values) in enumerate(entities):
            yield index, uscc, values, None

    return await _load(session, caller, domain_code, period, rows, "list", "loadIndicatorValues", today)


async def upload_values(
    session: AsyncSession,
    caller: Caller,
    domain_code: str,
    period: str,
    source: ByteSource,
    *,
    filename: str,
    encoding: str,
    max_bytes: int,
    today: dt.date,
) -> ValuesLoaded:
    """Store values from a CSV file with the header USCC,<indicator codes…> (line numbers: header = 1);
    a header fault (EvaluationModel.check_header) refuses the whole file."""
    if encoding not in ("utf-8", "gb18030"):
        raise Invalid("encoding is utf-8 or gb18030", code="BAD_ENCODING", path="encoding")

    async def rows(model: EvaluationModel) -> AsyncIterator[Row]:
        header: list[str] | None = None
        async for line_no, cells in _csv_lines(source, encoding, max_bytes):
            if header is None:
                try:
                    header = model.check_header(cells)
                except ModelError as exc:
                    raise _invalid(exc) from exc
                continue
            if len(cells) != len(header):
                yield line_no, "", (), f"{len(cells)} columns, the header has {len(header)}"
                continue
            named = dict(zip(header, cells, strict=True))
            uscc = named.pop(USCC_COLUMN)
            yield line_no, uscc, list(named.items()), None
        if header is None:
            raise Invalid("the file is empty; it needs a header row", code="EMPTY_FILE", path="file")

    return await _load(session, caller, domain_code, period, rows, "csv", filename, today)


async def _load(
    session: AsyncSession,
    caller: Caller,
    domain_code: str,
    period: str,
    rows: Callable[[EvaluationModel], AsyncIterator[Row]],
    file_format: str,
    filename: str,
    today: dt.date,
) -> ValuesLoaded:
    domain = await own_domain(session, caller, domain_code)
    model, version = await _required_model(session, domain.code, period)
    if caller.organisation_code is None:
        raise Forbidden("only an organisation can load indicator values")
    receipt_id = uuid.uuid4()
    await receipts.open_receipt(
        session, receipt_id, caller.organisation_code, repo.RECEIPT_TYPE, file_format, filename
    )
    total, list_mode = 0, file_format == "list"

    async def staged() -> AsyncIterator[tuple[Any, ...]]:
        nonlocal total
        async for line_no, raw_uscc, values, shape in rows(model):
            total += 1
            if shape is not None:
                yield line_no, None, None, _errors_json([("ROW_WIDTH", "file", shape)])
                continue
            uscc, vals, errors = model.check_row(raw_uscc, values, _list_path(line_no) if list_mode else str)
            yield line_no, uscc[:100], vals, _errors_json(errors) if errors else None

    await repo.create_value_stage(session)
    await repo.copy_value_stage(session, staged())
    public = model.public
    await repo.fill_public(
        session, public.code, public.label_zh, public.min_value, public.max_value, today, list_mode
    )
    await repo.reject_duplicates(session, list_mode)
    rejected = await repo.move_rejections(session, receipt_id)
    staged_rows, filled, created, updated = await repo.merge_values(
        session, domain.code, period, caller.organisation_code
    )
    counts = {
        "total": total,
        "created": created,
        "updated": updated,
        "unchanged": staged_rows - created - updated,
        "rejected": rejected,
    }
    await receipts.close_receipt(session, receipt_id, counts)
    return ValuesLoaded(receipt_id, domain.code, period, version, filled=filled, **counts)


def _list_path(index: int) -> Callable[[str], str]:
    return lambda c: f"entities.{index}.uscc" if c == USCC_COLUMN else f"entities.{index}.indicators.{c}"


def _errors_json(errors: list[tuple[str, str, str]]) -> str:
    return orjson.dumps([{"code": c, "path": p, "message": m} for c, p, m in errors]).decode()


async def _csv_lines(source: ByteSource, encoding: str, limit: int) -> AsyncIterator[tuple[int, list[str]]]:
    """(line number, cells) of each non-blank CSV line, read a chunk at a time (memory stays flat)."""
    decoder = codecs.getincrementaldecoder("utf-8-sig" if encoding == "utf-8" else encoding)()
    pending, first, size, batch_chars = "", 1, 0, 0
    batch: list[str] = []
    while True:
        chunk = await source.read(CHUNK_BYTES)
        size += len(chunk)
        if size > limit:
            raise Invalid(f"the file is larger than {limit} bytes", code="FILE_TOO_LARGE", path="file")
        try:
            pending += decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            raise Invalid(
                f"the file is not valid {encoding}; pass its encoding (utf-8 or gb18030)",
                code="BAD_ENCODING",
                path="file",
            ) from exc
        decoded = len(pending)
        *complete, pending = pending.split("\n")
        batch_chars += decoded - len(pending)
        if len(pending) > MAX_LINE_CHARS:  # refused before a hostile line is held whole in memory
            line = first + len(batch) + len(complete)
            message = f"line {line} is longer than {MAX_LINE_CHARS} characters"
            raise Invalid(message, code="LINE_TOO_LONG", path="file")
        batch.extend(line + "\n" for line in complete)
        if not chunk and pending:
            batch.append(pending)
        # Parse whole batches that do not end inside a quoted field (an even number of quotes).
        full = len(batch) >= BATCH_LINES or batch_chars >= BATCH_CHARS
        balanced = sum(x.count('"') for x in batch) % 2 == 0 if full else False
        if (len(batch) > 50 * BATCH_LINES or batch_chars > 4 * BATCH_CHARS) and not balanced:
            raise Invalid(
                f"line {first} onwards: a quoted field is never closed", code="BAD_CSV", path="file"
            )
        if batch and (not chunk or balanced):
            reader = csv.reader(batch)
            try:
                for cells in reader:
                    if cells and any(c.strip() for c in cells):
                        yield first + reader.line_num - 1, cells
            except csv.Error as exc:
                line = first + reader.line_num - 1
                if "field limit" in str(exc):
                    message = f"line {line}: a cell is longer than {csv.field_size_limit()} characters"
                    raise Invalid(message, code="FIELD_TOO_LONG", path="file") from exc
                raise Invalid(f"line {line} cannot be read as CSV", code="BAD_CSV", path="file") from exc
            first += len(batch)
            batch, batch_chars = [], 0
        if not chunk:
            return


async def grade_domain(
    session: AsyncSession, caller: Caller, domain_code: str, period: str, today: dt.date
) -> DomainGraded:
    """Score and grade every entity of the domain with values for the period, store the results as
    industry evaluation records, and re-classify the domain once."""
    domain = await own_domain(session, caller, domain_code)
    policy = await current_policy(session)
    scheme = _score_scheme(policy, domain)
    valid_until = _period(period)
    if valid_until < today:
        message = f"period {period} ended on {valid_until}: its results would never be in force"
        raise Invalid(message, code="PERIOD_ENDED", path="period")
    if (scheme.valid_from and today < scheme.valid_from) or (scheme.valid_to and today > scheme.valid_to):
        raise Invalid(
            f"scheme {scheme.code} is not in force on {today}", code="SCHEME_NOT_IN_FORCE", path="domain"
        )
    model, version = await _required_model(session, domain.code, period)
    department = policy.domain_departments.get(domain.code)
    if department is None or caller.organisation_code is None:
        message = f"{domain.code} has no department yet: the credit office assigns it first"
        raise Invalid(message, code="NO_DEPARTMENT", path="domain")
    [organisation] = await organisations(session, [department])
    try:
        window = policy.publicity.window(RECORD_TYPE, today, validity_end=valid_until)
    except NoPublicityRule as exc:
        raise Invalid(str(exc), code="NO_PUBLICITY_RULE", path="period") from exc
    run = repo.RunFields(
        domain=domain.code,
        period=period,
        department=department,
        department_name=organisation.name if organisation else domain.department_zh,
        scheme=scheme.code,
        scheme_version=policy.scheme_versions.get(scheme.code),
        type_version=policy.type_versions[RECORD_TYPE],
        today=today,
        valid_until=valid_until,
        remark=f"行业信用评价模型 {domain.code} 第{version}版，评价期间 {period}",
        publicity_rule=window.rule_code,
        published=window.published,
        repair_from=window.repair_from,
        publish_until=window.publish_until,
    )
    bands = [(lv.code, lv.min_score, lv.max_score) for lv in scheme.banded_levels]
    await repo.lock_run(session, domain.code, period)
    await bulk_repository.create_stage(session)
    await repo.prepare_withdrawn(session)
    entities, incomplete, ungraded, unchanged, withdrawn = await repo.stage_scores(
        session, model.indicators, bands, run
    )
    run_id = uuid.uuid4()
    await bulk_repository.classify(session)
    staged, created, updated, _ = await bulk_repository.merge(session, run_id, caller.organisation_code)
    unchanged += staged - created - updated
    # One event for the new versions, as for a bulk push (the relay reads them by the run's id), and one
    # per withdrawn result, which has no new version to find.
    events: list[Event] = []
    if created or updated:
        events.append(
            EvaluationsGraded(
                receipt_id=str(run_id),
                source_dept=department,
                record_type=RECORD_TYPE,
                created=created,
                updated=updated,
                withdrawn=withdrawn,
            )
        )
    for uscc in await repo.withdrawn_entities(session) if withdrawn else ():
        events.append(
            EvaluationWithdrawn(
                uscc=uscc,
                source_dept=department,
                source_record_id=f"{domain.code}:{period}:{uscc}",
                record_type=RECORD_TYPE,
                receipt_id=str(run_id),
            )
        )
    await emit(session, events)
    cause = f"industry evaluation {domain.code} {period} (model v{version}) graded by {caller.label}"
    # Only entities whose result changed can change category: a re-run that changes nothing re-classifies nothing.
    affected = await repo.affected_entities(session)
    result = await reclassify(session, domain.code, affected, cause=cause, today=today) if affected else None
    population, changed = (result.population, result.changed) if result else (0, 0)
    scored = created + updated + unchanged
    return DomainGraded(
        *(
            domain.code,
            period,
            version,
            scheme.code,
            entities,
            scored,
            incomplete,
            ungraded,
            created,
            updated,
        ),
        *(unchanged, withdrawn, population, changed),
    )
