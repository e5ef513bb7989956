"""Files the hub serves beside GraphQL: a bulk push's rejected rows and a drawn plan's publication."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncGenerator
from contextlib import AsyncExitStack
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from hub.db import unit_of_work
from hub.disclosure.gate import Disclosure
from hub.disclosure.policy import DisclosurePolicy, Item, Subject
from hub.errors import HubError
from hub.inspections import service as inspections
from hub.logs import request_id
from hub.records.bulk import receipts as bulk_service
from hub.web.caller import caller_of, problem


class _StreamedInWork(StreamingResponse):
    """A streamed body read from the database as it is sent: the request's unit of work ends when
    the body does (committed when it was all sent, rolled back when the client went away)."""

    def __init__(self, work: AsyncExitStack, body: AsyncGenerator[str, None], **options: Any) -> None:
        super().__init__(body, **options)
        self.work, self.rows = work, body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with self.work:
            try:
                await super().__call__(scope, receive, send)
            finally:
                await self.rows.aclose()  # its statement ends before the session does


def rejections_download(sessions: async_sessionmaker[AsyncSession], policy: DisclosurePolicy) -> Any:
    """GET /bulk/{id}/rejections.csv: every rejected row of a bulk push, streamed as CSV."""

    async def endpoint(request: Request) -> Response:
        async with AsyncExitStack() as work:
            session = await work.enter_async_context(unit_of_work(sessions))
            caller = await caller_of(session, request.headers.get("authorization"))
            if isinstance(caller, Response):
                return caller
            receipt_id = request.path_params["receipt_id"]
            try:
                receipt = await bulk_service.receipt(session, caller, receipt_id)
            except HubError as error:
                status = {"NOT_FOUND": 404, "FORBIDDEN": 403}.get(error.code, 400)
                return problem(status, error.code, error.message, request_id.get())

            gate, subject = Disclosure(caller, policy), Subject(owner=receipt.organisation_code)

            async def rows() -> AsyncGenerator[str, None]:
                yield "line,source_record_id,code,path,message\r\n"
                async for line, record_id, errors in bulk_service.stream_rejections(
                    session, caller, receipt_id
                ):
                    shown_id = gate.text(Item.PUSH_ANSWER, "sourceRecordId", record_id, subject) or ""
                    for error in errors:
                        message = gate.message(str(error["message"]), subject)
                        yield _csv_line([line, shown_id, error["code"], error["path"], message])

            filename = f"rejections-{receipt_id}.csv"
            return _StreamedInWork(
                work.pop_all(),  # the response ends the unit of work, after the body
                rows(),
                media_type="text/csv; charset=utf-8",
                headers={"content-disposition": f'attachment; filename="{filename}"'},
            )

    return endpoint


def _csv_line(values: list[Any]) -> str:
    """One CSV line, each cell neutralised per OWASP's CSV-injection rule: a text cell that starts with
    = + - @ tab or CR gets a leading ' so that a spreadsheet shows it and never evaluates it."""
    starts = ("=", "+", "-", "@", "\t", "\r")
    cells = ["'" + v if isinstance(v, str) and v.startswith(starts) else v for v in values]
    out = io.StringIO()
    csv.writer(out).writerow(cells)
    return out.getvalue()


def publication_download(sessions: async_sessionmaker[AsyncSession], policy: DisclosurePolicy) -> Any:
    """GET /plans/{id}/publication.json: a drawn plan's publication (一公开), the file anyone saves
    and checks with `credit-hub plan verify`. Anonymous callers get it desensitised; the planning
    department and the credit office (with their token) get inspectors' names in full."""

    async def endpoint(request: Request) -> Response:
        async with unit_of_work(sessions) as session:  # commits the public copy, when this request built it
            caller = await caller_of(session, request.headers.get("authorization"))
            if isinstance(caller, Response):
                return caller
            try:
                plan = await inspections.plan_for(session, request.path_params["plan_id"])
            except HubError as error:
                return problem(404, error.code, error.message, request_id.get())
            keep = inspections.keeper_in(session)
            gate = Disclosure(caller, policy)
            document = await inspections.publication_document(session, gate, plan, keep)
        if document is None and plan.status == inspections.DRAWN:
            message = "the disclosure policy withholds this publication from you"
            return problem(403, "WITHHELD", message, request_id.get())
        if document is None:
            message = "the plan is not drawn yet; its publication follows the draw"
            return problem(409, "NOT_DRAWN", message, request_id.get())
        headers = {"content-disposition": f'attachment; filename="plan-{plan.id}.json"'}
        return Response(document, media_type="application/json", headers=headers)

    return endpoint
