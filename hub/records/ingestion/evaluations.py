"""Rules that evaluation results obey beyond their catalogue fields (seed 001 §三(一)).

A grade must be a level of the scheme it names, the scheme must be in force on the evaluation
date, a score must fall in its grade's band, and each kind of evaluation has its own pushers:
the province sends public comprehensive results, a department grades only its own domains with
their scheme, and market (third-party) evaluations are marked as such and never decide a category.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from hub.catalog.policy import Policy
from hub.records.validation.record import FieldError

EVALUATION_TYPES = frozenset({"public_evaluation", "industry_evaluation", "market_evaluation"})


def check_evaluation(
    policy: Policy, record_type: str, values: Mapping[str, Any], pusher_code: str
) -> tuple[list[FieldError], int | None]:
    """Errors of an evaluation result, and the version of the scheme it was checked against
    (who may push each kind is the record catalogue's `pushers`, checked before)."""
    scheme_code = str(values.get("PJMX", ""))
    scheme = policy.schemes.get(scheme_code)
    if scheme is None:
        known = ", ".join(sorted(policy.schemes))
        return [
            FieldError("UNKNOWN_SCHEME", "fields.PJMX", f"no grading scheme {scheme_code!r}; known: {known}")
        ], None
    grade = str(values.get("PJDJ", ""))
    level = scheme.level(grade)
    if level is None:
        levels = ", ".join(scheme.codes)
        return [
            FieldError(
                "GRADE_NOT_IN_SCHEME", "fields.PJDJ", f"{grade!r} is not a level of {scheme_code} ({levels})"
            )
        ], None
    errors: list[FieldError] = []
    evaluated = dt.date.fromisoformat(str(values["PJRQ"]))
    if (scheme.valid_from and evaluated < scheme.valid_from) or (
        scheme.valid_to and evaluated > scheme.valid_to
    ):
        errors.append(
            FieldError(
                "SCHEME_NOT_IN_FORCE",
                "fields.PJRQ",
                f"{scheme_code} is in force {scheme.valid_from or '…'} to {scheme.valid_to or '…'}, not on {evaluated}",
            )
        )
    score = values.get("PJFS")
    if score is not None and level.min_score is not None:
        value = Decimal(str(score))
        above = level.max_score is None or value < level.max_score
        if not (value >= level.min_score and above):
            band = (
                f"{level.min_score} to below {level.max_score}"
                if level.max_score is not None
                else f"{level.min_score}+"
            )
            errors.append(
                FieldError("GRADE_SCORE_MISMATCH", "fields.PJFS", f"grade {grade} needs a score of {band}")
            )
    if record_type == "industry_evaluation":
        errors.extend(_industry_rules(policy, values, scheme_code, pusher_code))
    return errors, policy.scheme_versions.get(scheme_code)


def _industry_rules(
    policy: Policy, values: Mapping[str, Any], scheme_code: str, pusher_code: str
) -> list[FieldError]:
    domain_code = str(values.get("JGLY", ""))
    domain = policy.domains.get(domain_code)
    if domain is None:
        return [FieldError("UNKNOWN_DOMAIN", "fields.JGLY", f"no supervision domain {domain_code!r}")]
    errors = []
    if policy.domain_departments.get(domain_code) != pusher_code:
        errors.append(
            FieldError(
                "NOT_YOUR_DOMAIN",
                "fields.JGLY",
                f"{domain_code} is not a domain of the pushing department",
            )
        )
    if domain.scheme != scheme_code:
        errors.append(
            FieldError(
                "SCHEME_NOT_OF_DOMAIN",
                "fields.PJMX",
                f"{domain_code} grades with {domain.scheme}, not {scheme_code}",
            )
        )
    return errors
