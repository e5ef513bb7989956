"""Protocols that adapters implement; the core depends only on these."""

from __future__ import annotations

from typing import Protocol


class KeyProvider(Protocol):
    """The hub's keys. Two kinds:

    - `key(purpose)`: stable key material for a named purpose (natural persons' archive keys, blind
      indexes, signing keys, sealed plan seeds). Never rotated: what it keys lives in primary keys,
      indexes and published signatures.
    - Wrapping keys by version (envelope encryption at rest): data keys are wrapped and unwrapped by
      the provider, so a KMS or an HSM can keep its key inside. `current_version` wraps new data keys;
      `credit-hub keys rotate` moves every row onto it. `data_cipher` names the cipher of the data
      keys the hub makes: "aes-256-gcm", or "sm4-gcm" for deployments assessed for 密评.
    """

    @property
    def data_cipher(self) -> str: ...

    @property
    def current_version(self) -> int: ...

    def key(self, purpose: str) -> bytes: ...

    def wrap(self, version: int, data_key: bytes, context: bytes) -> bytes: ...

    def unwrap(self, version: int, wrapped: bytes, context: bytes) -> bytes: ...


class KeyMaterial(Protocol):
    """Where a local provider keeps its wrapping keys (adapters/keyfile.py: a file of the hub's own):
    raw 32-byte keys by version, the newest current. It stores keys; it does no cryptography."""

    def versions(self) -> dict[int, bytes]: ...

    def current(self) -> int: ...

    def add(self, key: bytes) -> int:
        """Store `key` as the next version and make it current; returns its version."""
        ...
