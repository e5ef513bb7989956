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
TOO_LONG, NOT_A_DATE, NOT_A_NUMBER, BELOW_MINIMUM, NOT_IN_ENUM, NOT_A_BOOLEAN, DATE_ORDER, the
USCC_* and ID_* codes of hub.entities.codes, and ORG_CODE_LENGTH, ORG_CODE_CHARACTER,
ORG_CODE_CHECK. Warnings: CODE_PREFIX_MISMATCH, and in historical mode USCC_ORG_CODE_CHECK and
ORG_CODE_CHECK (some codes in circulation fail the embedded GB 11714 check).
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from hub.entities.codes import (
    USCC_ALPHABET,
    normalise,
    org_code_check_char,
    resident_id_problem,
    uscc_problem,
)
from hub.records.catalog import Condition, FieldDef, RecordTypeDef


@dataclass(frozen=True, slots=True)
class FieldError:
    code: str
    path: str
    message: str


@dataclass(slots=True)
class ValidationResult:
    values: dict[str, Any]
    errors: list[FieldError]
    warnings: list[FieldError]

    @property
    def ok(self) -> bool:
        return not self.errors


Validator = Callable[[Mapping[str, Any]], ValidationResult]


class _Sentinel:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


ABSENT: Final = _Sentinel("ABSENT")
INVALID: Final = _Sentinel("INVALID")

# A field check takes the raw value, the values checked so far (a field's rules only read fields
# checked before it, see RecordTypeDef.check_order) and the error and warning lists; it returns the normalised value, ABSENT or INVALID (having reported why).
_Check = Callable[[Any, dict[str, Any], list[FieldError], list[FieldError]], Any]

# --- identifier fast paths -----------------------------------------------------------------------
# hub.entities.codes is the authority, but at ~3 µs per code it would take most of the row budget.
# These checks say only "valid" or "look closer"; anything not plainly valid goes to codes.py for
# the verdict and its message, so a fast-path slip can only cost time, never pass a bad code.

_USCC_RE = re.compile(r"[1-9ANY][0-9A-HJ-NP-RTUWXY][0-9]{6}[0-9A-HJ-NP-RTUWXY]{10}")
# USCC weights are 3**i mod 31 and 34 ≡ 3 (mod 31): the first 17 characters reversed, each
# written as the base-34 digit of its value, read as one base-34 number ≡ Σ value·weight (mod 31).
# bytes.translate and int() do the whole sum in C.
_USCC_AS_BASE34 = bytes.maketrans(USCC_ALPHABET.encode(), b"0123456789ABCDEFGHIJKLMNOPQRSTU")
_ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# GB 11714 weights 3 7 9 10 5 8 4 2 are 3·6**i mod 11 and 17 ≡ 6 (mod 11): same trick, with each
# value first reduced mod 11 and written as a base-17 digit.
_ORG_AS_BASE17 = bytes.maketrans(
    _ORG_ALPHABET.encode(), "".join("0123456789A"[i % 11] for i in range(36)).encode()
)
_ORG_CHECK_BY_REMAINDER = tuple("0123456789X0"[11 - r] for r in range(11))
_ORG_RE = re.compile(r"[0-9A-Z]{8}[0-9X]")
_ID_RE = re.compile(r"[0-9]{17}[0-9X]")
# GB 11643 weights are 2**(18-i) mod 11 and 13 ≡ 2 (mod 11): 2·int(first17, 13) ≡ Σ digit·weight.
_ID_CHECK = "10X98765432"


def _org_ok(org: str) -> bool:
    """`org` matches _ORG_RE."""
    total = 3 * int(org.encode()[7::-1].translate(_ORG_AS_BASE17), 17)
    return _ORG_CHECK_BY_REMAINDER[total % 11] == org[8]


def _uscc_ok(code: str) -> bool:
    if _USCC_RE.fullmatch(code) is None:
        return False
    raw = code.encode()
    total = int(raw[16::-1].translate(_USCC_AS_BASE34), 34)
    if USCC_ALPHABET[(-total) % 31] != code[17]:
        return False
    org_total = 3 * int(raw[15:7:-1].translate(_ORG_AS_BASE17), 17)  # positions 9-16, reversed
    return _ORG_CHECK_BY_REMAINDER[org_total % 11] == code[16]


# Every MMDD of a leap year; 0229 is then checked against the year.
_MONTH_DAYS = frozenset(f"{d:%m%d}" for d in (dt.date(2000, 1, 1) + dt.timedelta(days=i) for i in range(366)))


def _resident_id_ok(number: str) -> bool:
    if _ID_RE.fullmatch(number) is None or _ID_CHECK[2 * int(number[:17], 13) % 11] != number[17]:
        return False
    month_day = number[10:14]
    if month_day not in _MONTH_DAYS or number[6:10] == "0000":
        return False
    if month_day == "0229":
        year = int(number[6:10])
        return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return True


# Codes known to pass, per field: authority and source-unit codes repeat on every row of a file.
_GOOD_CODES_LIMIT = 4096


# --- per-type checks -----------------------------------------------------------------------------

_DECIMAL_RE = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?")
_SPLIT_RE = re.compile(r"[;；,，、]")
_BOOLEANS = {"true": True, "false": False, "是": True, "否": False, "1": True, "0": False}
_UNLIMITED = 1 << 62


def _string_check(f: FieldDef, path: str, enum: bool = False) -> _Check:
    limit = f.max_length or _UNLIMITED
    not_a_string = FieldError("NOT_A_STRING", path, f"{f.name} must be a string")
    nul = FieldError("NUL_CHARACTER", path, f"{f.name} contains a NUL character (\\x00)")
    allowed = frozenset(f.values) if enum else None
    shown = ", ".join(f.values)

    def check(raw: Any, values: dict[str, Any], errors: list[FieldError], warnings: list[FieldError]) -> Any:
        if not isinstance(raw, str):
            errors.append(not_a_string)
            return INVALID
        s = raw.strip()
        if allowed is not None:
            if s in allowed:
                return s
            if not s:
                return ABSENT
            errors.append(FieldError("NOT_IN_ENUM", path, f"{f.name}: {s!r} is not one of: {shown}"))
            return INVALID
        if len(s) > limit:
            errors.append(
                FieldError("TOO_LONG", path, f"{f.name} has {len(s)} characters; at most {limit} allowed")
            )
            return INVALID
        if "\x00" in s:
            errors.append(nul)
            return INVALID
        return s if s else ABSENT

    return check


def _enum_list_check(f: FieldDef, path: str) -> _Check:
    allowed = frozenset(f.values)
    shown = ", ".join(f.values)

    def check(raw: Any, values: dict[str, Any], errors: list[FieldError], warnings: list[FieldError]) -> Any:
        if isinstance(raw, str):
            s = raw.strip()
            if s in allowed:
                return [s]
            items: list[Any] = _SPLIT_RE.split(s)
        elif isinstance(raw, list | tuple):
            items = list(raw)
        else:
            errors.append(FieldError("NOT_A_STRING", path, f"{f.name} must be a string or a list of strings"))
            return INVALID
        out: list[str] = []
        bad = False
        for item in items:
            if not isinstance(item, str):
                errors.append(FieldError("NOT_A_STRING", path, f"{f.name}: item {item!r} is not a string"))
                bad = True
                continue
            item = item.strip()
            if not item or item in out:
                continue
            if item not in allowed:
                errors.append(FieldError("NOT_IN_ENUM", path, f"{f.name}: {item!r} is not one of: {shown}"))
                bad = True
                continue
            out.append(item)
        if bad:
            return INVALID
        return out if out else ABSENT

    return check


def _date_check(f: FieldDef, path: str, after: tuple[FieldDef, ...]) -> _Check:
    """`after`: the dates this one may not precede (checked earlier, see check_order)."""
    name = f.name
    bounds = tuple((b.name, b.label_zh) for b in after)

    def bad(raw: Any) -> FieldError:
        return FieldError(
            "NOT_A_DATE", path, f"{f.name}: {raw!r} is not a date (YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD)"
        )

    from_iso = dt.date.fromisoformat

    def check(raw: Any, values: dict[str, Any], errors: list[FieldError], warnings: list[FieldError]) -> Any:
        if not isinstance(raw, str):
            errors.append(bad(raw))
            return INVALID
        s = raw.strip()
        n = len(s)
        if n == 10 and s[4] == "-" and s[7] == "-":
            iso = s
        elif n == 10 and s[4] == "/" and s[7] == "/":
            iso = s.replace("/", "-")
        elif n == 8 and s.isascii() and s.isdigit():
            iso = f"{s[:4]}-{s[4:6]}-{s[6:]}"
        elif n == 0:
            return ABSENT
        else:
            errors.append(bad(raw))
            return INVALID
        try:
            from_iso(iso)  # refuses 2024-02-30 and non-ASCII digits
        except ValueError:
            errors.append(bad(raw))
            return INVALID
        for other, other_zh in bounds:
            bound = values.get(other)
            if bound is not None and iso < bound:  # ISO dates order as strings
                errors.append(
                    FieldError(
                        "DATE_ORDER",
                        path,
                        f"{name} ({f.label_zh}) {iso} is before {other} ({other_zh}) {bound}",
                    )
                )
                return INVALID
        return iso

    return check


def _canonical_decimal(sign: str, whole: str, frac: str) -> str:
    whole = whole.lstrip("0") or "0"
    frac = frac.rstrip("0")
    if whole == "0" and not frac:
        return "0"
    text = f"{whole}.{frac}" if frac else whole
    return "-" + text if sign == "-" else text


def _decimal_check(f: FieldDef, path: str) -> _Check:
    minimum = f.min
    non_negative_ok = minimum is None or minimum <= 0
    match = _DECIMAL_RE.fullmatch

    def check(raw: Any, values: dict[str, Any], errors: list[FieldError], warnings: list[FieldError]) -> Any:
        if isinstance(raw, str):
            s = raw.strip()
            if not s:
                return ABSENT
        elif isinstance(raw, int) and not isinstance(raw, bool):
            s = str(raw)
        elif isinstance(raw, float) and math.isfinite(raw):
            # repr() is the shortest form that reads back as the same float.
            s = format(Decimal(repr(raw)), "f")
        elif isinstance(raw, Decimal) and raw.is_finite():
            s = format(raw, "f")
        else:
            errors.append(FieldError("NOT_A_NUMBER", path, f"{f.name}: {raw!r} is not a number"))
            return INVALID
        if s.isdigit() and s.isascii() and (s[0] != "0" or len(s) == 1) and non_negative_ok:
            return s  # a plain positive integer is already canonical
        whole, _, frac = s.partition(".")
        if whole.isdigit() and whole.isascii() and (not frac or (frac.isdigit() and frac.isascii())):
            text = _canonical_decimal("", whole, frac)  # the common case, without the regex
        else:
            m = match(s)
            if m is None or not (m[2] or m[3]):
                errors.append(
                    FieldError(
                        "NOT_A_NUMBER",
                        path,
                        f"{f.name}: {raw!r} is not a plain decimal number such as 1500 or 0.5 "
                        "(no exponent, no thousands separators)",
                    )
                )
                return INVALID
            text = _canonical_decimal(m[1], m[2], m[3] or "")
        if minimum is not None and (text[0] == "-" if minimum == 0 else Decimal(text) < minimum):
            errors.append(
                FieldError("BELOW_MINIMUM", path, f"{f.name}: {text} is below the minimum {minimum}")
            )
            return INVALID
        return text

    return check


def _boolean_check(f: FieldDef, path: str) -> _Check:
    bad = FieldError("NOT_A_BOOLEAN", path, f"{f.name} must be true/false, 是/否 or 1/0")

    def check(raw: Any, values: dict[str, Any], errors: list[FieldError], warnings: list[FieldError]) -> Any:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str):
            s = raw.strip()
            value = _BOOLEANS.get(s.lower())
            if value is not None:
                return value
            if not s:
                return ABSENT
        elif isinstance(raw, int) and raw in (0, 1):
            return raw == 1
        errors.append(bad)
        return INVALID

    return check


def _not_a_string(f: FieldDef, path: str) -> FieldError:
    return FieldError("NOT_A_STRING", path, f"{f.name} must be a string")


def _uscc_check(f: FieldDef, path: str, historical: bool) -> _Check:
    not_a_string = _not_a_string(f, path)
    rules = tuple((r.field, r.value, r.prefix) for r in f.prefix_for)
    good: set[str] = set()

    def check(raw: Any, values: dict[str, Any], errors: list[FieldError], warnings: list[FieldError]) -> Any:
        if not isinstance(raw, str):
            errors.append(not_a_string)
            return INVALID
        code = normalise(raw)
        if code in good:
            pass
        elif _uscc_ok(code):
            if len(good) >= _GOOD_CODES_LIMIT:
                good.clear()
            good.add(code)
        elif not code:
            return ABSENT
        else:
            problem = uscc_problem(code)
            if problem is not None:
                if historical and problem.code == "USCC_ORG_CODE_CHECK":
                    warnings.append(
                        FieldError(problem.code, path, f"{f.name}: accepted as history: {problem.message}")
                    )
                else:
                    errors.append(FieldError(problem.code, path, f"{f.name}: {problem.message}"))
                    return INVALID
        for ref, value, prefix in rules:
            category = values.get(ref)
            if category is not None and (category == value) != code.startswith(prefix):
                if category == value:
                    why = f"{ref} is {value} but the code starts with {code[: len(prefix)]!r}, not {prefix!r}"
                else:
                    why = f"{ref} is {category} but the code starts with {prefix!r}, reserved for {value}"
                warnings.append(FieldError("CODE_PREFIX_MISMATCH", path, f"{f.name}: {why}"))
        return code

    return check


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


def _id_number_check(f: FieldDef, path: str) -> _Check:
    not_a_string = _not_a_string(f, path)
    limit = f.max_length or _UNLIMITED
    # The catalogue allows one check_when condition: the document-type field and its resident-ID values.
    type_field, resident_types = (
        (f.check_when[0].field, frozenset(f.check_when[0].values)) if f.check_when else ("", frozenset())
    )

    def check(raw: Any, values: dict[str, Any], errors: list[FieldError], warnings: list[FieldError]) -> Any:
        if not isinstance(raw, str):
            errors.append(not_a_string)
            return INVALID
        number = normalise(raw)
        if not number:
            return ABSENT
        # A passport or permit number is no resident ID; an absent document type defaults to one.
        doc_type = values.get(type_field) if type_field else None
        if doc_type is not None and doc_type not in resident_types:
            if len(number) > limit:
                errors.append(
                    FieldError(
                        "TOO_LONG", path, f"{f.name} has {len(number)} characters; at most {limit} allowed"
                    )
                )
                return INVALID
            return number
        if not _resident_id_ok(number):
            problem = resident_id_problem(number)
            if problem is not None:
                errors.append(FieldError(problem.code, path, f"{f.name}: {problem.message}"))
                return INVALID
        return number

    return check


def _org_code_check(f: FieldDef, path: str, historical: bool) -> _Check:
    not_a_string = _not_a_string(f, path)

    def check(raw: Any, values: dict[str, Any], errors: list[FieldError], warnings: list[FieldError]) -> Any:
        if not isinstance(raw, str):
            errors.append(not_a_string)
            return INVALID
        code = normalise(raw)
        if len(code) == 10 and code[8] == "-":  # often written 12345678-9
            code = code[:8] + code[9]
        if _ORG_RE.fullmatch(code) is not None and _org_ok(code):
            return code
        if not code:
            return ABSENT
        if len(code) != 9:
            errors.append(
                FieldError(
                    "ORG_CODE_LENGTH",
                    path,
                    f"{f.name}: an organisation code has 9 characters, got {len(code)}",
                )
            )
            return INVALID
        for pos, ch in enumerate(code, start=1):
            if ch not in _ORG_ALPHABET or (pos == 9 and ch not in "0123456789X"):
                errors.append(
                    FieldError(
                        "ORG_CODE_CHARACTER", path, f"{f.name}: forbidden character {ch!r} at position {pos}"
                    )
                )
                return INVALID
        expected = org_code_check_char(code[:8])
        message = f"{f.name}: check character at position 9: expected {expected!r}, got {code[8]!r}"
        if historical:
            warnings.append(FieldError("ORG_CODE_CHECK", path, f"accepted as history: {message}"))
            return code
        errors.append(FieldError("ORG_CODE_CHECK", path, message))
        return INVALID

    return check


def _field_check(defn: RecordTypeDef, f: FieldDef, historical: bool) -> _Check:
    t = f.type
    path = f"fields.{f.name}"
    if t in ("string", "text"):
        return _string_check(f, path)
    if t == "enum":
        return _string_check(f, path, enum=True)
    if t == "enum_list":
        return _enum_list_check(f, path)
    if t == "date":
        return _date_check(f, path, tuple(defn.field(r) for r in f.not_before))
    if t == "decimal":
        return _decimal_check(f, path)
    if t == "boolean":
        return _boolean_check(f, path)
    if t == "uscc":
        return _uscc_check(f, path, historical)
    if t == "id_number":
        return _id_number_check(f, path)
    if t == "org_code":
        return _org_code_check(f, path, historical)
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
        for key in sorted(set(row) - known, key=str):
            hint = difflib.get_close_matches(str(key), known, n=1)
            also = f"; did you mean {hint[0]}?" if hint else ""
            errors.append(
                FieldError(
                    "UNKNOWN_FIELD", f"fields.{key}", f"record type {type_code} has no field {key!r}{also}"
                )
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
