"""The hub's public signing keys as a JWKS (RFC 7517), at GET /.well-known/jwks.json.

Anyone verifies what the hub signed offline with these keys: a signed authorisation (its JWS
header's `kid` names the key) and the access log's checkpoints (signed notes; accessLogKey gives
the same key as a signed-note verifier key). `PUBLISHED` is the one list of the keys the hub publishes; each is
derived from the key provider (hub.crypto.signing_key), so every hub process publishes the same.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from hub.audit.service import KEY_PURPOSE as ACCESS_LOG_KEY_PURPOSE
from hub.consents.artefact import GRANT_KEY_PURPOSE
from hub.crypto import signing_key
from hub.ports import KeyProvider

# The purposes of hub.crypto.signing_key whose public keys are published.
PUBLISHED: tuple[str, ...] = (GRANT_KEY_PURPOSE, ACCESS_LOG_KEY_PURPOSE)


def jwks(keys: KeyProvider) -> dict[str, Any]:
    return {"keys": [signing_key(keys, purpose).jwk() for purpose in PUBLISHED]}


def jwks_endpoint(keys: KeyProvider) -> Any:
    body = orjson.dumps(jwks(keys))

    async def serve(request: Request) -> Response:
        # Public and the same for everyone; verifiers may cache it for a while.
        return Response(
            body, media_type="application/jwk-set+json", headers={"cache-control": "public, max-age=300"}
        )

    return serve
