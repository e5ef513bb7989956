"""All cryptography of the hub, behind a KeyProvider (house rule 7)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import secrets
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

import orjson
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hub.ports import KeyMaterial, KeyProvider


class _Secret(Protocol):
    def get_secret_value(self) -> str: ...


class KeyUnavailable(LookupError):
    """The provider has no wrapping key of this version (a key file older than the rows, a KMS key gone)."""


class SealBroken(ValueError):
    """A sealed value does not open: wrong key, wrong context or altered bytes."""


# Purposes whose key, under the HMAC derivation the hub used before HKDF, already keys stored data:
# natural persons' archive keys (primary keys of every table) and the sealed seeds of inspection plans
# (migration 0003 seals with it). They keep it, so that an existing deployment's archive keys and
# sealed seeds stay as they are; every other purpose is derived with HKDF.
STABLE_HMAC_PURPOSES = frozenset({"person-archive-key", "inspection-plan-seed"})


def derive_key(master: bytes, purpose: str, length: int = 32) -> bytes:
    """The stable key for `purpose` from the master secret: HKDF-SHA256 (RFC 5869), the purpose as
    its info; the purposes of STABLE_HMAC_PURPOSES keep their HMAC-SHA256 key."""
    if purpose in STABLE_HMAC_PURPOSES:
        return hmac.new(master, purpose.encode(), hashlib.sha256).digest()
    return HKDF(
        algorithm=hashes.SHA256(), length=length, salt=None, info=b"credit-hub key " + purpose.encode()
    ).derive(master)


# --- ciphers of data at rest -----------------------------------------------------------------------

# Each sealed value starts with its cipher's id, so a deployment that changes HUB_DATA_CIPHER still
# opens what it sealed before (and `credit-hub keys rotate` moves it onto the new cipher).
CIPHERS: dict[str, tuple[int, int]] = {"aes-256-gcm": (1, 32), "sm4-gcm": (2, 16)}
_CIPHER_BY_ID = {ident: name for name, (ident, _) in CIPHERS.items()}
_NONCE_BYTES = 12
_TAG_BYTES = 16


def _encrypt(cipher: str, key: bytes, nonce: bytes, plain: bytes, context: bytes) -> bytes:
    if cipher == "aes-256-gcm":
        return AESGCM(key).encrypt(nonce, plain, context)
    encryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(context)
    body = encryptor.update(plain) + encryptor.finalize()
    return body + encryptor.tag


def _decrypt(cipher: str, key: bytes, nonce: bytes, body: bytes, context: bytes) -> bytes:
    """Raises InvalidTag when the bytes, the key or the context are not those sealed."""
    if cipher == "aes-256-gcm":
        return AESGCM(key).decrypt(nonce, body, context)
    decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, body[-_TAG_BYTES:])).decryptor()
    decryptor.authenticate_additional_data(context)
    return decryptor.update(body[:-_TAG_BYTES]) + decryptor.finalize()


def _sealed(cipher: str, key: bytes, plain: bytes, context: bytes) -> bytes:
    """cipher id (1 byte) + nonce (12) + ciphertext + tag (16)."""
    nonce = secrets.token_bytes(_NONCE_BYTES)
    return bytes([CIPHERS[cipher][0]]) + nonce + _encrypt(cipher, key, nonce, plain, context)


def _opened(key_of: Any, sealed: bytes, context: bytes, what: str) -> bytes:
    """Open `sealed`; `key_of(cipher)` gives the key for the cipher its first byte names."""
    cipher = _CIPHER_BY_ID.get(sealed[0]) if sealed else None
    body = sealed[1 + _NONCE_BYTES :]
    if cipher is None or len(body) < _TAG_BYTES:
        raise SealBroken(f"a sealed {what} is not one")
    try:
        return _decrypt(cipher, key_of(cipher), sealed[1 : 1 + _NONCE_BYTES], body, context)
    except (InvalidTag, ValueError):
        raise SealBroken(f"a sealed {what} does not open here: another key, row or field") from None


def context_bytes(*parts: str) -> bytes:
    """Associated data: the parts as a JSON array of strings, so no two lists of parts give the same bytes."""
    return orjson.dumps(parts)


# --- key providers ---------------------------------------------------------------------------------


class KeyRing:
    """A KeyProvider held in the hub's process: stable keys derived from the master secret (HKDF), and
    wrapping keys by version from `material` (adapters/keyfile.py: the local key file). Data keys are
    wrapped with the configured cipher (AES-256-GCM, or SM4-GCM under a key HKDF-derived from the
    version's). A KMS or an HSM implements KeyProvider itself, its wrapping keys never leaving it."""

    def __init__(self, master: _Secret, material: KeyMaterial, data_cipher: str = "aes-256-gcm") -> None:
        if data_cipher not in CIPHERS:
            raise ValueError(f"unknown data cipher {data_cipher!r} (one of {', '.join(CIPHERS)})")
        self._master = master
        self._material = material
        self._cipher = data_cipher
        # Stable keys by purpose, derived once (a bulk load asks for the digest keys on every row).
        self._stable: dict[str, bytes] = {}

    @property
    def data_cipher(self) -> str:
        return self._cipher

    @property
    def current_version(self) -> int:
        return self._material.current()

    def key(self, purpose: str) -> bytes:
        found = self._stable.get(purpose)
        if found is None:
            found = self._stable[purpose] = derive_key(self._master.get_secret_value().encode(), purpose)
        return found

    def _wrapping_key(self, version: int, cipher: str) -> bytes:
        found = self._material.versions().get(version)
        if found is None:
            raise KeyUnavailable(f"no wrapping key of version {version}")
        if cipher == "aes-256-gcm":
            return found
        return HKDF(algorithm=hashes.SHA256(), length=16, salt=None, info=b"credit-hub sm4 wrap").derive(
            found
        )

    def wrap(self, version: int, data_key: bytes, context: bytes) -> bytes:
        return _sealed(self._cipher, self._wrapping_key(version, self._cipher), data_key, context)

    def unwrap(self, version: int, wrapped: bytes, context: bytes) -> bytes:
        return _opened(lambda cipher: self._wrapping_key(version, cipher), wrapped, context, "data key")

    def __repr__(self) -> str:
        return f"KeyRing(<hidden>, {self._material!r}, {self._cipher})"


class DerivedMaterial:
    """Wrapping keys derived from the master secret (development and tests, no key file): version v
    is HKDF(master, "wrapping v"). Not for production: the master secret would be every key at once."""

    def __init__(self, master: _Secret, current: int = 1) -> None:
        self._master, self._current = master, current

    def versions(self) -> dict[int, bytes]:
        master = self._master.get_secret_value().encode()
        return {v: derive_key(master, f"wrapping {v}") for v in range(1, self._current + 1)}

    def current(self) -> int:
        return self._current

    def add(self, key: bytes) -> int:
        raise KeyUnavailable("wrapping keys derived from HUB_MASTER_KEY: set HUB_KEY_FILE to rotate")

    def __repr__(self) -> str:
        return "DerivedMaterial(<hidden>)"


class StaticKeyProvider(KeyRing):
    """Every key from one configured master secret (development and tests): stable keys by HKDF,
    wrapping keys of versions 1…`current_version` derived from it too."""

    def __init__(self, master: _Secret, data_cipher: str = "aes-256-gcm", current_version: int = 1) -> None:
        super().__init__(master, DerivedMaterial(master, current_version), data_cipher)

    def __repr__(self) -> str:
        return "StaticKeyProvider(<hidden>)"


def new_wrapping_key() -> bytes:
    """32 random bytes for the next version of a local key file."""
    return secrets.token_bytes(32)


# --- envelope encryption: data keys and sealed fields ----------------------------------------------


_AES_ID = bytes([CIPHERS["aes-256-gcm"][0]])


@dataclass(frozen=True)
class DataKey:
    """A data key (AES-256 or SM4) with its wrapped form, as stored beside what it seals. The key
    itself is never in repr, logs or errors."""

    version: int
    cipher: str
    wrapped: bytes
    _key: bytes = field(repr=False)

    def seal(self, table: str, column: str, row: Sequence[str], plain: bytes) -> bytes:
        """`plain` sealed for one field of one row: the associated data binds the table, the column,
        the row's key and this key's version, so the bytes open nowhere else."""
        context = self._context(table, column, row)
        if self.cipher != "aes-256-gcm":
            return _sealed(self.cipher, self._key, plain, context)
        nonce = self._nonces.take()
        return _AES_ID + nonce + self._aes.encrypt(nonce, plain, context)

    def open(self, table: str, column: str, row: Sequence[str], sealed: bytes) -> bytes:
        context = self._context(table, column, row)
        if sealed[:1] != _AES_ID or self.cipher != "aes-256-gcm":
            return _opened(lambda _: self._key, sealed, context, f"{table}.{column}")
        try:
            return self._aes.decrypt(sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :], context)
        except (InvalidTag, ValueError):
            raise SealBroken(
                f"a sealed {table}.{column} does not open here: another key, row or field"
            ) from None

    def _context(self, table: str, column: str, row: Sequence[str]) -> bytes:
        return context_bytes("credit-hub field 1", table, column, *row, str(self.version), self.cipher)

    @cached_property
    def _aes(self) -> AESGCM:
        return AESGCM(self._key)

    @cached_property
    def _nonces(self) -> _Nonces:
        return _Nonces()


class _Nonces:
    """Random 96-bit nonces drawn from the OS a few hundred at a time: one getrandom call per nonce cost
    more than the encryption (10 µs on a loaded VM). Random, not a counter, so a data key opened twice
    never repeats one; a data key seals at most DATA_KEY_ROWS rows, far below GCM's 2^32 random nonces.
    A DataKey seals from one thread (its sealer's)."""

    _CHUNK = 341 * _NONCE_BYTES

    def __init__(self) -> None:
        self._pool = b""
        self._at = 0

    def take(self) -> bytes:
        if self._at >= len(self._pool):
            self._pool, self._at = secrets.token_bytes(self._CHUNK), 0
        nonce = self._pool[self._at : self._at + _NONCE_BYTES]
        self._at += _NONCE_BYTES
        return nonce


def _wrap_context(table: str, version: int, cipher: str) -> bytes:
    return context_bytes("credit-hub data key 1", table, str(version), cipher)


def new_data_key(keys: KeyProvider, table: str) -> DataKey:
    """A fresh data key of the provider's cipher, wrapped under its current version."""
    cipher, version = keys.data_cipher, keys.current_version
    raw = secrets.token_bytes(CIPHERS[cipher][1])
    wrapped = bytes([CIPHERS[cipher][0]]) + keys.wrap(version, raw, _wrap_context(table, version, cipher))
    return DataKey(version, cipher, wrapped, raw)


# Unwrapped data keys, per provider: a page of rows written in one batch shares one data key, so a read
# unwraps it once (with a KMS: one call, not one per row). Bounded; a key rotated away stops being used.
_OPENED_LIMIT = 4096
_opened_keys: weakref.WeakKeyDictionary[Any, dict[tuple[int, bytes, str], DataKey]] = (
    weakref.WeakKeyDictionary()
)


def open_data_key(keys: KeyProvider, version: int, wrapped: bytes, table: str) -> DataKey:
    cache = _opened_keys.setdefault(keys, {})
    found = cache.get((version, wrapped, table))
    if found is not None:
        return found
    cipher = _CIPHER_BY_ID.get(wrapped[0]) if wrapped else None
    if cipher is None:
        raise SealBroken("a wrapped data key is not one")
    raw = keys.unwrap(version, wrapped[1:], _wrap_context(table, version, cipher))
    opened = DataKey(version, cipher, wrapped, raw)
    if len(cache) >= _OPENED_LIMIT:
        cache.clear()
    cache[(version, wrapped, table)] = opened
    return opened


# --- keyed digests: archive keys, blind indexes, change tags ---------------------------------------


def person_key(keys: KeyProvider, id_number: str) -> str:
    """A stable 18-character archive key for a natural person that does not reveal the ID number.

    It starts with 'P' (never a USCC registration authority), so it cannot collide with a USCC. Its key
    is its own ("person-archive-key") and never rotated: it is the person's primary key everywhere.
    """
    digest = hmac.new(keys.key("person-archive-key"), id_number.encode(), hashlib.sha256).hexdigest()
    return "P" + digest[:17].upper()


def keyed_digest(keys: KeyProvider, purpose: str, value: str) -> str:
    """HMAC-SHA256 of `value` under the key for `purpose`, in hex (pseudonyms of masked values)."""
    return hmac.new(keys.key(purpose), value.encode(), hashlib.sha256).hexdigest()


def blind_index(keys: KeyProvider, purpose: str, value: str, bits: int) -> int:
    """A keyed blind index of `value` (HMAC-SHA256 under the purpose's own key) cut to `bits` bits,
    so that many rows share each index value and it does not identify a row by itself."""
    if not 1 <= bits <= 31:
        raise ValueError("a blind index has 1 to 31 bits")
    digest = hmac.digest(keys.key(f"blind-index:{purpose}"), value.encode(), "sha256")
    return int.from_bytes(digest[:4], "big") >> (32 - bits)


def blind_index_bits_fit(planned_rows: int, bits: int) -> bool:
    """CipherSweet's rule for one index over R rows: 2 <= R / 2^L < sqrt(R). Fewer bits and the index
    narrows nothing; more and an index value is nearly one row (it identifies)."""
    ratio = planned_rows / 2**bits
    return bool(2 <= ratio < math.sqrt(planned_rows))


class KeyedDigest:
    """BLAKE2b keyed with the purpose's stable key: a digest that cannot be checked against guesses
    without the key (a record's content holds ID numbers: an unkeyed hash of it could be). Keyed once;
    each digest copies the keyed state (a bulk load takes three a row)."""

    def __init__(self, keys: KeyProvider, purpose: str, size: int = 16) -> None:
        self._keyed = hashlib.blake2b(digest_size=size, key=keys.key(f"digest:{purpose}"))

    def __call__(self, data: bytes) -> bytes:
        state = self._keyed.copy()
        state.update(data)
        return state.digest()

    def __repr__(self) -> str:
        return "KeyedDigest(<hidden>)"


def content_digest(data: bytes) -> bytes:
    """16-byte digest of a record's canonical content, used to detect unchanged re-pushes."""
    return hashlib.blake2b(data, digest_size=16).digest()


def body_digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


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
