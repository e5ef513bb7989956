"""The record catalogue: which record types the hub accepts and what each field means.

Policy is data: the definitions ship as YAML under hub/catalog/records/ (one file per record type),
are loaded into the database and versioned there. This module holds the typed, immutable
definitions; hub.records.catalog_parse builds them from a mapping (parsed YAML or a row's JSON) and
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

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from decimal import Decimal
from importlib import resources
from typing import Any, Literal

import yaml

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
        # Imported here, not at the top: catalog_parse builds these classes, so it imports this module.
        from hub.records.catalog_parse import parse_record_type

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
