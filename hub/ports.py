"""Protocols that adapters implement; the core depends only on these."""

from __future__ import annotations

from typing import Protocol


class KeyProvider(Protocol):
    """Gives the key material for a named purpose (pseudonyms now; encryption at rest later)."""

    def key(self, purpose: str) -> bytes: ...
