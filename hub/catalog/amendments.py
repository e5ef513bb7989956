"""The credit office amends the record catalogue and the publicity rules through the API.

Each save is checked as the loader checks the shipped YAML, then stored as a new version; records
pushed afterwards are validated against it and name its version (`typeVersion`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.catalog.masking_policies import (
    KIND_MASKING_POLICY,
    MASKING_POLICY_CODE,
    MaskingPolicy,
    MaskingPolicyError,
)
from hub.catalog.policy import (
    KIND_PUBLICITY,
    KIND_RECORD_TYPE,
    KIND_RIGHTS,
    PUBLICITY_CODE,
    current_policy,
    store_document,
)
from hub.catalog.publicity import PublicityPolicy
from hub.catalog.record_types import CatalogError, RecordTypeDef
from hub.catalog.rights import RIGHTS_CODE, RightsPolicy
from hub.errors import Invalid
from hub.models import CatalogDocument


async def save_record_type(
    session: AsyncSession, body: Mapping[str, Any], by: str
) -> tuple[RecordTypeDef, int]:
    try:
        definition = RecordTypeDef.from_mapping(body)
    except (CatalogError, KeyError, TypeError, ValueError) as exc:
        raise Invalid(f"record type: {exc}", code="RECORD_TYPE_INVALID", path="definition") from exc
    policy = await current_policy(session)
    old = policy.record_types.get(definition.code)
    if old is not None:
        # Stored records hold these fields: a new version may add fields, not drop them.
        dropped = sorted(set(old.field_names) - set(definition.field_names))
        if dropped:
            raise Invalid(
                f"fields {', '.join(dropped)} of {definition.code} hold stored data; keep them (optional)",
                code="FIELD_REMOVED",
                path="definition.fields",
            )
    document = await store_document(session, KIND_RECORD_TYPE, definition.code, definition.to_mapping(), by)
    return definition, document.version


async def save_publicity_rules(session: AsyncSession, body: Mapping[str, Any], by: str) -> CatalogDocument:
    try:
        PublicityPolicy.from_mapping(dict(body))
    except (KeyError, TypeError, ValueError) as exc:
        raise Invalid(f"publicity rules: {exc}", code="PUBLICITY_INVALID", path="rules") from exc
    return await store_document(session, KIND_PUBLICITY, PUBLICITY_CODE, body, by)


async def save_masking_policy(
    session: AsyncSession, body: Mapping[str, Any], by: str
) -> tuple[MaskingPolicy, int]:
    """The credit office amends the masking policy: checked as the shipped YAML is, stored as a new
    version, applied from the next request on (in every hub process: the gate reads the version)."""
    try:
        policy = MaskingPolicy.from_mapping(body)
    except (MaskingPolicyError, KeyError, TypeError, ValueError) as exc:
        raise Invalid(f"masking policy: {exc}", code="MASKING_POLICY_INVALID", path=_path_of(exc)) from exc
    if policy.code != MASKING_POLICY_CODE:
        raise Invalid(
            f"masking policy: code must be {MASKING_POLICY_CODE!r}",
            code="MASKING_POLICY_INVALID",
            path="policy.code",
        )
    document = await store_document(session, KIND_MASKING_POLICY, policy.code, policy.to_mapping(), by)
    return policy, document.version


def _path_of(exc: Exception) -> str:
    """The input path of a parser error ("decisions[2].rule: …" → "policy.decisions[2].rule")."""
    where = str(exc).split(":", 1)[0] if isinstance(exc, MaskingPolicyError) else ""
    return f"policy.{where}" if where and " " not in where else "policy"


async def save_rights_profile(
    session: AsyncSession, body: Mapping[str, Any], by: str
) -> tuple[RightsPolicy, CatalogDocument]:
    """The time-limit profiles of objections and repair, the one in force, and the dishonesty records."""
    try:
        rights = RightsPolicy.from_mapping(dict(body))
    except (KeyError, TypeError, ValueError) as exc:
        raise Invalid(f"rights profile: {exc}", code="RIGHTS_PROFILE_INVALID", path="profile") from exc
    known = (await current_policy(session)).record_types
    unknown = sorted(rights.negative_record_types - set(known))
    if unknown:
        raise Invalid(
            f"rights profile: {unknown[0]} is not a record type of the catalogue",
            code="RIGHTS_PROFILE_INVALID",
            path="profile.negative_record_types",
        )
    return rights, await store_document(session, KIND_RIGHTS, RIGHTS_CODE, body, by)
