"""Who is calling, from the Authorization header, and the JSON problem answer of the HTTP routes."""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from hub.auth import service as auth
from hub.auth.caller import PUBLIC, Caller
from hub.errors import Unauthenticated
from hub.logs import request_id


def problem(
    status: int, code: str, message: str, rid: str, headers: Mapping[str, str] | None = None
) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": code, "requestId": rid}}]}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


async def caller_of(session: AsyncSession, authorization: str | None) -> Caller | Response:
    """The caller named by the Authorization header, or the 401 answer for an unusable token."""
    if not authorization:
        return PUBLIC
    scheme, _, secret = authorization.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return problem(401, "TOKEN_INVALID", "use `Authorization: Bearer <token>`", request_id.get())
    try:
        # The look-up opens the request's one transaction; the request then goes on in it.
        caller = await auth.authenticate(session, secret.strip())
    except Unauthenticated as error:
        return problem(401, error.code, error.message, request_id.get())
    return caller
