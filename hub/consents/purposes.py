"""The credit office amends the catalogue of purposes (授权用途) through the API.

Each save is checked as the loader checks the shipped YAML and stored as a new version; grants
asked for afterwards are held to it and name its version. A grant already asked for keeps the caps
it was given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.catalog.policy import KIND_PURPOSE, current_policy, store_document
from hub.catalog.purposes import Purpose, PurposeError
from hub.errors import Invalid


async def save_purpose(session: AsyncSession, body: Mapping[str, Any], by: str) -> tuple[Purpose, int]:
    policy = await current_policy(session)
    try:
        purpose = Purpose.from_mapping(body, policy.record_types)
    except PurposeError as exc:
        raise Invalid(f"purpose: {exc}", code="PURPOSE_INVALID", path="purpose") from exc
    document = await store_document(session, KIND_PURPOSE, purpose.code, purpose.to_mapping(), by)
    return purpose, document.version


async def purposes(session: AsyncSession) -> list[tuple[Purpose, int]]:
    """The purposes in force, by code, with their versions."""
    policy = await current_policy(session)
    return [(p, policy.purpose_versions[c]) for c, p in sorted(policy.purposes.items())]
