"""Grading schemes: the bundled catalogue, score bands, category mapping and load-time validation."""

from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hub.catalog.grading_schemes import (
    Category,
    GradingScheme,
    SchemeError,
    load_bundled_schemes,
    load_schemes,
    severity_rank,
)

SCHEMES = load_bundled_schemes()
T, MI, G, S = Category.TRUSTWORTHY, Category.MINOR, Category.GENERAL, Category.SERIOUS


def test_the_bundled_schemes_are_exactly_these() -> None:
    assert sorted(SCHEMES) == [
        "catering_food_safety",
        "customs",
        "environmental",
        "environmental_black",
        "heilongjiang",
        "property_services",
        "samr_risk",
        "tax_credit",
    ]


@pytest.mark.parametrize("code", sorted(SCHEMES))
def test_every_scheme_round_trips_through_json(code: str) -> None:
    scheme = SCHEMES[code]
    mapping = json.loads(json.dumps(scheme.to_mapping()))
    again = GradingScheme.from_mapping(mapping)
    assert again == scheme
    assert again.to_mapping() == mapping


CATEGORY_MAPS: dict[str, dict[str, Category]] = {
    "heilongjiang": {"A": T, "B": T, "C": MI, "D": G, "E": S},
    "samr_risk": {"A": T, "B": MI, "C": G, "D": S},
    "tax_credit": {"A": T, "B": T, "M": T, "C": G, "D": S},
    "customs": {"AEO_ADVANCED": T, "AEO": T, "REGULAR": T, "DISHONEST": G, "SERIOUSLY_DISHONEST": S},
    "environmental": {"green": T, "blue": MI, "yellow": G, "red": S},
    "environmental_black": {"green": T, "blue": T, "yellow": MI, "red": G, "black": S},
    "property_services": {"AAA": T, "AA": T, "A": T, "B": MI, "C": G},
    "catering_food_safety": {"A": T, "B": MI, "C": G},
}


@pytest.mark.parametrize("code", sorted(CATEGORY_MAPS))
def test_category_of_each_level(code: str) -> None:
    scheme = SCHEMES[code]
    assert {c: scheme.category_of(c) for c in scheme.codes} == CATEGORY_MAPS[code]
    assert list(scheme.codes) == list(CATEGORY_MAPS[code])  # listed best first, in this order


def test_labels_and_ranks_of_the_categories() -> None:
    assert [(c.value, c.label_zh, severity_rank(c)) for c in Category] == [
        ("trustworthy", "诚信守法", 0),
        ("minor", "轻微失信", 1),
        ("general", "一般失信", 2),
        ("serious", "严重失信", 3),
    ]


def test_scheme_details() -> None:
    assert SCHEMES["customs"].valid_from == dt.date(2026, 4, 1)
    assert SCHEMES["customs"].level("REGULAR") is not None
    assert SCHEMES["customs"].level("REGULAR").label_zh == "常规管理企业"  # type: ignore[union-attr]
    assert SCHEMES["heilongjiang"].level("F") is None
    assert SCHEMES["samr_risk"].level("A").label_zh == "信用风险低"  # type: ignore[union-attr]
    with pytest.raises(KeyError, match="scheme 'heilongjiang' has no level 'F'"):
        SCHEMES["heilongjiang"].category_of("F")


def test_which_schemes_are_score_based() -> None:
    assert {c for c, s in SCHEMES.items() if s.score_based} == {"property_services", "catering_food_safety"}
    # M has no band: tax credit is not score based, yet grades scores over A, B, C and D.
    assert [lv.code for lv in SCHEMES["tax_credit"].banded_levels] == ["A", "B", "C", "D"]


@pytest.mark.parametrize(
    ("code", "score", "level"),
    [
        ("tax_credit", "100", "A"),
        ("tax_credit", "90", "A"),
        ("tax_credit", "89.99", "B"),
        ("tax_credit", "70", "B"),
        ("tax_credit", "69.99", "C"),
        ("tax_credit", "40", "C"),
        ("tax_credit", "39.99", "D"),
        ("tax_credit", "0", "D"),
        ("property_services", "85", "AAA"),
        ("property_services", "84.99", "AA"),
        ("property_services", "80", "AA"),
        ("property_services", "79.99", "A"),
        ("property_services", "70", "A"),
        ("property_services", "60", "B"),
        ("property_services", "59.99", "C"),
        ("catering_food_safety", "90", "A"),
        ("catering_food_safety", "89.99", "B"),
        ("catering_food_safety", "75", "B"),
        ("catering_food_safety", "74.99", "C"),
        ("catering_food_safety", "60", "C"),
    ],
)
def test_grade_for_score_boundaries(code: str, score: str, level: str) -> None:
    assert SCHEMES[code].grade_for_score(Decimal(score)).code == level


def test_tax_credit_never_grades_a_score_m() -> None:
    grades = {SCHEMES["tax_credit"].grade_for_score(Decimal(n) / 4).code for n in range(0, 401)}
    assert grades == {"A", "B", "C", "D"}


def test_below_sixty_catering_has_no_grade() -> None:
    with pytest.raises(ValueError, match=r"score 59\.99 lies outside every band, so it has no grade"):
        SCHEMES["catering_food_safety"].grade_for_score(Decimal("59.99"))


@pytest.mark.parametrize("code", ["heilongjiang", "samr_risk", "customs", "environmental"])
def test_grade_for_score_refuses_a_scheme_without_bands(code: str) -> None:
    with pytest.raises(ValueError, match=f"scheme '{code}' has no score bands"):
        SCHEMES[code].grade_for_score(Decimal(90))


def test_grade_for_score_refuses_nan() -> None:
    with pytest.raises(ValueError, match="is not a finite number"):
        SCHEMES["tax_credit"].grade_for_score(Decimal("NaN"))


# --- broken definitions ----------------------------------------------------------------------------

BASE: dict[str, Any] = {
    "code": "demo",
    "title": "Demo",
    "title_zh": "示例",
    "issuer": "示例机关",
    "valid_from": "2024-01-01",
    "valid_to": None,
    "levels": [
        {"code": "A", "label_zh": "A级", "category": "trustworthy", "min_score": "80", "description": "a"},
        {
            "code": "B",
            "label_zh": "B级",
            "category": "minor",
            "min_score": "60",
            "max_score": "80",
            "description": "b",
        },
        {"code": "C", "label_zh": "C级", "category": "serious", "max_score": "60", "description": "c"},
    ],
}


def _with(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    target: Any = data
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    last = keys[-1]
    if value is _DELETE:
        del target[int(last) if last.isdigit() else last]
    elif last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return data


_DELETE = object()


def test_the_base_definition_is_valid() -> None:
    scheme = GradingScheme.from_mapping(BASE)
    assert scheme.score_based
    assert scheme.grade_for_score(Decimal(-5)).code == "C"


BROKEN = [
    ("levels", [], "scheme 'demo': 'levels' must be a non-empty list"),
    ("levels", None, "scheme 'demo': 'levels' must be a non-empty list"),
    ("levels.1.code", "A", "scheme 'demo': duplicate level code 'A'"),
    (
        "levels.1.category",
        "bad",
        "scheme 'demo', level B: unknown category 'bad' (one of trustworthy, minor, general, serious)",
    ),
    ("levels.1.max_score", "85", "scheme 'demo': the score bands of 'B' and 'A' overlap"),
    ("levels.0.min_score", "85", "scheme 'demo': no level covers scores from 80 to 85 (between 'B' and 'A')"),
    ("levels.1.min_score", "90", "scheme 'demo', level B: min_score 90 must be below max_score 80"),
    ("levels.1.min_score", "abc", "scheme 'demo', level B: 'min_score' must be a number or a decimal string"),
    ("levels.1.min_score", True, "scheme 'demo', level B: 'min_score' must be a number or a decimal string"),
    ("levels.1.max_score", "Infinity", "scheme 'demo', level B: 'max_score' must be finite"),
    ("levels.2.max_score", "70", "scheme 'demo': the score bands of 'C' and 'B' overlap"),
    ("levels.1.min_score", "70", "scheme 'demo': no level covers scores from 60 to 70 (between 'C' and 'B')"),
    (
        "levels.2.category",
        "trustworthy",
        "scheme 'demo': levels must be listed best first, but 'C' (trustworthy) follows 'B' (minor)",
    ),
    ("levels.1.code", "b c", "scheme 'demo', level: level code 'b c' must be letters, digits and _"),
    ("levels.1.label_zh", "", "scheme 'demo', level B: 'label_zh' must be a non-empty string"),
    ("levels.1.colour", "red", "scheme 'demo', level B: unknown key 'colour'"),
    ("levels.1", "B", "scheme 'demo', level: each level must be a mapping"),
    ("valid_to", "2023-12-31", "scheme 'demo': valid_to 2023-12-31 is before valid_from 2024-01-01"),
    ("valid_from", "1 Jan 2024", "scheme 'demo': 'valid_from' must be an ISO date (YYYY-MM-DD)"),
    (
        "valid_from",
        dt.datetime(2024, 1, 1, 8, 0),
        "scheme 'demo': 'valid_from' must be a date, not a date and time",
    ),
    ("code", "Demo", "scheme code 'Demo' must be lower-case letters, digits and _"),
    ("title", _DELETE, "scheme 'demo': 'title' must be a non-empty string"),
    ("issuer", "  ", "scheme 'demo': 'issuer' must be a non-empty string"),
    ("owner", "x", "scheme 'demo': unknown key 'owner'"),
]


@pytest.mark.parametrize(("path", "value", "message"), BROKEN, ids=[f"{p}={v!r}" for p, v, _ in BROKEN])
def test_a_broken_scheme_is_refused_with_a_precise_message(path: str, value: Any, message: str) -> None:
    data = _with(path, value)
    with pytest.raises(SchemeError) as info:
        GradingScheme.from_mapping(data)
    assert str(info.value) == message


def test_banded_levels_must_run_from_the_highest_band_down() -> None:
    data = copy.deepcopy(BASE)
    data["levels"][0]["category"] = "minor"
    data["levels"][0], data["levels"][1] = data["levels"][1], data["levels"][0]
    with pytest.raises(SchemeError) as info:
        GradingScheme.from_mapping(data)
    assert (
        str(info.value)
        == "scheme 'demo': levels with score bands must be listed from the highest band down (A, B, C)"
    )


def test_two_open_topped_bands_overlap() -> None:
    data = _with("levels.1.max_score", None)
    with pytest.raises(SchemeError, match="the score bands of 'B' and 'A' overlap"):
        GradingScheme.from_mapping(data)


def test_not_a_mapping() -> None:
    with pytest.raises(SchemeError, match="a grading scheme definition must be a mapping"):
        GradingScheme.from_mapping([])  # type: ignore[arg-type]


def _load_error(folder: Path) -> str:
    with pytest.raises(SchemeError) as info:
        load_schemes(folder)
    return str(info.value)


def test_the_loader_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "other.yaml").write_text(json.dumps(BASE), encoding="utf-8")
    assert _load_error(tmp_path) == "other.yaml: scheme code 'demo' does not match the file name"
    (tmp_path / "other.yaml").unlink()
    (tmp_path / "demo.yaml").write_text("code: [demo", encoding="utf-8")
    assert _load_error(tmp_path).startswith("demo.yaml: not valid YAML: ")
    (tmp_path / "demo.yaml").write_text(json.dumps(_with("levels", [])), encoding="utf-8")
    assert _load_error(tmp_path) == "demo.yaml: scheme 'demo': 'levels' must be a non-empty list"
    (tmp_path / "demo.yaml").write_text(json.dumps(BASE), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("ignored", encoding="utf-8")
    assert list(load_schemes(tmp_path)) == ["demo"]
