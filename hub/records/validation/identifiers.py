"""Field checks for identifiers: USCC (GB 32100), resident ID (GB 11643), organisation code (GB 11714).

hub.entities.codes is the authority, but at ~3 µs per code it would take most of the row budget.
The fast paths here say only "valid" or "look closer"; anything not plainly valid goes to codes.py
for the verdict and its message, so a fast-path slip can only cost time, never pass a bad code.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from hub.catalog.record_types import FieldDef
from hub.entities.codes import (
    USCC_ALPHABET,
    normalise,
    org_code_check_char,
    resident_id_problem,
    uscc_problem,
)
from hub.records.validation.field_check import (
    ABSENT,
    INVALID,
    UNLIMITED,
    Check,
    FieldError,
    control_problem,
)

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


def _not_a_string(f: FieldDef, path: str) -> FieldError:
    return FieldError("NOT_A_STRING", path, f"{f.name} must be a string")


def uscc_check(f: FieldDef, path: str, historical: bool) -> Check:
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


def id_number_check(f: FieldDef, path: str) -> Check:
    not_a_string = _not_a_string(f, path)
    limit = f.max_length or UNLIMITED
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
            control = control_problem(f.name, path, number)
            if control is not None:
                errors.append(control)
                return INVALID
            return number
        if not _resident_id_ok(number):
            problem = resident_id_problem(number)
            if problem is not None:
                errors.append(FieldError(problem.code, path, f"{f.name}: {problem.message}"))
                return INVALID
        return number

    return check


def org_code_check(f: FieldDef, path: str, historical: bool) -> Check:
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
