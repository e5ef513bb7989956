"""Masking rules (脱敏规则): what a masked value looks like.

Each mask kind of the masking policy (hub.catalog.masking_policies.MASK_KINDS) is implemented here
with its parameters; a policy names its rules (`id_number: keep_ends 6+4`), the gate applies them.
An unknown rule, a rule whose parameters do not fit the value, or a keyed hash without keys masks
everything: a value is never shown by mistake.

Free text (违法事实, 处罚内容, 备注 …) is scanned for resident ID numbers (GB 11643-1999: 18
characters whose check character is right, and the old 15-digit numbers with a valid birth date)
and mobile numbers (11 digits, 1[3-9]…), and those spans are masked.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation

from hub.catalog.masking_policies import MaskRule
from hub.crypto import keyed_digest
from hub.entities.codes import resident_id_check_char
from hub.ports import KeyProvider

# The purpose of the key that keyed hashes (假名化) are made with.
KEYED_HASH_PURPOSE = "masking-keyed-hash"
_STAR = "*"
_EVERYTHING_MAX = 8


def everything(value: str) -> str:
    """Nothing of the value: as many "*" as it has characters, at most 8 (its length barely shows)."""
    return _STAR * min(len(value), _EVERYTHING_MAX) if value else ""


def keep_ends(value: str, first: int, last: int) -> str:
    """The first `first` and last `last` characters, the others "*"; everything masked when the value
    is too short for anything to be hidden (11010519491231002X, 6+4 → 110105********002X)."""
    if len(value) <= first + last:
        return everything(value)
    return value[:first] + _STAR * (len(value) - first - last) + (value[len(value) - last :] if last else "")


def mask_range(value: str, start: int, end: int) -> str:
    """Characters start..end (1-based, inclusive) as "*"; past the value's end, what there is."""
    if start > len(value):
        return value
    stop = min(end, len(value))
    return value[: start - 1] + _STAR * (stop - start + 1) + value[stop:]


def first_character(value: str) -> str:
    """A Chinese name's first character and "*" (张三 → 张*)."""
    return f"{value[:1]}*" if value else ""


# An address down to its district: an optional province (省, 自治区), an optional prefecture (市, 自治州,
# 地区, 盟), then the county-level unit (区, 县, 旗, or a county-level 市). Each name is short and
# holds none of the markers, so the cut is never made deep inside the street part.
_DISTRICT = re.compile(
    r"(?:[^省市区县旗]{2,7}?(?:省|自治区))?"
    r"(?:[^省市区县旗]{2,9}?(?:自治州|地区|盟|市))?"
    r"[^省市区县旗]{1,9}?(?:区|县|旗|市)"
)


def district(value: str) -> str:
    """The address cut to its district (黑龙江省哈尔滨市南岗区学府路52号 → 黑龙江省哈尔滨市南岗区); an
    address in which no district is found is masked whole."""
    found = _DISTRICT.match(value)
    return everything(value) if found is None else found.group(0)


def amount_band(value: str, bounds: tuple[float, ...]) -> str:
    """The band an amount falls in (bounds 1, 10 → "<1", "1-10", "≥10"); not a number: masked whole."""
    try:
        amount = Decimal(value.strip())
    except InvalidOperation:
        return everything(value)
    if not amount.is_finite():
        return everything(value)
    edges = [Decimal(str(b)) for b in bounds]
    if amount < edges[0]:
        return f"<{_number(edges[0])}"
    for low, high in itertools.pairwise(edges):
        if low <= amount < high:
            return f"{_number(low)}-{_number(high)}"
    return f"≥{_number(edges[-1])}"


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


def keyed_hash(value: str, length: int, keys: KeyProvider | None) -> str:
    """HMAC-SHA256 of the value under the hub's masking key, the first `length` hex digits: the same
    value gives the same pseudonym (records can be linked), which reveals nothing without the key."""
    if keys is None:
        return everything(value)
    return keyed_digest(keys, KEYED_HASH_PURPOSE, value)[:length]


# Named rules the role rules use without a policy document (inspectors' names).
BUILTIN: dict[str, MaskRule] = {
    "first_character": MaskRule("first_character", "first_character"),
    "everything": MaskRule("everything", "everything"),
}

_KINDS: dict[str, Callable[[str, MaskRule, KeyProvider | None], str]] = {
    "keep_ends": lambda v, r, k: keep_ends(v, int(r.param("first")), int(r.param("last"))),
    "mask_range": lambda v, r, k: mask_range(v, int(r.param("start")), int(r.param("end"))),
    "first_character": lambda v, r, k: first_character(v),
    "district": lambda v, r, k: district(v),
    "amount_band": lambda v, r, k: amount_band(v, tuple(r.param("bounds"))),
    "keyed_hash": lambda v, r, k: keyed_hash(v, int(r.param("length", 16)), k),
    "everything": lambda v, r, k: everything(v),
}
MASK_KINDS = frozenset(_KINDS)


def apply_rule(rule: MaskRule | None, value: str, keys: KeyProvider | None = None) -> str:
    """Mask `value` by `rule`; no rule, an unknown kind or parameters that fail mask everything."""
    mask = _KINDS.get(rule.mask) if rule is not None else None
    if mask is None or rule is None:
        return everything(value)
    try:
        return mask(value, rule, keys)
    except (TypeError, ValueError, KeyError, IndexError):
        return everything(value)


def apply(
    rule: str, value: str, rules: Mapping[str, MaskRule] | None = None, keys: KeyProvider | None = None
) -> str:
    """Mask `value` by the rule named `rule` (of `rules`, else a built-in one); an unknown name masks
    everything (never shows by mistake)."""
    found = (rules or {}).get(rule) or BUILTIN.get(rule)
    return apply_rule(found, value, keys)


# --- free text ------------------------------------------------------------------------------------

# Candidates: 18 characters (17 digits and a digit or X), 15 digits, or a mobile number, none of them
# part of a longer run of digits (or letters, for the X). The checks below decide.
_CANDIDATE = re.compile(
    r"(?<![0-9A-Za-z])(?:[1-9][0-9]{16}[0-9Xx]|[1-9][0-9]{14}|1[3-9][0-9]{9})(?![0-9A-Za-z])"
)
# A quick test before the scan: most free text holds no run of 11 digits at all.
_DIGIT_RUN = re.compile(r"[0-9]{11}")


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


def _kind_of(candidate: str) -> str | None:
    """ "id_number", "mobile" or None (a number that is neither: an order or file number)."""
    if len(candidate) == 18:
        head = candidate[:17]
        if resident_id_check_char(head) != candidate[17].upper():
            return None
        return "id_number" if _valid_date(int(head[6:10]), int(head[10:12]), int(head[12:14])) else None
    if len(candidate) == 15:
        ok = _valid_date(1900 + int(candidate[6:8]), int(candidate[8:10]), int(candidate[10:12]))
        return "id_number" if ok else None
    return "mobile"


def may_hold_numbers(text: str) -> bool:
    """Whether `text` has a run of 11 digits (an ID or mobile number needs one); most text has none."""
    return _DIGIT_RUN.search(text) is not None


def scan_counts(
    text: str, id_rule: MaskRule | None, mobile_rule: MaskRule | None, keys: KeyProvider | None = None
) -> tuple[str, int, int]:
    """`text` with every resident ID and mobile number in it masked, and how many of each were."""
    if _DIGIT_RUN.search(text) is None:
        return text, 0, 0
    found = {"id_number": 0, "mobile": 0}

    def masked(match: re.Match[str]) -> str:
        candidate = match.group(0)
        kind = _kind_of(candidate)
        if kind is None:
            return candidate
        found[kind] += 1
        return apply_rule(id_rule if kind == "id_number" else mobile_rule, candidate, keys)

    out = _CANDIDATE.sub(masked, text)
    return out, found["id_number"], found["mobile"]


def scan(
    text: str, id_rule: MaskRule | None, mobile_rule: MaskRule | None, keys: KeyProvider | None = None
) -> tuple[str, int]:
    """`text` with every resident ID and mobile number in it masked, and how many were."""
    out, ids, mobiles = scan_counts(text, id_rule, mobile_rule, keys)
    return out, ids + mobiles
