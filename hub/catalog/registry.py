"""The registry of policy document kinds: each with its parser and the documents shipped beside the code.

Every policy the hub applies is a versioned document of one of these kinds (house rule 8). A kind
names how a stored body becomes the object the rules use (`parse`, which refuses a broken body
with an error naming what is wrong) and which documents the hub ships as YAML under hub/catalog/
(`shipped`). `hub.catalog.policy` loads the newest version of each document through this
registry and `hub.catalog.store` keeps the versions; no other package parses policy files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import yaml

from hub.catalog.evaluation_models import KIND_EVALUATION_MODEL, EvaluationModel
from hub.catalog.grading_schemes import GradingScheme, load_bundled_schemes
from hub.catalog.masking_policies import KIND_MASKING_POLICY, MASKING_POLICY_CODE, MaskingPolicy
from hub.catalog.publicity import PublicityPolicy
from hub.catalog.purposes import Purpose, parse_purposes
from hub.catalog.record_types import RecordTypeDef, load_bundled
from hub.catalog.rights import RIGHTS_CODE, RightsPolicy
from hub.catalog.supervision_domains import SupervisionDomain, load_bundled_domains
from hub.catalog.workdays import YearSchedule, bundled_years, schedule_from_mapping

CATALOG_DIR = Path(__file__).resolve().parent

# What a parser may consult: the documents of kinds listed before it, parsed, by kind and code.
Parsed = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class DocumentKind:
    name: str
    description: str
    parse: Callable[[Mapping[str, Any], Parsed], Any]
    shipped: Callable[[], Iterable[tuple[str, dict[str, Any]]]] = lambda: ()
    # Part of the policy in force (loaded as a whole); evaluation models are read per domain and period.
    in_policy: bool = True


def schedule_to_mapping(schedule: YearSchedule) -> dict[str, Any]:
    return {
        "year": schedule.year,
        "source": schedule.source,
        "holidays": sorted(d.isoformat() for d in schedule.holidays),
        "workdays": sorted(d.isoformat() for d in schedule.workdays),
    }


def _shipped_publicity() -> Iterable[tuple[str, dict[str, Any]]]:
    # JSON round trip: YAML dates become ISO strings, as they will be in the database.
    text = (CATALOG_DIR / "publicity.yaml").read_text(encoding="utf-8")
    yield PUBLICITY_CODE, orjson.loads(orjson.dumps(yaml.safe_load(text)))


def _shipped_rights() -> Iterable[tuple[str, dict[str, Any]]]:
    text = (CATALOG_DIR / "rights.yaml").read_text(encoding="utf-8")
    yield RIGHTS_CODE, orjson.loads(orjson.dumps(yaml.safe_load(text)))


def _shipped_domains() -> Iterable[tuple[str, dict[str, Any]]]:
    schemes = load_bundled_schemes()
    return ((code, d.to_mapping()) for code, d in load_bundled_domains(schemes).items())


def _shipped_masking() -> Iterable[tuple[str, dict[str, Any]]]:
    text = (CATALOG_DIR / "masking_policy.yaml").read_text(encoding="utf-8")
    yield MASKING_POLICY_CODE, MaskingPolicy.from_mapping(yaml.safe_load(text)).to_mapping()


def _shipped_purposes() -> Iterable[tuple[str, dict[str, Any]]]:
    text = (CATALOG_DIR / "purposes.yaml").read_text(encoding="utf-8")
    return ((code, p.to_mapping()) for code, p in parse_purposes(yaml.safe_load(text)).items())


def _department(body: Mapping[str, Any], parsed: Parsed) -> str:
    return str(body["department_code"])


PUBLICITY_CODE = "rules"
RECORD_TYPE = DocumentKind(
    "record_type",
    "a record type of the catalogue (信用信息目录): its fields, rules and who may push it",
    lambda body, parsed: RecordTypeDef.from_mapping(body),
    lambda: ((code, d.to_mapping()) for code, d in load_bundled().items()),
)
PUBLICITY = DocumentKind(
    "publicity",
    "publicity periods (公示期限) and the earliest credit-repair dates",
    lambda body, parsed: PublicityPolicy.from_mapping(body),
    _shipped_publicity,
)
CALENDAR = DocumentKind(
    "calendar",
    "one year's working-day schedule (节假日安排)",
    lambda body, parsed: schedule_from_mapping(body),
    lambda: ((str(s.year), schedule_to_mapping(s)) for s in bundled_years()),
)
GRADING_SCHEME = DocumentKind(
    "grading_scheme",
    "a grading scheme (评价标准): its levels and the category each means",
    lambda body, parsed: GradingScheme.from_mapping(body),
    lambda: ((code, s.to_mapping()) for code, s in load_bundled_schemes().items()),
)
SUPERVISION_DOMAIN = DocumentKind(
    "supervision_domain",
    "a supervision domain (监管领域) and the measures of each category",
    # A domain names its scheme: parsed after the schemes, it must name one of them.
    lambda body, parsed: SupervisionDomain.from_mapping(body, parsed.get("grading_scheme", {})),
    _shipped_domains,
)
DOMAIN_DEPARTMENT = DocumentKind(
    "domain_department",
    "which department answers for a domain (assigned by the credit office)",
    _department,
)
EVALUATION_MODEL = DocumentKind(
    KIND_EVALUATION_MODEL,
    "a department's industry evaluation model (行业信用评价模型) for one domain and period",
    lambda body, parsed: EvaluationModel.from_mapping(body),
    in_policy=False,
)
MASKING_POLICY = DocumentKind(
    KIND_MASKING_POLICY,
    "the masking policy (脱敏策略): per role, authorisation tier and field, shown, masked or withheld",
    lambda body, parsed: MaskingPolicy.from_mapping(body),
    _shipped_masking,
    # Read on its own by the disclosure gate (one indexed look-up), not with the whole policy.
    in_policy=False,
)
PURPOSE = DocumentKind(
    "purpose",
    "a purpose of an authorisation (授权用途) and the caps of a grant for it",
    # A purpose names record types: parsed after them, it must name known ones.
    lambda body, parsed: Purpose.from_mapping(body, parsed.get("record_type", {})),
    _shipped_purposes,
)
RIGHTS_PROFILE = DocumentKind(
    "rights_profile",
    "time limits of objections and credit repair per place (异议处理与信用修复时限), and the dishonesty records",
    lambda body, parsed: RightsPolicy.from_mapping(body),
    _shipped_rights,
)

# In dependency order: a kind's parser may consult the kinds before it.
KINDS: dict[str, DocumentKind] = {
    k.name: k
    for k in (
        RECORD_TYPE,
        PUBLICITY,
        CALENDAR,
        GRADING_SCHEME,
        SUPERVISION_DOMAIN,
        DOMAIN_DEPARTMENT,
        EVALUATION_MODEL,
        MASKING_POLICY,
        PURPOSE,
        RIGHTS_PROFILE,
    )
}


def shipped_documents() -> list[tuple[str, str, dict[str, Any]]]:
    """(kind, code, body) of every policy document shipped with the hub."""
    return [(kind.name, code, body) for kind in KINDS.values() for code, body in kind.shipped()]
