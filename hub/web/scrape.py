"""GET /metrics: the app's metrics in the Prometheus text format, for the operators' scraper.

Readable with the scrape token (HUB_METRICS_TOKEN, compared in constant time, no database work) or a
credit-office bearer token (one token look-up). The metrics carry no per-entity or per-caller data
(see hub.metrics), but they show how the hub is used and loaded, which is the operators' business."""

from __future__ import annotations

import hmac
import time
from typing import Any

from prometheus_client.exposition import choose_encoder
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response

from hub.auth.caller import Role
from hub.db import unit_of_work
from hub.logs import request_id
from hub.metrics import Metrics, Observation
from hub.settings import Settings
from hub.web.caller import caller_of, problem


def _bearer(authorization: str | None) -> bytes:
    scheme, _, secret = (authorization or "").partition(" ")
    return secret.strip().encode() if scheme.lower() == "bearer" else b""


def metrics_endpoint(sessions: async_sessionmaker[AsyncSession], settings: Settings, metrics: Metrics) -> Any:
    scrape_token = settings.metrics_token.get_secret_value().encode()

    async def endpoint(request: Request) -> Response:
        authorization = request.headers.get("authorization")
        if not (scrape_token and hmac.compare_digest(_bearer(authorization), scrape_token)):
            async with unit_of_work(sessions) as session:
                caller = await caller_of(session, authorization)
            if isinstance(caller, Response):
                return caller
            if caller.role is not Role.CREDIT_OFFICE:
                message = "the metrics are for the credit office and the scrape token (HUB_METRICS_TOKEN)"
                return problem(403, "FORBIDDEN", message, request_id.get())
        # The library's negotiation: the classic text format unless the scraper asks for another.
        encode, media_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encode(metrics.registry), media_type=media_type)

    return endpoint


def observed(endpoint: Any, route: str, metrics: Metrics) -> Any:
    """A route whose answers are counted and timed (to the start of the answer) under `route`."""

    async def timed(request: Request) -> Response:
        arrived = time.perf_counter()
        observation = Observation()
        try:
            response: Response = await endpoint(request)
            observation.status = response.status_code
            return response
        finally:
            metrics.request(route, observation, time.perf_counter() - arrived)

    return timed
