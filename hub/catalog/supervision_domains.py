"""Supervision domains (分级分类监管领域) and the differentiated measures of each category.

A domain is a field a responsible department runs tiered supervision in, as a city's pilot list
names it (seed 000 annex 1, seed 002's list). It names the grading scheme used, the category of an
entity with no evaluation at all, and the measures of each of the four categories.

Policy is data: hub/catalog/measures.yaml holds the default category and the default measures of
each category; hub/catalog/domains/ holds one file per domain, named after its code, overriding
only what differs (per category, per field). `SupervisionDomain.to_mapping()` gives the resolved,
complete form, which `from_mapping` reads back.

Bounds: sampling ratios are fractions in [0, 1] and yearly frequencies inspections per year, both
bounds inclusive; a None upper bound means no upper limit (不设上限).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from importlib import resources
from importlib.abc import Traversable
from typing import Any, Literal, cast

import yaml

from hub.catalog.grading_schemes import CATEGORIES, Category
from hub.catalog.values import text_at, unknown_key

InspectionMode = Literal["paper", "on_site"]
INSPECTION_MODES: tuple[InspectionMode, ...] = ("paper", "on_site")
SOURCES: tuple[str, ...] = ("seed000-annex1", "seed002")  # the pilot lists a domain can come from


class Incentive(StrEnum):
    """Supportive measures for trustworthy entities (seed 001 §三(三)1, seed 002 §二(三))."""

    GREEN_CHANNEL = "green_channel"
    FAULT_TOLERANT_ACCEPTANCE = "fault_tolerant_acceptance"
    NOTIFICATION_COMMITMENT = "notification_commitment"
    SIMPLIFIED_PROCEDURE = "simplified_procedure"
    CREDIT_LOAN_BENEFITS = "credit_loan_benefits"

    @property
    def label_zh(self) -> str:
        return _INCENTIVE_LABELS[self]


class Restriction(StrEnum):
    """Constraining measures for dishonest entities (seed 001 §三(三)2, seed 002 §二(三))."""

    NO_NOTIFICATION_COMMITMENT = "no_notification_commitment"
    NO_FAULT_TOLERANT_ACCEPTANCE = "no_fault_tolerant_acceptance"
    EXCLUDED_GOVERNMENT_PROCUREMENT = "excluded_government_procurement"
    EXCLUDED_BIDDING = "excluded_bidding"
    EXCLUDED_FISCAL_FUNDS = "excluded_fiscal_funds"
    KEY_ATTENTION_TARGET = "key_attention_target"
    KEY_SUPERVISION_TARGET = "key_supervision_target"

    @property
    def label_zh(self) -> str:
        return _RESTRICTION_LABELS[self]


_INCENTIVE_LABELS: Mapping[Incentive, str] = {
    Incentive.GREEN_CHANNEL: "绿色通道",
    Incentive.FAULT_TOLERANT_ACCEPTANCE: "容缺受理",
    Incentive.NOTIFICATION_COMMITMENT: "告知承诺",
    Incentive.SIMPLIFIED_PROCEDURE: "简化程序",
    Incentive.CREDIT_LOAN_BENEFITS: "信易贷优惠",
}
_RESTRICTION_LABELS: Mapping[Restriction, str] = {
    Restriction.NO_NOTIFICATION_COMMITMENT: "不适用告知承诺",
    Restriction.NO_FAULT_TOLERANT_ACCEPTANCE: "不予容缺受理",
    Restriction.EXCLUDED_GOVERNMENT_PROCUREMENT: "限制参与政府采购",
    Restriction.EXCLUDED_BIDDING: "限制参与招标投标",
    Restriction.EXCLUDED_FISCAL_FUNDS: "限制申请财政资金",
    Restriction.KEY_ATTENTION_TARGET: "重点关注对象",
    Restriction.KEY_SUPERVISION_TARGET: "重点监管对象",
}
# An incentive and the restriction that withdraws it cannot both apply.
_CONTRADICTIONS: tuple[tuple[Incentive, Restriction], ...] = (
    (Incentive.NOTIFICATION_COMMITMENT, Restriction.NO_NOTIFICATION_COMMITMENT),
    (Incentive.FAULT_TOLERANT_ACCEPTANCE, Restriction.NO_FAULT_TOLERANT_ACCEPTANCE),
)


class DomainError(ValueError):
    """A supervision domain or measures definition is invalid; the message says where and why."""


_CODE_RE = re.compile(r"[a-z][a-z0-9_]*")
_MEASURE_KEYS = (
    *("sampling_ratio_min", "sampling_ratio_max", "yearly_frequency_min", "yearly_frequency_max"),
    *("inspection_mode", "may_exclude", "always_inspect", "incentives", "restrictions", "notes"),
)
_DOMAIN_KEYS = frozenset(
    {"code", "name_zh", "name", "department_zh", "listed_as", "scheme", "default_category", "measures"}
)


@dataclass(frozen=True, slots=True)
class Measures:
    """What supervision an entity of one category gets in one domain; checked on construction."""

    sampling_ratio_min: Decimal
    sampling_ratio_max: Decimal | None
    yearly_frequency_min: Decimal
    yearly_frequency_max: Decimal | None
    inspection_mode: InspectionMode
    may_exclude: bool
    """A low-risk entity may be left out of a random draw (seed 004 §二(四))."""
    always_inspect: bool
    """A high-risk entity is always drawn."""
    incentives: tuple[Incentive, ...]
    restrictions: tuple[Restriction, ...]
    notes: str

    def __post_init__(self) -> None:
        _check_measures(self)

    @classmethod
    def from_mapping(cls, data: Any) -> Measures:
        if not isinstance(data, Mapping):
            raise DomainError("measures must be a mapping")
        unknown = unknown_key(data, _MEASURE_KEYS)
        if unknown is not None:
            raise DomainError(f"unknown key {unknown!r}")
        missing = [k for k in _MEASURE_KEYS if k not in data]
        if missing:
            raise DomainError(f"{missing[0]!r} is missing")
        return cls(
            sampling_ratio_min=_decimal(data, "sampling_ratio_min"),
            sampling_ratio_max=None
            if data["sampling_ratio_max"] is None
            else _decimal(data, "sampling_ratio_max"),
            yearly_frequency_min=_decimal(data, "yearly_frequency_min"),
            yearly_frequency_max=None
            if data["yearly_frequency_max"] is None
            else _decimal(data, "yearly_frequency_max"),
            inspection_mode=cast(InspectionMode, data["inspection_mode"]),
            may_exclude=_flag(data, "may_exclude"),
            always_inspect=_flag(data, "always_inspect"),
            incentives=tuple(Incentive(v) for v in _codes(data, "incentives", [e.value for e in Incentive])),
            restrictions=tuple(
                Restriction(v) for v in _codes(data, "restrictions", [e.value for e in Restriction])
            ),
            notes=data["notes"],
        )

    def to_mapping(self) -> dict[str, Any]:
        """JSON-compatible (decimals as strings); round-trips through from_mapping."""

        def out(value: object) -> object:
            if isinstance(value, Decimal):
                return str(value)
            return [v.value for v in value] if isinstance(value, tuple) else value

        return {key: out(getattr(self, key)) for key in _MEASURE_KEYS}


@dataclass(frozen=True, slots=True)
class SupervisionDomain:
    code: str
    name_zh: str
    name: str
    department_zh: str
    """The responsible department (责任单位), without the city prefix, e.g. 市场监管局."""
    listed_as: Mapping[str, str]
    """Source list (one of SOURCES) → the domain's name as that list writes it."""
    scheme: str
    default_category: Category
    """The category of an entity with no evaluation at all (no industry and no public one)."""
    measures: Mapping[Category, Measures]

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(s for s in SOURCES if s in self.listed_as)

    @property
    def source(self) -> str:
        """The source lists joined by '+', e.g. "seed000-annex1+seed002"."""
        return "+".join(self.sources)

    @classmethod
    def from_mapping(cls, data: Any, scheme_codes: Collection[str] | None = None) -> SupervisionDomain:
        """Build and check a complete domain; with `scheme_codes`, the scheme must be one of them."""
        return _parse_domain(data, scheme_codes)

    def to_mapping(self) -> dict[str, Any]:
        """JSON-compatible and complete (defaults resolved); round-trips through from_mapping."""
        return {
            "code": self.code,
            "name_zh": self.name_zh,
            "name": self.name,
            "department_zh": self.department_zh,
            "listed_as": {s: self.listed_as[s] for s in self.sources},
            "scheme": self.scheme,
            "default_category": self.default_category.value,
            "measures": {c.value: self.measures[c].to_mapping() for c in CATEGORIES},
        }


def resolve(data: Any, defaults: Any) -> dict[str, Any]:
    """A domain file completed from the defaults file: each category's measures are the defaults
    with the domain's fields laid over them, and `default_category` is inherited unless given."""
    if not isinstance(defaults, Mapping) or not isinstance(defaults.get("measures"), Mapping):
        raise DomainError("measures defaults: expected a mapping with 'default_category' and 'measures'")
    unknown = unknown_key(defaults, {"default_category", "measures"})
    if unknown is not None:
        raise DomainError(f"measures defaults: unknown key {unknown!r}")
    if not isinstance(data, Mapping):
        raise DomainError("a supervision domain definition must be a mapping")
    where = f"domain {data.get('code')!r}"
    overrides = data.get("measures", {})
    if not isinstance(overrides, Mapping):
        raise DomainError(f"{where}: 'measures' must be a mapping of category to measures")
    merged: dict[str, Any] = dict(overrides)  # a stray category stays, for from_mapping to refuse
    for category in CATEGORIES:
        base = defaults["measures"].get(category.value, {})
        extra = overrides.get(category.value) or {}
        if not isinstance(base, Mapping) or not isinstance(extra, Mapping):
            raise DomainError(f"{where}: the measures of {category.value!r} must be a mapping")
        merged[category.value] = {**base, **extra}
    out = dict(data)
    out["measures"] = merged
    out.setdefault("default_category", defaults.get("default_category"))
    return out


def load_domains(
    folder: Traversable, defaults: Traversable, scheme_codes: Collection[str]
) -> dict[str, SupervisionDomain]:
    """The domains in a folder of `<code>.yaml` files, completed from the defaults file, by code."""
    base = _read_yaml(defaults)
    try:
        resolve({}, base)  # the defaults file on its own, before any domain's name is put on its errors
    except DomainError as exc:
        raise DomainError(f"{defaults.name}: {exc}") from None
    out: dict[str, SupervisionDomain] = {}
    listed: dict[tuple[str, str], str] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        data = _read_yaml(entry)
        try:
            domain = SupervisionDomain.from_mapping(resolve(data, base), scheme_codes)
        except DomainError as exc:
            raise DomainError(f"{entry.name}: {exc}") from None
        if f"{domain.code}.yaml" != entry.name:
            raise DomainError(f"{entry.name}: domain code {domain.code!r} does not match the file name")
        for source, name in domain.listed_as.items():
            other = listed.setdefault((source, name), domain.code)
            if other != domain.code:
                raise DomainError(
                    f"{entry.name}: {source} entry {name!r} is already listed by domain {other!r}"
                )
        out[domain.code] = domain
    return out


def load_bundled_domains(scheme_codes: Collection[str]) -> dict[str, SupervisionDomain]:
    """The domains shipped in hub/catalog/domains/, completed from hub/catalog/measures.yaml."""
    catalog = resources.files("hub").joinpath("catalog")
    return load_domains(catalog.joinpath("domains"), catalog.joinpath("measures.yaml"), scheme_codes)


# --- parsing -------------------------------------------------------------------------------------


def _read_yaml(entry: Traversable) -> Any:
    try:
        return yaml.safe_load(entry.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DomainError(f"{entry.name}: not valid YAML: {exc}") from None


def _decimal(data: Mapping[str, Any], key: str) -> Decimal:
    raw = data[key]
    try:
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise InvalidOperation
        value = Decimal(str(raw))
    except InvalidOperation:
        raise DomainError(f"{key!r} must be a number or a decimal string") from None
    if not value.is_finite():
        raise DomainError(f"{key!r} must be finite")
    return value


def _flag(data: Mapping[str, Any], key: str) -> bool:
    value = data[key]
    if not isinstance(value, bool):
        raise DomainError(f"{key!r} must be true or false")
    return value


def _codes(data: Mapping[str, Any], key: str, known: Sequence[str]) -> list[str]:
    value = data[key]
    if value is None:
        return []
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise DomainError(f"{key!r} must be a list")
    for v in value:
        if v not in known:
            raise DomainError(f"{key!r}: unknown code {v!r} (one of {', '.join(known)})")
    dup = next((v for v in value if list(value).count(v) > 1), None)
    if dup is not None:
        raise DomainError(f"{key!r} lists {dup!r} twice")
    return list(value)


def _check_measures(m: Measures) -> None:
    for key, low, high in (
        ("sampling_ratio", m.sampling_ratio_min, m.sampling_ratio_max),
        ("yearly_frequency", m.yearly_frequency_min, m.yearly_frequency_max),
    ):
        if low < 0 or (high is not None and high < 0):
            raise DomainError(f"{key} bounds must not be negative")
        if high is not None and low > high:
            raise DomainError(f"{key}_min {low} is above {key}_max {high}")
    if m.sampling_ratio_min > 1 or (m.sampling_ratio_max is not None and m.sampling_ratio_max > 1):
        raise DomainError("sampling ratios are fractions: they must lie between 0 and 1")
    if m.inspection_mode not in INSPECTION_MODES:
        raise DomainError(
            f"unknown inspection_mode {m.inspection_mode!r} (one of {', '.join(INSPECTION_MODES)})"
        )
    if not isinstance(m.notes, str):
        raise DomainError("'notes' must be a string")
    if m.may_exclude and m.always_inspect:
        raise DomainError("may_exclude and always_inspect cannot both be true")
    if m.always_inspect and m.sampling_ratio_min != 1:
        raise DomainError(f"always_inspect needs sampling_ratio_min 1, not {m.sampling_ratio_min}")
    for incentive, restriction in _CONTRADICTIONS:
        if incentive in m.incentives and restriction in m.restrictions:
            raise DomainError(f"incentive {incentive.value!r} contradicts restriction {restriction.value!r}")


def _text(where: str, data: Mapping[str, Any], key: str) -> str:
    value = text_at(data, key)
    if value is None:
        raise DomainError(f"{where}: {key!r} must be a non-empty string")
    return value


def _listed_as(where: str, data: Mapping[str, Any]) -> dict[str, str]:
    value = data.get("listed_as")
    if not isinstance(value, Mapping) or not value:
        raise DomainError(f"{where}: 'listed_as' must map at least one source list to the name it uses")
    for source, name in value.items():
        if source not in SOURCES:
            raise DomainError(f"{where}: unknown source {source!r} (one of {', '.join(SOURCES)})")
        if not isinstance(name, str) or not name.strip():
            raise DomainError(f"{where}: the name listed in {source} must be a non-empty string")
    return {s: value[s] for s in SOURCES if s in value}


def _parse_domain(data: Any, scheme_codes: Collection[str] | None) -> SupervisionDomain:
    if not isinstance(data, Mapping):
        raise DomainError("a supervision domain definition must be a mapping")
    code = data.get("code")
    if not isinstance(code, str) or not _CODE_RE.fullmatch(code):
        raise DomainError(f"domain code {code!r} must be lower-case letters, digits and _")
    where = f"domain {code!r}"
    unknown = unknown_key(data, _DOMAIN_KEYS)
    if unknown is not None:
        raise DomainError(f"{where}: unknown key {unknown!r}")
    scheme = _text(where, data, "scheme")
    if scheme_codes is not None and scheme not in scheme_codes:
        raise DomainError(f"{where}: unknown scheme {scheme!r} (one of {', '.join(sorted(scheme_codes))})")
    default = data.get("default_category")
    if default not in CATEGORIES:
        raise DomainError(f"{where}: unknown default_category {default!r} (one of {', '.join(CATEGORIES)})")
    raw = data.get("measures")
    if not isinstance(raw, Mapping):
        raise DomainError(f"{where}: 'measures' must be a mapping of category to measures")
    stray = sorted(str(k) for k in set(raw) - set(CATEGORIES))
    if stray:
        raise DomainError(f"{where}: measures for unknown category {stray[0]!r}")
    measures: dict[Category, Measures] = {}
    for category in CATEGORIES:
        if category.value not in raw:
            raise DomainError(f"{where}: no measures for category {category.value!r}")
        try:
            measures[category] = Measures.from_mapping(raw[category.value])
        except DomainError as exc:
            raise DomainError(f"{where}, {category.value} measures: {exc}") from None
    return SupervisionDomain(
        code=code,
        name_zh=_text(where, data, "name_zh"),
        name=_text(where, data, "name"),
        department_zh=_text(where, data, "department_zh"),
        listed_as=_listed_as(where, data),
        scheme=scheme,
        default_category=Category(default),
        measures=measures,
    )
