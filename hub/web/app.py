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
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from hub.auth.caller import PUBLIC
from hub.catalog.policy import current_policy
from hub.crypto import StaticKeyProvider
from hub.db import database_url, make_engine, make_sessionmaker, unit_of_work
from hub.disclosure.policy import ROLE_POLICY, DisclosurePolicy
from hub.logs import request_id
from hub.notifications import stop_listeners
from hub.ports import KeyProvider
from hub.settings import Settings
from hub.web.caller import caller_of, problem
from hub.web.downloads import publication_download, rejections_download
from schema.build import build_schema
from schema.context import HubContext

log = logging.getLogger("hub.http")
_ACK: UnsetType = UNSET  # connection_ack without a payload
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
# Masked failures of the server (see schema.extensions): not request errors, whatever their shape.
_SERVER_FAULTS = frozenset({"INTERNAL", "TIMEOUT"})


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


class HubGraphQL(GraphQL[HubContext, None]):
    """Strawberry's ASGI view; the context comes from what the gate put in the request scope.

    WebSocket connections (subscriptions) bypass the gate: they start as the public and become the
    caller their `connection_init` payload's `authorization` names (see `on_ws_connect`).
    """

    sessions: async_sessionmaker[AsyncSession]
    settings: Settings
    keys: KeyProvider
    listen_url: URL | None = None
    disclosure_policy: DisclosurePolicy = ROLE_POLICY

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await super().__call__(scope, receive, send)
            return
        # The connection's unit of work: each operation over it ends its own transaction
        # (schema.extensions.UnitOfWork); subscriptions read in units of their own (hub.grading.changes).
        async with unit_of_work(self.sessions) as session:
            scope["hub_ws_session"] = session
            await super().__call__(scope, receive, send)

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
        )

    async def on_ws_connect(self, context: HubContext) -> UnsetType | dict[str, object] | None:
        """Authenticate the connection from `{"authorization": "Bearer <token>"}` in connection_init."""
        params = context.connection_params or {}
        authorization = params.get("authorization") or params.get("Authorization")
        if authorization is None:
            return _ACK  # stays public: subscriptions it may not call are refused by their rules
        async with unit_of_work(self.sessions) as session:
            caller = await caller_of(session, str(authorization))
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


class GraphQLGate:
    """Authenticates the bearer token, opens the request's session and applies the timeout."""

    def __init__(
        self,
        app: HubGraphQL,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        keys: KeyProvider,
    ) -> None:
        self.app, self.sessions, self.settings, self.keys = app, sessions, settings, keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        authorization = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k.lower() == b"authorization"), None
        )
        started = {"response": False}

        async def send_tracked(message: Any) -> None:
            started["response"] = started["response"] or message["type"] == "http.response.start"
            await send(message)

        try:
            async with asyncio.timeout(self.settings.request_timeout_seconds):
                # The request's one unit of work: the token look-up opens it, the GraphQL operation
                # ends it (schema.extensions.UnitOfWork); a timeout rolls it back.
                async with unit_of_work(self.sessions) as session:
                    caller = await caller_of(session, authorization)
                    if isinstance(caller, Response):
                        await caller(scope, receive, send)
                        return
                    scope["hub"] = {
                        "caller": caller,
                        "session": session,
                        "settings": self.settings,
                        "keys": self.keys,
                        "request_id": request_id.get(),
                    }
                    await self.app(scope, receive, send_tracked)
        except TimeoutError:
            if not started["response"]:
                message = "the request took too long and was stopped"
                await problem(504, "TIMEOUT", message, request_id.get())(scope, receive, send)


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
        engine = make_engine(listen_url, pool_size=settings.db_pool_size)
        sessions = make_sessionmaker(engine)
    keys = StaticKeyProvider(settings.master_key)
    graphql = HubGraphQL(
        schema or build_schema(settings),
        graphql_ide="graphiql" if settings.graphiql else None,
        allow_queries_via_get=True,
        multipart_uploads_enabled=True,
    )
    graphql.sessions, graphql.settings, graphql.keys = sessions, settings, keys
    graphql.listen_url = listen_url
    graphql.disclosure_policy = disclosure_policy
    gate = GraphQLGate(graphql, sessions, settings, keys)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        try:
            async with unit_of_work(sessions) as session:
                await session.execute(text("SELECT 1"))
                await current_policy(session)
        except Exception as exc:
            log.warning("not ready", extra={"error_type": type(exc).__name__})
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ready"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
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
                rejections_download(sessions, disclosure_policy),
                methods=["GET"],
            ),
            Route(
                "/plans/{plan_id}/publication.json",
                publication_download(sessions, disclosure_policy),
                methods=["GET"],
            ),
        ],
        middleware=[Middleware(RequestLog)],
        lifespan=lifespan,
    )
    app.state.sessions = sessions
    return app
