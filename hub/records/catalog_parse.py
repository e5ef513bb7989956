"""Build record type definitions from mappings (parsed YAML or a row's JSON), refusing broken ones.

The mapping format is described in hub.records.catalog. Every refusal is a CatalogError naming the
record type, the field and what is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from hub.policy_values import text_at, unknown_key
from hub.records.catalog import (
    CATEGORIES,
    FIELD_TYPES,
    SENSITIVITIES,
    CatalogError,
    Category,
    Condition,
    FieldDef,
    FieldType,
    PrefixRule,
    RecordTypeDef,
    Sensitivity,
    SensitivityRule,
    dependency_order,
)

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
        "fields",
    }
)


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
    )
