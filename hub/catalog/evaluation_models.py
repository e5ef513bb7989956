"""Industry credit evaluation models (行业信用评价模型): a department's indicators for one of its domains.

Seed 001 §三(一)3: each department builds its indicator system on top of the public comprehensive
evaluation (公共信用综合评价结果), whose weight and score may not be below the average indicator weight
and score. A model is policy data: stored as a catalogue document (kind "evaluation_model", code = the
domain), one new version per change, so every result names the model version it used.

Conventions (what the API documents):
- Weights are fractions of 1, each above 0 with at most 4 decimals, summing to exactly 1
  (0.3333 + 0.3333 + 0.3334, never 1/3 three times).
- Each indicator's value lies in [min, max] (both inclusive) and is normalised to 0-100 points:
  points = (value - min) / (max - min) x 100. The score is the weighted mean of the points of the
  indicators given: score = sum(weight x points) / sum(weight). Every required indicator is always
  given, so the divisor is 1 unless an optional indicator (one that does not apply to every entity)
  is left empty, in which case its weight is shared among the others in proportion. The score is
  rounded to 2 decimals (half up) and lies in 0-100, the scale of the score-based schemes' bands.
- The public indicator cannot be optional, and its weight must be at least the average weight
  1/n of the n indicators. Its largest contribution (分值) is weight x 100 points, so the one rule
  covers "权重和分值"; leaving an optional indicator empty only raises its share.
- Period: the period the evaluation applies to, "YYYY", "YYYY-H1|H2", "YYYY-Q1..Q4" or "YYYY-MM";
  a result is valid until the period's last day (有效期至).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from hub.catalog.values import unknown_key
from hub.entities.codes import normalise, uscc_problem

KIND_EVALUATION_MODEL = "evaluation_model"
MAX_INDICATORS = 50
WEIGHT_PLACES = 4
RULE_ZH = "公共信用综合评价结果的权重和分值不低于各项指标的平均权重和分值"
USCC_COLUMN = "USCC"

_CODE_RE = re.compile(r"[A-Z][A-Z0-9_]{0,39}")
_PERIOD_RE = re.compile(r"(20\d\d)(?:-(H[12]|Q[1-4]|0[1-9]|1[0-2]))?")
_NUMBER_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_MODEL_KEYS = frozenset({"domain", "period", "title_zh", "public_indicator", "indicators"})
_INDICATOR_KEYS = frozenset({"code", "label_zh", "weight", "min", "max", "optional"})


class ModelError(ValueError):
    """A model or a row of values breaks a rule: machine `code`, input `path` and a message."""

    def __init__(self, code: str, path: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.path = path
        self.message = message


def period_end(period: str) -> dt.date:
    """The last day of a period; raises ModelError for an unknown form."""
    match = _PERIOD_RE.fullmatch(period)
    if match is None:
        raise ModelError(
            "PERIOD_INVALID", "period", f"period {period!r} must be YYYY, YYYY-H1/H2, YYYY-Q1..Q4 or YYYY-MM"
        )
    year, part = int(match[1]), match[2]
    if part is None:
        month = 12
    elif part[0] == "H":
        month = 6 * int(part[1])
    elif part[0] == "Q":
        month = 3 * int(part[1])
    else:
        month = int(part)
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def decimal_of(raw: Any) -> Decimal | None:
    """A plain decimal (no exponent, no separators) from a string or a JSON number; None if not one."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        return Decimal(repr(raw)) if raw == raw and abs(raw) != float("inf") else None
    if isinstance(raw, Decimal):
        return raw if raw.is_finite() else None
    if isinstance(raw, str) and _NUMBER_RE.fullmatch(raw.strip()):
        try:
            return Decimal(raw.strip())
        except InvalidOperation:
            return None
    return None


def plain(value: Decimal) -> str:
    """Canonical text of a decimal: no exponent, no trailing zeros ("0.50" -> "0.5", "1E+2" -> "100")."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


@dataclass(frozen=True, slots=True)
class Indicator:
    code: str
    label_zh: str
    weight: Decimal
    min_value: Decimal
    max_value: Decimal
    optional: bool

    def to_mapping(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "label_zh": self.label_zh,
            "weight": plain(self.weight),
            "min": plain(self.min_value),
            "max": plain(self.max_value),
            "optional": self.optional,
        }


@dataclass(frozen=True, slots=True)
class EvaluationModel:
    domain: str
    period: str
    title_zh: str
    public_indicator: str
    indicators: tuple[Indicator, ...]

    @property
    def public(self) -> Indicator:
        return next(i for i in self.indicators if i.code == self.public_indicator)

    @property
    def valid_until(self) -> dt.date:
        return period_end(self.period)

    def indicator(self, code: str) -> Indicator | None:
        return next((i for i in self.indicators if i.code == code), None)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> EvaluationModel:
        """Build and check a model; raises ModelError naming the rule, the field and the numbers."""
        return _parse_model(data)

    def to_mapping(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "period": self.period,
            "title_zh": self.title_zh,
            "public_indicator": self.public_indicator,
            "indicators": [i.to_mapping() for i in self.indicators],
        }

    def check_header(self, cells: Sequence[str]) -> list[str]:
        """The column names of a CSV header (USCC and indicator codes, in any order), or ModelError:
        an unknown column, one given twice, USCC or a required indicator missing. The public
        indicator's column may be left out (every line then takes the public evaluation score)."""
        names = [c.strip().upper() for c in cells]
        unknown = [n for n in names if n != USCC_COLUMN and self.indicator(n) is None]
        if unknown:
            known = ", ".join(i.code for i in self.indicators)
            message = f"line 1: unknown column(s) {', '.join(unknown)}; the model's indicators are {known}"
            raise ModelError("UNKNOWN_COLUMN", "file", message)
        twice = sorted(n for n, times in Counter(names).items() if times > 1)  # linear, not names.count
        if twice:
            shown = ", ".join(twice[:10]) + (f" and {len(twice) - 10} more" if len(twice) > 10 else "")
            raise ModelError("DUPLICATE_COLUMN", "file", f"line 1: column(s) given twice: {shown}")
        needed = [USCC_COLUMN] + [
            i.code for i in self.indicators if not i.optional and i.code != self.public_indicator
        ]
        missing = [n for n in needed if n not in names]
        if missing:
            raise ModelError("MISSING_COLUMN", "file", f"line 1: column(s) missing: {', '.join(missing)}")
        return names

    def check_row(
        self, raw_uscc: str, values: Sequence[tuple[str, Any]], path_of: Callable[[str], str] = str
    ) -> tuple[str, str | None, list[tuple[str, str, str]]]:
        """Check one entity's values: (normalised USCC, values as a JSON object text or None, errors).

        `values` pairs indicator codes with raw values ("" or None: left empty). The public indicator
        may be left empty (filled later from the entity's public evaluation score); other required
        ones may not. Errors are (code, path, message); `path_of` turns a column name (USCC or an
        indicator code) into the input path.
        """
        errors: list[tuple[str, str, str]] = []
        uscc = normalise(raw_uscc or "")
        problem = uscc_problem(uscc)
        if problem is not None:
            errors.append((problem.code, path_of(USCC_COLUMN), problem.message))
        given: dict[str, str] = {}
        seen: set[str] = set()
        filled: set[str] = set()
        for code, raw in values:
            path = path_of(code)
            indicator = self.indicator(code)
            if indicator is None:
                known = ", ".join(i.code for i in self.indicators)
                errors.append(
                    ("UNKNOWN_INDICATOR", path, f"{code} is not an indicator of the model ({known})")
                )
                continue
            if code in seen:
                errors.append(("DUPLICATE_INDICATOR", path, f"{code} is given twice"))
                continue
            seen.add(code)
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                continue
            filled.add(code)
            value = decimal_of(raw)
            if value is None:
                errors.append(("NOT_A_NUMBER", path, f"{code}: {raw!r} is not a plain decimal number"))
            elif not indicator.min_value <= value <= indicator.max_value:
                low, high = plain(indicator.min_value), plain(indicator.max_value)
                errors.append(
                    ("VALUE_OUT_OF_RANGE", path, f"{code}: {plain(value)} is outside {low} to {high}")
                )
            else:
                given[code] = plain(value)
        for indicator in self.indicators:
            if indicator.optional or indicator.code == self.public_indicator or indicator.code in filled:
                continue
            errors.append(
                (
                    "MISSING_INDICATOR",
                    path_of(indicator.code),
                    f"{indicator.code} ({indicator.label_zh}) is required",
                )
            )
        if errors:
            return uscc, None, errors
        # Codes are [A-Z0-9_] and plain() gives JSON numbers: the object text needs no encoder.
        return uscc, "{" + ",".join(f'"{c}":{v}' for c, v in given.items()) + "}", errors


def _text(data: Mapping[str, Any], key: str, path: str, *, required: bool = True) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise ModelError("REQUIRED", path, f"{path} must be a non-empty string")
    return value.strip()


def _number(data: Mapping[str, Any], key: str, path: str) -> Decimal:
    value = decimal_of(data.get(key))
    if value is None:
        raise ModelError(
            "NOT_A_NUMBER", path, f"{path} must be a plain decimal number, got {data.get(key)!r}"
        )
    return value


def _parse_indicator(data: Any, path: str) -> Indicator:
    if not isinstance(data, Mapping):
        raise ModelError("INVALID", path, f"{path} must be an object")
    unknown = unknown_key(data, _INDICATOR_KEYS)
    if unknown is not None:
        raise ModelError("UNKNOWN_KEY", f"{path}.{unknown}", f"unknown key {unknown!r}")
    code = _text(data, "code", f"{path}.code")
    if not _CODE_RE.fullmatch(code):
        raise ModelError(
            "INDICATOR_CODE_INVALID",
            f"{path}.code",
            f"indicator code {code!r} must be upper-case letters, digits and _ (at most 40), starting with a "
            "letter",
        )
    if code == USCC_COLUMN:
        raise ModelError("INDICATOR_CODE_INVALID", f"{path}.code", "USCC names the entity column of a file")
    weight = _number(data, "weight", f"{path}.weight")
    exponent = weight.normalize().as_tuple().exponent
    if not 0 < weight <= 1 or (isinstance(exponent, int) and exponent < -WEIGHT_PLACES):
        raise ModelError(
            "WEIGHT_INVALID",
            f"{path}.weight",
            f"{code}: weight {plain(weight)} must be above 0 and at most 1, with at most {WEIGHT_PLACES} "
            "decimals",
        )
    low, high = _number(data, "min", f"{path}.min"), _number(data, "max", f"{path}.max")
    if low >= high:
        raise ModelError(
            "RANGE_INVALID", f"{path}.min", f"{code}: min {plain(low)} must be below max {plain(high)}"
        )
    optional = data.get("optional", False)
    if not isinstance(optional, bool):
        raise ModelError("INVALID", f"{path}.optional", f"{code}: optional must be true or false")
    return Indicator(code, _text(data, "label_zh", f"{path}.label_zh"), weight, low, high, optional)


def _average(n: int) -> str:
    exact = Decimal(1) / Decimal(n)
    rounded = exact.quantize(Decimal(1).scaleb(-WEIGHT_PLACES))
    return plain(rounded) if rounded == exact else f"{plain(rounded)}…"


def _parse_model(data: Any) -> EvaluationModel:
    if not isinstance(data, Mapping):
        raise ModelError("INVALID", "model", "an evaluation model must be an object")
    unknown = unknown_key(data, _MODEL_KEYS)
    if unknown is not None:
        raise ModelError("UNKNOWN_KEY", unknown, f"unknown key {unknown!r}")
    domain = _text(data, "domain", "domain")
    period = _text(data, "period", "period")
    period_end(period)
    raw = data.get("indicators")
    if not isinstance(raw, list) or not raw:
        raise ModelError("REQUIRED", "indicators", "a model needs a non-empty list of indicators")
    if len(raw) > MAX_INDICATORS:
        raise ModelError("TOO_MANY", "indicators", f"at most {MAX_INDICATORS} indicators, got {len(raw)}")
    indicators = tuple(_parse_indicator(item, f"indicators.{i}") for i, item in enumerate(raw))
    seen: set[str] = set()
    for i, indicator in enumerate(indicators):
        if indicator.code in seen:
            raise ModelError(
                "DUPLICATE_INDICATOR", f"indicators.{i}.code", f"{indicator.code} is listed twice"
            )
        seen.add(indicator.code)
    public_code = _text(data, "public_indicator", "publicIndicator", required=False)
    public = next((i for i in indicators if i.code == public_code), None)
    if public is None:
        codes = ", ".join(i.code for i in indicators)
        raise ModelError(
            "PUBLIC_INDICATOR_MISSING",
            "publicIndicator",
            f"seed 001 §三(一)3: an industry evaluation is built on the public comprehensive evaluation "
            f"(公共信用综合评价结果); name it among the indicators ({codes}) as publicIndicator"
            + (f", not {public_code!r}" if public_code else ""),
        )
    total = sum((i.weight for i in indicators), Decimal(0))
    if total != 1:
        raise ModelError(
            "WEIGHTS_DO_NOT_SUM",
            "indicators",
            f"the indicator weights sum to {plain(total)}, not 1 "
            f"({' + '.join(plain(i.weight) for i in indicators)})",
        )
    n = len(indicators)
    if public.weight * n < 1:
        index = indicators.index(public)
        raise ModelError(
            "PUBLIC_WEIGHT_TOO_LOW",
            f"indicators.{index}.weight",
            f"the public comprehensive evaluation indicator {public.code} weighs {plain(public.weight)}, below "
            f"the average indicator weight {_average(n)} (1/{n} of {n} indicators); seed 001 §三(一)3: "
            f"{RULE_ZH}",
        )
    if public.optional:
        raise ModelError(
            "PUBLIC_INDICATOR_OPTIONAL",
            f"indicators.{indicators.index(public)}.optional",
            f"the public comprehensive evaluation indicator {public.code} applies to every entity",
        )
    return EvaluationModel(
        domain=domain,
        period=period,
        title_zh=_text(data, "title_zh", "titleZh", required=False),
        public_indicator=public.code,
        indicators=indicators,
    )
