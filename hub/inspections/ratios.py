"""The sampling ratio of each category in a plan, checked against the domain's measures."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from hub.catalog.grading_schemes import CATEGORIES, Category
from hub.catalog.supervision_domains import Measures, SupervisionDomain
from hub.errors import Invalid

ONE = Decimal(1)
ZERO = Decimal(0)
MAX_PLACES = 6


def bounds(measures: Measures) -> tuple[Decimal, Decimal]:
    """[low, high] a department may choose: 1 when always inspected; 0 allowed when it may exclude."""
    if measures.always_inspect:
        return ONE, ONE
    low = ZERO if measures.may_exclude else measures.sampling_ratio_min
    high = ONE if measures.sampling_ratio_max is None else measures.sampling_ratio_max
    return low, high


def default_ratio(measures: Measures) -> Decimal:
    return ONE if measures.always_inspect else measures.sampling_ratio_min


def choose(domain: SupervisionDomain, given: Sequence[tuple[str, Decimal]]) -> dict[Category, Decimal]:
    """The ratio of every category: the given ones (checked), the domain's minimum for the rest."""
    chosen: dict[Category, Decimal] = {}
    for index, (name, ratio) in enumerate(given):
        path = f"ratios.{index}"
        category = Category(name)
        if category in chosen:
            raise Invalid(
                f"the ratio of {category.value} is given twice", code="DUPLICATE", path=f"{path}.category"
            )
        exponent = ratio.normalize().as_tuple().exponent if ratio.is_finite() else "n"
        if not isinstance(exponent, int) or -exponent > MAX_PLACES:
            raise Invalid(
                f"a ratio is a fraction with at most {MAX_PLACES} decimal places",
                code="RATIO_PRECISION",
                path=f"{path}.ratio",
            )
        low, high = bounds(domain.measures[category])
        if not low <= ratio <= high:
            raise Invalid(
                f"the ratio of {category.value} ({category.label_zh}) in domain {domain.code} must lie "
                f"between {low} and {high}, got {ratio}",
                code="RATIO_OUT_OF_BOUNDS",
                path=f"{path}.ratio",
            )
        chosen[category] = ratio
    return {c: chosen.get(c, default_ratio(domain.measures[c])) for c in CATEGORIES}


def published(ratios: dict[Category, Decimal]) -> dict[str, str]:
    """Ratios as plain decimal strings (no exponent), as the publication and the draw read them."""
    return {c.value: format(r.normalize(), "f") for c, r in ratios.items()}
