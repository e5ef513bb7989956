"""GB 32100 (USCC), GB 11714 (organisation code) and GB 11643 (resident ID) checks."""

from __future__ import annotations

import datetime as dt

import pytest

from hub.entities.codes import (
    entity_kind,
    make_resident_id,
    make_uscc,
    normalise,
    resident_id_problem,
    uscc_check_char,
    uscc_problem,
)

VALID = make_uscc("9", "1", "230102", "MA1B2C3D")


def test_a_published_code_passes() -> None:
    # A widely published real code (Tencent's): both the USCC and the embedded GB 11714 checks hold.
    assert uscc_problem("9144030071526726XG") is None


def test_built_codes_pass_and_weights_are_powers_of_three() -> None:
    assert uscc_problem(VALID) is None
    assert entity_kind(VALID) == "enterprise"
    assert uscc_check_char("9144030071526726X") == "G"


@pytest.mark.parametrize(
    ("code", "problem", "needle"),
    [
        ("91230102MA1B2C3D", "USCC_LENGTH", "got 16"),
        ("91230102MA1B2C3DIZ", "USCC_CHARACTER", "position 17"),
        ("O1230102MA1B2C3D0X", "USCC_CHARACTER", "position 1"),
        ("B1230102MA1B2C3D0X", "USCC_AUTHORITY", "position 1"),
        ("9123A102MA1B2C3D0X", "USCC_DIVISION", "position 5"),
    ],
)
def test_malformed_codes_say_what_is_wrong(code: str, problem: str, needle: str) -> None:
    found = uscc_problem(code)
    assert found is not None and found.code == problem and needle in found.message, found


def test_wrong_check_character_names_expected_and_got() -> None:
    wrong = VALID[:17] + ("0" if VALID[17] != "0" else "1")
    found = uscc_problem(wrong)
    assert found is not None and found.code == "USCC_CHECK"
    assert f"expected {VALID[17]!r}, got {wrong[17]!r}" in found.message


def test_embedded_organisation_code_check() -> None:
    body = "230102MA1B2C3D"
    org_bad = "91" + body[:6] + body[6:] + ("0" if VALID[16] != "0" else "1")
    code = org_bad[:17] + uscc_check_char(org_bad[:17])
    found = uscc_problem(code)
    assert found is not None and found.code == "USCC_ORG_CODE_CHECK"
    assert uscc_problem(code, check_org_code=False) is None


def test_normalise_strips_and_upper_cases() -> None:
    assert normalise(f"  {VALID.lower()} ") == VALID


@pytest.mark.parametrize("number", ["11010519491231002X", "440524188001010014"])
def test_standard_examples_of_resident_ids(number: str) -> None:
    assert resident_id_problem(number) is None


@pytest.mark.parametrize(
    ("number", "problem"),
    [
        ("110105194912310021", "ID_CHECK"),
        ("11010519491331002X", "ID_BIRTH_DATE"),
        ("1101051949123100", "ID_LENGTH"),
        ("11010519491231A02X", "ID_CHARACTER"),
    ],
)
def test_bad_resident_ids(number: str, problem: str) -> None:
    found = resident_id_problem(number)
    assert found is not None and found.code == problem


def test_make_resident_id_round_trips() -> None:
    assert resident_id_problem(make_resident_id("230102", dt.date(1990, 5, 17), 123)) is None
