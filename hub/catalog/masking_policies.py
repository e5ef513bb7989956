"""Masking policies (脱敏策略): what of an entity's data leaves to a third party, field by field.

Policy as data (house rule 8): the default ships as hub/catalog/masking_policy.yaml, is loaded into
the database and versioned there, and the credit office amends it through the API. This module
holds the typed, immutable policy and its parser, which refuses a broken body with a
`MaskingPolicyError` naming the field (e.g. `decisions[2].rule`). hub.disclosure applies it.

A document has four parts:
- `rules`: named masking rules, each a mask kind with its parameters (`MASK_KINDS`):
  `id_number: {mask: keep_ends, first: 6, last: 4}`.
- `classes`: which record fields hold which kind of personal data, by catalogue field name or by
  field type: `id_number: {types: [id_number]}`, `mobile: {fields: [LXDH]}`.
- `decisions`: an ordered list; the first that matches a (role, tier, item, record type, field)
  decides: shown, masked by a named rule, or withheld, with its reason. A decision matches on
  `roles` and `tiers` (required; tier `none` is a read without an authorisation, `masked` and
  `full` an authorisation's field tier) and, when given, `items`, `record_types`, `fields`,
  `classes` and `sensitivities` (the catalogue's `public`/`restricted`/`personal`). When none
  matches, the role rules (hub.disclosure.policy.RolePolicy) decide as before.
- `free_text`: for which roles which fields (by type and sensitivity) are scanned for resident ID
  numbers and mobile numbers, and the rules that mask what is found.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hub.catalog.values import text_at, unknown_key

KIND_MASKING_POLICY = "masking_policy"
MASKING_POLICY_CODE = "default"

# Mask kinds and their parameters (name → (type, required)). hub.disclosure.masks implements each.
MASK_KINDS: dict[str, dict[str, tuple[type, bool]]] = {
    # Keep the first n and last m characters, the rest as "*" (ID numbers 6+4 or 3+4, mobiles 3+4).
    "keep_ends": {"first": (int, True), "last": (int, True)},
    # Mask the characters at positions start..end (1-based, inclusive).
    "mask_range": {"start": (int, True), "end": (int, True)},
    # A Chinese name's first character (张三 → 张*).
    "first_character": {},
    # An address cut to its district (省/市/区/县/旗 …): 黑龙江省哈尔滨市南岗区学府路52号 → 黑龙江省哈尔滨市南岗区.
    "district": {},
    # An amount as the band it falls in: bounds ascending, e.g. [10, 100] → "<10", "10-100", "≥100".
    "amount_band": {"bounds": (list, True)},
    # A keyed hash (HMAC-SHA256 under the hub's masking key): equal values stay equal, none is revealed.
    "keyed_hash": {"length": (int, False)},
    # Nothing of the value, only as many "*" as it has characters (at most 8).
    "everything": {},
}
DECISIONS = ("shown", "masked", "withheld")
TIERS = ("none", "masked", "full")
ROLES = ("credit_office", "department", "province", "bank", "association", "entity", "public")
ITEMS = ("record", "entity", "push_answer", "message")
SENSITIVITIES = ("public", "restricted", "personal")


class MaskingPolicyError(ValueError):
    """A masking policy is invalid; the message names the field and what is wrong."""


@dataclass(frozen=True, slots=True)
class MaskRule:
    """A named masking rule: its mask kind and parameters."""

    name: str
    mask: str
    params: tuple[tuple[str, Any], ...] = ()

    def param(self, key: str, default: Any = None) -> Any:
        return dict(self.params).get(key, default)

    def to_mapping(self) -> dict[str, Any]:
        return {"mask": self.mask, **{k: list(v) if isinstance(v, tuple) else v for k, v in self.params}}


@dataclass(frozen=True, slots=True)
class FieldClass:
    """A kind of personal data and the record fields that hold it (by name or by type)."""

    name: str
    fields: frozenset[str] = frozenset()
    types: frozenset[str] = frozenset()

    def holds(self, field: str, field_type: str | None) -> bool:
        return field in self.fields or (field_type is not None and field_type in self.types)


@dataclass(frozen=True, slots=True)
class MaskDecision:
    roles: frozenset[str]
    tiers: frozenset[str]
    decision: str
    reason: str
    rule: str | None = None
    items: frozenset[str] = frozenset({"record"})
    record_types: frozenset[str] | None = None
    fields: frozenset[str] | None = None
    classes: frozenset[str] | None = None
    sensitivities: frozenset[str] | None = None

    def to_mapping(self) -> dict[str, Any]:
        out: dict[str, Any] = {"roles": sorted(self.roles), "tiers": sorted(self.tiers)}
        if self.items != {"record"}:
            out["items"] = sorted(self.items)
        for key in ("record_types", "fields", "classes", "sensitivities"):
            value = getattr(self, key)
            if value is not None:
                out[key] = sorted(value)
        out["decision"] = self.decision
        if self.rule is not None:
            out["rule"] = self.rule
        out["reason"] = self.reason
        return out


@dataclass(frozen=True, slots=True)
class FreeText:
    """Which shown fields are scanned for ID and mobile numbers, for whom, and how those are masked."""

    roles: frozenset[str] = frozenset()
    types: frozenset[str] = frozenset({"text"})
    sensitivities: frozenset[str] = frozenset({"public"})
    id_number_rule: str = "id_number"
    mobile_rule: str = "mobile"

    def to_mapping(self) -> dict[str, Any]:
        return {
            "roles": sorted(self.roles),
            "types": sorted(self.types),
            "sensitivities": sorted(self.sensitivities),
            "id_number_rule": self.id_number_rule,
            "mobile_rule": self.mobile_rule,
        }


@dataclass(frozen=True)
class MaskingPolicy:
    code: str
    title_zh: str
    rules: Mapping[str, MaskRule]
    classes: Mapping[str, FieldClass]
    decisions: tuple[MaskDecision, ...]
    free_text: FreeText

    def decide(
        self,
        role: str,
        tier: str | None,
        item: str,
        record_type: str | None,
        field: str,
        field_type: str | None,
        sensitivity: str | None,
    ) -> MaskDecision | None:
        """The first decision that matches, or None (the role rules decide)."""
        tier_name = tier or "none"
        for d in self.decisions:
            if role not in d.roles or tier_name not in d.tiers or item not in d.items:
                continue
            if d.record_types is not None and (record_type is None or record_type not in d.record_types):
                continue
            if d.fields is not None and field not in d.fields:
                continue
            if d.sensitivities is not None and (sensitivity is None or sensitivity not in d.sensitivities):
                continue
            if d.classes is not None and not any(
                self.classes[c].holds(field, field_type) for c in d.classes if c in self.classes
            ):
                continue
            return d
        return None

    def scans(self, role: str, field_type: str | None, sensitivity: str | None) -> bool:
        """Whether a shown field of this type and sensitivity is scanned for ID and mobile numbers."""
        f = self.free_text
        return role in f.roles and field_type in f.types and sensitivity in f.sensitivities

    def to_mapping(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "title_zh": self.title_zh,
            "rules": {name: r.to_mapping() for name, r in self.rules.items()},
            "classes": {
                name: {
                    **({"fields": sorted(c.fields)} if c.fields else {}),
                    **({"types": sorted(c.types)} if c.types else {}),
                }
                for name, c in self.classes.items()
            },
            "decisions": [d.to_mapping() for d in self.decisions],
            "free_text": self.free_text.to_mapping(),
        }

    @classmethod
    def from_mapping(cls, body: Mapping[str, Any]) -> MaskingPolicy:
        return _parse(body)


def _fail(where: str, problem: str) -> MaskingPolicyError:
    return MaskingPolicyError(f"{where}: {problem}")


def _mapping(where: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(where, "must be a mapping")
    return value


def _names(where: str, value: Any, allowed: Sequence[str] | None = None) -> frozenset[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise _fail(where, "must be a non-empty list of names")
    if allowed is not None:
        for v in value:
            if v not in allowed:
                raise _fail(where, f"unknown value {v!r} (one of {', '.join(allowed)})")
    return frozenset(value)


def _rule(name: str, data: Any) -> MaskRule:
    where = f"rules.{name}"
    data = _mapping(where, data)
    mask = data.get("mask")
    if mask not in MASK_KINDS:
        raise _fail(f"{where}.mask", f"unknown mask {mask!r} (one of {', '.join(MASK_KINDS)})")
    spec = MASK_KINDS[mask]
    unknown = unknown_key(data, ("mask", *spec))
    if unknown is not None:
        raise _fail(f"{where}.{unknown}", f"not a parameter of {mask}")
    params: list[tuple[str, Any]] = []
    for key, (kind, required) in spec.items():
        if key not in data:
            if required:
                raise _fail(f"{where}.{key}", "missing")
            continue
        value = data[key]
        if kind is int and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise _fail(f"{where}.{key}", "must be a whole number ≥ 0")
        if kind is list:
            if not isinstance(value, list) or not value:
                raise _fail(f"{where}.{key}", "must be a non-empty list of numbers")
            if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
                raise _fail(f"{where}.{key}", "must be a non-empty list of numbers")
            if any(a >= b for a, b in itertools.pairwise(value)):
                raise _fail(f"{where}.{key}", "must be strictly ascending")
            value = tuple(value)
        params.append((key, value))
    found = dict(params)
    if mask == "mask_range" and not 1 <= found["start"] <= found["end"]:
        raise _fail(f"{where}.end", "the range must satisfy 1 ≤ start ≤ end")
    if mask == "keyed_hash" and "length" in found and not 8 <= found["length"] <= 64:
        raise _fail(f"{where}.length", "must be between 8 and 64 hex digits")
    return MaskRule(name, str(mask), tuple(params))


def _class(name: str, data: Any) -> FieldClass:
    where = f"classes.{name}"
    data = _mapping(where, data)
    unknown = unknown_key(data, ("fields", "types"))
    if unknown is not None:
        raise _fail(f"{where}.{unknown}", "unknown key (fields, types)")
    if not data:
        raise _fail(where, "names no fields and no types")
    fields = _names(f"{where}.fields", data["fields"]) if "fields" in data else frozenset()
    types = _names(f"{where}.types", data["types"]) if "types" in data else frozenset()
    return FieldClass(name, fields, types)


_DECISION_KEYS = (
    "roles",
    "tiers",
    "items",
    "record_types",
    "fields",
    "classes",
    "sensitivities",
    "decision",
    "rule",
    "reason",
)


def _decision(i: int, data: Any, rules: Mapping[str, MaskRule], classes: Mapping[str, Any]) -> MaskDecision:
    where = f"decisions[{i}]"
    data = _mapping(where, data)
    unknown = unknown_key(data, _DECISION_KEYS)
    if unknown is not None:
        raise _fail(f"{where}.{unknown}", "unknown key")
    for key in ("roles", "tiers", "decision", "reason"):
        if key not in data:
            raise _fail(f"{where}.{key}", "missing")
    decision = data["decision"]
    if decision not in DECISIONS:
        raise _fail(f"{where}.decision", f"unknown decision {decision!r} (one of {', '.join(DECISIONS)})")
    reason = text_at(data, "reason")
    if reason is None:
        raise _fail(f"{where}.reason", "must be a non-blank text")
    rule = data.get("rule")
    if decision == "masked":
        if not isinstance(rule, str) or rule not in rules:
            raise _fail(f"{where}.rule", f"names no rule of this policy: {rule!r}")
    elif rule is not None:
        raise _fail(f"{where}.rule", f"only a masked decision names a rule (this one is {decision})")
    chosen_classes = _names(f"{where}.classes", data["classes"]) if "classes" in data else None
    for c in chosen_classes or ():
        if c not in classes:
            raise _fail(f"{where}.classes", f"names no class of this policy: {c!r}")
    return MaskDecision(
        roles=_names(f"{where}.roles", data["roles"], ROLES),
        tiers=_names(f"{where}.tiers", data["tiers"], TIERS),
        decision=decision,
        reason=reason,
        rule=rule,
        items=_names(f"{where}.items", data["items"], ITEMS) if "items" in data else frozenset({"record"}),
        record_types=_names(f"{where}.record_types", data["record_types"])
        if "record_types" in data
        else None,
        fields=_names(f"{where}.fields", data["fields"]) if "fields" in data else None,
        classes=chosen_classes,
        sensitivities=(
            _names(f"{where}.sensitivities", data["sensitivities"], SENSITIVITIES)
            if "sensitivities" in data
            else None
        ),
    )


def _free_text(data: Any, rules: Mapping[str, MaskRule]) -> FreeText:
    where = "free_text"
    data = _mapping(where, data)
    unknown = unknown_key(data, ("roles", "types", "sensitivities", "id_number_rule", "mobile_rule"))
    if unknown is not None:
        raise _fail(f"{where}.{unknown}", "unknown key")
    for key in ("id_number_rule", "mobile_rule"):
        if key not in data:
            raise _fail(f"{where}.{key}", "missing")
        if data[key] not in rules:
            raise _fail(f"{where}.{key}", f"names no rule of this policy: {data[key]!r}")
    return FreeText(
        roles=_names(f"{where}.roles", data["roles"], ROLES) if "roles" in data else frozenset(),
        types=_names(f"{where}.types", data["types"]) if "types" in data else frozenset({"text"}),
        sensitivities=(
            _names(f"{where}.sensitivities", data["sensitivities"], SENSITIVITIES)
            if "sensitivities" in data
            else frozenset({"public"})
        ),
        id_number_rule=data["id_number_rule"],
        mobile_rule=data["mobile_rule"],
    )


def _parse(body: Mapping[str, Any]) -> MaskingPolicy:
    body = _mapping("masking policy", body)
    unknown = unknown_key(body, ("code", "title_zh", "rules", "classes", "decisions", "free_text", "version"))
    if unknown is not None:
        raise _fail(unknown, "unknown key (code, title_zh, rules, classes, decisions, free_text)")
    code = text_at(body, "code")
    if code is None:
        raise _fail("code", "missing")
    for key in ("rules", "classes", "decisions", "free_text"):
        if key not in body:
            raise _fail(key, "missing")
    rules = {str(name): _rule(str(name), data) for name, data in _mapping("rules", body["rules"]).items()}
    classes = {str(n): _class(str(n), data) for n, data in _mapping("classes", body["classes"]).items()}
    raw = body["decisions"]
    if not isinstance(raw, list):
        raise _fail("decisions", "must be a list")
    decisions = tuple(_decision(i, d, rules, classes) for i, d in enumerate(raw))
    return MaskingPolicy(
        code=code,
        title_zh=text_at(body, "title_zh") or "",
        rules=rules,
        classes=classes,
        decisions=decisions,
        free_text=_free_text(body["free_text"], rules),
    )
