"""Bulk push of a file through a GraphQL multipart upload, and its receipt."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Annotated, Any, cast

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.file_uploads import Upload

from hub.auth.caller import Caller
from hub.disclosure.policy import Subject
from hub.errors import HubError
from hub.records.bulk import receipts as bulk_service
from hub.records.bulk import service as bulk
from schema.context import Info
from schema.disclosure import answered_id, problems
from schema.errors import (
    ConflictProblem,
    FieldProblem,
    InvalidInput,
    NotFoundProblem,
    NotPermitted,
)
from schema.permissions import PUSHING_ROLES, allow


@strawberry.enum(description="Layout of a bulk file.")
class BulkFormat(Enum):
    CSV = strawberry.enum_value(
        "csv", description="CSV with a header row of catalogue field codes (双公示 layout)."
    )
    NDJSON = strawberry.enum_value("ndjson", description="One JSON object of field codes per line.")


# hub.records.bulk.receipts.rejections or .warnings
LineReader = Callable[
    [AsyncSession, Caller, uuid.UUID, int], Awaitable[list[tuple[int, str | None, list[dict[str, Any]]]]]
]


@strawberry.type(description="A row of a bulk file that was not stored, and why.")
class RejectedRow:
    line: int = strawberry.field(description="Line number in the file (the CSV header is line 1).")
    source_record_id: str | None = strawberry.field(description="The row's record id, when it could be read.")
    errors: list[FieldProblem] = strawberry.field(description="What is wrong with it.")


@strawberry.type(
    description="A row of a bulk file that was stored as pushed, with what the pusher should know."
)
class WarnedRow:
    line: int = strawberry.field(description="Line number in the file (the CSV header is line 1).")
    source_record_id: str | None = strawberry.field(description="The row's record id.")
    warnings: list[FieldProblem] = strawberry.field(
        description="E.g. NAME_DIFFERS: XDR_MC is not the registered name, which a push never changes."
    )


@strawberry.type(description="Receipt of a bulk push (批量归集回执).")
class BulkReceipt:
    id: strawberry.ID = strawberry.field(description="Receipt id.")
    record_type: str = strawberry.field(description="Record type of the file.")
    filename: str = strawberry.field(description="Name of the uploaded file.")
    total: int = strawberry.field(description="Data rows read.")
    created: int = strawberry.field(description="Records stored as new.")
    updated: int = strawberry.field(description="Records stored as a new version.")
    unchanged: int = strawberry.field(description="Records identical to the version in force.")
    rejected: int = strawberry.field(description="Rows not stored.")
    late: int = strawberry.field(description="Stored records pushed after the 7-working-day 双公示 deadline.")
    warned: int = strawberry.field(description="Stored rows that came with a warning (see `warnings`).")
    replayed: bool = strawberry.field(description="True when this answers an earlier identical upload.")
    rejections_url: str = strawberry.field(
        description="Path of the CSV of all rejected rows with reasons (GET with the same bearer token)."
    )
    pushed_by: strawberry.Private[str | None] = None

    @strawberry.field(description="The first rejected rows with their reasons (at most 100).")
    async def rejections(
        self, info: Info, first: Annotated[int, strawberry.argument(description="How many, 1-100.")] = 20
    ) -> list[RejectedRow]:
        rows = await self._lines(info, bulk_service.rejections, first)
        return [RejectedRow(line=line, source_record_id=rid, errors=found) for line, rid, found in rows]

    @strawberry.field(description="The first stored rows that came with warnings (at most 100).")
    async def warnings(
        self, info: Info, first: Annotated[int, strawberry.argument(description="How many, 1-100.")] = 20
    ) -> list[WarnedRow]:
        rows = await self._lines(info, bulk_service.warnings, first)
        return [WarnedRow(line=line, source_record_id=rid, warnings=found) for line, rid, found in rows]

    async def _lines(
        self, info: Info, read: LineReader, first: int
    ) -> list[tuple[int, str | None, list[FieldProblem]]]:
        """Rows of this receipt through the disclosure gate (their ids and texts echo the file)."""
        size = max(1, min(first, info.context.settings.max_page_size))
        rows = await read(info.context.session, info.context.caller, uuid.UUID(self.id), size)
        gate, subject = info.context.disclosure, Subject(owner=self.pushed_by)
        return [
            (line, answered_id(gate, rid, subject), problems(gate, found, subject))
            for line, rid, found in rows
        ]


def receipt_of(
    counts: bulk.BulkCounts, record_type: str, filename: str, pushed_by: str | None
) -> BulkReceipt:
    return BulkReceipt(
        id=strawberry.ID(str(counts.receipt_id)),
        record_type=record_type,
        filename=filename,
        total=counts.total,
        created=counts.created,
        updated=counts.updated,
        unchanged=counts.unchanged,
        rejected=counts.rejected,
        late=counts.late,
        warned=counts.warned,
        replayed=counts.replayed,
        rejections_url=f"/bulk/{counts.receipt_id}/rejections.csv",
        pushed_by=pushed_by,
    )


BulkPushResult = Annotated[
    BulkReceipt | InvalidInput | ConflictProblem | NotPermitted,
    strawberry.union("BulkPushResult", description="The receipt, or why the whole file was refused."),
]
BulkReceiptResult = Annotated[
    BulkReceipt | InvalidInput | NotFoundProblem | NotPermitted,
    strawberry.union("BulkReceiptResult", description="The receipt, or why it cannot be shown."),
]


@strawberry.type
class BulkMutations:
    @strawberry.mutation(
        description="Push a whole file of records (批量归集) as a GraphQL multipart upload. Rows are validated "
        "like pushRecords; the file is stored in one transaction (all valid rows, or nothing on failure).",
        extensions=allow(*PUSHING_ROLES),
    )
    async def push_records_file(
        self,
        info: Info,
        file: Annotated[Upload, strawberry.argument(description="The CSV or NDJSON file.")],
        record_type: Annotated[str, strawberry.argument(description="Record type of every row.")],
        format: Annotated[BulkFormat, strawberry.argument(description="File layout.")] = BulkFormat.CSV,
        encoding: Annotated[str, strawberry.argument(description="utf-8 (default) or gb18030.")] = "utf-8",
        idempotency_key: Annotated[
            str | None, strawberry.argument(description="Same key and same file replays the receipt.")
        ] = None,
        historical: Annotated[
            bool,
            strawberry.argument(
                description="Import of history: a failed embedded organisation-code check is a warning."
            ),
        ] = False,
    ) -> BulkPushResult:
        context = info.context
        filename = getattr(file, "filename", None) or "upload"
        request = bulk.BulkRequest(
            record_type=record_type,
            file_format=bulk.FileFormat(str(format.value)),
            filename=filename,
            encoding=encoding.lower(),
            idempotency_key=idempotency_key,
            historical=historical,
        )
        try:
            counts = await bulk.push_file(
                context.session,
                context.caller,
                cast(bulk.ByteSource, file),  # Starlette's UploadFile
                request,
                keys=context.keys,
                max_bytes=context.settings.max_upload_bytes,
                authority_domain=await context.authority_domain(),
                today=context.today,
                index_bits=context.settings.blind_index_bits,
            )
        except Exception as error:
            if context.metrics is not None:
                context.metrics.bulk_file("refused" if isinstance(error, HubError) else "failed")
            raise
        if context.metrics is not None:
            if counts.replayed:
                context.metrics.bulk_file("replayed")
            else:
                accepted = counts.created + counts.updated + counts.unchanged
                context.metrics.bulk_file("stored", accepted=accepted, rejected=counts.rejected)
        return receipt_of(counts, record_type, filename, context.caller.organisation_code)


@strawberry.type
class BulkQueries:
    @strawberry.field(
        description="A bulk receipt by id (the organisation that pushed the file, or the credit office).",
        extensions=allow(*PUSHING_ROLES),
    )
    async def bulk_receipt(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="Receipt id.")]
    ) -> BulkReceiptResult:
        row = await bulk_service.receipt(info.context.session, info.context.caller, str(id))
        counts = bulk.BulkCounts(
            receipt_id=row.id,
            total=row.total,
            created=row.created,
            updated=row.updated,
            unchanged=row.unchanged,
            rejected=row.rejected,
            late=row.late,
            warned=row.warned,
        )
        return receipt_of(counts, row.record_type, row.filename, row.organisation_code)
