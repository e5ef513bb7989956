"""The masking rules, each against a hand-written table (domain.md's examples and worked cases)."""

from __future__ import annotations

import pytest

from hub.catalog.masking_policies import MASK_KINDS, MaskRule
from hub.disclosure import masks

# GB 11643-1999's own examples (domain.md) and a mobile number.
ID_A, ID_B, MOBILE = "11010519491231002X", "440524188001010014", "13812345678"
ID6_4 = MaskRule("id_number", "keep_ends", (("first", 6), ("last", 4)))
ID3_4 = MaskRule("id_number_short", "keep_ends", (("first", 3), ("last", 4)))
MOBILE3_4 = MaskRule("mobile", "keep_ends", (("first", 3), ("last", 4)))


def test_every_mask_kind_of_the_policy_format_is_implemented() -> None:
    assert masks.MASK_KINDS == set(MASK_KINDS)


@pytest.mark.parametrize(
    ("rule", "value", "expected"),
    [
        (ID6_4, ID_A, "110105********002X"),
        (ID6_4, ID_B, "440524********0014"),
        (ID3_4, ID_A, "110***********002X"),
        (MOBILE3_4, MOBILE, "138****5678"),
        # Too short for anything to stay hidden: everything masked.
        (MOBILE3_4, "1234567", "*******"),
        (MaskRule("r", "mask_range", (("start", 7), ("end", 14))), ID_A, "110105********002X"),
        (MaskRule("r", "mask_range", (("start", 4), ("end", 20))), "1234567", "123****"),
        (MaskRule("r", "first_character"), "张三", "张*"),
        (MaskRule("r", "first_character"), "欧阳娜娜", "欧*"),
        (MaskRule("r", "everything"), "张三", "**"),
        (MaskRule("r", "everything"), ID_A, "********"),
    ],
)
def test_named_rules(rule: MaskRule, value: str, expected: str) -> None:
    assert masks.apply_rule(rule, value) == expected


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("黑龙江省哈尔滨市南岗区学府路52号", "黑龙江省哈尔滨市南岗区"),
        ("北京市海淀区中关村大街1号", "北京市海淀区"),
        ("哈尔滨市道里区中央大街100号", "哈尔滨市道里区"),
        ("内蒙古自治区呼和浩特市新城区新华大街1号", "内蒙古自治区呼和浩特市新城区"),
        ("黑龙江省五常市拉林镇", "黑龙江省五常市"),  # a county-level city
        ("黑龙江省哈尔滨市巴彦县兴隆镇", "黑龙江省哈尔滨市巴彦县"),
        ("内蒙古自治区呼伦贝尔市鄂温克族自治旗巴彦托海镇", "内蒙古自治区呼伦贝尔市鄂温克族自治旗"),
        # No district in it: nothing of it shown.
        ("学府路52号", "******"),
    ],
)
def test_addresses_are_cut_to_their_district(address: str, expected: str) -> None:
    assert masks.apply_rule(MaskRule("address", "district"), address) == expected


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("0.5", "<1"),
        ("1", "1-10"),
        ("9.99", "1-10"),
        ("10", "10-100"),
        ("250", "100-1000"),
        ("1000", "≥1000"),
    ],
)
def test_amounts_become_bands(amount: str, expected: str) -> None:
    rule = MaskRule("amount", "amount_band", (("bounds", (1, 10, 100, 1000)),))
    assert masks.apply_rule(rule, amount) == expected


def test_an_amount_that_is_not_a_number_is_masked_whole() -> None:
    rule = MaskRule("amount", "amount_band", (("bounds", (1, 10)),))
    assert masks.apply_rule(rule, "一万") == "**"


class _Jefe:
    """A key provider whose masking key is RFC 4231 test case 2's key."""

    def key(self, purpose: str) -> bytes:
        assert purpose == masks.KEYED_HASH_PURPOSE
        return b"Jefe"


def test_a_keyed_hash_is_hmac_sha256_under_the_masking_key() -> None:
    # RFC 4231 §4.3: HMAC-SHA-256("Jefe", "what do ya want for nothing?").
    rule = MaskRule("pseudonym", "keyed_hash", (("length", 16),))
    assert masks.apply_rule(rule, "what do ya want for nothing?", _Jefe()) == "5bdcc146bf60754e"


def test_a_keyed_hash_without_keys_masks_everything() -> None:
    assert masks.apply_rule(MaskRule("p", "keyed_hash"), "张三") == "**"


@pytest.mark.parametrize("rule", [None, MaskRule("x", "no_such_mask"), MaskRule("x", "keep_ends")])
def test_an_unknown_or_broken_rule_masks_everything(rule: MaskRule | None) -> None:
    assert masks.apply_rule(rule, ID_A) == "********"


def test_an_unknown_rule_name_masks_everything() -> None:
    assert masks.apply("no_such_rule", "张三") == "**"
    assert masks.apply("first_character", "张三") == "张*"  # a built-in name


@pytest.mark.parametrize(
    ("text", "expected", "ids", "mobiles"),
    [
        ("无", "无", 0, 0),
        (f"身份证号{ID_A}，电话{MOBILE}。", "身份证号110105********002X，电话138****5678。", 1, 1),
        (f"当事人{ID_B.lower()}", "当事人440524********0014", 1, 0),
        # 18 characters whose check character is wrong: an order number, not an ID number.
        ("订单号110105194912310021", "订单号110105194912310021", 0, 0),
        # An old 15-digit number (6 address, YYMMDD, 3 sequence).
        ("旧证号110105491231002", "旧证号110105*****1002", 1, 0),
        # A 15-digit number whose "birth date" is not a date.
        ("编号110105491331002", "编号110105491331002", 0, 0),
        # Digits inside a longer run are not a number of their own.
        ("流水号2138123456789", "流水号2138123456789", 0, 0),
        ("12345678901", "12345678901", 0, 0),  # 1 then 2: not a mobile prefix
        ("手机15012345678、17712345678", "手机150****5678、177****5678", 0, 2),
    ],
)
def test_free_text_is_scanned_for_id_and_mobile_numbers(
    text: str, expected: str, ids: int, mobiles: int
) -> None:
    assert masks.scan_counts(text, ID6_4, MOBILE3_4) == (expected, ids, mobiles)
