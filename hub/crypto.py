"""All cryptography of the hub, behind a KeyProvider (house rule 7)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from typing import Protocol

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

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


def keyed_digest(keys: KeyProvider, purpose: str, value: str) -> str:
    """HMAC-SHA256 of `value` under the key for `purpose`, in hex (pseudonyms of masked values)."""
    return hmac.new(keys.key(purpose), value.encode(), hashlib.sha256).hexdigest()


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


# --- signatures (Ed25519): signed grants (JWS), access-log checkpoints, later sync messages ----------


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class SigningKey:
    """An Ed25519 key pair of the hub for one purpose. The private half never leaves this object:
    not in repr, logs or errors."""

    purpose: str
    _private: Ed25519PrivateKey = field(repr=False)

    @property
    def public_bytes(self) -> bytes:
        """The raw 32-byte public key (RFC 8032)."""
        return self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def key_id(self) -> str:
        """The RFC 7638 JWK thumbprint: a stable name for the key that anyone can recompute."""
        members = {"crv": "Ed25519", "kty": "OKP", "x": b64url(self.public_bytes)}
        canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
        return b64url(hashlib.sha256(canonical).digest())

    def jwk(self) -> dict[str, str]:
        """The public key as a JWK (RFC 8037), for the hub's JWKS."""
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": b64url(self.public_bytes),
            "kid": self.key_id,
            "use": "sig",
            "alg": "EdDSA",
        }

    def sign(self, data: bytes) -> bytes:
        return self._private.sign(data)

    @classmethod
    def from_seed(cls, purpose: str, seed: bytes) -> SigningKey:
        """A key from its 32-byte RFC 8032 seed (the JWK's "d")."""
        return cls(purpose, Ed25519PrivateKey.from_private_bytes(seed))


def signing_key(keys: KeyProvider, purpose: str) -> SigningKey:
    """The hub's Ed25519 key for `purpose` ("grant", "access-log", …), derived with HKDF-SHA256 from
    the provider's key material for that purpose, so every hub process signs with the same key."""
    seed = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"credit-hub ed25519 " + purpose.encode()
    ).derive(keys.key(f"signing:{purpose}"))
    return SigningKey.from_seed(purpose, seed)


def signature_valid(public_bytes: bytes, signature: bytes, data: bytes) -> bool:
    """Whether `signature` is an Ed25519 signature of `data` by the raw public key `public_bytes`."""
    try:
        Ed25519PublicKey.from_public_bytes(public_bytes).verify(signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True
