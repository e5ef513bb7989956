"""The signed grant: a compact JWS (RFC 7515, EdDSA/Ed25519 per RFC 8037) over RFC 8785 canonical
JSON, verified offline by an independent JOSE library (joserfc) from the bytes of the hub's JWKS
alone; an altered payload, header or signature fails."""

from __future__ import annotations

import base64
import hashlib
import json
import warnings

import orjson
import pytest
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from hub.consents import artefact
from tests.conftest import gql
from tests.consents.support import active_grant, registered


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _verify_offline(token: str, jwks_bytes: bytes) -> jws.CompactSignature:
    keys = KeySet.import_key_set(json.loads(jwks_bytes))
    with warnings.catch_warnings():
        # RFC 9864 deprecates "EdDSA" for the fully specified "Ed25519"; the hub's artefact names EdDSA.
        warnings.simplefilter("ignore")
        return jws.deserialize_compact(token, keys, algorithms=["EdDSA"])


@pytest.fixture
async def signed(client, actors) -> dict:
    await registered(client, actors, actors["entity"].code, "artefact")
    return await active_grant(client, actors, days=30, rd=4, rt=12)


async def test_the_jwks_publishes_the_grant_and_access_log_keys_as_rfc_8037_jwks(client, actors):
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/jwk-set+json")
    published = response.json()["keys"]
    assert len(published) == 2 and len({k["kid"] for k in published}) == 2
    for key in published:
        assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
        assert len(_unb64(key["x"])) == 32 and "d" not in key
        # RFC 7638: the thumbprint of the required members in lexicographic order, no white space.
        members = f'{{"crv":"Ed25519","kty":"OKP","x":"{key["x"]}"}}'.encode()
        assert key["kid"] == _b64(hashlib.sha256(members).digest())
    # One of them is the key the access log's checkpoints are signed with (accessLogKey).
    answer = await gql(client, "{ accessLogKey { jwks } }", {}, actors["bank"])
    [log_key] = answer["data"]["accessLogKey"]["jwks"]["keys"]
    assert log_key in published


async def test_a_grant_verifies_offline_from_the_jwks_bytes_alone(client, actors, signed):
    jwks_bytes = (await client.get("/.well-known/jwks.json")).content
    verified = _verify_offline(signed["signed"], jwks_bytes)
    kids = [k["kid"] for k in json.loads(jwks_bytes)["keys"]]
    assert verified.protected == {"alg": "EdDSA", "kid": signed["keyId"], "typ": "credit-grant+jws"}
    assert signed["keyId"] in kids
    claims = json.loads(verified.payload)
    # What the bank asked for and the entity approved, as the API reported it.
    assert claims == {
        "grantId": signed["id"],
        "grantor": actors["entity"].code,
        "grantee": actors["bank"].code,
        "purpose": "loan_assessment",
        "purposeVersion": 1,
        "scope": [
            {"item": "records.administrative_penalty", "tier": "masked"},
            {"item": "supervision", "tier": "full"},
        ],
        "validFrom": signed["validFrom"].replace("+00:00", "Z"),
        "validUntil": signed["validUntil"].replace("+00:00", "Z"),
        "caps": {"readsPerDay": 4, "readsTotal": 12},
    }


async def test_the_payload_and_header_are_rfc_8785_canonical(signed):
    header, payload, _ = signed["signed"].split(".")
    # RFC 8785 §3.2: members sorted by UTF-16 code units, no insignificant white space.
    for part in (header, payload):
        raw = _unb64(part)
        value = json.loads(raw)
        assert raw == json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert _unb64(payload).startswith(b'{"caps":{"readsPerDay":4,"readsTotal":12},"grantId":"')


def _altered(token: str, **changes: object) -> str:
    header, payload, signature = token.split(".")
    claims = orjson.loads(_unb64(payload))
    claims.update(changes)
    return ".".join((header, _b64(orjson.dumps(claims, option=orjson.OPT_SORT_KEYS)), signature))


@pytest.mark.parametrize(
    "change",
    [
        {"caps": {"readsPerDay": 4, "readsTotal": 1000}},
        {"validUntil": "2099-12-31T00:00:00Z"},
        {"scope": [{"item": "records.administrative_penalty", "tier": "full"}]},
        {"grantee": "91230100B0000002XX"},
    ],
    ids=["caps", "validity", "tier", "grantee"],
)
async def test_an_altered_payload_fails_offline_verification(client, signed, change):
    jwks_bytes = (await client.get("/.well-known/jwks.json")).content
    forged = _altered(signed["signed"], **change)
    with pytest.raises(JoseError):
        _verify_offline(forged, jwks_bytes)
    published = {k["kid"]: _unb64(k["x"]) for k in json.loads(jwks_bytes)["keys"]}
    with pytest.raises(artefact.ArtefactInvalid):
        artefact.verify(forged, published)
    # The genuine one passes both.
    assert artefact.verify(signed["signed"], published)["grantId"] == signed["id"]


async def test_a_flipped_signature_bit_or_another_kid_fails(client, signed):
    jwks_bytes = (await client.get("/.well-known/jwks.json")).content
    header, payload, signature = signed["signed"].split(".")
    raw = bytearray(_unb64(signature))
    raw[0] ^= 1
    with pytest.raises(JoseError):
        _verify_offline(f"{header}.{payload}.{_b64(bytes(raw))}", jwks_bytes)
    other_kid = _b64(orjson.dumps({"alg": "EdDSA", "kid": "someone-else", "typ": "credit-grant+jws"}))
    published = {k["kid"]: _unb64(k["x"]) for k in json.loads(jwks_bytes)["keys"]}
    with pytest.raises(artefact.ArtefactInvalid, match="does not publish"):
        artefact.verify(f"{other_kid}.{payload}.{signature}", published)
