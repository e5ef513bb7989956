"""The record catalogue: bundled YAML definitions and the loader's refusals."""

from __future__ import annotations

import copy
import json
import re
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest
import yaml

from hub.catalog.record_types import CatalogError, RecordTypeDef, load_bundled

RECORD_TYPES = {
    "administrative_licence",
    "administrative_penalty",
    "inspection_result",
    "credit_commitment",
    "commitment_fulfilment",
    "complaint",
    "contract_performance",
    "honour",
    "serious_dishonesty_list",
    "key_attention_list",
    "abnormal_operation_list",
    "trust_incentive_list",
    # Evaluation results enter through the same push path (tests/grading covers their rules).
    "public_evaluation",
    "industry_evaluation",
    "market_evaluation",
}
PARTY = ["XDR_MC", "XDR_LB", "XDR_SHXYM", "XDR_GSZC", "XDR_ZZJG", "XDR_SWDJ", "XDR_SYDW", "XDR_SHZZ"]
PARTY += ["FRDB", "FR_ZJLX", "FR_ZJHM", "XDR_ZJLX", "XDR_ZJHM"]
CFLB = [
    "警告",
    "通报批评",
    "罚款",
    "没收违法所得",
    "没收非法财物",
    "暂扣许可证件",
    "降低资质等级",
    "吊销许可证件",
    "限制开展生产经营活动",
    "责令停产停业",
    "责令关闭",
    "限制从业",
    "行政拘留",
]


@pytest.fixture(scope="module")
def catalog() -> dict[str, RecordTypeDef]:
    return load_bundled()


def raw_yaml(code: str) -> dict[str, Any]:
    text = resources.files("hub").joinpath("catalog", "records", f"{code}.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def test_bundled_types_are_exactly_the_catalogue(catalog: dict[str, RecordTypeDef]) -> None:
    assert set(catalog) == RECORD_TYPES
    assert all(d.version == 1 for d in catalog.values())


@pytest.mark.parametrize("code", sorted(RECORD_TYPES))
def test_bundled_type_round_trips_through_json(catalog: dict[str, RecordTypeDef], code: str) -> None:
    defn = catalog[code]
    mapping = json.loads(json.dumps(defn.to_mapping(), ensure_ascii=False))
    assert RecordTypeDef.from_mapping(mapping) == defn
    assert mapping == defn.to_mapping()


@pytest.mark.parametrize("code", sorted(RECORD_TYPES))
def test_yaml_says_what_is_loaded(catalog: dict[str, RecordTypeDef], code: str) -> None:
    """Every key written in the file comes back unchanged: nothing is dropped or reinterpreted."""
    raw = raw_yaml(code)
    out = catalog[code].to_mapping()
    assert {k: out[k] for k in raw if k != "fields"} == {k: v for k, v in raw.items() if k != "fields"}
    assert [f["name"] for f in raw["fields"]] == [f["name"] for f in out["fields"]]
    for raw_field, out_field in zip(raw["fields"], out["fields"], strict=True):
        assert {k: out_field.get(k) for k in raw_field} == raw_field


@pytest.mark.parametrize("code", sorted(RECORD_TYPES))
def test_bundled_type_basics(catalog: dict[str, RecordTypeDef], code: str) -> None:
    defn = catalog[code]
    decision = defn.field(defn.decision_date_field)
    assert decision.type == "date" and decision.required
    assert defn.field(defn.identity_field).required
    assert defn.field(defn.source_code_field).type == "uscc"
    assert defn.field(defn.source_code_field).required
    if defn.validity_end_field is not None:
        assert defn.field(defn.validity_end_field).type == "date"
    for name in ("XDR_MC", "XDR_LB", "XDR_SHXYM", "XDR_ZJLX", "XDR_ZJHM"):
        assert defn.has_field(name), name
    assert defn.field("XDR_ZJHM").sensitivity == "personal"
    for f in defn.fields:  # the SDL documents each field with its Chinese term
        assert re.search(r"\([^)]*[\u4e00-\u9fff]", f.description), f.name


def test_licence_fields_are_the_platform_fields(catalog: dict[str, RecordTypeDef]) -> None:
    defn = catalog["administrative_licence"]
    assert [f.name for f in defn.fields] == [
        *PARTY,
        "XKWS",
        "WSH",
        "XKLB",
        "XKZS",
        "XKBH",
        "NR",
        "JDRQ",
        "YXQZ",
        "YXQZI",
        "XKJG",
        "XKJGDM",
        "ZT",
        "LYDW",
        "LYDWDM",
        "BZ",
    ]
    assert (defn.source_code_field, defn.identity_field, defn.validity_end_field) == (
        "LYDWDM",
        "WSH",
        "YXQZI",
    )
    assert defn.category == "double_publicity"
    assert defn.field("XKLB").values == ("普通", "特许", "认可", "核准", "登记", "其他")
    assert defn.field("YXQZI").not_before == ("YXQZ", "JDRQ")


def test_penalty_fields_are_the_platform_fields(catalog: dict[str, RecordTypeDef]) -> None:
    defn = catalog["administrative_penalty"]
    assert [f.name for f in defn.fields] == [
        *PARTY,
        "WSH",
        "WFXW",
        "SY",
        "YJ",
        "CFLB",
        "NR",
        "NR_FK",
        "NR_WFFF",
        "NR_ZKDX",
        "JDRQ",
        "YXQ",
        "GSJZQ",
        "CFJG",
        "CFJGDM",
        "SJLY",
        "SJLYDM",
        "YZCD",
        "ZDLY",
        "BZ",
    ]
    assert (defn.source_code_field, defn.identity_field) == ("SJLYDM", "WSH")
    cflb = defn.field("CFLB")
    assert cflb.type == "enum_list" and list(cflb.values) == CFLB
    for name in ("NR_FK", "NR_WFFF"):
        amount = defn.field(name)
        assert (amount.type, amount.unit, amount.min) == ("decimal", "万元", Decimal(0))
    assert defn.field("YZCD").values == ("轻微", "一般", "严重")
    assert not defn.field("YZCD").required
    assert defn.field("ZDLY").type == "boolean"
    required = {f.name for f in defn.fields if f.required}
    assert required == {"XDR_MC", "XDR_LB", "WSH", "WFXW", "SY", "YJ", "CFLB", "NR", "JDRQ"} | {
        "CFJG",
        "CFJGDM",
        "SJLY",
        "SJLYDM",
    }


def test_party_rules(catalog: dict[str, RecordTypeDef]) -> None:
    defn = catalog["administrative_penalty"]
    uscc = defn.field("XDR_SHXYM")
    assert [(c.field, c.values) for c in uscc.required_when] == [
        ("XDR_LB", ("法人及非法人组织", "个体工商户"))
    ]
    assert [(p.field, p.value, p.prefix) for p in uscc.prefix_for] == [("XDR_LB", "个体工商户", "92")]
    for name in ("XDR_ZJLX", "XDR_ZJHM"):
        assert [(c.field, c.values) for c in defn.field(name).required_when] == [("XDR_LB", ("自然人",))]
    assert defn.field("FR_ZJHM").sensitivity == "personal"
    # A legal representative's name is a natural person's name (issue 9: personal, sealed at rest).
    assert defn.field("FRDB").sensitivity == "personal"
    party_name = defn.field("XDR_MC")
    assert party_name.sensitivity == "restricted"
    assert party_name.sensitivity_for({"XDR_LB": "自然人"}) == "personal"
    assert party_name.sensitivity_for({"XDR_LB": "法人及非法人组织"}) == "public"
    # An individual business is published under its business name, as the registry shows it.
    assert party_name.sensitivity_for({"XDR_LB": "个体工商户"}) == "public"


def test_other_types_carry_their_policy_values(catalog: dict[str, RecordTypeDef]) -> None:
    assert catalog["inspection_result"].field("JCLX").values[:3] == ("双随机", "专项", "日常")
    assert catalog["credit_commitment"].field("CNLX").values == (
        "审批替代型",
        "主动型",
        "信用修复型",
        "行业自律型",
    )
    assert catalog["commitment_fulfilment"].field("LYZT").values == ("已履约", "未履约", "部分履约")
    assert catalog["honour"].field("RYJB").values == ("国家级", "省级", "市级", "区县级")
    assert catalog["contract_performance"].field("HTJE").unit == "万元"
    for code in ("serious_dishonesty_list", "key_attention_list", "abnormal_operation_list"):
        assert catalog[code].validity_end_field == "YCRQ"
        assert catalog[code].field("YCRQ").not_before == ("LRRQ",)
        assert catalog[code].category == "list"


def test_field_lookup_names_the_type(catalog: dict[str, RecordTypeDef]) -> None:
    with pytest.raises(KeyError, match="record type 'honour' has no field 'WSH'"):
        catalog["honour"].field("WSH")


def test_check_order_puts_fields_after_what_their_rules_read(catalog: dict[str, RecordTypeDef]) -> None:
    for defn in catalog.values():
        order = [f.name for f in defn.check_order()]
        assert sorted(order) == sorted(defn.field_names)
        for f in defn.fields:
            for ref in f.depends_on:
                assert order.index(ref) < order.index(f.name), (defn.code, f.name, ref)


# --- broken definitions --------------------------------------------------------------------------


def minimal() -> dict[str, Any]:
    return {
        "code": "demo",
        "version": 1,
        "title": "Demo",
        "title_zh": "示例",
        "category": "other",
        "decision_date_field": "JDRQ",
        "source_code_field": "LYDWDM",
        "identity_field": "WSH",
        "validity_end_field": None,
        "fields": [
            {"name": "WSH", "label_zh": "文书号", "label": "Number", "description": "d", "type": "string"},
            {"name": "JDRQ", "label_zh": "决定日期", "label": "Date", "description": "d", "type": "date"},
            {"name": "LYDWDM", "label_zh": "代码", "label": "Code", "description": "d", "type": "uscc"},
            {
                "name": "XDR_LB",
                "label_zh": "类别",
                "label": "Category",
                "description": "d",
                "type": "enum",
                "values": ["法人及非法人组织", "自然人"],
            },
        ],
    }


def test_minimal_definition_loads_with_defaults() -> None:
    defn = RecordTypeDef.from_mapping(minimal())
    wsh = defn.field("WSH")
    assert (wsh.required, wsh.sensitivity, wsh.max_length, wsh.values) == (False, "public", None, ())
    assert RecordTypeDef.from_mapping(defn.to_mapping()) == defn


def broken(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(minimal())
    change(data)
    return data


def _field(data: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(f for f in data["fields"] if f["name"] == name)
    return found


BROKEN = [
    (
        lambda d: _field(d, "WSH").update(type="strng"),
        "record type 'demo', field WSH: unknown type 'strng' (one of string, text, date,",
    ),
    (
        lambda d: _field(d, "XDR_LB").pop("values"),
        "record type 'demo', field XDR_LB: an enum field needs 'values'",
    ),
    (
        lambda d: _field(d, "XDR_LB").update(values=[]),
        "record type 'demo', field XDR_LB: 'values' must be a non-empty list of strings",
    ),
    (
        lambda d: _field(d, "XDR_LB").update(values=["自然人", "自然人"]),
        "record type 'demo', field XDR_LB: 'values' lists '自然人' twice",
    ),
    (
        lambda d: _field(d, "WSH").update(required_when={"XDR_LX": ["自然人"]}),
        "record type 'demo', field WSH: required_when names unknown field 'XDR_LX'",
    ),
    (
        lambda d: _field(d, "WSH").update(required_when={"XDR_LB": ["自然 人"]}),
        "record type 'demo', field WSH: required_when value '自然 人' is not one of XDR_LB's values "
        "(法人及非法人组织, 自然人)",
    ),
    (
        lambda d: _field(d, "WSH").update(required=True, required_when={"XDR_LB": ["自然人"]}),
        "field WSH: 'required_when' makes no sense on a field that is always required",
    ),
    (lambda d: d.pop("decision_date_field"), "record type 'demo': 'decision_date_field' is missing"),
    (
        lambda d: d.update(decision_date_field="JDRQQ"),
        "record type 'demo': 'decision_date_field' names unknown field 'JDRQQ'",
    ),
    (
        lambda d: d.update(decision_date_field="WSH"),
        "record type 'demo': 'decision_date_field' names WSH, which is string, not date",
    ),
    (
        lambda d: d.update(validity_end_field="WSH"),
        "record type 'demo': 'validity_end_field' names WSH, which is string, not date",
    ),
    (
        lambda d: d["fields"].append(dict(_field(d, "WSH"))),
        "record type 'demo': duplicate field name 'WSH'",
    ),
    (lambda d: d.update(category="misc"), "record type 'demo': unknown category 'misc'"),
    (lambda d: d.update(version=True), "record type 'demo': 'version' must be a positive integer"),
    (lambda d: d.update(code="Demo"), "record type code 'Demo' must be lower-case letters, digits and _"),
    (lambda d: d.update(fields=[]), "record type 'demo': 'fields' must be a non-empty list"),
    (lambda d: d.update(titel="x"), "record type 'demo': unknown key 'titel'"),
    (lambda d: _field(d, "WSH").update(requird=True), "record type 'demo', field WSH: unknown key 'requird'"),
    (
        lambda d: _field(d, "WSH").update(name="wsh"),
        "record type 'demo', field: field name 'wsh' must be upper-case letters, digits and _",
    ),
    (lambda d: _field(d, "WSH").update(sensitivity="secret"), "field WSH: unknown sensitivity 'secret'"),
    (lambda d: _field(d, "WSH").update(min=0), "field WSH: 'min' and 'unit' only apply to decimal fields"),
    (
        lambda d: _field(d, "JDRQ").update(max_length=10),
        "field JDRQ: 'max_length' only applies to string, text, id_number fields",
    ),
    (lambda d: _field(d, "WSH").update(max_length=0), "field WSH: 'max_length' must be a positive integer"),
    (
        lambda d: _field(d, "WSH").update(values=["a"]),
        "field WSH: 'values' only applies to enum and enum_list fields",
    ),
    (
        lambda d: _field(d, "WSH").update(check_when={"XDR_LB": ["自然人"]}),
        "field WSH: 'check_when' only applies to id_number fields",
    ),
    (
        lambda d: _field(d, "LYDWDM").update(prefix_for={"XDR_LB": {"法人及非法人组织": 91}}),
        "field LYDWDM: prefix for '法人及非法人组织' must be a non-empty string (quote it)",
    ),
    (
        lambda d: _field(d, "LYDWDM").update(prefix_for={"WSH": {"x": "91"}}),
        "field LYDWDM: prefix_for names WSH, which is string, not enum",
    ),
    (
        lambda d: _field(d, "JDRQ").update(not_before=["JDRQ"]),
        "field JDRQ: not_before names the field itself",
    ),
    (
        lambda d: _field(d, "XDR_LB").update(sensitivity_when={"XDR_LB": {"自然人": "personal"}}),
        "field XDR_LB: sensitivity_when names the field itself",
    ),
    (
        lambda d: (
            _field(d, "WSH").update(required_when={"XDR_LB": ["自然人"]}),
            _field(d, "XDR_LB").update(required_when={"WSH": ["x"]}),
        ),
        "record type 'demo': field rules form a cycle: WSH -> XDR_LB -> WSH",
    ),
]


@pytest.mark.parametrize(("change", "message"), BROKEN)
def test_broken_definition_is_refused_with_its_reason(change: Any, message: str) -> None:
    with pytest.raises(CatalogError) as caught:
        RecordTypeDef.from_mapping(broken(change))
    assert message in str(caught.value)


def test_catalog_error_is_a_value_error() -> None:
    assert issubclass(CatalogError, ValueError)
