"""Sealed values (AES-GCM under a purpose key): they open only with the same key, purpose and row."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from hub.crypto import SealBroken, StaticKeyProvider, seal, unseal

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
