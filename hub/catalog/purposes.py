"""Purposes of an authorisation (授权用途) and the caps each puts on a grant.

An entity authorises a bank or an association to read its data for one stated purpose (PIPL:
purpose limitation and minimum necessity; Shanghai Art. 17, Shenzhen Art. 44: a party's non-public
information only with its written authorisation). Each purpose of hub/catalog/purposes.yaml says
who may ask for it, for how long at most, how many reads a day and in all, and which data items it
may cover at which field tier:

- `supervision`: the entity's classification and measures in any domain (分级分类结果, ratings);
- `classification`: the history of its classification (分类变更记录);
- `records.<record type>`: the archive's records of one type of the record catalogue.

A tier is `masked` (personal fields masked or withheld, as the masking policy says) or `full`
(every field the purpose lets leave). A grant asks for items and tiers within these caps; anything
beyond them is refused with a code naming the cap (hub/consents/service.py).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from hub.catalog.values import text_at, unknown_key

Tier = Literal["masked", "full"]
TIERS: tuple[Tier, ...] = ("masked", "full")  # in increasing depth
SUPERVISION, CLASSIFICATION, RECORDS = "supervision", "classification", "records."
REQUESTER_ROLES: tuple[str, ...] = ("bank", "association")

_CODE_RE = re.compile(r"[a-z][a-z0-9_]*")
_KEYS = frozenset(
    {
        *("code", "name_zh", "name", "basis", "requester_roles"),
        *("max_validity_days", "reads_per_day", "reads_total", "items"),
    }
)


class PurposeError(ValueError):
    """A purpose definition is invalid; the message says where and why."""


def deeper(a: Tier, b: Tier) -> bool:
    """Whether tier `a` shows more than tier `b`."""
    return TIERS.index(a) > TIERS.index(b)


def record_item(record_type: str) -> str:
    return RECORDS + record_type


@dataclass(frozen=True, slots=True)
class Purpose:
    code: str
    name_zh: str
    name: str
    basis: str
    """Where the purpose comes from (a seed's section), for people."""
    requester_roles: tuple[str, ...]
    max_validity_days: int
    reads_per_day: int
    reads_total: int
    items: Mapping[str, Tier]
    """Data item → the deepest tier a grant for this purpose may give it."""

    @classmethod
    def from_mapping(cls, data: Any, record_types: Collection[str] | None = None) -> Purpose:
        """Build and check a purpose; with `record_types`, every `records.` item must name one of them."""
        if not isinstance(data, Mapping):
            raise PurposeError("a purpose must be a mapping")
        code = data.get("code")
        if not isinstance(code, str) or not _CODE_RE.fullmatch(code) or len(code) > 60:
            raise PurposeError(f"purpose code {code!r} must be lower-case letters, digits and _")
        where = f"purpose {code!r}"
        unknown = unknown_key(data, _KEYS)
        if unknown is not None:
            raise PurposeError(f"{where}: unknown key {unknown!r}")
        texts = {}
        for key in ("name_zh", "name", "basis"):
            value = text_at(data, key)
            if value is None:
                raise PurposeError(f"{where}: {key!r} must be a non-empty string")
            texts[key] = value
        roles = data.get("requester_roles")
        if not isinstance(roles, list) or not roles:
            raise PurposeError(f"{where}: 'requester_roles' must list at least one role")
        for role in roles:
            if role not in REQUESTER_ROLES:
                raise PurposeError(
                    f"{where}: requester role {role!r} is not one of {', '.join(REQUESTER_ROLES)}"
                )
        if len(set(roles)) != len(roles):
            raise PurposeError(f"{where}: 'requester_roles' lists a role twice")
        numbers = {
            key: _positive(where, data, key) for key in ("max_validity_days", "reads_per_day", "reads_total")
        }
        if numbers["reads_per_day"] > numbers["reads_total"]:
            raise PurposeError(f"{where}: reads_per_day is above reads_total")
        items = data.get("items")
        if not isinstance(items, Mapping) or not items:
            raise PurposeError(f"{where}: 'items' must map at least one data item to its deepest tier")
        checked: dict[str, Tier] = {}
        for item, tier in items.items():
            _check_item(where, item, record_types)
            if tier not in TIERS:
                raise PurposeError(f"{where}: item {item!r}: tier {tier!r} is not one of {', '.join(TIERS)}")
            checked[str(item)] = cast(Tier, tier)
        return cls(
            code=code,
            name_zh=texts["name_zh"],
            name=texts["name"],
            basis=texts["basis"],
            requester_roles=tuple(roles),
            max_validity_days=numbers["max_validity_days"],
            reads_per_day=numbers["reads_per_day"],
            reads_total=numbers["reads_total"],
            items=dict(sorted(checked.items())),
        )

    def to_mapping(self) -> dict[str, Any]:
        """JSON-compatible; round-trips through from_mapping."""
        return {
            "code": self.code,
            "name_zh": self.name_zh,
            "name": self.name,
            "basis": self.basis,
            "requester_roles": list(self.requester_roles),
            "max_validity_days": self.max_validity_days,
            "reads_per_day": self.reads_per_day,
            "reads_total": self.reads_total,
            "items": dict(self.items),
        }


def _positive(where: str, data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise PurposeError(f"{where}: {key!r} must be a whole number of at least 1, got {value!r}")
    return value


def _check_item(where: str, item: object, record_types: Collection[str] | None) -> None:
    if item in (SUPERVISION, CLASSIFICATION):
        return
    if isinstance(item, str) and item.startswith(RECORDS):
        record_type = item[len(RECORDS) :]
        if record_types is None and _CODE_RE.fullmatch(record_type):
            return
        if record_types is not None and record_type in record_types:
            return
        raise PurposeError(f"{where}: item {item!r} names no record type of the catalogue")
    raise PurposeError(
        f"{where}: unknown data item {item!r} (supervision, classification or records.<record type>)"
    )


def parse_purposes(document: Any, record_types: Collection[str] | None = None) -> dict[str, Purpose]:
    """The purposes of a purposes.yaml document (`purposes:` a list), by code."""
    if not isinstance(document, Mapping) or unknown_key(document, {"purposes"}) is not None:
        raise PurposeError("the purposes document is a mapping with one key, 'purposes'")
    entries = document.get("purposes")
    if not isinstance(entries, list) or not entries:
        raise PurposeError("'purposes' must list at least one purpose")
    out: dict[str, Purpose] = {}
    for entry in entries:
        purpose = Purpose.from_mapping(entry, record_types)
        if purpose.code in out:
            raise PurposeError(f"purpose {purpose.code!r} is defined twice")
        out[purpose.code] = purpose
    return out
