"""The record catalogue: which record types the hub accepts and what each field means.

Policy is data: the definitions ship as YAML under hub/catalog/records/ (one file per record type),
are loaded into the database and versioned there. This module holds the typed, immutable
definitions; hub.catalog.record_types builds them from a mapping (parsed YAML or a row's JSON) and
refuses a broken definition with a `CatalogError` that names the record type, the field and what
is wrong.

Mapping format of a field's rules (all optional):
- `required_when: {XDR_LB: [自然人]}` required when every named field has one of the values (an
  enum_list field matches when any of its items is listed);
- `check_when: {XDR_ZJLX: [身份证]}` (id_number only, one field) the GB 11643 check applies when
  the document-type field has one of the values, or is absent;
- `sensitivity_when: {XDR_LB: {自然人: personal}}` overrides `sensitivity` for a party category;
- `prefix_for: {XDR_LB: {个体工商户: "92"}}` (uscc only) the prefix is reserved for that category: a
  code of that category must start with it and a code of any other category must not (a warning);
- `not_before: [YXQZ, JDRQ]` (date only) the date may not precede those dates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import Any, Literal, cast

import yaml

from hub.catalog.values import text_at, unknown_key

FieldType = Literal[
    "string", "text", "date", "decimal", "enum", "enum_list", "uscc", "id_number", "org_code", "boolean"
]
Sensitivity = Literal["public", "restricted", "personal"]
Category = Literal["double_publicity", "supervision", "commitment", "list", "evaluation", "other"]

FIELD_TYPES: tuple[FieldType, ...] = (
    "string",
    "text",
    "date",
    "decimal",
    "enum",
    "enum_list",
    "uscc",
    "id_number",
    "org_code",
    "boolean",
)
SENSITIVITIES: tuple[Sensitivity, ...] = ("public", "restricted", "personal")
CATEGORIES: tuple[Category, ...] = (
    "double_publicity",
    "supervision",
    "commitment",
    "list",
    "evaluation",
    "other",
)


class CatalogError(ValueError):
    """A record type definition is invalid; the message says where and why."""


@dataclass(frozen=True, slots=True)
class Condition:
    """True when the field `field` has one of `values`."""

    field: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SensitivityRule:
    field: str
    value: str
    sensitivity: Sensitivity


@dataclass(frozen=True, slots=True)
class PrefixRule:
    """USCC prefix `prefix` is reserved for records whose `field` equals `value`."""

    field: str
    value: str
    prefix: str


@dataclass(frozen=True, slots=True)
class FieldDef:
    name: str
    label_zh: str
    label: str
    description: str
    type: FieldType
    required: bool = False
    required_when: tuple[Condition, ...] = ()
    check_when: tuple[Condition, ...] = ()
    sensitivity: Sensitivity = "public"
    sensitivity_when: tuple[SensitivityRule, ...] = ()
    max_length: int | None = None
    values: tuple[str, ...] = ()
    unit: str | None = None
    min: Decimal | None = None
    not_before: tuple[str, ...] = ()
    prefix_for: tuple[PrefixRule, ...] = ()

    def sensitivity_for(self, values: Mapping[str, Any]) -> Sensitivity:
        """The sensitivity of this field in a record with these (normalised) values."""
        for rule in self.sensitivity_when:
            if values.get(rule.field) == rule.value:
                return rule.sensitivity
        return self.sensitivity

    @property
    def depends_on(self) -> tuple[str, ...]:
        """Fields whose values this field's rules read."""
        refs = [c.field for c in self.required_when + self.check_when]
        refs += [r.field for r in self.prefix_for] + list(self.not_before)
        return tuple(dict.fromkeys(refs))

    def to_mapping(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "label_zh": self.label_zh,
            "label": self.label,
            "description": self.description,
            "type": self.type,
            "required": self.required,
        }
        if self.required_when:
            out["required_when"] = _conditions_out(self.required_when)
        if self.check_when:
            out["check_when"] = _conditions_out(self.check_when)
        out["sensitivity"] = self.sensitivity
        if self.sensitivity_when:
            sens: dict[str, dict[str, str]] = {}
            for s in self.sensitivity_when:
                sens.setdefault(s.field, {})[s.value] = s.sensitivity
            out["sensitivity_when"] = sens
        if self.max_length is not None:
            out["max_length"] = self.max_length
        if self.values:
            out["values"] = list(self.values)
        if self.unit is not None:
            out["unit"] = self.unit
        if self.min is not None:
            # JSON has no decimal type: an integral minimum stays a number, others a decimal string.
            out["min"] = int(self.min) if self.min == self.min.to_integral_value() else str(self.min)
        if self.not_before:
            out["not_before"] = list(self.not_before)
        if self.prefix_for:
            pre: dict[str, dict[str, str]] = {}
            for p in self.prefix_for:
                pre.setdefault(p.field, {})[p.value] = p.prefix
            out["prefix_for"] = pre
        return out


@dataclass(frozen=True, slots=True)
class RecordTypeDef:
    code: str
    version: int
    title: str
    title_zh: str
    category: Category
    decision_date_field: str
    source_code_field: str
    identity_field: str
    validity_end_field: str | None
    fields: tuple[FieldDef, ...]
    # The roles that may push records of this type (their source code must still be their own).
    pushers: tuple[str, ...] = ("department",)
    _by_name: Mapping[str, FieldDef] = dc_field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {f.name: f for f in self.fields})

    def field(self, name: str) -> FieldDef:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"record type {self.code!r} has no field {name!r}") from None

    def has_field(self, name: str) -> bool:
        return name in self._by_name

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(self._by_name)

    def check_order(self) -> tuple[FieldDef, ...]:
        """The fields, each after the fields its rules read (otherwise in definition order)."""
        return dependency_order(self.code, self.fields)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> RecordTypeDef:
        """Build and check a definition; raises CatalogError naming what is wrong."""

        return parse_record_type(data)

    def to_mapping(self) -> dict[str, Any]:
        """JSON-compatible; `from_mapping(d.to_mapping()) == d`."""
        return {
            "code": self.code,
            "version": self.version,
            "title": self.title,
            "title_zh": self.title_zh,
            "category": self.category,
            "decision_date_field": self.decision_date_field,
            "source_code_field": self.source_code_field,
            "identity_field": self.identity_field,
            "validity_end_field": self.validity_end_field,
            "pushers": list(self.pushers),
            "fields": [f.to_mapping() for f in self.fields],
        }


def load_bundled() -> dict[str, RecordTypeDef]:
    """The record types shipped in hub/catalog/records/, by code."""
    folder = resources.files("hub").joinpath("catalog", "records")
    out: dict[str, RecordTypeDef] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        try:
            data = yaml.safe_load(entry.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise CatalogError(f"{entry.name}: not valid YAML: {exc}") from None
        if not isinstance(data, Mapping):
            raise CatalogError(f"{entry.name}: expected a mapping at the top level")
        try:
            defn = RecordTypeDef.from_mapping(data)
        except CatalogError as exc:
            raise CatalogError(f"{entry.name}: {exc}") from None
        if f"{defn.code}.yaml" != entry.name:
            raise CatalogError(f"{entry.name}: record type code {defn.code!r} does not match the file name")
        out[defn.code] = defn
    return out


def _conditions_out(conds: tuple[Condition, ...]) -> dict[str, list[str]]:
    return {c.field: list(c.values) for c in conds}


def dependency_order(code: str, fields: tuple[FieldDef, ...]) -> tuple[FieldDef, ...]:
    """Fields by depth in the graph of rule references; a cycle cannot be checked in any order."""
    by_name = {f.name: f for f in fields}
    depth: dict[str, int] = {}

    def visit(f: FieldDef, path: tuple[str, ...]) -> int:
        if f.name in path:
            cycle = " -> ".join((*path[path.index(f.name) :], f.name))
            raise CatalogError(f"record type {code!r}: field rules form a cycle: {cycle}")
        if f.name not in depth:
            refs = [by_name[r] for r in f.depends_on if r in by_name]
            depth[f.name] = 1 + max((visit(r, (*path, f.name)) for r in refs), default=-1)
        return depth[f.name]

    for f in fields:
        visit(f, ())
    return tuple(sorted(fields, key=lambda f: depth[f.name]))


_CODE_RE = re.compile(r"[a-z][a-z0-9_]*")
_FIELD_NAME_RE = re.compile(r"[A-Z][A-Z0-9_]*")
_ENUMS = ("enum", "enum_list")
_LENGTHY = ("string", "text", "id_number")

_FIELD_KEYS = frozenset(
    {
        "name",
        "label_zh",
        "label",
        "description",
        "type",
        "required",
        "required_when",
        "check_when",
        "sensitivity",
        "sensitivity_when",
        "max_length",
        "values",
        "unit",
        "min",
        "not_before",
        "prefix_for",
    }
)
_TYPE_KEYS = frozenset(
    {
        "code",
        "version",
        "title",
        "title_zh",
        "category",
        "decision_date_field",
        "source_code_field",
        "identity_field",
        "validity_end_field",
        "pushers",
        "fields",
    }
)
# The roles a record type may name as its pushers. Versions stored before `pushers` was data name
# none; they keep the rule they were written under (by record type code, else by category): public
# evaluations from the province, industry evaluations from departments, market evaluations from
# associations and the credit office, list entries from departments and the province, the rest
# from departments.
PUSHER_ROLES = ("department", "province", "association", "credit_office")
_DEFAULT_PUSHERS: dict[str, tuple[str, ...]] = {
    "public_evaluation": ("province",),
    "industry_evaluation": ("department",),
    "market_evaluation": ("association", "credit_office"),
    "list": ("department", "province"),
}


def _text(where: str, data: Mapping[str, Any], key: str) -> str:
    value = text_at(data, key)
    if value is None:
        raise CatalogError(f"{where}: {key!r} must be a non-empty string")
    return value


def _optional_text(where: str, data: Mapping[str, Any], key: str) -> str | None:
    if data.get(key) is None:
        return None
    return _text(where, data, key)


def _strings(where: str, value: Any, what: str) -> tuple[str, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str) or not value:
        raise CatalogError(f"{where}: {what} must be a non-empty list of strings")
    if not all(isinstance(v, str) and v for v in value):
        raise CatalogError(f"{where}: {what} must be a non-empty list of strings")
    if len(set(value)) != len(value):
        dup = next(v for v in value if list(value).count(v) > 1)
        raise CatalogError(f"{where}: {what} lists {dup!r} twice")
    return tuple(value)


def _mapping(where: str, value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping) or not value:
        raise CatalogError(f"{where}: {what} must be a non-empty mapping")
    return value


def _conditions(where: str, value: Any, what: str) -> tuple[Condition, ...]:
    return tuple(
        Condition(str(name), _strings(where, vals, f"{what}.{name}"))
        for name, vals in _mapping(where, value, what).items()
    )


def _parse_field(where: str, data: Any) -> FieldDef:
    if not isinstance(data, Mapping):
        raise CatalogError(f"{where}: each field must be a mapping")
    name = data.get("name")
    if not isinstance(name, str) or not _FIELD_NAME_RE.fullmatch(name):
        raise CatalogError(f"{where}: field name {name!r} must be upper-case letters, digits and _")
    where = f"{where} {name}"
    unknown = unknown_key(data, _FIELD_KEYS)
    if unknown is not None:
        raise CatalogError(f"{where}: unknown key {unknown!r}")
    ftype = data.get("type")
    if ftype not in FIELD_TYPES:
        raise CatalogError(f"{where}: unknown type {ftype!r} (one of {', '.join(FIELD_TYPES)})")
    required = data.get("required", False)
    if not isinstance(required, bool):
        raise CatalogError(f"{where}: 'required' must be true or false")
    sensitivity = data.get("sensitivity", "public")
    if sensitivity not in SENSITIVITIES:
        raise CatalogError(
            f"{where}: unknown sensitivity {sensitivity!r} (one of {', '.join(SENSITIVITIES)})"
        )

    values: tuple[str, ...] = ()
    if ftype in _ENUMS:
        if "values" not in data:
            raise CatalogError(f"{where}: an {ftype} field needs 'values'")
        values = _strings(where, data["values"], "'values'")
    elif "values" in data:
        raise CatalogError(f"{where}: 'values' only applies to enum and enum_list fields")

    max_length = data.get("max_length")
    if max_length is not None:
        if ftype not in _LENGTHY:
            raise CatalogError(f"{where}: 'max_length' only applies to {', '.join(_LENGTHY)} fields")
        if not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 1:
            raise CatalogError(f"{where}: 'max_length' must be a positive integer")

    minimum: Decimal | None = None
    if ftype != "decimal" and ("min" in data or "unit" in data):
        raise CatalogError(f"{where}: 'min' and 'unit' only apply to decimal fields")
    if data.get("min") is not None:
        raw_min = data["min"]
        try:
            if isinstance(raw_min, bool) or not isinstance(raw_min, int | float | str):
                raise InvalidOperation
            minimum = Decimal(str(raw_min))
        except InvalidOperation:
            raise CatalogError(f"{where}: 'min' must be a number or a decimal string") from None
        if not minimum.is_finite():
            raise CatalogError(f"{where}: 'min' must be finite")

    sens_rules: list[SensitivityRule] = []
    for ref, by_value in (
        _mapping(where, data["sensitivity_when"], "'sensitivity_when'") if "sensitivity_when" in data else {}
    ).items():
        for val, sens in _mapping(where, by_value, f"'sensitivity_when.{ref}'").items():
            if sens not in SENSITIVITIES:
                raise CatalogError(f"{where}: unknown sensitivity {sens!r} in sensitivity_when")
            sens_rules.append(SensitivityRule(str(ref), str(val), sens))

    prefix_rules: list[PrefixRule] = []
    if "prefix_for" in data:
        if ftype != "uscc":
            raise CatalogError(f"{where}: 'prefix_for' only applies to uscc fields")
        for ref, by_value in _mapping(where, data["prefix_for"], "'prefix_for'").items():
            for val, prefix in _mapping(where, by_value, f"'prefix_for.{ref}'").items():
                if not isinstance(prefix, str) or not prefix:
                    raise CatalogError(f"{where}: prefix for {val!r} must be a non-empty string (quote it)")
                prefix_rules.append(PrefixRule(str(ref), str(val), prefix))

    if "check_when" in data and ftype != "id_number":
        raise CatalogError(f"{where}: 'check_when' only applies to id_number fields")
    if "check_when" in data and len(_mapping(where, data["check_when"], "'check_when'")) != 1:
        raise CatalogError(f"{where}: 'check_when' names exactly one field, the document type")
    if "not_before" in data and ftype != "date":
        raise CatalogError(f"{where}: 'not_before' only applies to date fields")
    if required and "required_when" in data:
        raise CatalogError(f"{where}: 'required_when' makes no sense on a field that is always required")

    unit = _optional_text(where, data, "unit")
    return FieldDef(
        name=name,
        label_zh=_text(where, data, "label_zh"),
        label=_text(where, data, "label"),
        description=_text(where, data, "description"),
        type=cast(FieldType, ftype),
        required=required,
        required_when=_conditions(where, data["required_when"], "'required_when'")
        if "required_when" in data
        else (),
        check_when=_conditions(where, data["check_when"], "'check_when'") if "check_when" in data else (),
        sensitivity=cast(Sensitivity, sensitivity),
        sensitivity_when=tuple(sens_rules),
        max_length=max_length,
        values=values,
        unit=unit,
        min=minimum,
        not_before=_strings(where, data["not_before"], "'not_before'") if "not_before" in data else (),
        prefix_for=tuple(prefix_rules),
    )


def _check_references(code: str, fields: tuple[FieldDef, ...]) -> None:
    """Every rule must name another field of the right type, and enum values it really has."""
    by_name = {f.name: f for f in fields}

    def target(f: FieldDef, rule: str, ref: str, *types: str) -> FieldDef:
        where = f"record type {code!r}, field {f.name}"
        other = by_name.get(ref)
        if other is None:
            raise CatalogError(f"{where}: {rule} names unknown field {ref!r}")
        if other is f:
            raise CatalogError(f"{where}: {rule} names the field itself")
        if types and other.type not in types:
            raise CatalogError(
                f"{where}: {rule} names {ref}, which is {other.type}, not {' or '.join(types)}"
            )
        return other

    def known_value(f: FieldDef, rule: str, other: FieldDef, value: str) -> None:
        if other.values and value not in other.values:
            raise CatalogError(
                f"record type {code!r}, field {f.name}: {rule} value {value!r} is not one of "
                f"{other.name}'s values ({', '.join(other.values)})"
            )

    for f in fields:
        for cond in f.required_when:
            other = target(f, "required_when", cond.field)
            for v in cond.values:
                known_value(f, "required_when", other, v)
        for cond in f.check_when:
            other = target(f, "check_when", cond.field, "enum")
            for v in cond.values:
                known_value(f, "check_when", other, v)
        for srule in f.sensitivity_when:
            known_value(
                f, "sensitivity_when", target(f, "sensitivity_when", srule.field, *_ENUMS), srule.value
            )
        for prule in f.prefix_for:
            known_value(f, "prefix_for", target(f, "prefix_for", prule.field, "enum"), prule.value)
        for ref in f.not_before:
            target(f, "not_before", ref, "date")


def parse_record_type(data: Mapping[str, Any]) -> RecordTypeDef:
    """RecordTypeDef.from_mapping: build and check one definition."""
    if not isinstance(data, Mapping):
        raise CatalogError("a record type definition must be a mapping")
    code = data.get("code")
    if not isinstance(code, str) or not _CODE_RE.fullmatch(code):
        raise CatalogError(f"record type code {code!r} must be lower-case letters, digits and _")
    where = f"record type {code!r}"
    unknown = unknown_key(data, _TYPE_KEYS)
    if unknown is not None:
        raise CatalogError(f"{where}: unknown key {unknown!r}")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise CatalogError(f"{where}: 'version' must be a positive integer")
    category = data.get("category")
    if category not in CATEGORIES:
        raise CatalogError(f"{where}: unknown category {category!r} (one of {', '.join(CATEGORIES)})")
    raw_fields = data.get("fields")
    if not isinstance(raw_fields, Sequence) or isinstance(raw_fields, str) or not raw_fields:
        raise CatalogError(f"{where}: 'fields' must be a non-empty list")
    fields = tuple(_parse_field(f"{where}, field", f) for f in raw_fields)
    seen: set[str] = set()
    for f in fields:
        if f.name in seen:
            raise CatalogError(f"{where}: duplicate field name {f.name!r}")
        seen.add(f.name)
    _check_references(code, fields)
    dependency_order(code, fields)  # for its CatalogError: rules that form a cycle
    by_name = {f.name: f for f in fields}

    def named(key: str, *types: FieldType) -> str:
        name = data.get(key)
        if not isinstance(name, str) or not name:
            raise CatalogError(f"{where}: {key!r} is missing")
        f = by_name.get(name)
        if f is None:
            raise CatalogError(f"{where}: {key!r} names unknown field {name!r}")
        if types and f.type not in types:
            raise CatalogError(f"{where}: {key!r} names {name}, which is {f.type}, not {' or '.join(types)}")
        return name

    return RecordTypeDef(
        code=code,
        version=version,
        title=_text(where, data, "title"),
        title_zh=_text(where, data, "title_zh"),
        category=cast(Category, category),
        decision_date_field=named("decision_date_field", "date"),
        source_code_field=named("source_code_field", "uscc", "org_code", "string"),
        identity_field=named("identity_field"),
        validity_end_field=named("validity_end_field", "date") if data.get("validity_end_field") else None,
        fields=fields,
        pushers=_pushers(where, data, str(category)),
    )


def _pushers(where: str, data: Mapping[str, Any], category: str) -> tuple[str, ...]:
    if "pushers" not in data:
        code = str(data.get("code"))
        return _DEFAULT_PUSHERS.get(code) or _DEFAULT_PUSHERS.get(category, ("department",))
    roles = _strings(where, data["pushers"], "pushers")
    if not roles:
        raise CatalogError(f"{where}: 'pushers' must name at least one role")
    for role in roles:
        if role not in PUSHER_ROLES:
            raise CatalogError(f"{where}: 'pushers' names {role!r}, not one of {', '.join(PUSHER_ROLES)}")
    return tuple(dict.fromkeys(roles))
