"""Field checks for plain values: strings, enums and enum lists, dates, decimals and booleans.

Each `*_check` builds a closure for one field (see hub.records.validation.field_check); the formats accepted
and the canonical forms returned are described in hub.records.validation.record.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from typing import Any

from hub.catalog.record_types import FieldDef
from hub.records.validation.field_check import (
    ABSENT,
    INVALID,
    UNLIMITED,
    Check,
    FieldError,
    control_problem,
    shown,
)

_DECIMAL_RE = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?")
_SPLIT_RE = re.compile(r"[;；,，、]")
_BOOLEANS = {"true": True, "false": False, "是": True, "否": False, "1": True, "0": False}


def string_check(f: FieldDef, path: str, enum: bool = False) -> Check:
    limit = f.max_length or UNLIMITED
    not_a_string = FieldError("NOT_A_STRING", path, f"{f.name} must be a string")
    allowed = frozenset(f.values) if enum else None
    listed = ", ".join(f.values)

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
            errors.append(FieldError("NOT_IN_ENUM", path, f"{f.name}: {shown(s)} is not one of: {listed}"))
            return INVALID
        if len(s) > limit:
            errors.append(
                FieldError("TOO_LONG", path, f"{f.name} has {len(s)} characters; at most {limit} allowed")
            )
            return INVALID
        if not s.isprintable():  # the test of control_problem, inlined: nearly every value passes here
            problem = control_problem(f.name, path, s)
            if problem is not None:
                errors.append(problem)
                return INVALID
        return s if s else ABSENT

    return check


def enum_list_check(f: FieldDef, path: str) -> Check:
    allowed = frozenset(f.values)
    listed = ", ".join(f.values)

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
                errors.append(
                    FieldError("NOT_A_STRING", path, f"{f.name}: item {shown(item)} is not a string")
                )
                bad = True
                continue
            item = item.strip()
            if not item or item in out:
                continue
            if item not in allowed:
                errors.append(
                    FieldError("NOT_IN_ENUM", path, f"{f.name}: {shown(item)} is not one of: {listed}")
                )
                bad = True
                continue
            out.append(item)
        if bad:
            return INVALID
        return out if out else ABSENT

    return check


def date_check(f: FieldDef, path: str, after: tuple[FieldDef, ...]) -> Check:
    """`after`: the dates this one may not precede (checked earlier, see check_order)."""
    name = f.name
    bounds = tuple((b.name, b.label_zh) for b in after)

    def bad(raw: Any) -> FieldError:
        return FieldError(
            "NOT_A_DATE", path, f"{f.name}: {shown(raw)} is not a date (YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD)"
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


def decimal_check(f: FieldDef, path: str) -> Check:
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
            errors.append(FieldError("NOT_A_NUMBER", path, f"{f.name}: {shown(raw)} is not a number"))
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
                        f"{f.name}: {shown(raw)} is not a plain decimal number such as 1500 or 0.5 "
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


def boolean_check(f: FieldDef, path: str) -> Check:
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
