"""Supervision domains: the bundled catalogue of both pilot lists, default and overridden measures,
and load-time validation."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.catalog.grading_schemes import Category, load_bundled_schemes
from hub.catalog.supervision_domains import (
    DomainError,
    Incentive,
    Measures,
    Restriction,
    SupervisionDomain,
    load_bundled_domains,
    load_domains,
)

SCHEMES = load_bundled_schemes()
DOMAINS = load_bundled_domains(SCHEMES)
CATALOG = Path(__file__).resolve().parents[2] / "hub" / "catalog"
T, MI, G, S = Category.TRUSTWORTHY, Category.MINOR, Category.GENERAL, Category.SERIOUS

# Seed 000 annex 1: 42 domains under 22 departments; seed 002: 34 rows. Eight name the same domain
# in both lists, so 42 + 34 - 8 = 68 entries.
MERGED = {
    "education_institutions",
    "enterprise_environment",
    "work_safety",
    "customs_enterprises",
    "taxpayers",
    "landscaping_construction",
    "lightning_protection",
    "fire_safety",
}
SAMR = {
    "food_small_workshops",
    "food_production_and_trade",
    "food_production",
    "intellectual_property",
    "medical_devices",
    "drug_manufacturing",
    "drug_retail",
    "health_foods",
    "food_business_risk",
    "market_regulation",
}
OTHER_SCHEMES = {
    "catering_services": "catering_food_safety",
    "enterprise_environment": "environmental",
    "customs_enterprises": "customs",
    "taxpayers": "tax_credit",
}


def test_the_domain_count_matches_the_seeds() -> None:
    assert len(DOMAINS) == 68
    assert sum("seed000-annex1" in d.sources for d in DOMAINS.values()) == 42
    assert sum("seed002" in d.sources for d in DOMAINS.values()) == 34
    assert {c for c, d in DOMAINS.items() if len(d.sources) == 2} == MERGED


def test_the_departments_match_the_seeds() -> None:
    seed000 = {d.department_zh for d in DOMAINS.values() if "seed000-annex1" in d.sources}
    seed002 = {d.department_zh for d in DOMAINS.values() if "seed002" in d.sources}
    assert len(seed000) == 22
    assert len(seed002) == 34  # one responsible department per row
    assert (
        sum(d.department_zh == "市场监管局" and "seed000-annex1" in d.sources for d in DOMAINS.values()) == 10
    )


def test_sources_and_names_as_listed() -> None:
    taxpayers = DOMAINS["taxpayers"]
    assert taxpayers.source == "seed000-annex1+seed002"
    assert dict(taxpayers.listed_as) == {"seed000-annex1": "纳税企业", "seed002": "纳税领域"}
    assert DOMAINS["grain"].source == "seed000-annex1"
    assert DOMAINS["tobacco_retail"].source == "seed002"
    assert DOMAINS["tobacco_retail"].listed_as["seed002"] == "烟草领域"


def test_every_domain_names_an_existing_scheme_and_the_expected_one() -> None:
    for code, domain in DOMAINS.items():
        assert domain.scheme in SCHEMES, code
        expected = "samr_risk" if code in SAMR else OTHER_SCHEMES.get(code, "heilongjiang")
        assert domain.scheme == expected, code


@pytest.mark.parametrize("code", sorted(DOMAINS))
def test_every_domain_is_complete_and_round_trips(code: str) -> None:
    domain = DOMAINS[code]
    assert set(domain.measures) == set(Category)
    assert domain.default_category is T
    assert domain.measures[S].always_inspect and domain.measures[S].sampling_ratio_min == 1
    assert domain.measures[T].may_exclude and not domain.measures[T].always_inspect
    mapping = json.loads(json.dumps(domain.to_mapping()))
    again = SupervisionDomain.from_mapping(mapping, SCHEMES)
    assert again == domain
    assert again.to_mapping() == mapping


def test_default_measures_from_the_seeds() -> None:
    m = DOMAINS["grain"].measures
    assert m[T] == Measures(
        sampling_ratio_min=Decimal("0"),
        sampling_ratio_max=Decimal("0.05"),
        yearly_frequency_min=Decimal("0"),
        yearly_frequency_max=Decimal("0.5"),
        inspection_mode="paper",
        may_exclude=True,
        always_inspect=False,
        incentives=tuple(Incentive),
        restrictions=(),
        notes=m[T].notes,
    )
    assert (m[MI].sampling_ratio_min, m[MI].sampling_ratio_max, m[MI].yearly_frequency_max) == (
        Decimal("0.05"),
        Decimal("0.2"),
        Decimal("1"),
    )
    assert m[MI].inspection_mode == "on_site" and m[MI].restrictions == ()
    assert (m[G].sampling_ratio_min, m[G].sampling_ratio_max, m[G].yearly_frequency_max) == (
        Decimal("0.21"),
        Decimal("0.6"),
        Decimal("2"),
    )
    assert m[G].restrictions == (Restriction.NO_FAULT_TOLERANT_ACCEPTANCE, Restriction.KEY_ATTENTION_TARGET)
    assert m[S].sampling_ratio_max is None and m[S].yearly_frequency_max is None
    assert m[S].inspection_mode == "on_site"
    assert set(m[S].restrictions) == set(Restriction) - {Restriction.KEY_ATTENTION_TARGET}
    assert all(not m[c].incentives for c in (MI, G, S))


def test_market_regulation_domains_override_only_the_minor_inspection_mode() -> None:
    defaults = DOMAINS["grain"].measures
    for code, domain in DOMAINS.items():
        minor = domain.measures[MI]
        assert minor.inspection_mode == ("paper" if code in SAMR else "on_site"), code
        assert minor.sampling_ratio_max == Decimal("0.2")  # inherited
        for category in (T, G, S):
            assert domain.measures[category] == defaults[category], code


def test_labels_of_incentives_and_restrictions() -> None:
    assert [i.label_zh for i in Incentive] == ["绿色通道", "容缺受理", "告知承诺", "简化程序", "信易贷优惠"]
    assert [r.label_zh for r in Restriction] == [
        "不适用告知承诺",
        "不予容缺受理",
        "限制参与政府采购",
        "限制参与招标投标",
        "限制申请财政资金",
        "重点关注对象",
        "重点监管对象",
    ]


# --- broken measures -----------------------------------------------------------------------------

GOOD = DOMAINS["grain"].measures[G].to_mapping()

BROKEN_MEASURES = [
    ({"sampling_ratio_max": "1.5"}, "sampling ratios are fractions: they must lie between 0 and 1"),
    ({"sampling_ratio_min": "-0.1"}, "sampling_ratio bounds must not be negative"),
    ({"sampling_ratio_min": "0.7"}, "sampling_ratio_min 0.7 is above sampling_ratio_max 0.6"),
    ({"yearly_frequency_min": "3"}, "yearly_frequency_min 3 is above yearly_frequency_max 2"),
    ({"yearly_frequency_max": "-1"}, "yearly_frequency bounds must not be negative"),
    ({"always_inspect": True}, "always_inspect needs sampling_ratio_min 1, not 0.21"),
    (
        {"always_inspect": True, "may_exclude": True, "sampling_ratio_min": "1", "sampling_ratio_max": None},
        "may_exclude and always_inspect cannot both be true",
    ),
    ({"inspection_mode": "remote"}, "unknown inspection_mode 'remote' (one of paper, on_site)"),
    ({"may_exclude": "yes"}, "'may_exclude' must be true or false"),
    ({"sampling_ratio_min": "a fifth"}, "'sampling_ratio_min' must be a number or a decimal string"),
    ({"yearly_frequency_min": None}, "'yearly_frequency_min' must be a number or a decimal string"),
    ({"yearly_frequency_max": "NaN"}, "'yearly_frequency_max' must be finite"),
    (
        {"incentives": ["free_lunch"]},
        "'incentives': unknown code 'free_lunch' (one of green_channel, "
        "fault_tolerant_acceptance, notification_commitment, simplified_procedure, credit_loan_benefits)",
    ),
    (
        {"restrictions": ["excluded_bidding", "excluded_bidding"]},
        "'restrictions' lists 'excluded_bidding' twice",
    ),
    ({"restrictions": "excluded_bidding"}, "'restrictions' must be a list"),
    (
        {"incentives": ["fault_tolerant_acceptance"]},
        "incentive 'fault_tolerant_acceptance' contradicts restriction 'no_fault_tolerant_acceptance'",
    ),
    ({"notes": 5}, "'notes' must be a string"),
    ({"colour": "red"}, "unknown key 'colour'"),
]


@pytest.mark.parametrize(("change", "message"), BROKEN_MEASURES, ids=[str(c) for c, _ in BROKEN_MEASURES])
def test_broken_measures_are_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(DomainError) as info:
        Measures.from_mapping({**GOOD, **change})
    assert str(info.value) == message


def test_a_missing_measure_is_named() -> None:
    data = dict(GOOD)
    del data["inspection_mode"]
    with pytest.raises(DomainError) as info:
        Measures.from_mapping(data)
    assert str(info.value) == "'inspection_mode' is missing"


def test_measures_are_checked_on_construction_too() -> None:
    with pytest.raises(DomainError, match="always_inspect needs sampling_ratio_min 1"):
        Measures(Decimal("0.5"), None, Decimal(1), None, "on_site", False, True, (), (), "")


# --- broken domains ------------------------------------------------------------------------------

DOMAIN = DOMAINS["grain"].to_mapping()


def _domain(**change: Any) -> dict[str, Any]:
    data = copy.deepcopy(DOMAIN)
    data.update(change)
    return data


def _without_serious() -> dict[str, Any]:
    data = copy.deepcopy(DOMAIN)
    del data["measures"]["serious"]
    return data


def _bad_general() -> dict[str, Any]:
    data = copy.deepcopy(DOMAIN)
    data["measures"]["general"]["sampling_ratio_max"] = "2"
    return data


BROKEN_DOMAINS = [
    (
        _domain(scheme="fico"),
        "domain 'grain': unknown scheme 'fico' (one of catering_food_safety, customs, "
        "environmental, environmental_black, heilongjiang, property_services, samr_risk, tax_credit)",
    ),
    (_without_serious(), "domain 'grain': no measures for category 'serious'"),
    (
        _domain(measures={**DOMAIN["measures"], "lenient": {}}),
        "domain 'grain': measures for unknown category 'lenient'",
    ),
    (
        _bad_general(),
        "domain 'grain', general measures: sampling ratios are fractions: they must lie between 0 and 1",
    ),
    (
        _domain(default_category="unknown"),
        "domain 'grain': unknown default_category 'unknown' (one of trustworthy, minor, general, serious)",
    ),
    (
        _domain(listed_as={}),
        "domain 'grain': 'listed_as' must map at least one source list to the name it uses",
    ),
    (
        _domain(listed_as={"seed009": "粮食"}),
        "domain 'grain': unknown source 'seed009' (one of seed000-annex1, seed002)",
    ),
    (
        _domain(listed_as={"seed002": ""}),
        "domain 'grain': the name listed in seed002 must be a non-empty string",
    ),
    (_domain(code="Grain"), "domain code 'Grain' must be lower-case letters, digits and _"),
    (_domain(department_zh=""), "domain 'grain': 'department_zh' must be a non-empty string"),
    (_domain(owner="x"), "domain 'grain': unknown key 'owner'"),
    (_domain(measures=[]), "domain 'grain': 'measures' must be a mapping of category to measures"),
]


@pytest.mark.parametrize(
    ("data", "message"), BROKEN_DOMAINS, ids=[m.split(": ", 1)[-1][:40] for _, m in BROKEN_DOMAINS]
)
def test_broken_domains_are_refused(data: dict[str, Any], message: str) -> None:
    with pytest.raises(DomainError) as info:
        SupervisionDomain.from_mapping(data, SCHEMES)
    assert str(info.value) == message


def test_without_scheme_codes_any_scheme_name_is_accepted() -> None:
    assert SupervisionDomain.from_mapping(_domain(scheme="fico")).scheme == "fico"


# --- the loader ----------------------------------------------------------------------------------


def _catalog(tmp_path: Path, files: dict[str, Any]) -> Path:
    folder = tmp_path / "domains"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_text(
            data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True)
        )
    return folder


GRAIN_FILE = {
    "code": "grain",
    "name_zh": "粮食",
    "name": "Grain",
    "department_zh": "发改委",
    "listed_as": {"seed000-annex1": "粮食"},
    "scheme": "heilongjiang",
}


def test_the_loader_lays_overrides_over_the_defaults(tmp_path: Path) -> None:
    override = {"serious": {"notes": "n", "yearly_frequency_min": "4"}, "minor": None}
    folder = _catalog(
        tmp_path, {"grain.yaml": {**GRAIN_FILE, "measures": override, "default_category": "minor"}}
    )
    grain = load_domains(folder, CATALOG / "measures.yaml", SCHEMES)["grain"]
    bundled = DOMAINS["grain"]
    assert grain.default_category is MI
    assert grain.measures[S].notes == "n" and grain.measures[S].yearly_frequency_min == 4
    assert grain.measures[S].restrictions == bundled.measures[S].restrictions
    assert [grain.measures[c] for c in (T, MI, G)] == [bundled.measures[c] for c in (T, MI, G)]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"cereal.yaml": GRAIN_FILE}, "cereal.yaml: domain code 'grain' does not match the file name"),
        (
            {"grain.yaml": GRAIN_FILE, "grain2.yaml": {**GRAIN_FILE, "code": "grain2"}},
            "grain2.yaml: seed000-annex1 entry '粮食' is already listed by domain 'grain'",
        ),
        (
            {"grain.yaml": {**GRAIN_FILE, "measures": {"lenient": {"notes": "x"}}}},
            "grain.yaml: domain 'grain': measures for unknown category 'lenient'",
        ),
        (
            {"grain.yaml": {**GRAIN_FILE, "measures": {"serious": {"sampling_ratio_min": "0.5"}}}},
            "grain.yaml: domain 'grain', serious measures: always_inspect needs sampling_ratio_min 1, not 0.5",
        ),
        (
            {"grain.yaml": {**GRAIN_FILE, "measures": {"minor": {"frequency": 3}}}},
            "grain.yaml: domain 'grain', minor measures: unknown key 'frequency'",
        ),
        (
            {"grain.yaml": {**GRAIN_FILE, "scheme": "fico"}},
            "grain.yaml: domain 'grain': unknown scheme 'fico'",
        ),
        ({"grain.yaml": "code: [grain"}, "grain.yaml: not valid YAML"),
    ],
)
def test_the_loader_refuses_a_broken_catalogue(tmp_path: Path, files: dict[str, Any], message: str) -> None:
    folder = _catalog(tmp_path, files)
    with pytest.raises(DomainError) as info:
        load_domains(folder, CATALOG / "measures.yaml", SCHEMES)
    assert str(info.value).startswith(message)


def test_the_loader_refuses_broken_defaults(tmp_path: Path) -> None:
    folder = _catalog(tmp_path, {"grain.yaml": GRAIN_FILE})
    defaults = tmp_path / "measures.yaml"
    data = yaml.safe_load((CATALOG / "measures.yaml").read_text(encoding="utf-8"))
    del data["measures"]["general"]["restrictions"]
    defaults.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(DomainError) as info:
        load_domains(folder, defaults, SCHEMES)
    assert str(info.value) == "grain.yaml: domain 'grain', general measures: 'restrictions' is missing"
    defaults.write_text("measures: {}\nextra: 1\n", encoding="utf-8")
    with pytest.raises(DomainError) as info:
        load_domains(folder, defaults, SCHEMES)
    assert str(info.value) == "measures.yaml: measures defaults: unknown key 'extra'"
