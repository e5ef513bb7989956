"""Time limits and rules of an entity's rights (异议处理与信用修复): policy data, per place.

Deadlines differ by place (seed 001, Heilongjiang: objections within 7 working days; seed 002,
Shandong: 5), so they are profiles of one document (``hub/catalog/rights.yaml``, kind
``rights_profile``); the document names the profile in force, and the credit office changes either by
storing a new version. Every objection and repair application names the document version it was
timed with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from hub.catalog.values import unknown_key

__all__ = ["RightsPolicy", "TimeLimits"]

RIGHTS_CODE = "rights"


@dataclass(frozen=True, slots=True)
class TimeLimits:
    """One place's time limits, in working days (State Council calendar, with make-up days)."""

    code: str
    title_zh: str
    basis: str
    objection_decision_days: int
    """An objection is decided within this many working days of its receipt (异议处理时限)."""
    attention_share: Decimal
    """The credit office sees a case once this share of its time limit has passed (e.g. 0.8)."""
    repair_decision_days: int
    """The authority decides a repair application within this many (State Council 2025 No. 22: 3)."""
    repair_answer_days: int
    """The applicant has an answer within this many (State Council 2025 No. 22: 10)."""
    repair_report_days: int
    """A completed repair is reported upstream within this many (seed 002 §二(六): 2)."""


@dataclass(frozen=True, slots=True)
class RightsPolicy:
    in_force: TimeLimits
    profiles: Mapping[str, TimeLimits]
    negative_record_types: frozenset[str]
    """Dishonesty information (失信信息): the records credit repair and shielding (暂时屏蔽) concern."""
    evidence_items: int
    """At most this many pieces of evidence per objection or application."""

    @classmethod
    def from_mapping(cls, body: Mapping[str, Any]) -> RightsPolicy:
        where = "rights_profile"
        unknown = unknown_key(body, ("in_force", "profiles", "negative_record_types", "evidence_items"))
        if unknown:
            raise ValueError(f"{where}: unknown key {unknown!r}")
        raw = body.get("profiles")
        if not isinstance(raw, Mapping) or not raw:
            raise ValueError(f"{where}: 'profiles' must map profile codes to time limits")
        profiles = {str(code): _limits(str(code), value) for code, value in raw.items()}
        chosen = body.get("in_force")
        if chosen not in profiles:
            raise ValueError(f"{where}: 'in_force' must name one of the profiles {sorted(profiles)}")
        types = body.get("negative_record_types")
        if not isinstance(types, list) or not types or not all(isinstance(t, str) and t for t in types):
            raise ValueError(f"{where}: 'negative_record_types' must be a list of record type codes")
        items = body.get("evidence_items")
        if isinstance(items, bool) or not isinstance(items, int) or not 1 <= items <= 20:
            raise ValueError(f"{where}: 'evidence_items' must be a whole number from 1 to 20")
        return cls(profiles[str(chosen)], profiles, frozenset(types), items)


_DAY_KEYS = ("objection_decision_days", "repair_decision_days", "repair_answer_days", "repair_report_days")


def _limits(code: str, value: object) -> TimeLimits:
    where = f"rights_profile: profile {code}"
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: must be a mapping")
    unknown = unknown_key(value, ("title_zh", "basis", "attention_share", *_DAY_KEYS))
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown!r}")
    days: dict[str, int] = {}
    for key in _DAY_KEYS:
        n = value.get(key)
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 60:
            raise ValueError(f"{where}: {key} must be a whole number of working days from 1 to 60")
        days[key] = n
    try:
        share = Decimal(str(value.get("attention_share")))
    except InvalidOperation:
        share = Decimal(-1)
    if not Decimal(0) < share <= Decimal(1):
        raise ValueError(f"{where}: attention_share must be a fraction above 0 and at most 1")
    texts = {k: value.get(k) for k in ("title_zh", "basis")}
    for key, text in texts.items():
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{where}: {key} must be a text")
    return TimeLimits(
        code=code,
        title_zh=str(texts["title_zh"]),
        basis=str(texts["basis"]),
        attention_share=share,
        **days,
    )
