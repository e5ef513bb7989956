"""Grading schemes: the levels a department (or the province) grades market entities into, and the
four categories of the tiered classification each level falls in (seed 001 §三(一)1).

Policy is data: the schemes ship as YAML under hub/catalog/schemes/ (one file per scheme, named
after its code), are loaded into the database and versioned there. This module turns a mapping
(parsed YAML or a row's JSON) into typed, immutable definitions and refuses a broken one with a
`SchemeError` that names the scheme, the level and what is wrong.

Score bands: a level may carry `min_score` (inclusive, None = no lower bound) and `max_score`
(exclusive, None = no upper bound). A level without either is assigned by rule, never by score
(tax credit M: new enterprises or no income). `grade_for_score` grades over the banded levels
only, so it works for a scheme that mixes both (tax credit); it raises for a scheme without bands.
The bands must not overlap and must leave no gap between the lowest and the highest; a score
outside them has no grade (catering food safety below 60). Levels are listed best first: their
categories never get less severe down the list, and banded levels run from the highest band down.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from importlib import resources
from importlib.abc import Traversable
from typing import Any

import yaml

from hub.catalog.values import as_date, text_at, unknown_key


class Category(StrEnum):
    """The four categories of the tiered classification (seed 001 §三(一)1), best first."""

    TRUSTWORTHY = "trustworthy"
    MINOR = "minor"
    GENERAL = "general"
    SERIOUS = "serious"

    @property
    def label_zh(self) -> str:
        return _CATEGORY_LABELS[self]


_CATEGORY_LABELS: Mapping[Category, str] = {
    Category.TRUSTWORTHY: "诚信守法",
    Category.MINOR: "轻微失信",
    Category.GENERAL: "一般失信",
    Category.SERIOUS: "严重失信",
}
CATEGORIES: tuple[Category, ...] = tuple(Category)


def severity_rank(category: Category) -> int:
    """0 for trustworthy up to 3 for serious."""
    return CATEGORIES.index(category)


class SchemeError(ValueError):
    """A grading scheme definition is invalid; the message says where and why."""


_SCHEME_CODE_RE = re.compile(r"[a-z][a-z0-9_]*")
_LEVEL_CODE_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_SCHEME_KEYS = frozenset({"code", "title", "title_zh", "issuer", "valid_from", "valid_to", "levels"})
_LEVEL_KEYS = frozenset({"code", "label_zh", "category", "min_score", "max_score", "description"})


@dataclass(frozen=True, slots=True)
class Level:
    code: str
    label_zh: str
    category: Category
    min_score: Decimal | None
    """Inclusive lower bound of the score band; None: no lower bound (or no band at all)."""
    max_score: Decimal | None
    """Exclusive upper bound of the score band; None: no upper bound (or no band at all)."""
    description: str

    @property
    def banded(self) -> bool:
        return self.min_score is not None or self.max_score is not None

    def contains(self, score: Decimal) -> bool:
        """True when the score falls in this level's band (False for a level without one)."""
        if not self.banded:
            return False
        return (self.min_score is None or score >= self.min_score) and (
            self.max_score is None or score < self.max_score
        )

    def to_mapping(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "label_zh": self.label_zh,
            "category": self.category.value,
            "min_score": _decimal_out(self.min_score),
            "max_score": _decimal_out(self.max_score),
            "description": self.description,
        }


@dataclass(frozen=True, slots=True)
class GradingScheme:
    code: str
    title: str
    title_zh: str
    issuer: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    levels: tuple[Level, ...]
    _by_code: Mapping[str, Level] = dc_field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_code", {lv.code: lv for lv in self.levels})

    def level(self, code: str) -> Level | None:
        return self._by_code.get(code)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(lv.code for lv in self.levels)

    @property
    def score_based(self) -> bool:
        """Every level has a score band (tax credit is not: M is assigned by rule)."""
        return all(lv.banded for lv in self.levels)

    @property
    def banded_levels(self) -> tuple[Level, ...]:
        return tuple(lv for lv in self.levels if lv.banded)

    def grade_for_score(self, score: Decimal) -> Level:
        """The level whose band holds the score; levels without a band are never returned.

        Raises ValueError when the scheme has no score bands or the score lies outside them.
        """
        banded = self.banded_levels
        if not banded:
            raise ValueError(f"scheme {self.code!r} has no score bands: its levels are assigned by rule")
        if not score.is_finite():
            raise ValueError(f"scheme {self.code!r}: score {score} is not a finite number")
        for lv in banded:
            if lv.contains(score):
                return lv
        raise ValueError(f"scheme {self.code!r}: score {score} lies outside every band, so it has no grade")

    def category_of(self, code: str) -> Category:
        lv = self._by_code.get(code)
        if lv is None:
            raise KeyError(f"scheme {self.code!r} has no level {code!r} (one of {', '.join(self.codes)})")
        return lv.category

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> GradingScheme:
        """Build and check a scheme; raises SchemeError naming what is wrong."""
        return _parse_scheme(data)

    def to_mapping(self) -> dict[str, Any]:
        """JSON-compatible (dates as ISO strings, scores as decimal strings); round-trips."""
        return {
            "code": self.code,
            "title": self.title,
            "title_zh": self.title_zh,
            "issuer": self.issuer,
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
            "levels": [lv.to_mapping() for lv in self.levels],
        }


def load_schemes(folder: Traversable) -> dict[str, GradingScheme]:
    """The schemes in a folder of `<code>.yaml` files, by code."""
    out: dict[str, GradingScheme] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        try:
            data = yaml.safe_load(entry.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise SchemeError(f"{entry.name}: not valid YAML: {exc}") from None
        try:
            scheme = GradingScheme.from_mapping(data)
        except SchemeError as exc:
            raise SchemeError(f"{entry.name}: {exc}") from None
        if f"{scheme.code}.yaml" != entry.name:
            raise SchemeError(f"{entry.name}: scheme code {scheme.code!r} does not match the file name")
        out[scheme.code] = scheme
    return out


def load_bundled_schemes() -> dict[str, GradingScheme]:
    """The schemes shipped in hub/catalog/schemes/, by code."""
    return load_schemes(resources.files("hub").joinpath("catalog", "schemes"))


# --- parsing -------------------------------------------------------------------------------------


def _decimal_out(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _text(where: str, data: Mapping[str, Any], key: str) -> str:
    value = text_at(data, key)
    if value is None:
        raise SchemeError(f"{where}: {key!r} must be a non-empty string")
    return value


def _score(where: str, data: Mapping[str, Any], key: str) -> Decimal | None:
    raw = data.get(key)
    if raw is None:
        return None
    try:
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise InvalidOperation
        value = Decimal(str(raw))
    except InvalidOperation:
        raise SchemeError(f"{where}: {key!r} must be a number or a decimal string") from None
    if not value.is_finite():
        raise SchemeError(f"{where}: {key!r} must be finite")
    return value


def _date(where: str, data: Mapping[str, Any], key: str) -> dt.date | None:
    raw = data.get(key)
    if raw is None:
        return None
    if isinstance(raw, dt.datetime):
        raise SchemeError(f"{where}: {key!r} must be a date, not a date and time")
    value = as_date(raw)
    if value is None:
        raise SchemeError(f"{where}: {key!r} must be an ISO date (YYYY-MM-DD)")
    return value


def _parse_level(where: str, data: Any) -> Level:
    if not isinstance(data, Mapping):
        raise SchemeError(f"{where}: each level must be a mapping")
    code = data.get("code")
    if not isinstance(code, str) or not _LEVEL_CODE_RE.fullmatch(code):
        raise SchemeError(f"{where}: level code {code!r} must be letters, digits and _")
    where = f"{where} {code}"
    unknown = unknown_key(data, _LEVEL_KEYS)
    if unknown is not None:
        raise SchemeError(f"{where}: unknown key {unknown!r}")
    category = data.get("category")
    if category not in CATEGORIES:
        raise SchemeError(f"{where}: unknown category {category!r} (one of {', '.join(CATEGORIES)})")
    low, high = _score(where, data, "min_score"), _score(where, data, "max_score")
    if low is not None and high is not None and low >= high:
        raise SchemeError(f"{where}: min_score {low} must be below max_score {high}")
    return Level(
        code=code,
        label_zh=_text(where, data, "label_zh"),
        category=Category(category),
        min_score=low,
        max_score=high,
        description=_text(where, data, "description"),
    )


def _check_order(where: str, levels: tuple[Level, ...]) -> None:
    """Best first: categories never get less severe, banded levels run from the highest band down."""
    for before, after in itertools.pairwise(levels):
        if severity_rank(after.category) < severity_rank(before.category):
            raise SchemeError(
                f"{where}: levels must be listed best first, but {after.code!r} ({after.category}) "
                f"follows {before.code!r} ({before.category})"
            )
    banded = [lv for lv in levels if lv.banded]
    low_first = sorted(banded, key=lambda lv: (lv.min_score is not None, lv.min_score or Decimal(0)))
    for lower, upper in itertools.pairwise(low_first):
        if lower.max_score is None or upper.min_score is None or lower.max_score > upper.min_score:
            raise SchemeError(f"{where}: the score bands of {lower.code!r} and {upper.code!r} overlap")
        if lower.max_score < upper.min_score:
            raise SchemeError(
                f"{where}: no level covers scores from {lower.max_score} to {upper.min_score} "
                f"(between {lower.code!r} and {upper.code!r})"
            )
    if banded != low_first[::-1]:
        order = ", ".join(lv.code for lv in low_first[::-1])
        raise SchemeError(
            f"{where}: levels with score bands must be listed from the highest band down ({order})"
        )


def _parse_scheme(data: Any) -> GradingScheme:
    if not isinstance(data, Mapping):
        raise SchemeError("a grading scheme definition must be a mapping")
    code = data.get("code")
    if not isinstance(code, str) or not _SCHEME_CODE_RE.fullmatch(code):
        raise SchemeError(f"scheme code {code!r} must be lower-case letters, digits and _")
    where = f"scheme {code!r}"
    unknown = unknown_key(data, _SCHEME_KEYS)
    if unknown is not None:
        raise SchemeError(f"{where}: unknown key {unknown!r}")
    valid_from, valid_to = _date(where, data, "valid_from"), _date(where, data, "valid_to")
    if valid_from is not None and valid_to is not None and valid_to < valid_from:
        raise SchemeError(f"{where}: valid_to {valid_to} is before valid_from {valid_from}")
    raw_levels = data.get("levels")
    if not isinstance(raw_levels, Sequence) or isinstance(raw_levels, str) or not raw_levels:
        raise SchemeError(f"{where}: 'levels' must be a non-empty list")
    levels = tuple(_parse_level(f"{where}, level", lv) for lv in raw_levels)
    seen: set[str] = set()
    for lv in levels:
        if lv.code in seen:
            raise SchemeError(f"{where}: duplicate level code {lv.code!r}")
        seen.add(lv.code)
    _check_order(where, levels)
    return GradingScheme(
        code=code,
        title=_text(where, data, "title"),
        title_zh=_text(where, data, "title_zh"),
        issuer=_text(where, data, "issuer"),
        valid_from=valid_from,
        valid_to=valid_to,
        levels=levels,
    )
