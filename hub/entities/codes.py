"""Identifier checks: USCC (GB 32100-2015), organisation code (GB 11714), resident ID (GB 11643-1999).

Each check returns a `CodeProblem` that says exactly what is wrong (which position, which
character, which check value was expected) or None, so callers can turn it into a typed error.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {ch: i for i, ch in enumerate(USCC_ALPHABET)}
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
USCC_AUTHORITIES = frozenset("123456789ANY")

_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ORG_VALUE = {ch: i for i, ch in enumerate(_ORG_ALPHABET)}

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# ASCII only: str.isdigit() also admits superscript, full-width and other Unicode digits (int() then
# fails on some, and reads others as the ASCII digit: a second archive key for the same person).
_DIGITS = frozenset("0123456789")


@dataclass(frozen=True, slots=True)
class CodeProblem:
    """Why an identifier is invalid: a machine-readable `code` and a sentence for people."""

    code: str
    message: str
    position: int | None = None


def normalise(code: str) -> str:
    """Codes are compared upper-case without surrounding blanks."""
    return code.strip().upper()


def uscc_check_char(first17: str) -> str:
    total = sum(_USCC_VALUE[ch] * w for ch, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def org_code_check_char(first8: str) -> str:
    total = sum(_ORG_VALUE[ch] * w for ch, w in zip(first8, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def uscc_problem(code: str, *, check_org_code: bool = True) -> CodeProblem | None:
    """Check a normalised USCC; None when valid.

    `check_org_code=False` lets a bulk import of history accept codes whose embedded GB 11714
    check fails (some historical codes do); the caller must then report a warning.
    """
    if len(code) != 18:
        return CodeProblem("USCC_LENGTH", f"a USCC has 18 characters, got {len(code)}")
    for pos, ch in enumerate(code, start=1):
        if ch not in _USCC_VALUE:
            return CodeProblem(
                "USCC_CHARACTER",
                f"forbidden character {ch!r} at position {pos} (allowed: {USCC_ALPHABET})",
                pos,
            )
    if code[0] not in USCC_AUTHORITIES:
        return CodeProblem(
            "USCC_AUTHORITY", f"registration authority {code[0]!r} at position 1 is not 1-9, A, N or Y", 1
        )
    if not _DIGITS.issuperset(code[2:8]):
        bad = next(i for i, ch in enumerate(code[2:8], start=3) if ch not in _DIGITS)
        return CodeProblem(
            "USCC_DIVISION",
            f"administrative division (positions 3-8) must be digits; position {bad} is not",
            bad,
        )
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        return CodeProblem(
            "USCC_CHECK", f"check character at position 18: expected {expected!r}, got {code[17]!r}", 18
        )
    if check_org_code:
        org = code[8:17]
        expected_org = org_code_check_char(org[:8])
        if org[8] != expected_org:
            return CodeProblem(
                "USCC_ORG_CODE_CHECK",
                f"embedded organisation code (GB 11714, positions 9-17): check character at position 17 "
                f"expected {expected_org!r}, got {org[8]!r}",
                17,
            )
    return None


def make_uscc(authority: str, entity_type: str, division: str, org_body: str) -> str:
    """Build a valid USCC from its parts; `org_body` is the first 8 characters of the organisation code."""
    org = org_body + org_code_check_char(org_body)
    first17 = authority + entity_type + division + org
    return first17 + uscc_check_char(first17)


def resident_id_check_char(first17: str) -> str:
    total = sum(int(ch) * w for ch, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def resident_id_problem(number: str) -> CodeProblem | None:
    """Check a normalised resident ID number (GB 11643-1999); None when valid."""
    if len(number) != 18:
        return CodeProblem("ID_LENGTH", f"a resident ID number has 18 characters, got {len(number)}")
    for pos, ch in enumerate(number[:17], start=1):
        if ch not in _DIGITS:
            return CodeProblem("ID_CHARACTER", f"position {pos} must be a digit 0-9, got {ch!r}", pos)
    if number[17] not in "0123456789X":
        return CodeProblem("ID_CHARACTER", f"position 18 must be a digit or X, got {number[17]!r}", 18)
    try:
        dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return CodeProblem("ID_BIRTH_DATE", f"birth date (positions 7-14) {number[6:14]} is not a date", 7)
    expected = resident_id_check_char(number[:17])
    if number[17] != expected:
        return CodeProblem(
            "ID_CHECK", f"check character at position 18: expected {expected!r}, got {number[17]!r}", 18
        )
    return None


def make_resident_id(address: str, birth: dt.date, sequence: int) -> str:
    first17 = f"{address}{birth:%Y%m%d}{sequence:03d}"
    return first17 + resident_id_check_char(first17)


# Position 2 of a USCC within registration authority 9 (market regulation) and others.
_ENTITY_KINDS = {
    "91": "enterprise",
    "92": "individual_business",
    "93": "farmers_cooperative",
    "11": "government_agency",
    "12": "public_institution",
    "51": "social_organisation",
    "52": "private_non_enterprise",
    "53": "foundation",
}


def entity_kind(uscc: str) -> str:
    """A coarse entity type from positions 1-2, 'other' when the pair is not a common one."""
    return _ENTITY_KINDS.get(uscc[:2], "other")


def district(uscc: str) -> str:
    """The administrative division code (positions 3-8)."""
    return uscc[2:8]
