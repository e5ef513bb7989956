"""Composition root: builds the Starlette app around the GraphQL schema (the only web-aware module)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson
import strawberry
from cross_web import HTTPException
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage as TransportConnectionInit,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import ConnectionErrorMessage
from strawberry.subscriptions.protocols.graphql_ws.types import ConnectionInitMessage as LegacyConnectionInit
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from hub.audit.sequencer import run_forever as run_sequencer
from hub.auth.caller import PUBLIC, Role
from hub.catalog.policy import current_policy
from hub.db import (
    FAILURE_MESSAGES,
    database_failure,
    database_url,
    make_engine,
    make_sessionmaker,
    statement_deadline,
    unit_of_work,
)
from hub.disclosure.policy import ROLE_POLICY, DisclosurePolicy
from hub.errors import HubError
from hub.logs import request_id
from hub.metrics import BULK_REJECTIONS, GRAPHQL, PLAN_PUBLICATION, Metrics, Observation
from hub.notifications import admission, listen_connections, stop_listeners
from hub.ports import KeyProvider
from hub.settings import Settings
from hub.web.caller import caller_of, problem
from hub.web.downloads import publication_download, rejections_download
from hub.web.jwks import jwks_endpoint
from hub.web.keys import key_provider
from hub.web.limits import AdmissionLimit, RateLimiter
from hub.web.scrape import metrics_endpoint, observed
from schema.build import build_schema
from schema.context import HubContext
from schema.permissions import uploading_roles

log = logging.getLogger("hub.http")
_ACK: UnsetType = UNSET  # connection_ack without a payload
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
UNEXPECTED = "Unexpected error."
# Masked failures of the server (see schema.extensions): not request errors, whatever their shape.
_SERVER_FAULTS = frozenset({"INTERNAL", "TIMEOUT"})
# Failures of the database inside an operation: answered 503 with Retry-After.
_RETRY = frozenset({"DATABASE_UNAVAILABLE", "OVERLOADED"})


def _quality(accept: str, media_type: str) -> tuple[float, int]:
    """The q-value the Accept header gives `media_type` and how specific the range that gave it was
    (2 exact, 1 `type/*`, 0 `*/*`; the most specific matching range decides, as in RFC 9110)."""
    best: tuple[int, float] | None = None
    major = media_type.split("/")[0]
    for item in accept.split(","):
        media_range, *params = (part.strip() for part in item.split(";"))
        media_range = media_range.lower()
        if media_range == media_type:
            specificity = 2
        elif media_range == f"{major}/*":
            specificity = 1
        elif media_range == "*/*":
            specificity = 0
        else:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        if best is None or specificity > best[0]:
            best = (specificity, q)
    return (0.0, 0) if best is None else (best[1], best[0])


def negotiate_media_type(accept: str | None) -> str:
    """GraphQL over HTTP: `application/graphql-response+json` when the client asks for it at least as
    much as for `application/json`; `application/json` without an Accept header, for `*/*` and for
    legacy clients (and when the client accepts neither: the spec lets a server answer in JSON)."""
    if not accept:
        return JSON
    graphql_response, json = _quality(accept, GRAPHQL_RESPONSE_JSON), _quality(accept, JSON)
    if graphql_response[0] > 0 and (
        graphql_response > json or (graphql_response == json and graphql_response[1] == 2)
    ):
        return GRAPHQL_RESPONSE_JSON
    return JSON


def is_request_error(result: ExecutionResult) -> bool:
    """A GraphQL request error: the document did not parse or validate, or the variables did not coerce,
    so nothing was executed. Field errors carry a path; masked server faults carry their own code."""
    errors = result.errors or []
    return (
        bool(errors)
        and result.data is None
        and all(e.path is None and (e.extensions or {}).get("code") not in _SERVER_FAULTS for e in errors)
    )


def http_problem(error: HTTPException, method: str) -> Response:
    """Strawberry's HTTP refusal as the hub's JSON problem. A mutation over GET is 405 with the
    methods that would serve it (GraphQL over HTTP), not strawberry's 400."""
    rid = request_id.get()
    if isinstance(error.__cause__, InvalidOperationTypeError) and method == "GET":
        return problem(405, "METHOD_NOT_ALLOWED", error.reason, rid, {"allow": "POST"})
    if error.status_code == 405:
        return problem(405, "METHOD_NOT_ALLOWED", error.reason, rid, {"allow": ALLOW})
    if error.status_code == 404:
        return problem(404, "NOT_FOUND", error.reason, rid)
    code = "BAD_JSON" if "json" in error.reason.lower() else "BAD_REQUEST"
    return problem(error.status_code, code, error.reason, rid)


class ConnectFailed(Exception):
    """The token of a WebSocket connection could not be looked up (the database failed, or worse)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code, self.message = code, message

    @property
    def close_code(self) -> int:
        """WebSocket close codes (RFC 6455, IANA): 1013 Try Again Later when the database failed
        (clients reconnect after a pause), 1011 Internal Error otherwise."""
        return 1011 if self.code == "INTERNAL" else 1013


class HubTransportWS(BaseGraphQLTransportWSHandler[HubContext, None]):
    """graphql-transport-ws, whose only refusal of a connection_init is 4403 Forbidden: a failure to
    look the token up closes with `ConnectFailed.close_code` and the code as the reason."""

    async def handle_connection_init(self, message: TransportConnectionInit) -> None:
        try:
            await super().handle_connection_init(message)
        except ConnectFailed as failure:
            await self.websocket.close(code=failure.close_code, reason=failure.code)


class HubLegacyWS(BaseGraphQLWSHandler[HubContext, None]):
    """The legacy graphql-ws protocol: a connection_error with the code, then the same close."""

    async def handle_connection_init(self, message: LegacyConnectionInit) -> None:
        try:
            await super().handle_connection_init(message)
        except ConnectFailed as failure:
            payload: dict[str, object] = {"code": failure.code, "message": failure.message}
            await self.send_message(ConnectionErrorMessage(type="connection_error", payload=payload))
            await self.websocket.close(code=failure.close_code, reason=failure.code)


class HubGraphQL(GraphQL[HubContext, None]):
    """Strawberry's ASGI view; the context comes from what the gate put in the request scope.

    WebSocket connections (subscriptions) bypass the gate: they start as the public and become the
    caller their `connection_init` payload's `authorization` names (see `on_ws_connect`).
    """

    graphql_transport_ws_handler_class = HubTransportWS
    graphql_ws_handler_class = HubLegacyWS
    sessions: async_sessionmaker[AsyncSession]
    settings: Settings
    keys: KeyProvider
    listen_url: URL | None = None
    disclosure_policy: DisclosurePolicy = ROLE_POLICY
    metrics: Metrics | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope, receive)
            try:
                try:
                    refused = await self._read_multipart(request)
                    response = refused or await self.run(request)
                except HTTPException as error:  # strawberry's refusals, as JSON with a code
                    response = http_problem(error, scope["method"])
                await response(scope, receive, send)
            finally:
                # Uploaded files are spooled to temp files: closed (so deleted) when the request ends,
                # not when the garbage collector gets to them.
                await request.close()
            return
        if scope["type"] != "websocket":
            await super().__call__(scope, receive, send)
            return
        # The connection's unit of work: each operation over it ends its own transaction
        # (schema.extensions.UnitOfWork); subscriptions read in units of their own (hub.grading.changes).
        async with unit_of_work(self.sessions) as session:
            scope["hub_ws_session"] = session
            await super().__call__(scope, receive, send)

    async def _read_multipart(self, request: Request) -> Response | None:
        """Parse a multipart body here, with the hub's bounds, before strawberry reads it (Starlette
        keeps the parsed form): the GraphQL multipart request has two text parts (operations, map),
        each within the JSON body limit, and a few files; Starlette's defaults would keep a thousand
        text parts of 1 MiB each in memory."""
        if not (_header(request.scope, b"content-type") or "").lower().startswith("multipart/form-data"):
            return None
        try:
            await request.form(
                max_files=MAX_UPLOAD_FILES, max_fields=2, max_part_size=self.settings.max_body_bytes
            )
        except (StarletteHTTPException, MultiPartException) as error:
            detail = getattr(error, "detail", None) or getattr(error, "message", "")
            return problem(400, "BAD_MULTIPART", f"the multipart body is refused: {detail}", request_id.get())
        return None

    async def get_context(self, request: Any, response: Any) -> HubContext:
        state = request.scope.get("hub")
        if state is None:  # a WebSocket connection
            return HubContext(
                caller=PUBLIC,
                session=request.scope["hub_ws_session"],
                settings=self.settings,
                keys=self.keys,
                request_id=request_id.get(),
                sessions=self.sessions,
                listen_url=self.listen_url,
                disclosure_policy=self.disclosure_policy,
                metrics=self.metrics,
            )
        return HubContext(
            caller=state["caller"],
            session=state["session"],
            settings=state["settings"],
            keys=state["keys"],
            request_id=state["request_id"],
            sessions=self.sessions,
            listen_url=self.listen_url,
            disclosure_policy=self.disclosure_policy,
            metrics=self.metrics,
            observation=state["observation"],
        )

    async def on_ws_connect(self, context: HubContext) -> UnsetType | dict[str, object] | None:
        """Authenticate the connection from `{"authorization": "Bearer <token>"}` in connection_init."""
        params = context.connection_params or {}
        authorization = params.get("authorization") or params.get("Authorization")
        if authorization is None:
            return _ACK  # stays public: subscriptions it may not call are refused by their rules
        try:
            async with unit_of_work(self.sessions) as session:
                caller = await caller_of(session, str(authorization))
        except Exception as exc:
            # No detail leaves: the handlers below close the connection with the code alone.
            log.error("websocket authentication failed", extra={"error_type": type(exc).__name__})
            failure = _database_failure(exc)
            raise ConnectFailed(*(failure[1:] if failure else ("INTERNAL", UNEXPECTED))) from exc
        if isinstance(caller, Response):
            raise ConnectionRejectionError({"code": "TOKEN_INVALID"})
        context.become(caller)
        return _ACK

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)

    # GraphQL over HTTP: content negotiation and, for `application/graphql-response+json`, request errors
    # answered with 400 and no `data` entry. `application/json` keeps the legacy answer (200, data null).

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = negotiate_media_type(request.headers.get("accept"))
        request.state.sub_response = sub_response  # process_result sets the status of a request error on it
        return sub_response

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        response_data = await super().process_result(request, result)
        sub_response: Response | None = getattr(request.state, "sub_response", None)
        # The database failed while the operation ran (schema.extensions codes it): nothing was
        # stored, and the answer says when to retry, as the gate's own 503 does.
        unavailable = next(
            (e for e in result.errors or [] if (e.extensions or {}).get("code") in _RETRY), None
        )
        if unavailable is not None and sub_response is not None:
            sub_response.status_code = 503
            sub_response.headers["retry-after"] = str(self.settings.retry_after_seconds)
            return {"errors": [unavailable.formatted]}
        if (
            sub_response is not None
            and sub_response.media_type == GRAPHQL_RESPONSE_JSON
            and is_request_error(result)
        ):
            response_data.pop("data", None)
            sub_response.status_code = 400
        return response_data

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        if sub_response.media_type == GRAPHQL_RESPONSE_JSON:
            response.headers["content-type"] = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
        return response


class RequestLog:
    """Gives every request an id (echoed as X-Request-ID) and one JSON log line: method, path, status, time.

    The query string is never logged: GraphQL GET requests carry queries and variables there.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k.lower() == b"x-request-id"), ""
        )
        rid = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = {"code": 0}

        async def send_with_id(message: Any) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", rid.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log.info(
                "request",
                extra={
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status["code"],
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            request_id.reset(token)


_METHODS = frozenset({"GET", "POST"})
ALLOW = "GET, POST"
# A browser sends a cross-site multipart/form-data POST without a preflight; it cannot add this header
# (or Authorization) without one (CORS), so requiring either stops cross-site request forgery of uploads.
PREFLIGHT_HEADER = b"graphql-require-preflight"
_STATEMENT_MARGIN = 0.1  # seconds
_CONTENT_LENGTH = re.compile(r"[0-9]{1,19}")
# Files one multipart request may carry (each upload mutation takes one; aliases may repeat it).
MAX_UPLOAD_FILES = 10


class _BodyTooLarge(Exception):
    """The body passed its limit while it was read (a custom class: parsers swallow ValueError)."""


def _header(scope: Scope, name: bytes) -> str | None:
    return next((v.decode("latin-1") for k, v in scope["headers"] if k.lower() == name), None)


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it passes `limit` bytes (the rest is never read)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Any:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _counted(receive: Receive, limit: int) -> Receive:
    size = 0

    async def counted() -> Any:
        nonlocal size
        message = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                raise _BodyTooLarge
        return message

    return counted


_STATUS = {"OVERLOADED": 503, "TIMEOUT": 504, "DATABASE_UNAVAILABLE": 503}


def _database_failure(exc: BaseException) -> tuple[int, str, str] | None:
    """The answer for a failure of the database before the operation ran, or None if it is not one."""
    code = database_failure(exc)
    if code is None and isinstance(exc, DBAPIError):  # the token look-up or the connection's set-up
        code = "DATABASE_UNAVAILABLE"
    if code is None:
        return None
    return _STATUS[code], code, FAILURE_MESSAGES[code]


class GraphQLGate:
    """The edge of /graphql, cheapest refusals first: method, concurrency, body size and shape (before
    any database work, authentication included); then, within the request's time budget, the
    connection with its statement timeout, the bearer token, and the operation."""

    def __init__(
        self,
        app: HubGraphQL,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        keys: KeyProvider,
        upload_roles: frozenset[Role],
        metrics: Metrics,
    ) -> None:
        self.app, self.sessions, self.settings, self.keys = app, sessions, settings, keys
        self.upload_roles, self.metrics = upload_roles, metrics
        self.waiting = 0  # requests inside the gate waiting for a database connection
        self.rates = RateLimiter(settings.rate_limits)
        self.admission = AdmissionLimit(settings.max_concurrent_requests, settings.min_concurrent_requests)

    def retry_later(self, status: int, code: str, message: str) -> Response:
        headers = {"retry-after": str(self.settings.retry_after_seconds)}
        return problem(status, code, message, request_id.get(), headers=headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        arrived = time.perf_counter()
        observation = Observation()
        try:
            if scope["method"] not in _METHODS:
                message = "GraphQL is served over GET (queries) and POST"
                refused = problem(405, "METHOD_NOT_ALLOWED", message, request_id.get(), {"allow": ALLOW})
                observation.status = 405
                await refused(scope, receive, send)
                return
            if not await self.admission.enter():
                message = "the server is at its limit of concurrent requests; retry after Retry-After"
                observation.status, observation.reason = 503, "concurrency"
                await self.retry_later(503, "OVERLOADED", message)(scope, receive, send)
                return
            try:
                await self._serve(scope, receive, send, observation)
            finally:
                self.admission.leave()
        finally:
            self.metrics.request(GRAPHQL, observation, time.perf_counter() - arrived)

    def _refuse_body(self, scope: Scope) -> tuple[Response | None, int, bool]:
        """A refusal from the headers alone, else the body's limit and whether it is multipart."""
        content_type = (_header(scope, b"content-type") or "").lower()
        multipart = content_type.startswith("multipart/")
        limit = self.settings.max_body_bytes
        if multipart:
            limit += self.settings.max_upload_bytes
            # A bearer token forces a preflight too (Authorization is not a CORS-safelisted header)
            # and is never sent by a browser on its own (it sends Basic credentials; they get 401).
            if _header(scope, PREFLIGHT_HEADER) is None and _header(scope, b"authorization") is None:
                message = "a multipart request must carry a GraphQL-Require-Preflight or Authorization header"
                return problem(400, "PREFLIGHT_REQUIRED", message, request_id.get()), limit, multipart
        length = _header(scope, b"content-length")
        # ASCII digits only (str.isdigit() admits "²"), and few enough for int() to be cheap.
        if length is not None and not _CONTENT_LENGTH.fullmatch(length.strip()):
            message = "Content-Length is not a number"
            return problem(400, "BAD_REQUEST", message, request_id.get()), limit, multipart
        if length is not None and int(length) > limit:
            return self._too_large(limit), limit, multipart
        return None, limit, multipart

    def _too_large(self, limit: int) -> Response:
        message = f"the request body is larger than {limit} bytes"
        return problem(413, "BODY_TOO_LARGE", message, request_id.get())

    async def _serve(self, scope: Scope, receive: Receive, send: Send, observation: Observation) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.request_timeout_seconds
        # A little past the budget: at the deadline the request's own cancellation stops its statement
        # (and answers 504); PostgreSQL's statement timeout is the backstop (a blocked event loop).
        budget = time.monotonic() + self.settings.request_timeout_seconds + _STATEMENT_MARGIN
        budget_token = statement_deadline.set(budget)
        authorization = _header(scope, b"authorization")

        async def send_tracked(message: Any) -> None:
            if message["type"] == "http.response.start":
                observation.status = message["status"]
            await send(message)

        async def answer(response: Response, reason: str | None = None) -> None:
            if not observation.status:
                observation.reason = reason
                await response(scope, receive, send_tracked)

        limit, multipart = self.settings.max_body_bytes, False
        try:
            async with asyncio.timeout_at(deadline):
                if scope["method"] != "GET":
                    refused, limit, multipart = self._refuse_body(scope)
                    if refused is not None:
                        await answer(refused, "body_size" if refused.status_code == 413 else None)
                        return
                    if not multipart:  # a multipart body is counted once the caller is known
                        body = await _read_body(receive, limit)
                        if body is None:
                            await answer(self._too_large(limit), "body_size")
                            return
                        refused = _refuse_json(scope, body)
                        if refused is not None:
                            await answer(refused)
                            return
                        receive = _replay(body, receive)
                # The request's one unit of work: its connection comes first (a pool timeout or a
                # database that is down is a 503 before any other work), the GraphQL operation ends
                # it (schema.extensions.UnitOfWork); a timeout rolls it back.
                async with unit_of_work(self.sessions) as session:
                    self.waiting += 1
                    try:
                        await session.connection()  # the checkout sets the statement timeout (hub.db)
                    finally:
                        self.waiting -= 1
                    caller = await caller_of(session, authorization)
                    if isinstance(caller, Response):
                        await answer(caller)
                        return
                    client = scope.get("client")
                    wait = self.rates.retry_after(caller, client[0] if client else None)
                    if wait is not None:
                        message = "too many requests for your role's rate limit; retry after Retry-After"
                        limited = problem(
                            429, "RATE_LIMITED", message, request_id.get(), {"retry-after": str(wait)}
                        )
                        await answer(limited, "rate")
                        return
                    if multipart:
                        # Streamed to the upload's spool, counted as it arrives; only a caller who
                        # may upload a file gets the upload allowance.
                        if caller.role not in self.upload_roles:
                            limit = self.settings.max_body_bytes
                        if int(_header(scope, b"content-length") or 0) > limit:
                            await answer(self._too_large(limit), "body_size")
                            return
                        receive = _counted(receive, limit)
                    scope["hub"] = {
                        "caller": caller,
                        "session": session,
                        "settings": self.settings,
                        "keys": self.keys,
                        "request_id": request_id.get(),
                        "observation": observation,
                    }
                    await self.app(scope, receive, send_tracked)
        except TimeoutError:
            await answer(
                problem(504, "TIMEOUT", "the request took too long and was stopped", request_id.get())
            )
        except _BodyTooLarge:
            await answer(self._too_large(limit), "body_size")
        except Exception as exc:
            failure = _database_failure(exc)
            log.error("request failed", extra={"error_type": type(exc).__name__})
            if failure is None:
                await answer(problem(500, "INTERNAL", UNEXPECTED, request_id.get()))
            elif failure[0] == 503:
                pool_timeout = isinstance(exc, SATimeoutError)
                await answer(self.retry_later(*failure), "pool_timeout" if pool_timeout else None)
            else:
                await answer(problem(*failure, request_id.get()))
        finally:
            statement_deadline.reset(budget_token)


async def route_problem(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (no such path, a method a route does not serve) as JSON with a code."""
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "BAD_REQUEST")
    return problem(exc.status_code, code, str(exc.detail), request_id.get(), exc.headers)


def guarded(endpoint: Any) -> Any:
    """A route whose failures before its answer are JSON with a code (503 when the database failed),
    not Starlette's plain-text 500 (whose exception the server would then log with its traceback)."""

    async def route(request: Request) -> Response:
        try:
            response: Response = await endpoint(request)
        except Exception as exc:
            return route_failure(request, exc)
        return response

    return route


def route_failure(request: Request, exc: Exception) -> Response:
    log.error("request failed", extra={"error_type": type(exc).__name__})
    failure = _database_failure(exc)
    if failure is None:
        return problem(500, "INTERNAL", UNEXPECTED, request_id.get())
    status, code, message = failure
    retry_after = str(request.app.state.settings.retry_after_seconds)
    headers = {"retry-after": retry_after} if status == 503 else None
    return problem(status, code, message, request_id.get(), headers)


def _refuse_json(scope: Scope, body: bytes) -> Response | None:
    """A JSON body must be one object: anything else is refused here, before authentication."""
    if "application/json" not in (_header(scope, b"content-type") or "").lower():
        return None  # GraphQLHub refuses other media types
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return problem(400, "BAD_JSON", "Unable to parse request body as JSON", request_id.get())
    if isinstance(data, list):
        return problem(400, "BAD_REQUEST", "Batching is not enabled", request_id.get())
    if not isinstance(data, dict):
        return problem(400, "BAD_JSON", "the request body must be a JSON object", request_id.get())
    return None


def create_app(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession] | None = None,
    schema: strawberry.Schema | None = None,
    disclosure_policy: DisclosurePolicy = ROLE_POLICY,
) -> Starlette:
    """The app. Tests pass `sessions` bound to a connection whose transaction they roll back, may
    pass a `schema` of their own to exercise the HTTP layer with resolvers that fail for real, and a
    `disclosure_policy` (one that withholds everything proves that every answer goes through the gate)."""
    engine = None
    listen_url = None
    if sessions is None:
        listen_url = database_url(settings)
        engine = make_engine(
            listen_url, pool_size=settings.db_pool_size, pool_timeout=settings.db_pool_timeout_seconds
        )
        sessions = make_sessionmaker(engine)
    keys = key_provider(settings, create=settings.environment != "production")
    schema = schema or build_schema(settings)
    graphql = HubGraphQL(
        schema,
        graphql_ide="graphiql" if settings.graphiql else None,
        allow_queries_via_get=True,
        multipart_uploads_enabled=True,
    )
    graphql.sessions, graphql.settings, graphql.keys = sessions, settings, keys
    graphql.listen_url = listen_url
    graphql.disclosure_policy = disclosure_policy
    metrics = Metrics()
    graphql.metrics = metrics
    gate = GraphQLGate(graphql, sessions, settings, keys, uploading_roles(schema), metrics)
    pool = _pool_of(engine, sessions)
    metrics.watch(
        pool_in_use=(lambda: pool.checkedout()) if pool is not None else (lambda: 0),
        pool_waiting=lambda: gate.waiting,
        subscriptions_open=lambda: admission.total,
        listen_connections=listen_connections,
    )

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        try:
            async with unit_of_work(sessions) as session:
                await session.execute(text("SELECT 1"))
                await current_policy(session)
        except Exception as exc:
            log.warning("not ready", extra={"error_type": type(exc).__name__})
            failure = _database_failure(exc)
            code = failure[1] if failure else exc.code if isinstance(exc, HubError) else "INTERNAL"
            headers = {"retry-after": str(settings.retry_after_seconds)}
            return JSONResponse({"status": "unavailable", "code": code}, status_code=503, headers=headers)
        return JSONResponse({"status": "ready"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # The access log's sequencer, in every process of the hub's own database (not tests' sessions).
        sequencer = (
            asyncio.create_task(run_sequencer(sessions, settings, keys))
            if engine is not None and settings.access_log_sequencer_seconds > 0
            else None
        )
        yield
        if sequencer is not None:
            sequencer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sequencer
        await stop_listeners()  # the shared LISTEN connection, opened by the first subscription
        if engine is not None:
            await engine.dispose()

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/graphql", gate),
            WebSocketRoute("/graphql", graphql),
            Route(
                "/bulk/{receipt_id}/rejections.csv",
                observed(guarded(rejections_download(sessions, disclosure_policy)), BULK_REJECTIONS, metrics),
                methods=["GET"],
            ),
            Route(
                "/plans/{plan_id}/publication.json",
                observed(
                    guarded(publication_download(sessions, disclosure_policy)), PLAN_PUBLICATION, metrics
                ),
                methods=["GET"],
            ),
            Route("/metrics", guarded(metrics_endpoint(sessions, settings, metrics)), methods=["GET"]),
            Route("/.well-known/jwks.json", jwks_endpoint(keys), methods=["GET"]),
        ],
        middleware=[Middleware(RequestLog)],
        exception_handlers={StarletteHTTPException: route_problem},
        lifespan=lifespan,
    )
    app.state.sessions, app.state.settings, app.state.metrics = sessions, settings, metrics
    return app


def _pool_of(engine: AsyncEngine | None, sessions: async_sessionmaker[AsyncSession]) -> Any:
    """The connection pool the app's sessions draw from (tests bind them to one connection of theirs)."""
    bind = engine if engine is not None else sessions.kw.get("bind")
    if isinstance(bind, AsyncConnection):
        bind = bind.engine
    return bind.pool if isinstance(bind, AsyncEngine) else None
