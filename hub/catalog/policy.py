"""The policy in force: every policy document's newest version, loaded from the database.

The YAML under hub/catalog/ is the shipped default: `sync_bundled` stores each document as a new
version when its content changed, and everything the hub decides uses the versions in the
database, so a record can name the catalogue version it was validated against.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit import record as audit
from hub.catalog import registry
from hub.catalog import store as repo
from hub.catalog.grading_schemes import GradingScheme
from hub.catalog.masking_policies import KIND_MASKING_POLICY, MASKING_POLICY_CODE, MaskingPolicy
from hub.catalog.publicity import PublicityPolicy
from hub.catalog.purposes import Purpose
from hub.catalog.record_types import RecordTypeDef
from hub.catalog.rights import RIGHTS_CODE, RightsPolicy
from hub.catalog.supervision_domains import SupervisionDomain
from hub.catalog.workdays import WorkingCalendar, YearSchedule, schedule_from_mapping
from hub.errors import Invalid
from hub.models import CatalogDocument

KIND_RECORD_TYPE = registry.RECORD_TYPE.name
KIND_PUBLICITY = registry.PUBLICITY.name
KIND_CALENDAR = registry.CALENDAR.name
KIND_SCHEME = registry.GRADING_SCHEME.name
KIND_DOMAIN = registry.SUPERVISION_DOMAIN.name
KIND_DOMAIN_DEPARTMENT = registry.DOMAIN_DEPARTMENT.name
KIND_PURPOSE = registry.PURPOSE.name
KIND_RIGHTS = registry.RIGHTS_PROFILE.name
PUBLICITY_CODE = registry.PUBLICITY_CODE


def checksum(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


# Who stores the shipped documents: the deployment (`credit-hub migrate`) and test and benchmark
# set-ups. A version loaded by anyone else is an amendment (the credit office's, through the API).
SHIPPED_BY = frozenset({"credit-hub migrate", "bundled catalogue"})


@dataclass(frozen=True)
class BundledSync:
    added: list[CatalogDocument]
    # (kind, code) whose shipped content changed but whose newest version is an amendment: kept.
    kept_amendments: list[tuple[str, str]]


async def sync_bundled(session: AsyncSession, by: str = "bundled catalogue") -> BundledSync:
    """Store each shipped document whose content differs from its newest stored version, unless that
    version is an amendment: a deployment never undoes what the credit office changed through the
    API (it would, for a masking policy, show again what the office chose to withhold). Which shipped
    changes were not applied is returned, for `credit-hub migrate` to say."""
    if by not in SHIPPED_BY:
        raise ValueError(f"shipped documents are stored by one of {sorted(SHIPPED_BY)}")  # programming error
    latest = await repo.latest_origins(session)
    added, kept = [], []
    for kind, code, body in registry.shipped_documents():
        digest = checksum(body)
        newest = latest.get((kind, code))
        if newest is not None and newest[0] == digest:
            continue
        if newest is not None and newest[1] not in SHIPPED_BY:
            kept.append((kind, code))
            continue
        added.append(await repo.add_document(session, kind, code, body, digest, by))
    if added:
        _cache.clear()
    return BundledSync(added, kept)


@dataclass(frozen=True)
class Policy:
    """The policy in force: what records are checked against and deadlines computed with."""

    record_types: dict[str, RecordTypeDef]
    type_versions: dict[str, int]
    publicity: PublicityPolicy
    publicity_version: int
    calendar: WorkingCalendar
    calendar_versions: dict[int, int]
    schemes: dict[str, GradingScheme] = field(default_factory=dict)
    scheme_versions: dict[str, int] = field(default_factory=dict)
    domains: dict[str, SupervisionDomain] = field(default_factory=dict)
    domain_versions: dict[str, int] = field(default_factory=dict)
    domain_departments: dict[str, str] = field(default_factory=dict)
    # Purposes of authorisations (授权用途) and their caps.
    purposes: dict[str, Purpose] = field(default_factory=dict)
    purpose_versions: dict[str, int] = field(default_factory=dict)
    # Objections and credit repair: time limits in force and the dishonesty records (rights_profile).
    rights: RightsPolicy | None = None
    rights_version: int | None = None
    # What other packages derive from this policy and keep for as long as it is in force (e.g. the
    # compiled record validators): keyed by the deriving module's own keys.
    derived: dict[tuple[str, ...], Any] = field(default_factory=dict)


_cache: dict[tuple[tuple[str, str, int], ...], Policy] = {}


async def current_policy(session: AsyncSession) -> Policy:
    """The newest version of every document; cached per set of versions (one statement when cached)."""
    versions = tuple(sorted((k, c, v) for k, c, v, _ in await repo.latest_versions(session)))
    cached = _cache.get(versions)
    if cached is not None:
        return cached
    documents = await repo.latest_documents(session)
    policy = _build(documents)
    _cache.clear()
    _cache[versions] = policy
    return policy


def _build(documents: list[CatalogDocument]) -> Policy:
    """The policy in force from the newest version of every document, each parsed by its kind."""
    by_kind: dict[str, list[CatalogDocument]] = {}
    for document in documents:
        by_kind.setdefault(document.kind, []).append(document)
    parsed: dict[str, dict[str, Any]] = {}
    versions: dict[str, dict[str, int]] = {}
    for kind in registry.KINDS.values():  # dependency order: domains after the schemes they name
        if not kind.in_policy:
            continue
        parsed[kind.name] = {d.code: kind.parse(d.body, parsed) for d in by_kind.get(kind.name, [])}
        versions[kind.name] = {d.code: d.version for d in by_kind.get(kind.name, [])}
    record_types = parsed[KIND_RECORD_TYPE]
    publicity = parsed[KIND_PUBLICITY].get(PUBLICITY_CODE)
    if publicity is None or not record_types:
        raise Invalid(
            "the policy catalogue is not loaded; run `credit-hub migrate`", code="CATALOG_NOT_LOADED"
        )
    schedules: list[YearSchedule] = list(parsed[KIND_CALENDAR].values())
    return Policy(
        record_types=record_types,
        type_versions=versions[KIND_RECORD_TYPE],
        publicity=publicity,
        publicity_version=versions[KIND_PUBLICITY][PUBLICITY_CODE],
        calendar=WorkingCalendar(schedules),
        calendar_versions={
            s.year: versions[KIND_CALENDAR][code] for code, s in parsed[KIND_CALENDAR].items()
        },
        schemes=parsed[KIND_SCHEME],
        scheme_versions=versions[KIND_SCHEME],
        domains=parsed[KIND_DOMAIN],
        domain_versions=versions[KIND_DOMAIN],
        domain_departments=parsed[KIND_DOMAIN_DEPARTMENT],
        purposes=parsed[KIND_PURPOSE],
        purpose_versions=versions[KIND_PURPOSE],
        rights=parsed[KIND_RIGHTS].get(RIGHTS_CODE),
        rights_version=versions[KIND_RIGHTS].get(RIGHTS_CODE),
    )


async def load_calendar_year(session: AsyncSession, body: Mapping[str, Any], by: str) -> CatalogDocument:
    """The credit office loads (or amends) a year's working-day schedule; it becomes a new version."""
    try:
        schedule = schedule_from_mapping(body, origin="calendar")
    except (KeyError, ValueError) as exc:
        raise Invalid(f"calendar: {exc}", code="CALENDAR_INVALID") from exc
    return await store_document(
        session, KIND_CALENDAR, str(schedule.year), registry.schedule_to_mapping(schedule), by
    )


async def store_document(
    session: AsyncSession, kind: str, code: str, body: Mapping[str, Any], by: str
) -> CatalogDocument:
    """Store a new version of a policy document (after the caller has checked it)."""
    if kind not in registry.KINDS:
        raise ValueError(f"unknown policy document kind {kind!r}")  # a programming error, not input
    mapping = orjson.loads(orjson.dumps(body))
    document = await repo.add_document(session, kind, code, mapping, checksum(mapping), by)
    _cache.clear()
    # Every amendment of policy (catalogue, schemes, domains, measures…) is an administrative change.
    await audit.record_admin_change(
        session, audit.Who.of_label(by), f"policy.{kind}", subject=f"{code} v{document.version}"
    )
    return document


# A stored version of a record type never changes, so its parsed definition is kept for good.
_definitions: dict[tuple[str, int], RecordTypeDef] = {}


async def record_type_versions(
    session: AsyncSession, keys: Iterable[tuple[str, int]]
) -> dict[tuple[str, int], RecordTypeDef]:
    """The definitions of the given (record type, version) pairs; a statement only for unseen ones."""
    wanted = set(keys)
    missing = [key for key in wanted if key not in _definitions]
    if missing:
        for document in await repo.documents(session, KIND_RECORD_TYPE, missing):
            _definitions[(document.code, document.version)] = RecordTypeDef.from_mapping(document.body)
    return {key: _definitions[key] for key in wanted if key in _definitions}


# Parsed masking policies by (version, checksum): a stored version never changes.
_masking: dict[tuple[int, str], MaskingPolicy] = {}


async def masking_policy(session: AsyncSession) -> tuple[MaskingPolicy, int]:
    """The masking policy in force and its version: one indexed statement, and a parse per new version."""
    newest = await repo.newest_version(session, KIND_MASKING_POLICY, MASKING_POLICY_CODE)
    if newest is None:
        raise Invalid("the masking policy is not loaded; run `credit-hub migrate`", code="CATALOG_NOT_LOADED")
    found = _masking.get(newest)
    if found is None:
        (document,) = await repo.documents(session, KIND_MASKING_POLICY, [(MASKING_POLICY_CODE, newest[0])])
        if len(_masking) > 64:  # bounded: only ever a handful of versions
            _masking.clear()
        found = _masking[newest] = MaskingPolicy.from_mapping(document.body)
    return found, newest[0]
