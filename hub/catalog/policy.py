"""Policy documents (record catalogue, publicity rules, working-day calendar) loaded from the database.

The YAML under hub/catalog/ is the shipped default: `sync_bundled` stores each document as a new
version when its content changed, and everything the hub decides uses the versions in the
database, so a record can name the catalogue version it was validated against.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from hub.catalog import store as repo
from hub.catalog.grading_schemes import GradingScheme, load_bundled_schemes
from hub.catalog.publicity import PublicityPolicy
from hub.catalog.record_types import RecordTypeDef, load_bundled
from hub.catalog.supervision_domains import SupervisionDomain, load_bundled_domains
from hub.catalog.workdays import WorkingCalendar, YearSchedule, bundled_years, schedule_from_mapping
from hub.errors import Invalid
from hub.models import CatalogDocument

CATALOG_DIR = Path(__file__).resolve().parent

KIND_RECORD_TYPE = "record_type"
KIND_PUBLICITY = "publicity"
KIND_CALENDAR = "calendar"
KIND_SCHEME = "grading_scheme"
KIND_DOMAIN = "supervision_domain"
# Which department answers for a domain: assigned by the credit office, versioned like the rest.
KIND_DOMAIN_DEPARTMENT = "domain_department"
PUBLICITY_CODE = "rules"


def checksum(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def schedule_to_mapping(schedule: YearSchedule) -> dict[str, Any]:
    return {
        "year": schedule.year,
        "source": schedule.source,
        "holidays": sorted(d.isoformat() for d in schedule.holidays),
        "workdays": sorted(d.isoformat() for d in schedule.workdays),
    }


def bundled_documents() -> list[tuple[str, str, dict[str, Any]]]:
    """(kind, code, body) of every policy document shipped with the hub."""
    documents: list[tuple[str, str, dict[str, Any]]] = [
        (KIND_RECORD_TYPE, code, definition.to_mapping()) for code, definition in load_bundled().items()
    ]
    # JSON round trip: YAML dates become ISO strings, as they will be in the database.
    publicity = orjson.loads(
        orjson.dumps(yaml.safe_load((CATALOG_DIR / "publicity.yaml").read_text(encoding="utf-8")))
    )
    documents.append((KIND_PUBLICITY, PUBLICITY_CODE, publicity))
    documents.extend((KIND_CALENDAR, str(s.year), schedule_to_mapping(s)) for s in bundled_years())
    schemes = load_bundled_schemes()
    documents.extend((KIND_SCHEME, code, scheme.to_mapping()) for code, scheme in schemes.items())
    documents.extend((KIND_DOMAIN, code, d.to_mapping()) for code, d in load_bundled_domains(schemes).items())
    return documents


async def sync_bundled(session: AsyncSession, by: str = "bundled catalogue") -> list[CatalogDocument]:
    """Store each shipped document whose content differs from its newest stored version."""
    latest = {(kind, code): digest for kind, code, _, digest in await repo.latest_versions(session)}
    added = []
    for kind, code, body in bundled_documents():
        digest = checksum(body)
        if latest.get((kind, code)) != digest:
            added.append(await repo.add_document(session, kind, code, body, digest, by))
    if added:
        _cache.clear()
    return added


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
    record_types: dict[str, RecordTypeDef] = {}
    type_versions: dict[str, int] = {}
    schedules: list[YearSchedule] = []
    calendar_versions: dict[int, int] = {}
    publicity: PublicityPolicy | None = None
    publicity_version = 0
    schemes: dict[str, GradingScheme] = {}
    scheme_versions: dict[str, int] = {}
    domain_bodies: dict[str, tuple[dict[str, Any], int]] = {}
    domain_departments: dict[str, str] = {}
    for document in documents:
        if document.kind == KIND_RECORD_TYPE:
            record_types[document.code] = RecordTypeDef.from_mapping(document.body)
            type_versions[document.code] = document.version
        elif document.kind == KIND_PUBLICITY:
            publicity = PublicityPolicy.from_mapping(document.body)
            publicity_version = document.version
        elif document.kind == KIND_CALENDAR:
            schedule = schedule_from_mapping(document.body)
            schedules.append(schedule)
            calendar_versions[schedule.year] = document.version
        elif document.kind == KIND_SCHEME:
            schemes[document.code] = GradingScheme.from_mapping(document.body)
            scheme_versions[document.code] = document.version
        elif document.kind == KIND_DOMAIN:
            domain_bodies[document.code] = (document.body, document.version)
        elif document.kind == KIND_DOMAIN_DEPARTMENT:
            domain_departments[document.code] = str(document.body["department_code"])
    # Domains name schemes: parse them once every scheme is known.
    domains = {
        code: SupervisionDomain.from_mapping(body, schemes) for code, (body, _) in domain_bodies.items()
    }
    if publicity is None or not record_types:
        raise Invalid(
            "the policy catalogue is not loaded; run `credit-hub migrate`", code="CATALOG_NOT_LOADED"
        )
    return Policy(
        record_types=record_types,
        type_versions=type_versions,
        publicity=publicity,
        publicity_version=publicity_version,
        calendar=WorkingCalendar(schedules),
        calendar_versions=calendar_versions,
        schemes=schemes,
        scheme_versions=scheme_versions,
        domains=domains,
        domain_versions={code: version for code, (_, version) in domain_bodies.items()},
        domain_departments=domain_departments,
    )


async def load_calendar_year(session: AsyncSession, body: Mapping[str, Any], by: str) -> CatalogDocument:
    """The credit office loads (or amends) a year's working-day schedule; it becomes a new version."""
    try:
        schedule = schedule_from_mapping(body, origin="calendar")
    except (KeyError, ValueError) as exc:
        raise Invalid(f"calendar: {exc}", code="CALENDAR_INVALID") from exc
    return await store_document(session, KIND_CALENDAR, str(schedule.year), schedule_to_mapping(schedule), by)


async def store_document(
    session: AsyncSession, kind: str, code: str, body: Mapping[str, Any], by: str
) -> CatalogDocument:
    """Store a new version of a policy document (after the caller has checked it)."""
    mapping = orjson.loads(orjson.dumps(body))
    document = await repo.add_document(session, kind, code, mapping, checksum(mapping), by)
    _cache.clear()
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
