"""Bulk push of a whole file (CSV in the 双公示 column layout, or NDJSON).

The file is read as a stream: rows are parsed and validated in batches and streamed with COPY into a
staging table, then merged into `records` in a few set-based statements, all in the caller's one
transaction. Memory stays flat whatever the file's size, and a failure leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import datetime as dt
import hashlib
import io
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from itertools import compress
from typing import Any, Protocol

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.caller import Caller
from hub.catalog.policy import current_policy
from hub.entities.codes import entity_kind
from hub.errors import Conflict, Forbidden, Invalid
from hub.grading.service import reclassify_after_evaluations
from hub.models import BulkReceipt
from hub.ports import KeyProvider
from hub.records.bulk import receipt_repository as receipts
from hub.records.bulk import repository as repo
from hub.records.ingestion.evaluations import EVALUATION_TYPES
from hub.records.ingestion.prepare import NAME_DIFFERS_MESSAGE, RecordPreparer, RejectedRecord
from hub.records.sealing.fields import BLIND_INDEX_BITS
from hub.sync.events import EvaluationsLoaded, RecordsLoaded
from hub.sync.outbox import emit

RECORD_ID_COLUMN = "RECORD_ID"
CHUNK_BYTES = 1 << 20
BATCH_ROWS = 2000
# A batch is also cut at this size, so that long rows do not make it large.
BATCH_CHARS = 8 << 20
# No row of any record type comes near this (a few dozen fields of at most a few thousand characters):
# a longer line is a broken or hostile file, refused before it is held in memory.
MAX_LINE_CHARS = 1 << 20
# A batch waits for a quoted field that spans its end; one left open this much longer is never closed.
MAX_OPEN_QUOTE_CHARS = 16 << 20
# A row that could not be shaped into fields comes as (code, message) in place of its fields.
Shape = tuple[str, str]


class FileFormat(StrEnum):
    CSV = "csv"
    NDJSON = "ndjson"


class ByteSource(Protocol):
    """An uploaded file: `read(n)` returns up to n bytes, b'' at the end."""

    async def read(self, size: int = -1) -> bytes: ...


@dataclass(frozen=True, slots=True)
class BulkRequest:
    record_type: str
    file_format: FileFormat
    filename: str
    encoding: str = "utf-8"
    idempotency_key: str | None = None
    historical: bool = False


async def _chunks(source: ByteSource, encoding: str, digest: Any, limit: int) -> AsyncIterator[str]:
    """The decoded upload a chunk of whole lines at a time (each but the last ends with a newline):
    splitting, counting and parsing then run in C over the chunk, not a Python step per line. Refuses
    bytes that are not `encoding`."""
    decoder = codecs.getincrementaldecoder("utf-8-sig" if encoding == "utf-8" else encoding)()
    pending = ""
    line_no = 1
    size = 0
    while True:
        chunk = await source.read(CHUNK_BYTES)
        size += len(chunk)
        if size > limit:
            raise Invalid(f"the file is larger than {limit} bytes", code="FILE_TOO_LARGE", path="file")
        digest.update(chunk)
        try:
            pending += decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            # Lines already counted, plus those before the bad byte in this chunk.
            bad_line = line_no + pending.count("\n") + chunk[: max(exc.start, 0)].count(b"\n")
            raise Invalid(
                f"line {bad_line} is not valid {encoding}; pass the file's encoding (utf-8 or gb18030)",
                code="BAD_ENCODING",
                path="file",
            ) from exc
        cut = pending.rfind("\n") + 1
        if cut:
            text, pending = pending[:cut], pending[cut:]
            line_no += text.count("\n")
            yield text
        if len(pending) > MAX_LINE_CHARS:
            raise Invalid(
                f"line {line_no} is longer than {MAX_LINE_CHARS} characters",
                code="LINE_TOO_LONG",
                path="file",
            )
        if not chunk:
            break
    if pending:
        yield pending


def _listed(names: list[str], shown: int = 10) -> str:
    """The first names of a list that may hold thousands (a message is no place for all of them)."""
    text = ", ".join(n if n.isprintable() and len(n) <= 40 else repr(n[:40]) for n in names[:shown])
    return text + (f" and {len(names) - shown} more" if len(names) > shown else "")


class _Rows:
    """Turns lines into (line number, record id, field mapping) for either format."""

    def __init__(
        self, file_format: FileFormat, known_fields: frozenset[str], required: frozenset[str]
    ) -> None:
        self.file_format = file_format
        self.known = known_fields
        self.required = required
        self.header: list[str] | None = None

    def check_header(self, header: list[str]) -> list[str]:
        names = [h.strip().upper() for h in header]
        # 双公示 exports often prefix the columns (XK_XDR_MC, CF_WSH); the catalogue names them without.
        names = [n[3:] if n[:3] in ("XK_", "CF_") and n[3:] in self.known else n for n in names]
        unknown = [n for n in names if n not in self.known and n != RECORD_ID_COLUMN]
        if unknown:
            raise Invalid(f"unknown column(s) {_listed(unknown)}", code="UNKNOWN_COLUMN", path="file")
        missing = sorted(self.required - set(names))
        if missing:
            raise Invalid(
                f"required column(s) missing: {', '.join(missing)}", code="MISSING_COLUMN", path="file"
            )
        # Counted in one pass (names.count per name was quadratic: 30,000 columns took 9 s).
        duplicated = sorted(n for n, times in Counter(names).items() if times > 1)
        if duplicated:
            raise Invalid(
                f"column(s) given twice: {_listed(duplicated)}", code="DUPLICATE_COLUMN", path="file"
            )
        return names

    def csv_rows(
        self, lines: Iterable[str], first_line: int
    ) -> Iterator[tuple[int, str | None, dict[str, Any] | Shape]]:
        reader = csv.reader(lines)
        assert self.header is not None
        width = len(self.header)
        while True:  # the reader goes on after an error, at the next line
            try:
                for values in reader:
                    line = first_line + reader.line_num - 1
                    if not values or (len(values) == 1 and not values[0].strip()):
                        continue
                    if len(values) != width:
                        shape = ("ROW_WIDTH", f"{len(values)} columns, the header has {width}")
                        yield line, None, shape
                        continue
                    # "" is an absent value: compress() keeps the (name, value) pairs whose value is not empty.
                    row = dict(compress(zip(self.header, values, strict=True), values))
                    yield line, row.pop(RECORD_ID_COLUMN, None), row
                return
            except csv.Error as exc:
                line = first_line + reader.line_num - 1
                if "field limit" in str(exc):
                    shape = ("FIELD_TOO_LONG", f"a cell is longer than {csv.field_size_limit()} characters")
                else:
                    shape = ("BAD_CSV", "the line cannot be read as CSV")
                yield line, None, shape

    @staticmethod
    def ndjson_row(line_no: int, line: str) -> tuple[int, str | None, dict[str, Any] | Shape] | None:
        if not line.strip():
            return None
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            return line_no, None, ("NOT_JSON", "the line is not a JSON object")
        if not isinstance(value, dict):
            return line_no, None, ("NOT_JSON", "the line is not a JSON object")
        record_id = value.pop(RECORD_ID_COLUMN, None)
        if record_id is None or isinstance(record_id, str):
            return line_no, record_id, value
        if isinstance(record_id, int | float) and not isinstance(record_id, bool):
            return line_no, str(record_id), value
        # Not str() of a list or object: it may be nested a thousand deep.
        return line_no, None, ("NOT_A_STRING", f"{RECORD_ID_COLUMN} must be a string or a number")


@dataclass(frozen=True, slots=True)
class BulkCounts:
    receipt_id: uuid.UUID
    total: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    late: int
    warned: int = 0
    replayed: bool = False


async def push_file(
    session: AsyncSession,
    caller: Caller,
    source: ByteSource,
    request: BulkRequest,
    *,
    keys: KeyProvider,
    max_bytes: int,
    authority_domain: str | None = None,
    today: dt.date | None = None,
    index_bits: int = BLIND_INDEX_BITS,
) -> BulkCounts:
    if caller.organisation_code is None:
        raise Forbidden("only an organisation can push records")
    if request.encoding not in ("utf-8", "gb18030"):
        raise Invalid("encoding is utf-8 or gb18030", code="BAD_ENCODING", path="encoding")
    policy = await current_policy(session)
    definition = policy.record_types.get(request.record_type)
    if definition is None:
        raise Invalid(
            f"unknown record type {request.record_type!r}", code="UNKNOWN_RECORD_TYPE", path="recordType"
        )
    organisation = caller.organisation_code
    receipt_id = uuid.uuid4()
    preparer = RecordPreparer(
        policy,
        keys,
        organisation,
        today or dt.date.today(),
        authority_domain=authority_domain,
        historical=request.historical,
        pusher_role=caller.role,
        index_bits=index_bits,
    )
    digest = hashlib.sha256(f"{request.record_type}|{request.file_format}|{request.encoding}|".encode())
    rows = _Rows(
        request.file_format,
        frozenset(definition.field_names),
        frozenset(f.name for f in definition.fields if f.required),
    )
    counts = {"total": 0, "rejected": 0}
    await receipts.open_receipt(
        session, receipt_id, organisation, request.record_type, request.file_format.value, request.filename
    )

    def stage(line_no: int, record_id: str | None, fields: dict[str, Any] | Shape) -> tuple[Any, ...]:
        counts["total"] += 1
        if isinstance(fields, tuple):
            counts["rejected"] += 1
            return _rejected_row(line_no, record_id, [(fields[0], "file", fields[1])])
        prepared = preparer.prepare(request.record_type, record_id, fields)
        if isinstance(prepared, RejectedRecord):
            counts["rejected"] += 1
            return _rejected_row(
                line_no, prepared.source_record_id, [(e.code, e.path, e.message) for e in prepared.errors]
            )
        return (
            line_no,
            prepared.uscc,
            prepared.source_dept,
            prepared.source_record_id,
            prepared.record_type,
            prepared.type_version,
            prepared.content_json.decode(),
            prepared.content_hash,
            prepared.decision_date,
            prepared.severity,
            prepared.publicity_rule,
            prepared.published,
            prepared.repair_from,
            prepared.publish_until,
            prepared.late,
            prepared.party_name,
            prepared.is_person,
            "natural_person" if prepared.is_person else entity_kind(prepared.uscc),
            prepared.scheme_version,
            orjson.dumps(prepared.sealed).decode() if prepared.sealed else None,
            orjson.dumps(prepared.tags).decode() if prepared.tags else None,
            prepared.key_version,
            prepared.wrapped_key,
            prepared.id_index,
            None,
        )

    # A batch is parsed and validated on a worker thread: thousands of rows of Python work that
    # would otherwise hold the event loop, and every other request with it, for tens of milliseconds.
    # One batch at a time, so `stage` and its counts are never used by two threads at once.
    def stage_csv(batch_text: str, first: int) -> list[tuple[Any, ...]]:
        return [stage(*row) for row in rows.csv_rows(io.StringIO(batch_text), first)]

    def stage_ndjson(text: str, line_no: int) -> tuple[list[tuple[Any, ...]], int]:
        batch = []
        json_lines = text.split("\n")
        if text.endswith("\n"):
            json_lines.pop()
        for line in json_lines:
            line_no += 1
            row = rows.ndjson_row(line_no, line)
            if row is not None:
                batch.append(stage(*row))
        return batch, line_no

    async def staged() -> AsyncIterator[tuple[Any, ...]]:
        """Stage rows, made a batch at a time in plain loops; only the hand-over to COPY is async."""
        chunks = _chunks(source, request.encoding, digest, max_bytes)
        if request.file_format is FileFormat.NDJSON:
            line_no = 0
            async for text in chunks:
                batch, line_no = await asyncio.to_thread(stage_ndjson, text, line_no)
                for staged_row in batch:
                    yield staged_row
            return
        # No chunk is empty: "" marks the end.
        text = await anext(chunks, "")
        if not text:
            raise Invalid("the file is empty; a CSV needs a header row", code="EMPTY_FILE", path="file")
        header, _, text = text.partition("\n")
        rows.header = rows.check_header(next(csv.reader([header])))
        parts = [text]
        lines, quotes, size = text.count("\n"), text.count('"'), len(text)
        open_since: int | None = None
        first = 2
        while True:
            text = await anext(chunks, "")
            if text:
                parts.append(text)
                lines += text.count("\n")
                quotes += text.count('"')
                size += len(text)
                if lines < BATCH_ROWS and size < BATCH_CHARS:
                    continue
                # A batch must not end inside a quoted field (an odd number of quotes so far).
                if quotes % 2:
                    open_since = open_since if open_since is not None else size
                    if size - open_since > MAX_OPEN_QUOTE_CHARS:
                        raise Invalid(
                            f"line {first} onwards: a quoted field is never closed",
                            code="BAD_CSV",
                            path="file",
                        )
                    continue
            batch_text = "".join(parts)
            batch = await asyncio.to_thread(stage_csv, batch_text, first)
            # The last chunk may end without a newline: its last line counts too.
            first += lines + (not batch_text.endswith("\n"))
            parts, lines, quotes, size, open_since = [], 0, 0, 0, None
            for staged_row in batch:
                yield staged_row
            if not text:
                return

    if request.idempotency_key is not None:
        await receipts.lock_key(session, organisation, request.idempotency_key)
    await repo.create_stage(session)
    await repo.copy_stage(session, staged())
    if counts["rejected"]:  # else a full scan of the stage for nothing
        await repo.move_rejections(session, receipt_id)
    body_hash = digest.digest()
    if request.idempotency_key is not None:
        previous = await receipts.find_by_key(session, organisation, request.idempotency_key)
        if previous is not None:
            if previous[1] != body_hash:
                raise Conflict(
                    "this idempotencyKey was used with a different file",
                    code="IDEMPOTENCY_KEY_REUSED",
                    path="idempotencyKey",
                )
            await receipts.discard(session, receipt_id)
            return _counts_of(previous[0], replayed=True)
    duplicates = await repo.reject_duplicates(session, receipt_id)
    await repo.classify(session)
    moved = await repo.reject_subject_changes(session, receipt_id)
    staged_rows, created, updated, late = await repo.merge(session, receipt_id, organisation)
    warned = await repo.warn_name_differs(session, receipt_id, NAME_DIFFERS_MESSAGE)
    result = BulkCounts(
        receipt_id=receipt_id,
        total=counts["total"],
        created=created,
        updated=updated,
        unchanged=staged_rows - created - updated,
        rejected=counts["rejected"] + duplicates + moved,
        late=late,
        warned=warned,
    )
    counts_stored = {
        "total": result.total,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "rejected": result.rejected,
        "late": result.late,
        "warned": result.warned,
    }
    await receipts.close_receipt(session, receipt_id, counts_stored, request.idempotency_key, body_hash)
    if created or updated:
        # One event for the whole file: the relay reads the changed versions by their receipt id. Written
        # before the re-classification, so that the evaluations come before the changes they cause.
        kind = EvaluationsLoaded if request.record_type in EVALUATION_TYPES else RecordsLoaded
        await emit(
            session,
            [
                kind(
                    receipt_id=str(receipt_id),
                    source_dept=organisation,
                    record_type=request.record_type,
                    created=created,
                    updated=updated,
                )
            ],
        )
    if (created or updated) and request.record_type in EVALUATION_TYPES:
        subjects = await repo.staged_subjects(session)
        await reclassify_after_evaluations(
            session,
            [(request.record_type, uscc, domain) for uscc, domain in subjects],
            today or dt.date.today(),
            cause=f"evaluations uploaded by {organisation} (receipt {receipt_id})",
        )
    return result


# line_no, uscc, source_dept and source_record_id lead, errors closes; the rest stay empty.
_EMPTY_COLUMNS = (None,) * (len(repo.STAGE_COLUMNS) - 5)


def _rejected_row(line_no: int, record_id: str | None, errors: list[tuple[str, str, str]]) -> tuple[Any, ...]:
    """A stage row that carries only a rejection (moved to bulk_rejections before the merge)."""
    body = orjson.dumps([{"code": c, "path": p, "message": m} for c, p, m in errors]).decode()
    # PostgreSQL stores no NUL, in text or jsonb: the rare row that echoes one keeps a replacement.
    record_id = (record_id or "")[:100].replace("\x00", "\ufffd")
    return (line_no, None, None, record_id or None, *_EMPTY_COLUMNS, body.replace("\\u0000", "\\ufffd"))


def _counts_of(receipt: BulkReceipt, *, replayed: bool) -> BulkCounts:
    return BulkCounts(
        receipt_id=receipt.id,
        total=receipt.total,
        created=receipt.created,
        updated=receipt.updated,
        unchanged=receipt.unchanged,
        rejected=receipt.rejected,
        late=receipt.late,
        warned=receipt.warned,
        replayed=replayed,
    )
