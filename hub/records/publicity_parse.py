"""Read and check the YAML form of the publicity policy (hub/catalog/publicity.yaml).

Every refusal is a ValueError that names the offending field, e.g.
'penalty_rules[0] (ndrc_order_58).title'.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import cast

import yaml

from hub.policy_values import as_date
from hub.records.publicity import (
    UNTIL_VALUES,
    PenaltyRule,
    PublicityPolicy,
    RecordTypeDefault,
    Severity,
    SeverityTerms,
)


def parse_policy(policy_class: type[PublicityPolicy], data: Mapping[str, object]) -> PublicityPolicy:
    """PublicityPolicy.from_mapping: `policy_class` is its `cls`, so a subclass builds itself."""
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"publicity policy: 'version' must be a positive integer, got {version!r}")
    where = "severity_by_category"
    by_category = _mapping(data.get(where), where)
    rules_raw = data.get("penalty_rules")
    if not isinstance(rules_raw, list) or not rules_raw:
        raise ValueError("publicity policy: 'penalty_rules' must be a non-empty list")
    defaults = _mapping(data.get("record_type_defaults"), "record_type_defaults")
    return policy_class(
        version,
        [_parse_rule(raw, f"penalty_rules[{i}]") for i, raw in enumerate(rules_raw)],
        {str(k): _parse_default(v, f"record_type_defaults.{k}") for k, v in defaults.items()},
        serious_categories=frozenset(_str_list(by_category.get("serious"), f"{where}.serious")),
        minor_categories=frozenset(_str_list(by_category.get("minor"), f"{where}.minor")),
        long_term_date=_date(data.get("long_term_date"), "long_term_date"),
    )


def load_policy_file(path: Path) -> PublicityPolicy:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return PublicityPolicy.from_mapping(_mapping(data, path.name))


def _mapping(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise ValueError(f"publicity policy: '{where}' must be a mapping")
    return cast(Mapping[str, object], value)


def _str_list(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"publicity policy: '{where}' must be a list of non-empty strings")
    return [v.strip() for v in cast(list[str], value)]


def _str(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"publicity policy: '{where}' must be a non-empty string")
    return value.strip()


def _date(value: object, where: str) -> date:
    parsed = as_date(value)
    if parsed is None:
        raise ValueError(f"publicity policy: '{where}' must be an ISO date (YYYY-MM-DD), got {value!r}")
    return parsed


def _months(value: object, where: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"publicity policy: '{where}' must be a whole number of months or null")
    return value


def _parse_terms(value: object, where: str) -> SeverityTerms:
    raw = _mapping(value, where)
    published = raw.get("published")
    if not isinstance(published, bool):
        raise ValueError(f"publicity policy: '{where}.published' must be true or false")
    low = _months(raw.get("min_months"), f"{where}.min_months")
    high = _months(raw.get("max_months"), f"{where}.max_months")
    if low is not None and high is not None and low > high:
        raise ValueError(f"publicity policy: '{where}': min_months {low} exceeds max_months {high}")
    unpublished = raw.get("unpublished_categories", [])
    return SeverityTerms(
        published, low, high, frozenset(_str_list(unpublished, f"{where}.unpublished_categories"))
    )


def _parse_rule(value: object, where: str) -> PenaltyRule:
    raw = _mapping(value, where)
    code = _str(raw.get("code"), f"{where}.code")
    where = f"{where} ({code})"
    start = _date(raw.get("in_force_from"), f"{where}.in_force_from")
    end_raw = raw.get("in_force_to")
    end = None if end_raw is None else _date(end_raw, f"{where}.in_force_to")
    if end is not None and end < start:
        raise ValueError(f"publicity policy: '{where}': in_force_to {end} is before in_force_from {start}")
    applies = _mapping(raw.get("applies_to"), f"{where}.applies_to")
    domain_raw = applies.get("authority_domain")
    domain = None if domain_raw is None else _str(domain_raw, f"{where}.applies_to.authority_domain")
    sev_raw = _mapping(raw.get("severities"), f"{where}.severities")
    missing = [s.value for s in Severity if s.value not in sev_raw]
    if missing:
        raise ValueError(f"publicity policy: '{where}.severities' lacks {', '.join(missing)}")
    severities = {s: _parse_terms(sev_raw[s.value], f"{where}.severities.{s.value}") for s in Severity}
    fields: tuple[str, ...] = ()
    special_min: int | None = None
    if raw.get("special_fields") is not None:
        special = _mapping(raw.get("special_fields"), f"{where}.special_fields")
        fields = tuple(_str_list(special.get("fields"), f"{where}.special_fields.fields"))
        special_min = _months(special.get("min_months"), f"{where}.special_fields.min_months")
        for s, terms in severities.items():
            if special_min is not None and terms.max_months is not None and special_min > terms.max_months:
                raise ValueError(
                    f"publicity policy: '{where}': special-field min_months {special_min} exceeds "
                    f"the {s.value} max_months {terms.max_months}"
                )
    return PenaltyRule(
        code=code,
        title=_str(raw.get("title"), f"{where}.title"),
        title_zh=_str(raw.get("title_zh"), f"{where}.title_zh"),
        in_force_from=start,
        in_force_to=end,
        record_types=frozenset(_str_list(applies.get("record_types"), f"{where}.applies_to.record_types")),
        authority_domain=domain,
        severities=severities,
        special_fields=fields,
        special_min_months=special_min,
    )


def _parse_default(value: object, where: str) -> RecordTypeDefault:
    raw = _mapping(value, where)
    until = raw.get("until")
    if until not in UNTIL_VALUES:
        raise ValueError(f"publicity policy: '{where}.until' must be one of {', '.join(UNTIL_VALUES)}")
    months = _months(raw.get("months"), f"{where}.months")
    if until in ("months", "validity_end_or_months") and months is None:
        raise ValueError(f"publicity policy: '{where}.months' is required when until is {until}")
    return RecordTypeDefault(until, months)
