"""Publicity periods: rule boundaries, severities, record-type defaults and policy validation."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest
import yaml

from hub.catalog.publicity import (
    POLICY_FILE,
    NoPublicityRule,
    PublicityPolicy,
    PublicityWindow,
    Severity,
    add_months,
    severity_of_penalty,
)

PENALTY = "administrative_penalty"


@pytest.fixture(scope="module")
def policy() -> PublicityPolicy:
    return PublicityPolicy.bundled()


@pytest.fixture
def raw() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8"))
    return copy.deepcopy(data)


def test_last_day_of_order_58(policy: PublicityPolicy) -> None:
    assert policy.window(PENALTY, date(2026, 3, 31), Severity.SERIOUS) == PublicityWindow(
        "ndrc_order_58", 1, True, date(2026, 6, 30), date(2029, 3, 31)
    )
    # Order 58 makes no distinction by severity.
    assert policy.window(PENALTY, date(2026, 3, 31), Severity.MINOR).publish_until == date(2029, 3, 31)


def test_first_day_of_order_36(policy: PublicityPolicy) -> None:
    assert policy.window(PENALTY, date(2026, 4, 1), Severity.SERIOUS) == PublicityWindow(
        "ndrc_order_36", 1, True, date(2027, 4, 1), date(2029, 4, 1)
    )
    assert policy.window(PENALTY, date(2026, 4, 1), Severity.GENERAL) == PublicityWindow(
        "ndrc_order_36", 1, True, date(2026, 7, 1), date(2027, 4, 1)
    )
    # Minor penalties are normally not published under Order 36.
    assert policy.window(PENALTY, date(2026, 4, 1), Severity.MINOR) == PublicityWindow(
        "ndrc_order_36", 1, False, None, None
    )


def test_first_day_of_order_58(policy: PublicityPolicy) -> None:
    assert policy.window(PENALTY, date(2023, 5, 1), Severity.GENERAL).rule_code == "ndrc_order_58"
    with pytest.raises(NoPublicityRule) as info:
        policy.window(PENALTY, date(2023, 4, 30), Severity.GENERAL)
    assert info.value.decision_date == date(2023, 4, 30)


def test_samr_order_107_boundary(policy: PublicityPolicy) -> None:
    market = {"authority_domain": "market_regulation"}
    before = policy.window(PENALTY, date(2025, 12, 24), Severity.GENERAL, **market)
    assert before == PublicityWindow("ndrc_order_58", 1, True, date(2026, 3, 24), date(2028, 12, 24))
    on = policy.window(PENALTY, date(2025, 12, 25), Severity.GENERAL, **market)
    assert on == PublicityWindow("samr_order_107", 1, True, date(2026, 3, 25), date(2026, 12, 25))
    # SAMR 107 keeps precedence for market regulation once Order 36 is in force too.
    assert policy.window(PENALTY, date(2026, 5, 1), Severity.SERIOUS, **market).rule_code == "samr_order_107"
    # Other authorities stay under the NDRC rule.
    other = policy.window(PENALTY, date(2025, 12, 25), Severity.GENERAL, authority_domain="tax")
    assert other.rule_code == "ndrc_order_58"


def test_samr_warning_not_published(policy: PublicityPolicy) -> None:
    warning = policy.window(
        PENALTY, date(2026, 1, 10), None, authority_domain="market_regulation", categories=["警告"]
    )
    assert warning == PublicityWindow("samr_order_107", 1, False, None, None)
    assert not warning.is_published_on(date(2026, 1, 10))
    # Another minor penalty (通报批评) is published and stops after 3 months, no repair needed.
    criticism = policy.window(
        PENALTY, date(2026, 1, 10), None, authority_domain="market_regulation", categories=["通报批评"]
    )
    assert criticism == PublicityWindow("samr_order_107", 1, True, None, date(2026, 4, 10))
    assert criticism.is_published_on(date(2026, 4, 10))
    assert not criticism.is_published_on(date(2026, 4, 11))
    # The same warning from a non-market authority under Order 58 is published.
    assert policy.window(PENALTY, date(2026, 1, 10), None, categories=["警告"]).published


def test_special_field_minimum_one_year_under_order_58(policy: PublicityPolicy) -> None:
    ordinary = policy.window(PENALTY, date(2024, 6, 15), Severity.GENERAL)
    special = policy.window(PENALTY, date(2024, 6, 15), Severity.GENERAL, special_field=True)
    assert ordinary.repair_from == date(2024, 9, 15)
    assert special.repair_from == date(2025, 6, 15)
    assert special.publish_until == date(2027, 6, 15)


def test_severity_derived_from_categories(policy: PublicityPolicy) -> None:
    assert severity_of_penalty(["警告"]) is Severity.MINOR
    assert severity_of_penalty(["警告", "通报批评"]) is Severity.MINOR
    assert severity_of_penalty(["警告", "罚款"]) is Severity.GENERAL
    assert severity_of_penalty(["罚款", "吊销许可证件"]) is Severity.SERIOUS
    assert severity_of_penalty(["责令停产停业"]) is Severity.SERIOUS
    assert severity_of_penalty([]) is Severity.GENERAL
    derived = policy.window(PENALTY, date(2026, 5, 1), None, categories=["罚款", "行政拘留"])
    assert derived.publish_until == date(2029, 5, 1)
    # A stated severity wins over the categories.
    stated = policy.window(PENALTY, date(2026, 5, 1), Severity.GENERAL, categories=["行政拘留"])
    assert stated.publish_until == date(2027, 5, 1)
    with pytest.raises(TypeError, match="single string"):
        policy.window(PENALTY, date(2026, 5, 1), None, categories="警告")


def test_licence_long_term_has_no_deadline(policy: PublicityPolicy) -> None:
    licence = "administrative_licence"
    long_term = policy.window(licence, date(2024, 3, 1), None, validity_end=date(2099, 12, 31))
    assert long_term == PublicityWindow("default:administrative_licence", 1, True, None, None)
    dated = policy.window(licence, date(2024, 3, 1), None, validity_end=date(2029, 2, 28))
    assert dated.publish_until == date(2029, 2, 28)


def test_record_type_defaults(policy: PublicityPolicy) -> None:
    assert policy.window("serious_dishonesty_list", date(2024, 3, 1)).publish_until is None
    assert policy.window("honour", date(2024, 3, 1)).publish_until == date(2027, 3, 1)
    assert policy.window("honour", date(2024, 3, 1), validity_end=date(2025, 3, 1)).publish_until == date(
        2025, 3, 1
    )
    assert policy.window("inspection_result", date(2024, 2, 29)).publish_until == date(2027, 2, 28)
    # Defaults do not depend on a penalty rule being in force.
    assert policy.window("complaint", date(2020, 1, 1)).publish_until == date(2023, 1, 1)
    with pytest.raises(ValueError, match="unknown record type 'permit'"):
        policy.window("permit", date(2024, 3, 1))


def test_month_end_clamping() -> None:
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2023, 1, 31), 1) == date(2023, 2, 28)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2024, 8, 31), 3) == date(2024, 11, 30)
    assert add_months(date(2024, 11, 30), 3) == date(2025, 2, 28)
    assert add_months(date(2024, 5, 15), 0) == date(2024, 5, 15)


def test_window_clamps_to_month_end(policy: PublicityPolicy) -> None:
    window = policy.window(PENALTY, date(2025, 11, 30), Severity.GENERAL)
    assert window.repair_from == date(2026, 2, 28)


def test_no_rule_for_2020(policy: PublicityPolicy) -> None:
    with pytest.raises(NoPublicityRule) as info:
        policy.window(PENALTY, date(2020, 6, 1), Severity.GENERAL)
    assert isinstance(info.value, ValueError)
    assert info.value.decision_date == date(2020, 6, 1)
    assert "2020-06-01" in str(info.value)
    assert "2023-05-01" in str(info.value)


def test_window_is_memoised(policy: PublicityPolicy) -> None:
    first = policy.window(PENALTY, date(2024, 7, 1), None, categories=["罚款"])
    assert policy.window(PENALTY, date(2024, 7, 1), None, categories=("罚款",)) is first


def test_from_mapping_round_trip(raw: dict[str, Any]) -> None:
    raw["version"] = 2
    policy = PublicityPolicy.from_mapping(raw)
    assert policy.window(PENALTY, date(2024, 7, 1), Severity.GENERAL).rule_version == 2
    assert [rule.code for rule in policy.rules] == ["ndrc_order_58", "ndrc_order_36", "samr_order_107"]


def test_overlapping_rules_rejected(raw: dict[str, Any]) -> None:
    raw["penalty_rules"][0]["in_force_to"] = date(2026, 4, 1)
    with pytest.raises(ValueError, match="ndrc_order_58 and ndrc_order_36 are both in force on 2026-04-01"):
        PublicityPolicy.from_mapping(raw)


def test_min_above_max_rejected(raw: dict[str, Any]) -> None:
    raw["penalty_rules"][1]["severities"]["general"]["min_months"] = 13
    with pytest.raises(ValueError, match=r"ndrc_order_36\)\.severities\.general': min_months 13 exceeds"):
        PublicityPolicy.from_mapping(raw)


def test_missing_severity_rejected(raw: dict[str, Any]) -> None:
    del raw["penalty_rules"][2]["severities"]["minor"]
    with pytest.raises(ValueError, match=r"samr_order_107\)\.severities' lacks minor"):
        PublicityPolicy.from_mapping(raw)


def test_default_needs_months(raw: dict[str, Any]) -> None:
    raw["record_type_defaults"]["complaint"] = {"until": "months"}
    with pytest.raises(ValueError, match=r"complaint\.months' is required"):
        PublicityPolicy.from_mapping(raw)
