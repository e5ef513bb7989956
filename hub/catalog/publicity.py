"""Publicity periods (公示期限) of credit records and the earliest credit-repair date.

The rules are policy data (``hub/catalog/publicity.yaml``): NDRC Order 58 until 2026-03-31, NDRC
Order 36 from 2026-04-01, and SAMR Order 107 for market-regulation authorities from 2025-12-25.
The rule in force on the decision date applies. :meth:`PublicityPolicy.window` is called once per
row in bulk loads, so it is memoised per policy instance. The YAML form is read and checked by
hub.catalog.publicity.
"""

from __future__ import annotations

import calendar
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Literal, cast

import yaml

from hub.catalog.values import as_date

__all__ = [
    "NoPublicityRule",
    "PenaltyRule",
    "PublicityPolicy",
    "PublicityWindow",
    "RecordTypeDefault",
    "Severity",
    "SeverityTerms",
    "add_months",
    "severity_of_penalty",
]

POLICY_FILE = Path(__file__).resolve().parent / "publicity.yaml"

# Bounds the memo: licences carry many distinct validity ends, and a long-lived process must not grow
# without limit. Clearing is cheap; the working set refills within a few rows.
_CACHE_LIMIT = 200_000

Until = Literal["validity_end", "removal", "validity_end_or_months", "months"]
UNTIL_VALUES: tuple[Until, ...] = ("validity_end", "removal", "validity_end_or_months", "months")


class Severity(StrEnum):
    """Severity of a penalty (失信程度)."""

    MINOR = "minor"
    GENERAL = "general"
    SERIOUS = "serious"


class NoPublicityRule(ValueError):
    """No publicity rule was in force on a record's decision date."""

    def __init__(self, record_type: str, decision_date: date, earliest: date | None) -> None:
        self.record_type = record_type
        self.decision_date = decision_date
        since = f" (the earliest rule starts {earliest.isoformat()})" if earliest else ""
        super().__init__(
            f"no publicity rule for {record_type} was in force on the decision date "
            f"{decision_date.isoformat()}{since}"
        )


@dataclass(frozen=True)
class PublicityWindow:
    """How long a record is published, and from when its credit repair may be applied for."""

    rule_code: str
    rule_version: int
    published: bool
    repair_from: date | None
    """End of the minimum period: the earliest credit-repair application date. None when the record
    is not published or has no minimum (it simply drops off at ``publish_until``)."""
    publish_until: date | None
    """End of the maximum period, when publication stops by itself. None when the record is long-term
    or published until removal; also None when ``published`` is False."""

    def is_published_on(self, day: date) -> bool:
        """Whether the record is still published on ``day`` (a day on or after the decision date)."""
        return self.published and (self.publish_until is None or day <= self.publish_until)


def add_months(day: date, months: int) -> date:
    """``day`` plus calendar ``months``, clamped to the month end (2024-01-31 + 1 = 2024-02-29)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class SeverityTerms:
    """A rule's terms for one severity."""

    published: bool
    min_months: int | None
    max_months: int | None
    unpublished_categories: frozenset[str] = frozenset()
    """A penalty whose categories all lie in this set is not published (e.g. SAMR 107: 警告)."""


@dataclass(frozen=True)
class PenaltyRule:
    """One regulation's publicity periods for penalty-type records."""

    code: str
    title: str
    title_zh: str
    in_force_from: date
    in_force_to: date | None
    record_types: frozenset[str]
    authority_domain: str | None
    severities: Mapping[Severity, SeverityTerms]
    special_fields: tuple[str, ...] = ()
    special_min_months: int | None = None

    def in_force_on(self, day: date) -> bool:
        """Whether the rule is in force on ``day`` (both ends inclusive)."""
        return self.in_force_from <= day and (self.in_force_to is None or day <= self.in_force_to)


@dataclass(frozen=True)
class RecordTypeDefault:
    """Publicity of a record type that no penalty rule governs."""

    until: Until
    months: int | None = None


class PublicityPolicy:
    """A versioned set of publicity rules; see ``hub/catalog/publicity.yaml``."""

    def __init__(
        self,
        version: int,
        rules: Sequence[PenaltyRule],
        defaults: Mapping[str, RecordTypeDefault],
        *,
        serious_categories: frozenset[str],
        minor_categories: frozenset[str],
        long_term_date: date,
    ) -> None:
        self.version = version
        self.rules = tuple(rules)
        self.defaults = dict(defaults)
        self.serious_categories = serious_categories
        self.minor_categories = minor_categories
        self.long_term_date = long_term_date
        self._check_consistency()
        self._cache: dict[tuple[object, ...], PublicityWindow] = {}

    @classmethod
    def bundled(cls) -> PublicityPolicy:
        """The policy shipped with the hub (one shared instance, so its memo is shared too)."""
        return _bundled_policy()

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> PublicityPolicy:
        """Build and validate a policy from its YAML form; raises ValueError naming the bad field."""

        return parse_policy(cls, data)

    def _check_consistency(self) -> None:
        codes = [rule.code for rule in self.rules]
        for code in codes:
            if codes.count(code) > 1:
                raise ValueError(f"publicity policy: rule code {code!r} is used twice")
        for i, a in enumerate(self.rules):
            both = a.record_types & self.defaults.keys()
            if both:
                raise ValueError(
                    f"publicity policy: {sorted(both)[0]} has a record_type_defaults entry and "
                    f"is also governed by penalty rule {a.code}"
                )
            for b in self.rules[i + 1 :]:
                if a.authority_domain != b.authority_domain or not a.record_types & b.record_types:
                    continue
                a_end, b_end = a.in_force_to or date.max, b.in_force_to or date.max
                if a.in_force_from <= b_end and b.in_force_from <= a_end:
                    raise ValueError(
                        f"publicity policy: rules {a.code} and {b.code} are both in force on "
                        f"{max(a.in_force_from, b.in_force_from).isoformat()} for the same records"
                    )

    def severity_of(self, categories: Sequence[str]) -> Severity:
        """Severity of a penalty from its categories (处罚类别), for when the department gives none.

        Any serious category → serious; every category a minor one → minor; otherwise (including no
        categories at all) → general.
        """
        cats = _categories(categories)
        if cats & self.serious_categories:
            return Severity.SERIOUS
        if cats and cats <= self.minor_categories:
            return Severity.MINOR
        return Severity.GENERAL

    def rule_for(self, record_type: str, decision_date: date, authority_domain: str | None) -> PenaltyRule:
        """The penalty rule in force on ``decision_date``; a domain-specific rule beats a general one."""
        general: PenaltyRule | None = None
        for rule in self.rules:
            if record_type not in rule.record_types or not rule.in_force_on(decision_date):
                continue
            if rule.authority_domain is None:
                general = rule
            elif rule.authority_domain == authority_domain:
                return rule
        if general is None:
            starts = [r.in_force_from for r in self.rules if record_type in r.record_types]
            raise NoPublicityRule(record_type, decision_date, min(starts) if starts else None)
        return general

    def window(
        self,
        record_type: str,
        decision_date: date,
        severity: Severity | None = None,
        *,
        authority_domain: str | None = None,
        special_field: bool = False,
        categories: Sequence[str] = (),
        validity_end: date | None = None,
    ) -> PublicityWindow:
        """The publicity window of a record decided on ``decision_date``.

        For penalties, ``severity`` defaults to :meth:`severity_of` the ``categories``;
        ``special_field`` marks food, drug, special equipment, work safety or fire safety;
        ``authority_domain`` selects domain rules (``market_regulation``: SAMR Order 107).
        ``validity_end`` (有效期至) is used for licences and honours. Raises NoPublicityRule when no
        rule was in force on the decision date, ValueError for an unknown record type.
        """
        if isinstance(categories, str):
            # A bare string is a Sequence[str] too; splitting it into characters would be silent.
            raise TypeError("categories must be a sequence of category names, not a single string")
        key = (
            record_type,
            decision_date,
            severity,
            authority_domain,
            special_field,
            tuple(categories),
            validity_end,
        )
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        result = self._compute(
            record_type, decision_date, severity, authority_domain, special_field, categories, validity_end
        )
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = result
        return result

    def _compute(
        self,
        record_type: str,
        decision_date: date,
        severity: Severity | None,
        authority_domain: str | None,
        special_field: bool,
        categories: Sequence[str],
        validity_end: date | None,
    ) -> PublicityWindow:
        default = self.defaults.get(record_type)
        if default is not None:
            return self._default_window(record_type, default, decision_date, validity_end)
        if not any(record_type in rule.record_types for rule in self.rules):
            known = sorted({*self.defaults, *(t for r in self.rules for t in r.record_types)})
            raise ValueError(f"unknown record type {record_type!r}; the publicity policy knows {known}")
        rule = self.rule_for(record_type, decision_date, authority_domain)
        level = Severity(severity) if severity is not None else self.severity_of(categories)
        terms = rule.severities[level]
        cats = _categories(categories)
        if not terms.published or (cats and cats <= terms.unpublished_categories):
            return PublicityWindow(rule.code, self.version, False, None, None)
        min_months = terms.min_months
        if special_field and rule.special_min_months is not None:
            min_months = max(min_months or 0, rule.special_min_months)
        return PublicityWindow(
            rule.code,
            self.version,
            True,
            add_months(decision_date, min_months) if min_months is not None else None,
            add_months(decision_date, terms.max_months) if terms.max_months is not None else None,
        )

    def _default_window(
        self, record_type: str, default: RecordTypeDefault, decision_date: date, validity_end: date | None
    ) -> PublicityWindow:
        until: date | None = None
        if default.until in ("validity_end", "validity_end_or_months") and validity_end is not None:
            # 2099-12-31 is how departments write "long-term" (长期).
            until = None if validity_end >= self.long_term_date else validity_end
        elif default.until in ("validity_end_or_months", "months") and default.months is not None:
            until = add_months(decision_date, default.months)
        return PublicityWindow(f"default:{record_type}", self.version, True, None, until)


@functools.cache
def _bundled_policy() -> PublicityPolicy:

    return load_policy_file(POLICY_FILE)


def severity_of_penalty(categories: Sequence[str]) -> Severity:
    """Severity of a penalty from its categories (处罚类别) under the bundled policy.

    Only 警告/通报批评 → minor; any of 吊销许可证件, 责令关闭, 限制从业, 责令停产停业, 行政拘留 →
    serious; otherwise general.
    """
    return _bundled_policy().severity_of(categories)


def _categories(categories: Sequence[str]) -> set[str]:
    if isinstance(categories, str):
        raise TypeError("categories must be a sequence of category names, not a single string")
    return {c.strip() for c in categories if c.strip()}


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
