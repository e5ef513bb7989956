"""All cryptography of the hub, behind a KeyProvider (house rule 7)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub.ports import KeyProvider


class _Secret(Protocol):
    def get_secret_value(self) -> str: ...


class StaticKeyProvider:
    """Keys derived from one configured master secret (HKDF-like: HMAC over a purpose label)."""

    def __init__(self, master: _Secret) -> None:
        self._master = master

    def key(self, purpose: str) -> bytes:
        return hmac.new(self._master.get_secret_value().encode(), purpose.encode(), hashlib.sha256).digest()

    def __repr__(self) -> str:
        return "StaticKeyProvider(<hidden>)"


def person_key(keys: KeyProvider, id_number: str) -> str:
    """A stable 18-character archive key for a natural person that does not reveal the ID number.

    It starts with 'P' (never a USCC registration authority), so it cannot collide with a USCC.
    """
    digest = hmac.new(keys.key("person-archive-key"), id_number.encode(), hashlib.sha256).hexdigest()
    return "P" + digest[:17].upper()


def content_digest(data: bytes) -> bytes:
    """16-byte digest of a record's canonical content, used to detect unchanged re-pushes."""
    return hashlib.blake2b(data, digest_size=16).digest()


def body_digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


_NONCE_BYTES = 12
_TAG_BYTES = 16


class SealBroken(ValueError):
    """A sealed value does not open: wrong key, wrong context or altered bytes."""


def seal(keys: KeyProvider, purpose: str, plain: bytes, context: bytes) -> bytes:
    """AES-256-GCM under the purpose's key: nonce + ciphertext + tag. `context` (a row's id) is bound
    as associated data, so a sealed value copied onto another row does not open there."""
    nonce = secrets.token_bytes(_NONCE_BYTES)
    return nonce + AESGCM(keys.key(purpose)).encrypt(nonce, plain, context)


def unseal(keys: KeyProvider, purpose: str, sealed: bytes, context: bytes) -> bytes:
    nonce, body = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
    if len(body) < _TAG_BYTES:
        raise SealBroken(f"a sealed {purpose} value is too short to be one")
    try:
        return AESGCM(keys.key(purpose)).decrypt(nonce, body, context)
    except InvalidTag:
        raise SealBroken(f"a sealed {purpose} value does not open with this hub's key") from None
