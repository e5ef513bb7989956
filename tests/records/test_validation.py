"""Field validation and normalisation against the bundled catalogue."""

from __future__ import annotations

import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from hub.catalog.record_types import FieldDef, RecordTypeDef, load_bundled
from hub.entities.codes import (
    USCC_ALPHABET,
    make_uscc,
    org_code_check_char,
    resident_id_problem,
    uscc_check_char,
    uscc_problem,
)
from hub.records.validation.record import FieldError, ValidationResult, compile_validator

CATALOG = load_bundled()
PENALTY = CATALOG["administrative_penalty"]
LICENCE = CATALOG["administrative_licence"]
VALIDATE = compile_validator(PENALTY)
HISTORY = compile_validator(PENALTY, historical=True)

ID_A = "11010519491231002X"  # the standard's own examples (GB 11643-1999)
ID_B = "440524188001010014"
COMPANY = make_uscc("9", "1", "230400", "MA1B2C3D")  # 91230400MA1B2C3D85
SHOP = make_uscc("9", "2", "230400", "L1234567")  # 92230400L123456741
BUREAU = make_uscc("1", "1", "230400", "00000001")  # 112304000000000197
# Passes the USCC check but not the embedded GB 11714 one, as some historical codes do.
_BAD_ORG17 = "91230400MA1B2C3D" + ("0" if org_code_check_char("MA1B2C3D") != "0" else "1")
OLD_COMPANY = _BAD_ORG17 + uscc_check_char(_BAD_ORG17)


def penalty_row(**changes: str) -> dict[str, str]:
    """A complete penalty row as a CSV reader gives it: every value a string."""
    row = {
        "XDR_MC": " 鹤岗市示例商贸有限公司 ",
        "XDR_LB": "法人及非法人组织",
        "XDR_SHXYM": COMPANY.lower(),
        "XDR_GSZC": "",
        "XDR_ZZJG": "",
        "XDR_SWDJ": "",
        "XDR_SYDW": "",
        "XDR_SHZZ": "",
        "FRDB": "李四",
        "FR_ZJLX": "身份证",
        "FR_ZJHM": ID_A.lower(),
        "XDR_ZJLX": "",
        "XDR_ZJHM": "",
        "WSH": "鹤市监处罚〔2024〕12号",
        "WFXW": "销售不符合食品安全标准的食品",
        "SY": "经查，当事人销售过期食品。",
        "YJ": "《中华人民共和国食品安全法》第一百二十四条",
        "CFLB": "警告；罚款",
        "NR": "警告，罚款人民币五千元",
        "NR_FK": "0.50",
        "NR_WFFF": "",
        "NR_ZKDX": "",
        "JDRQ": "2024/03/15",
        "YXQ": "20250315",
        "GSJZQ": "2027-03-15",
        "CFJG": "鹤岗市市场监督管理局",
        "CFJGDM": BUREAU,
        "SJLY": "鹤岗市市场监督管理局",
        "SJLYDM": BUREAU,
        "YZCD": "一般",
        "ZDLY": "是",
        "BZ": "",
    }
    row.update(changes)
    return row


def codes(errors: list[FieldError]) -> list[tuple[str, str]]:
    return [(e.code, e.path) for e in errors]


def only_error(result: ValidationResult) -> FieldError:
    assert len(result.errors) == 1, result.errors
    return result.errors[0]


# --- the happy path ------------------------------------------------------------------------------


def test_complete_csv_row_is_normalised() -> None:
    result = VALIDATE(penalty_row())
    assert result.ok and result.errors == [] and result.warnings == []
    assert result.values == {
        "XDR_MC": "鹤岗市示例商贸有限公司",
        "XDR_LB": "法人及非法人组织",
        "XDR_SHXYM": COMPANY,
        "FRDB": "李四",
        "FR_ZJLX": "身份证",
        "FR_ZJHM": ID_A,
        "WSH": "鹤市监处罚〔2024〕12号",
        "WFXW": "销售不符合食品安全标准的食品",
        "SY": "经查，当事人销售过期食品。",
        "YJ": "《中华人民共和国食品安全法》第一百二十四条",
        "CFLB": ["警告", "罚款"],
        "NR": "警告，罚款人民币五千元",
        "NR_FK": "0.5",
        "JDRQ": "2024-03-15",
        "YXQ": "2025-03-15",
        "GSJZQ": "2027-03-15",
        "CFJG": "鹤岗市市场监督管理局",
        "CFJGDM": BUREAU,
        "SJLY": "鹤岗市市场监督管理局",
        "SJLYDM": BUREAU,
        "YZCD": "一般",
        "ZDLY": True,
    }


def test_json_input_from_graphql() -> None:
    row: dict[str, Any] = {k: v for k, v in penalty_row().items() if v}
    row.update(CFLB=["罚款", "没收违法所得"], NR_FK=1.5, NR_WFFF=3, ZDLY=False, JDRQ="2024-03-15")
    result = VALIDATE(row)
    assert result.ok, result.errors
    assert (result.values["CFLB"], result.values["NR_FK"], result.values["NR_WFFF"]) == (
        ["罚款", "没收违法所得"],
        "1.5",
        "3",
    )
    assert result.values["ZDLY"] is False


def test_natural_person_with_the_standards_id_examples() -> None:
    for number in (ID_A, ID_B):
        row = penalty_row(XDR_LB="自然人", XDR_MC="王五", XDR_SHXYM="", XDR_ZJLX="身份证", XDR_ZJHM=number)
        result = VALIDATE(row)
        assert result.ok, result.errors
        assert result.values["XDR_ZJHM"] == number and "XDR_SHXYM" not in result.values


# --- required and conditionally required ---------------------------------------------------------


def test_missing_and_blank_required_fields() -> None:
    row = penalty_row(WSH="   ")
    del row["NR"]
    result = VALIDATE(row)
    assert sorted(codes(result.errors)) == [("REQUIRED", "fields.NR"), ("REQUIRED", "fields.WSH")]
    assert "WSH" not in result.values and "NR" not in result.values
    assert {e.message for e in result.errors} == {
        "WSH (行政处罚决定书文号) is required",
        "NR (处罚内容) is required",
    }


def test_uscc_required_for_organisations_and_individual_businesses() -> None:
    for category in ("法人及非法人组织", "个体工商户"):
        error = only_error(VALIDATE(penalty_row(XDR_LB=category, XDR_SHXYM="")))
        assert (error.code, error.path) == ("REQUIRED", "fields.XDR_SHXYM")
        assert error.message == (
            "XDR_SHXYM (统一社会信用代码) is required when XDR_LB is 法人及非法人组织 or 个体工商户"
        )


def test_natural_person_needs_id_type_and_number_but_no_uscc() -> None:
    result = VALIDATE(penalty_row(XDR_LB="自然人", XDR_SHXYM=""))
    assert sorted(codes(result.errors)) == [("REQUIRED", "fields.XDR_ZJHM"), ("REQUIRED", "fields.XDR_ZJLX")]
    assert result.errors[0].message.endswith("is required when XDR_LB is 自然人")


def test_organisation_needs_no_personal_id() -> None:
    result = VALIDATE(penalty_row(XDR_ZJLX="", XDR_ZJHM=""))
    assert result.ok


def test_fine_required_when_a_category_is_fine() -> None:
    error = only_error(VALIDATE(penalty_row(NR_FK="")))
    assert (error.code, error.path) == ("REQUIRED", "fields.NR_FK")
    assert VALIDATE(penalty_row(CFLB="警告", NR_FK="")).ok
    error = only_error(VALIDATE(penalty_row(CFLB="吊销许可证件")))
    assert (error.code, error.path) == ("REQUIRED", "fields.NR_ZKDX")


def test_invalid_conditional_field_is_not_also_reported_missing() -> None:
    result = VALIDATE(penalty_row(NR_FK="abc"))
    assert codes(result.errors) == [("NOT_A_NUMBER", "fields.NR_FK")]


# --- unknown fields and types --------------------------------------------------------------------


def test_unknown_field_is_an_error_with_a_hint() -> None:
    result = VALIDATE(penalty_row(XDR_MCC="x", ZZZ="y"))
    assert codes(result.errors) == [("UNKNOWN_FIELD", "fields.XDR_MCC"), ("UNKNOWN_FIELD", "fields.ZZZ")]
    assert result.errors[0].message == (
        "record type administrative_penalty has no field 'XDR_MCC'; did you mean XDR_MC?"
    )
    assert "XDR_MCC" not in result.values


@pytest.mark.parametrize("name", ["XDR_MC", "XDR_LB", "XDR_SHXYM", "FR_ZJHM", "XDR_ZZJG", "CFLB"])
def test_not_a_string(name: str) -> None:
    error = only_error(VALIDATE({**penalty_row(), name: 12}))
    assert (error.code, error.path) == ("NOT_A_STRING", f"fields.{name}")


def test_list_item_not_a_string() -> None:
    error = only_error(VALIDATE({**penalty_row(), "CFLB": ["罚款", 3]}))
    assert (error.code, error.path, error.message) == (
        "NOT_A_STRING",
        "fields.CFLB",
        "CFLB: item 3 is not a string",
    )


def test_nul_character() -> None:
    error = only_error(VALIDATE(penalty_row(SY="违法\x00事实")))
    assert (error.code, error.path) == ("NUL_CHARACTER", "fields.SY")


def test_too_long() -> None:
    error = only_error(VALIDATE(penalty_row(XDR_MC="名" * 201)))
    assert (error.code, error.path) == ("TOO_LONG", "fields.XDR_MC")
    assert error.message == "XDR_MC has 201 characters; at most 200 allowed"
    assert VALIDATE(penalty_row(XDR_MC="名" * 200)).ok


def test_enum_value_not_allowed_lists_the_allowed_values() -> None:
    error = only_error(VALIDATE(penalty_row(YZCD="特别严重")))
    assert (error.code, error.path) == ("NOT_IN_ENUM", "fields.YZCD")
    assert error.message == "YZCD: '特别严重' is not one of: 轻微, 一般, 严重"


# --- dates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "iso"), [("2024-03-15", "2024-03-15"), ("2024/03/15", "2024-03-15"), ("20240315", "2024-03-15")]
)
def test_accepted_date_forms(raw: str, iso: str) -> None:
    assert VALIDATE(penalty_row(JDRQ=raw)).values["JDRQ"] == iso


@pytest.mark.parametrize(
    "raw",
    ["2024-02-30", "20230229", "2024-3-15", "2024.03.15", "15/03/2024", "２０２４-03-15", "2024-03/15", "x"],
)
def test_rejected_dates(raw: str) -> None:
    result = VALIDATE(penalty_row(JDRQ=raw, YXQ="", GSJZQ=""))
    error = only_error(result)
    assert (error.code, error.path) == ("NOT_A_DATE", "fields.JDRQ")
    assert error.message == f"JDRQ: {raw!r} is not a date (YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD)"


def test_date_from_json_must_be_a_string() -> None:
    error = only_error(VALIDATE({**penalty_row(), "GSJZQ": 20270315}))
    assert (error.code, error.path) == ("NOT_A_DATE", "fields.GSJZQ")


def test_leap_day() -> None:
    assert VALIDATE(penalty_row(JDRQ="20240229")).values["JDRQ"] == "2024-02-29"


def test_penalty_validity_before_decision() -> None:
    error = only_error(VALIDATE(penalty_row(YXQ="2024-03-14")))
    assert (error.code, error.path) == ("DATE_ORDER", "fields.YXQ")
    assert error.message == "YXQ (处罚有效期) 2024-03-14 is before JDRQ (处罚决定日期) 2024-03-15"
    assert VALIDATE(penalty_row(YXQ="2024-03-15")).ok


def test_licence_validity_end_before_start() -> None:
    row = {
        "XDR_MC": "示例公司",
        "XDR_LB": "法人及非法人组织",
        "XDR_SHXYM": COMPANY,
        "XKWS": "食品经营许可决定书",
        "WSH": "鹤食许〔2024〕1号",
        "XKLB": "普通",
        "NR": "食品销售",
        "JDRQ": "2024-03-15",
        "YXQZ": "2024-03-15",
        "YXQZI": "2099-12-31",
        "XKJG": "鹤岗市市场监督管理局",
        "XKJGDM": BUREAU,
        "LYDW": "鹤岗市市场监督管理局",
        "LYDWDM": BUREAU,
    }
    validate = compile_validator(LICENCE)
    assert validate(row).ok
    error = only_error(validate({**row, "YXQZI": "2024-03-01"}))
    assert (error.code, error.path) == ("DATE_ORDER", "fields.YXQZI")
    assert "before YXQZ (有效期自) 2024-03-15" in error.message


# --- decimals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("0.50", "0.5"),
        ("5000", "5000"),
        ("0", "0"),
        ("0.000", "0"),
        ("007.10", "7.1"),
        (".5", "0.5"),
        ("1.", "1"),
        ("+2", "2"),
        ("-0", "0"),
        ("12345678901234567890123456789012.5", "12345678901234567890123456789012.5"),
        (1.5, "1.5"),
        (1e3, "1000"),  # a JSON number in exponent form is exact: accepted
        (1e-7, "0.0000001"),
        (3, "3"),
        (Decimal("1.10"), "1.1"),
    ],
)
def test_decimal_normalisation(raw: Any, canonical: str) -> None:
    result = VALIDATE({**penalty_row(), "NR_FK": raw})
    assert result.ok, result.errors
    assert result.values["NR_FK"] == canonical


@pytest.mark.parametrize(
    "raw", ["1e3", "1E+3", "1,000", "1 000", "五千", "abc", ".", "+", "0x10", "NaN", "Infinity"]
)
def test_decimal_strings_refused(raw: str) -> None:
    """Exponent form in a file is the mark of a spreadsheet that reformatted (and maybe rounded) it."""
    error = only_error(VALIDATE(penalty_row(NR_FK=raw)))
    assert (error.code, error.path) == ("NOT_A_NUMBER", "fields.NR_FK")
    assert "no exponent, no thousands separators" in error.message


@pytest.mark.parametrize("raw", [float("nan"), float("inf"), True, [1], Decimal("NaN")])
def test_decimal_json_values_refused(raw: Any) -> None:
    error = only_error(VALIDATE({**penalty_row(), "NR_FK": raw}))
    assert (error.code, error.path) == ("NOT_A_NUMBER", "fields.NR_FK")


@pytest.mark.parametrize("raw", ["-1", "-0.01", -3])
def test_negative_amount_below_minimum(raw: Any) -> None:
    error = only_error(VALIDATE({**penalty_row(), "NR_FK": raw}))
    assert (error.code, error.path) == ("BELOW_MINIMUM", "fields.NR_FK")
    assert error.message.endswith("is below the minimum 0")


def test_positive_minimum() -> None:
    defn = RecordTypeDef.from_mapping(
        {
            **PENALTY.to_mapping(),
            "fields": [
                {**f.to_mapping(), "min": "0.5"} if f.name == "NR_FK" else f.to_mapping()
                for f in PENALTY.fields
            ],
        }
    )
    validate = compile_validator(defn)
    assert only_error(validate(penalty_row(NR_FK="0.4"))).code == "BELOW_MINIMUM"
    assert only_error(validate(penalty_row(NR_FK="0"))).code == "BELOW_MINIMUM"
    assert validate(penalty_row(NR_FK="0.50")).values["NR_FK"] == "0.5"


# --- enum lists and booleans ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "items"),
    [
        ("罚款", ["罚款"]),
        ("警告；罚款", ["警告", "罚款"]),
        ("警告;罚款", ["警告", "罚款"]),
        ("警告, 罚款 ,", ["警告", "罚款"]),
        ("警告，罚款；警告", ["警告", "罚款"]),
        ("警告、罚款", ["警告", "罚款"]),
        (["警告", " 罚款 "], ["警告", "罚款"]),
    ],
)
def test_penalty_categories_parse(raw: Any, items: list[str]) -> None:
    result = VALIDATE({**penalty_row(), "CFLB": raw})
    assert result.ok, result.errors
    assert result.values["CFLB"] == items


def test_penalty_category_unknown_item() -> None:
    error = only_error(VALIDATE(penalty_row(CFLB="警告；罚没")))
    assert (error.code, error.path) == ("NOT_IN_ENUM", "fields.CFLB")
    assert error.message.startswith("CFLB: '罚没' is not one of: 警告, 通报批评, 罚款, 没收违法所得,")


@pytest.mark.parametrize("raw", [";；", [], [" "]])
def test_empty_category_list_is_missing(raw: Any) -> None:
    error = only_error(VALIDATE({**penalty_row(), "CFLB": raw, "NR_FK": ""}))
    assert (error.code, error.path) == ("REQUIRED", "fields.CFLB")


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("是", True),
        ("否", False),
        ("true", True),
        ("False", False),
        ("1", True),
        ("0", False),
        (True, True),
        (False, False),
        (1, True),
        (0, False),
    ],
)
def test_booleans(raw: Any, value: bool) -> None:
    assert VALIDATE({**penalty_row(), "ZDLY": raw}).values["ZDLY"] is value


@pytest.mark.parametrize("raw", ["yes", "2", 2, 0.0, ["是"]])
def test_not_a_boolean(raw: Any) -> None:
    error = only_error(VALIDATE({**penalty_row(), "ZDLY": raw}))
    assert (error.code, error.path) == ("NOT_A_BOOLEAN", "fields.ZDLY")


# --- identifiers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (COMPANY[:17], "USCC_LENGTH"),
        ("91230400MA1B2C3DI5", "USCC_CHARACTER"),
        ("Z" + COMPANY[1:], "USCC_CHARACTER"),
        ("B" + COMPANY[1:], "USCC_AUTHORITY"),
        ("9123A400MA1B2C3D85", "USCC_DIVISION"),
        (COMPANY[:17] + ("0" if COMPANY[17] != "0" else "1"), "USCC_CHECK"),
        (OLD_COMPANY, "USCC_ORG_CODE_CHECK"),
    ],
)
def test_uscc_problems_carry_the_codes_of_codes_py(raw: str, code: str) -> None:
    error = only_error(VALIDATE(penalty_row(XDR_SHXYM=raw)))
    problem = uscc_problem(raw)
    assert problem is not None
    assert (error.code, error.path, error.message) == (
        code,
        "fields.XDR_SHXYM",
        f"XDR_SHXYM: {problem.message}",
    )


def test_authority_code_is_checked_too() -> None:
    error = only_error(VALIDATE(penalty_row(CFJGDM=BUREAU[:-1] + "X")))
    assert (error.code, error.path) == ("USCC_CHECK", "fields.CFJGDM")


def test_historical_mode_turns_the_org_code_check_into_a_warning() -> None:
    result = HISTORY(penalty_row(XDR_SHXYM=OLD_COMPANY))
    assert result.ok
    assert result.values["XDR_SHXYM"] == OLD_COMPANY
    assert codes(result.warnings) == [("USCC_ORG_CODE_CHECK", "fields.XDR_SHXYM")]
    assert "accepted as history" in result.warnings[0].message
    # Every other check still refuses.
    assert only_error(HISTORY(penalty_row(XDR_SHXYM=COMPANY[:17] + "0"))).code == "USCC_CHECK"


def test_individual_business_code_must_start_92() -> None:
    result = VALIDATE(penalty_row(XDR_LB="个体工商户"))
    assert result.ok
    assert codes(result.warnings) == [("CODE_PREFIX_MISMATCH", "fields.XDR_SHXYM")]
    assert (
        result.warnings[0].message
        == "XDR_SHXYM: XDR_LB is 个体工商户 but the code starts with '91', not '92'"
    )
    assert VALIDATE(penalty_row(XDR_LB="个体工商户", XDR_SHXYM=SHOP)).warnings == []


def test_organisation_with_a_92_code_is_flagged() -> None:
    result = VALIDATE(penalty_row(XDR_SHXYM=SHOP))
    assert result.ok
    assert codes(result.warnings) == [("CODE_PREFIX_MISMATCH", "fields.XDR_SHXYM")]
    assert "reserved for 个体工商户" in result.warnings[0].message


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("11010519491231002", "ID_LENGTH"),
        ("1101051949123100AX", "ID_CHARACTER"),
        ("11010519491231002Y", "ID_CHARACTER"),
        ("110105194902300028", "ID_BIRTH_DATE"),
        ("110105194912310021", "ID_CHECK"),
    ],
)
def test_resident_id_problems(raw: str, code: str) -> None:
    row = penalty_row(XDR_LB="自然人", XDR_SHXYM="", XDR_ZJLX="身份证", XDR_ZJHM=raw)
    error = only_error(VALIDATE(row))
    problem = resident_id_problem(raw)
    assert problem is not None and problem.code == code
    assert (error.code, error.path, error.message) == (
        code,
        "fields.XDR_ZJHM",
        f"XDR_ZJHM: {problem.message}",
    )


def test_legal_representative_id_is_checked() -> None:
    error = only_error(VALIDATE(penalty_row(FR_ZJHM=ID_B[:-1] + "5")))
    assert (error.code, error.path) == ("ID_CHECK", "fields.FR_ZJHM")


def test_other_documents_are_not_resident_ids() -> None:
    row = penalty_row(XDR_LB="自然人", XDR_SHXYM="", XDR_ZJLX="护照号", XDR_ZJHM=" e12345678 ")
    result = VALIDATE(row)
    assert result.ok
    assert result.values["XDR_ZJHM"] == "E12345678"
    assert only_error(VALIDATE({**row, "XDR_ZJHM": "E" * 31})).code == "TOO_LONG"


def test_id_number_without_a_document_type_is_taken_as_a_resident_id() -> None:
    result = VALIDATE(penalty_row(FR_ZJLX="", FR_ZJHM="E12345678"))
    assert codes(result.errors) == [("ID_LENGTH", "fields.FR_ZJHM")]


@pytest.mark.parametrize(("raw", "normalised"), [("MA1B2C3D8", "MA1B2C3D8"), ("ma1b2c3d-8", "MA1B2C3D8")])
def test_organisation_code(raw: str, normalised: str) -> None:
    assert org_code_check_char("MA1B2C3D") == "8"
    assert VALIDATE(penalty_row(XDR_ZZJG=raw)).values["XDR_ZZJG"] == normalised


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("MA1B2C3D", "ORG_CODE_LENGTH"),
        ("MA1B2C3D88", "ORG_CODE_LENGTH"),
        ("MA1B2C3#8", "ORG_CODE_CHARACTER"),
        ("MA1B2C3DA", "ORG_CODE_CHARACTER"),
        ("MA1B2C3D7", "ORG_CODE_CHECK"),
    ],
)
def test_organisation_code_problems(raw: str, code: str) -> None:
    error = only_error(VALIDATE(penalty_row(XDR_ZZJG=raw)))
    assert (error.code, error.path) == (code, "fields.XDR_ZZJG")


def test_organisation_code_check_is_a_warning_in_historical_mode() -> None:
    result = HISTORY(penalty_row(XDR_ZZJG="MA1B2C3D7"))
    assert result.ok and result.values["XDR_ZZJG"] == "MA1B2C3D7"
    assert codes(result.warnings) == [("ORG_CODE_CHECK", "fields.XDR_ZZJG")]


def test_identifier_verdicts_agree_with_codes_py() -> None:
    """The validator's fast paths never accept what hub.entities.codes refuses, nor the reverse."""
    rnd = random.Random(20240315)
    for _ in range(3000):
        body = "".join(rnd.choice(USCC_ALPHABET) for _ in range(8))
        code = make_uscc(rnd.choice("159ANY"), rnd.choice("1239"), "230400", body)
        if rnd.random() < 0.7:
            pos = rnd.randrange(18)
            code = code[:pos] + rnd.choice(USCC_ALPHABET + "IOSVZ") + code[pos + 1 :]
        result = VALIDATE(penalty_row(XDR_SHXYM=code))
        expected = uscc_problem(code)
        assert result.ok == (expected is None), code
        if expected is not None:
            assert only_error(result).code == expected.code

        number = "".join(rnd.choice("0123456789") for _ in range(17)) + rnd.choice("0123456789X")
        number = number[:6] + rnd.choice(["1990", "2000", "1900"]) + rnd.choice(["02", "12"]) + number[12:]
        result = VALIDATE(penalty_row(FR_ZJHM=number))
        id_problem = resident_id_problem(number)
        assert result.ok == (id_problem is None), number


# --- every bundled type --------------------------------------------------------------------------

SAMPLES: dict[str, Callable[[FieldDef], Any]] = {
    "string": lambda f: "示例",
    "text": lambda f: "示例内容",
    "date": lambda f: "2024-03-15",
    "decimal": lambda f: "1.5",
    "enum": lambda f: f.values[0],
    "enum_list": lambda f: f.values[0],
    "uscc": lambda f: COMPANY,
    "id_number": lambda f: ID_A,
    "org_code": lambda f: "MA1B2C3D8",
    "boolean": lambda f: "否",
}


@pytest.mark.parametrize("code", sorted(CATALOG))
def test_every_bundled_type_accepts_a_filled_row(code: str) -> None:
    defn = CATALOG[code]
    row = {f.name: SAMPLES[f.type](f) for f in defn.fields}
    result = compile_validator(defn)(row)
    assert result.ok, result.errors
    assert set(result.values) == set(row)


@pytest.mark.parametrize("code", sorted(CATALOG))
def test_every_bundled_type_names_its_required_fields(code: str) -> None:
    defn = CATALOG[code]
    result = compile_validator(defn)({})
    assert {e.path for e in result.errors} == {f"fields.{f.name}" for f in defn.fields if f.required}
    assert {e.code for e in result.errors} == {"REQUIRED"}


def test_field_error_is_immutable() -> None:
    error = FieldError("REQUIRED", "fields.WSH", "x")
    with pytest.raises(AttributeError):
        error.code = "OTHER"  # type: ignore[misc]
