"""Sealed values (AES-GCM under a purpose key): they open only with the same key, purpose and row;
and the hub's Ed25519 signing keys."""

from __future__ import annotations

import base64

import pytest
from pydantic import SecretStr

from hub.crypto import (
    SealBroken,
    SigningKey,
    StaticKeyProvider,
    b64url,
    seal,
    signature_valid,
    signing_key,
    unseal,
)

KEYS = StaticKeyProvider(SecretStr("k" * 40))
SECRET = bytes(range(32))


def test_a_sealed_value_opens_with_the_same_key_purpose_and_context():
    sealed = seal(KEYS, "inspection-plan-seed", SECRET, b"plan-1")
    assert len(sealed) == 12 + len(SECRET) + 16
    assert unseal(KEYS, "inspection-plan-seed", sealed, b"plan-1") == SECRET
    assert seal(KEYS, "inspection-plan-seed", SECRET, b"plan-1") != sealed  # a fresh nonce each time


@pytest.mark.parametrize(
    ("keys", "purpose", "context"),
    [
        (StaticKeyProvider(SecretStr("x" * 40)), "inspection-plan-seed", b"plan-1"),
        (KEYS, "another-purpose", b"plan-1"),
        (KEYS, "inspection-plan-seed", b"plan-2"),  # copied onto another row
    ],
)
def test_another_key_purpose_or_row_does_not_open_it(keys, purpose, context):
    sealed = seal(KEYS, "inspection-plan-seed", SECRET, b"plan-1")
    with pytest.raises(SealBroken, match="does not open"):
        unseal(keys, purpose, sealed, context)


@pytest.mark.parametrize("at", [0, 11, 12, 43, 44, 59])  # nonce, ciphertext, tag: first and last byte
def test_an_altered_byte_anywhere_is_detected(at):
    sealed = bytearray(seal(KEYS, "inspection-plan-seed", SECRET, b"plan-1"))
    sealed[at] ^= 1
    with pytest.raises(SealBroken):
        unseal(KEYS, "inspection-plan-seed", bytes(sealed), b"plan-1")


@pytest.mark.parametrize("keep", [0, 5, 12, 27, 59])
def test_a_truncated_value_is_detected(keep):
    sealed = seal(KEYS, "inspection-plan-seed", SECRET, b"plan-1")
    with pytest.raises(SealBroken):
        unseal(KEYS, "inspection-plan-seed", sealed[:keep], b"plan-1")


# RFC 8037 appendix A: the Ed25519 key, its RFC 7638 thumbprint and the JWS signature of its example.
RFC8037_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
RFC8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
RFC8037_SIGNING_INPUT = b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
RFC8037_SIGNATURE = "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_signing_key_matches_rfc8037_vectors() -> None:
    key = SigningKey.from_seed("test", _unb64url(RFC8037_D))
    assert key.jwk()["x"] == RFC8037_X
    assert key.key_id == RFC8037_THUMBPRINT
    signature = key.sign(RFC8037_SIGNING_INPUT)
    assert b64url(signature) == RFC8037_SIGNATURE
    assert signature_valid(key.public_bytes, signature, RFC8037_SIGNING_INPUT)
    assert not signature_valid(key.public_bytes, signature, RFC8037_SIGNING_INPUT + b".")


def test_signing_keys_are_per_purpose_and_stable_and_hidden() -> None:
    keys = StaticKeyProvider(SecretStr("a-master-secret-of-enough-length-0123"))
    grant, log = signing_key(keys, "grant"), signing_key(keys, "access-log")
    assert grant.public_bytes != log.public_bytes
    assert signing_key(keys, "grant").public_bytes == grant.public_bytes
    other = StaticKeyProvider(SecretStr("another-master-secret-of-enough-length"))
    assert signing_key(other, "grant").public_bytes != grant.public_bytes
    assert "Ed25519PrivateKey" not in repr(grant) and "_private" not in repr(grant)
