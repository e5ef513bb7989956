"""Validate and normalise one record's fields against its record type.

`compile_validator` turns a definition into a list of per-field closures once; validating a row
then costs one closure call per field, with no look-ups in the definition and no
exceptions on the happy path (bulk loads validate millions of CSV rows).

Input is either a CSV row (every value a string, "" meaning absent) or JSON from GraphQL (strings,
numbers, booleans, lists). Output values are JSON-compatible and canonical:
- strings stripped; USCC, ID numbers and organisation codes upper-case;
- dates "YYYY-MM-DD" (accepted: YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD);
- decimals as plain decimal strings without exponent or trailing zeros ("0.50" -> "0.5"). A string
  in exponent form ("1e3") is refused: in department files it is the mark of a spreadsheet that
  reformatted a number and may have rounded it. A JSON number is exact and always accepted;
- enum_list values as a list of strings; booleans as true/false.

Error codes: REQUIRED, UNKNOWN_FIELD, NOT_A_STRING, NUL_CHARACTER (PostgreSQL cannot store it),
CONTROL_CHARACTER (C0 but tab, LF, CR; DEL; C1), TOO_LONG, NOT_A_DATE, NOT_A_NUMBER, BELOW_MINIMUM, NOT_IN_ENUM, NOT_A_BOOLEAN, DATE_ORDER, the
USCC_* and ID_* codes of hub.entities.codes, and ORG_CODE_LENGTH, ORG_CODE_CHARACTER,
ORG_CODE_CHECK. Warnings: CODE_PREFIX_MISMATCH, and in historical mode USCC_ORG_CODE_CHECK and
ORG_CODE_CHECK (some codes in circulation fail the embedded GB 11714 check).

The per-field checks live in hub.records.validation.value_checks and hub.records.validation.identifiers.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hub.catalog.policy import Policy
from hub.catalog.record_types import Condition, FieldDef, RecordTypeDef
from hub.records.validation.field_check import ABSENT, INVALID, Check, FieldError, shown
from hub.records.validation.identifiers import id_number_check, org_code_check, uscc_check
from hub.records.validation.value_checks import (
    boolean_check,
    date_check,
    decimal_check,
    enum_list_check,
    string_check,
)

__all__ = ["FieldError", "ValidationResult", "Validator", "compile_validator", "validator_for"]

# Unknown fields named one by one; the rest of a row with thousands of them is one summary error.
MAX_UNKNOWN_REPORTED = 20


@dataclass(slots=True)
class ValidationResult:
    values: dict[str, Any]
    errors: list[FieldError]
    warnings: list[FieldError]

    @property
    def ok(self) -> bool:
        return not self.errors


Validator = Callable[[Mapping[str, Any]], ValidationResult]


_Predicate = Callable[[Mapping[str, Any]], bool]


def _predicate(conds: tuple[Condition, ...]) -> _Predicate:
    """True when every condition holds; an enum_list value matches when any of its items is listed."""
    tests = tuple((c.field, frozenset(c.values)) for c in conds)

    def holds(values: Mapping[str, Any]) -> bool:
        for ref, allowed in tests:
            value = values.get(ref)
            if value.__class__ is list:
                if allowed.isdisjoint(value):
                    return False
            elif value not in allowed:
                return False
        return True

    return holds


def _field_check(defn: RecordTypeDef, f: FieldDef, historical: bool) -> Check:
    t = f.type
    path = f"fields.{f.name}"
    if t in ("string", "text"):
        return string_check(f, path)
    if t == "enum":
        return string_check(f, path, enum=True)
    if t == "enum_list":
        return enum_list_check(f, path)
    if t == "date":
        return date_check(f, path, tuple(defn.field(r) for r in f.not_before))
    if t == "decimal":
        return decimal_check(f, path)
    if t == "boolean":
        return boolean_check(f, path)
    if t == "uscc":
        return uscc_check(f, path, historical)
    if t == "id_number":
        return id_number_check(f, path)
    if t == "org_code":
        return org_code_check(f, path, historical)
    raise AssertionError(f"unhandled field type {t!r}")  # the catalogue refuses unknown types


def _when_absent(f: FieldDef) -> tuple[_Predicate | None, FieldError | None]:
    """What an absent value means: always an error, an error under conditions, or nothing."""
    path = f"fields.{f.name}"
    if f.required:
        return None, FieldError("REQUIRED", path, f"{f.name} ({f.label_zh}) is required")
    if f.required_when:
        said = "; ".join(f"{c.field} is {' or '.join(c.values)}" for c in f.required_when)
        error = FieldError("REQUIRED", path, f"{f.name} ({f.label_zh}) is required when {said}")
        return _predicate(f.required_when), error
    return None, None


def compile_validator(defn: RecordTypeDef, *, historical: bool = False) -> Validator:
    """A function that validates and normalises one row of `defn`'s fields.

    `historical=True` is for bulk imports of history: a code failing only its embedded GB 11714
    organisation-code check becomes a warning instead of an error.
    """
    # Fields come after the fields their rules read, so every rule sees final values.
    steps = tuple((f.name, _field_check(defn, f, historical), *_when_absent(f)) for f in defn.check_order())
    known = frozenset(defn.field_names)
    type_code = defn.code

    def unknown_fields(row: Mapping[str, Any], errors: list[FieldError]) -> None:
        unknown = sorted(set(row) - known, key=str)
        for key in unknown[:MAX_UNKNOWN_REPORTED]:
            hint = difflib.get_close_matches(str(key), known, n=1)
            also = f"; did you mean {hint[0]}?" if hint else ""
            # A path is stored (jsonb) and shown: a name with control characters is quoted, escaped.
            name = str(key) if str(key).isprintable() and len(str(key)) <= 100 else shown(str(key))
            errors.append(
                FieldError(
                    "UNKNOWN_FIELD",
                    f"fields.{name}",
                    f"record type {type_code} has no field {shown(key)}{also}",
                )
            )
        if len(unknown) > MAX_UNKNOWN_REPORTED:
            more = len(unknown) - MAX_UNKNOWN_REPORTED
            errors.append(
                FieldError("UNKNOWN_FIELD", "fields", f"and {more} more fields record type {type_code} lacks")
            )

    def validate(row: Mapping[str, Any]) -> ValidationResult:
        values: dict[str, Any] = {}
        errors: list[FieldError] = []
        warnings: list[FieldError] = []
        get = row.get
        for name, check, condition, missing in steps:
            raw = get(name)
            value = ABSENT if raw is None else check(raw, values, errors, warnings)
            if value is ABSENT:
                if missing is not None and (condition is None or condition(values)):
                    errors.append(missing)
            elif value is not INVALID:
                values[name] = value
        if not known.issuperset(row):
            unknown_fields(row, errors)
        return ValidationResult(values, errors, warnings)

    return validate


def validator_for(policy: Policy, record_type: str, *, historical: bool = False) -> Validator:
    """The compiled validator of `record_type` under `policy`, compiled once per policy in force."""
    key = ("record_validator", record_type, "historical" if historical else "current")
    validator: Validator | None = policy.derived.get(key)
    if validator is None:
        validator = policy.derived[key] = compile_validator(
            policy.record_types[record_type], historical=historical
        )
    return validator
