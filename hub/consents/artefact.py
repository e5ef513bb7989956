"""The signed artefact of an approved authorisation: a compact JWS (RFC 7515) over RFC 8785 JSON.

Header `{"alg": "EdDSA", "kid": <the grant key's RFC 7638 thumbprint>, "typ": "credit-grant+jws"}`
(RFC 8037: Ed25519); payload the RFC 8785 canonical JSON of what was granted: grantor, grantee,
purpose and its version, scope (data items with their field tier), validity, caps and the grant's
id. The hub signs it with its "grant" key (hub.crypto.signing_key) when the entity approves; anyone
verifies it offline with the hub's JWKS (GET /.well-known/jwks.json) and any JOSE library.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import rfc8785

from hub.crypto import SigningKey, b64url, signature_valid, signing_key
from hub.ports import KeyProvider

GRANT_KEY_PURPOSE = "grant"
JWS_TYPE = "credit-grant+jws"


@dataclass(frozen=True, slots=True)
class GrantClaims:
    grant_id: str
    grantor: str
    grantee: str
    purpose: str
    purpose_version: int
    scope: Sequence[Mapping[str, str]]
    valid_from: dt.datetime
    valid_until: dt.datetime
    reads_per_day: int
    reads_total: int

    def payload(self) -> dict[str, Any]:
        return {
            "grantId": self.grant_id,
            "grantor": self.grantor,
            "grantee": self.grantee,
            "purpose": self.purpose,
            "purposeVersion": self.purpose_version,
            "scope": [{"item": s["item"], "tier": s["tier"]} for s in self.scope],
            "validFrom": _instant(self.valid_from),
            "validUntil": _instant(self.valid_until),
            "caps": {"readsPerDay": self.reads_per_day, "readsTotal": self.reads_total},
        }


def _instant(value: dt.datetime) -> str:
    """UTC, whole seconds, with Z (RFC 3339)."""
    return value.astimezone(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def sign(keys: KeyProvider, claims: GrantClaims) -> tuple[str, str]:
    """The compact JWS of `claims` and the id of the key that signed it."""
    key = signing_key(keys, GRANT_KEY_PURPOSE)
    return sign_with(key, claims.payload()), key.key_id


def sign_with(key: SigningKey, payload: Mapping[str, Any]) -> str:
    header = {"alg": "EdDSA", "kid": key.key_id, "typ": JWS_TYPE}
    signing_input = f"{b64url(rfc8785.dumps(header))}.{b64url(rfc8785.dumps(dict(payload)))}"
    return f"{signing_input}.{b64url(key.sign(signing_input.encode('ascii')))}"


class ArtefactInvalid(ValueError):
    """A compact JWS that is not a grant signed by one of the given keys."""


def _b64decode(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except ValueError:
        raise ArtefactInvalid("a part of the JWS is not base64url") from None


def verify(jws: str, public_keys: Mapping[str, bytes]) -> dict[str, Any]:
    """The payload of `jws` when it is a grant signed by the key its header names (kid → raw
    Ed25519 public key, as the JWKS publishes them); ArtefactInvalid otherwise."""
    parts = jws.split(".")
    if len(parts) != 3:
        raise ArtefactInvalid("a compact JWS has three parts")
    try:
        header = orjson.loads(_b64decode(parts[0]))
    except orjson.JSONDecodeError:
        raise ArtefactInvalid("the JWS header is not JSON") from None
    if not isinstance(header, dict) or header.get("alg") != "EdDSA" or header.get("typ") != JWS_TYPE:
        raise ArtefactInvalid("not an EdDSA grant JWS")
    public = public_keys.get(str(header.get("kid")))
    if public is None:
        raise ArtefactInvalid("signed by a key the hub does not publish")
    if not signature_valid(public, _b64decode(parts[2]), f"{parts[0]}.{parts[1]}".encode("ascii")):
        raise ArtefactInvalid("the signature does not match")
    try:
        payload = orjson.loads(_b64decode(parts[1]))
    except orjson.JSONDecodeError:
        raise ArtefactInvalid("the JWS payload is not JSON") from None
    if not isinstance(payload, dict):
        raise ArtefactInvalid("the JWS payload is not a JSON object")
    return payload


def published_keys(keys: KeyProvider) -> dict[str, bytes]:
    """kid → raw public key of the grant key (what a verifier takes from the JWKS)."""
    key = signing_key(keys, GRANT_KEY_PURPOSE)
    return {key.key_id: key.public_bytes}
