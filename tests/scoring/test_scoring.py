"""Industry evaluation models (行业信用评价模型): the public-weight rule of seed 001 §三(一)3, weights,
score-based schemes, ownership and versions. Also the helpers the other test_scoring* files share."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.conftest import Actor, gql
from tests.grading.evaluations import assign

DOMAIN = "catering_services"  # catering_food_safety: A >= 90, B 75-<90, C 60-<75, no grade below 60
PERIOD = str(dt.date.today().year)
RULE = "公共信用综合评价结果的权重和分值不低于各项指标的平均权重和分值"

MODEL: dict[str, Any] = {
    "domain": DOMAIN,
    "period": PERIOD,
    "titleZh": "餐饮服务食品安全信用评价模型",
    "publicIndicator": "PUB",
    "indicators": [
        {"code": "PUB", "labelZh": "公共信用综合评价结果", "weight": "0.4", "min": "0", "max": "100"},
        {"code": "INS", "labelZh": "日常监督检查", "weight": "0.3", "min": "0", "max": "10"},
        {"code": "CMP", "labelZh": "投诉举报处理", "weight": "0.2", "min": "0", "max": "5"},
        {"code": "HON", "labelZh": "荣誉表彰", "weight": "0.1", "min": "0", "max": "1", "optional": True},
    ],
}

SAVE = """mutation($m: EvaluationModelInput!) { saveEvaluationModel(model: $m) { __typename
  ... on EvaluationModel { domain period version titleZh publicIndicator averageWeight validUntil
        indicators { code labelZh weight min max optional } }
  ... on Problem { code message path } } }"""
READ = """query($d: String!, $p: String) { evaluationModel(domain: $d, period: $p) { domain period version
  publicIndicator indicators { code weight } } }"""
GRADE = """mutation($d: String!, $p: String!) { gradeDomain(domain: $d, period: $p) { __typename
  ... on DomainGraded { domain period modelVersion scheme entities scored incomplete ungraded created updated
        unchanged population classificationChanges }
  ... on Problem { code message path } } }"""
LOAD = """mutation($d: String!, $p: String!, $e: [EntityIndicatorsInput!]!) {
  loadIndicatorValues(domain: $d, period: $p, entities: $e) { __typename
  ... on IndicatorValuesLoaded { receiptId modelVersion total created updated unchanged filledFromPublic rejected
        rejectionsUrl rejections { line uscc errors { code path message } } }
  ... on Problem { code message path } } }"""


def model(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(MODEL)
    body.update(changes)
    return body


def weights(*values: str) -> list[dict[str, Any]]:
    """The model's indicators with other weights (in order)."""
    return [{**ind, "weight": w} for ind, w in zip(MODEL["indicators"], values, strict=True)]


def entity(uscc: str, **values: str | None) -> dict[str, Any]:
    return {"uscc": uscc, "indicators": [{"code": c, "value": v} for c, v in values.items()]}


async def save(client: httpx.AsyncClient, actor: Actor, body: dict[str, Any]) -> dict[str, Any]:
    answer = await gql(client, SAVE, {"m": body}, actor)
    assert "errors" not in answer, answer
    result: dict[str, Any] = answer["data"]["saveEvaluationModel"]
    return result


async def setup(
    client: httpx.AsyncClient, actors: dict[str, Actor], body: dict[str, Any] | None = None
) -> None:
    """Catering services becomes the test department's domain, with the model above."""
    await assign(client, actors["credit_office"], actors["department"], DOMAIN)
    saved = await save(client, actors["department"], body or MODEL)
    assert saved["__typename"] == "EvaluationModel", saved


async def load(client: httpx.AsyncClient, actor: Actor, entities: list[dict[str, Any]]) -> dict[str, Any]:
    answer = await gql(client, LOAD, {"d": DOMAIN, "p": PERIOD, "e": entities}, actor)
    assert "errors" not in answer, answer
    result: dict[str, Any] = answer["data"]["loadIndicatorValues"]
    return result


async def grade(
    client: httpx.AsyncClient, actor: Actor, domain: str = DOMAIN, period: str = PERIOD
) -> dict[str, Any]:
    answer = await gql(client, GRADE, {"d": domain, "p": period}, actor)
    assert "errors" not in answer, answer
    result: dict[str, Any] = answer["data"]["gradeDomain"]
    return result


async def stored_models(connection: AsyncConnection) -> list[tuple[str, int]]:
    rows = await connection.execute(
        text(
            "SELECT code, version FROM catalog_documents WHERE kind = 'evaluation_model' ORDER BY code, version"
        )
    )
    return [(r[0], r[1]) for r in rows]


# --- models --------------------------------------------------------------------------------------


async def test_a_model_is_stored_as_a_versioned_policy_document(client, actors, connection):
    await assign(client, actors["credit_office"], actors["department"], DOMAIN)
    saved = await save(client, actors["department"], MODEL)
    assert saved == {
        "__typename": "EvaluationModel",
        "domain": DOMAIN,
        "period": PERIOD,
        "version": 1,
        "titleZh": "餐饮服务食品安全信用评价模型",
        "publicIndicator": "PUB",
        "averageWeight": "0.25",
        "validUntil": f"{PERIOD}-12-31",
        "indicators": [
            {
                "code": "PUB",
                "labelZh": "公共信用综合评价结果",
                "weight": "0.4",
                "min": "0",
                "max": "100",
                "optional": False,
            },
            {
                "code": "INS",
                "labelZh": "日常监督检查",
                "weight": "0.3",
                "min": "0",
                "max": "10",
                "optional": False,
            },
            {
                "code": "CMP",
                "labelZh": "投诉举报处理",
                "weight": "0.2",
                "min": "0",
                "max": "5",
                "optional": False,
            },
            {"code": "HON", "labelZh": "荣誉表彰", "weight": "0.1", "min": "0", "max": "1", "optional": True},
        ],
    }
    # The same model again is no new version; a change is.
    assert (await save(client, actors["department"], MODEL))["version"] == 1
    amended = await save(
        client, actors["department"], model(indicators=weights("0.4", "0.25", "0.25", "0.1"))
    )
    assert amended["version"] == 2
    assert await stored_models(connection) == [(DOMAIN, 1), (DOMAIN, 2)]
    read = await gql(client, READ, {"d": DOMAIN}, actors["credit_office"])
    assert read["data"]["evaluationModel"]["version"] == 2
    assert read["data"]["evaluationModel"]["indicators"][1] == {"code": "INS", "weight": "0.25"}
    other_period = await gql(client, READ, {"d": DOMAIN, "p": "2099"}, actors["department"])
    assert other_period["data"]["evaluationModel"] is None


async def test_the_public_indicator_must_be_in_the_model(client, actors, connection):
    await assign(client, actors["credit_office"], actors["department"], DOMAIN)
    refused = await save(client, actors["department"], model(publicIndicator="PUBLIC"))
    assert (refused["__typename"], refused["code"], refused["path"]) == (
        "InvalidInput",
        "PUBLIC_INDICATOR_MISSING",
        "model.publicIndicator",
    )
    assert "公共信用综合评价结果" in refused["message"] and "PUB, INS, CMP, HON" in refused["message"]
    without = model(
        indicators=[{**MODEL["indicators"][1], "weight": "0.6"}, {**MODEL["indicators"][2], "weight": "0.4"}]
    )
    assert (await save(client, actors["department"], without))["code"] == "PUBLIC_INDICATOR_MISSING"
    assert await stored_models(connection) == []


async def test_the_public_weight_may_not_be_below_the_average(client, actors, connection):
    await assign(client, actors["credit_office"], actors["department"], DOMAIN)
    refused = await save(client, actors["department"], model(indicators=weights("0.1", "0.3", "0.3", "0.3")))
    assert refused == {
        "__typename": "InvalidInput",
        "code": "PUBLIC_WEIGHT_TOO_LOW",
        "path": "model.indicators.0.weight",
        "message": "the public comprehensive evaluation indicator PUB weighs 0.1, below the average indicator "
        f"weight 0.25 (1/4 of 4 indicators); seed 001 §三(一)3: {RULE}",
    }
    # Three indicators: the average 1/3 cannot be written with 4 decimals; 0.3333 is below it, 0.3334 is not.
    three = MODEL["indicators"][:3]
    low = model(
        indicators=[
            {**three[0], "weight": "0.3333"},
            {**three[1], "weight": "0.3334"},
            {**three[2], "weight": "0.3333"},
        ]
    )
    refused = await save(client, actors["department"], low)
    assert refused["code"] == "PUBLIC_WEIGHT_TOO_LOW"
    assert (
        "weighs 0.3333, below the average indicator weight 0.3333… (1/3 of 3 indicators)"
        in refused["message"]
    )
    assert await stored_models(connection) == []
    equal = model(
        indicators=[
            {**three[0], "weight": "0.3334"},
            {**three[1], "weight": "0.3333"},
            {**three[2], "weight": "0.3333"},
        ]
    )
    assert (await save(client, actors["department"], equal))["__typename"] == "EvaluationModel"


async def test_weights_must_sum_to_one_and_be_fractions(client, actors, connection):
    await assign(client, actors["credit_office"], actors["department"], DOMAIN)
    refused = await save(client, actors["department"], model(indicators=weights("0.4", "0.3", "0.1", "0.1")))
    assert (refused["code"], refused["path"], refused["message"]) == (
        "WEIGHTS_DO_NOT_SUM",
        "model.indicators",
        "the indicator weights sum to 0.9, not 1 (0.4 + 0.3 + 0.1 + 0.1)",
    )
    percent = await save(client, actors["department"], model(indicators=weights("40", "30", "20", "10")))
    assert (percent["code"], percent["path"]) == ("WEIGHT_INVALID", "model.indicators.0.weight")
    cases = [
        (
            model(indicators=weights("0.4", "0.3", "0.2", "0.10001")),
            "WEIGHT_INVALID",
            "model.indicators.3.weight",
        ),
        (
            model(
                indicators=[{**MODEL["indicators"][0], "min": "100", "max": "0"}, *MODEL["indicators"][1:]]
            ),
            "RANGE_INVALID",
            "model.indicators.0.min",
        ),
        (
            model(indicators=[*MODEL["indicators"][:3], {**MODEL["indicators"][3], "code": "PUB"}]),
            "DUPLICATE_INDICATOR",
            "model.indicators.3.code",
        ),
        (
            model(indicators=[{**MODEL["indicators"][0], "optional": True}, *MODEL["indicators"][1:]]),
            "PUBLIC_INDICATOR_OPTIONAL",
            "model.indicators.0.optional",
        ),
        (model(period="2026-13"), "PERIOD_INVALID", "model.period"),
        (
            model(indicators=[{**MODEL["indicators"][0], "code": "pub"}, *MODEL["indicators"][1:]]),
            "INDICATOR_CODE_INVALID",
            "model.indicators.0.code",
        ),
    ]
    for body, code, path in cases:
        refused = await save(client, actors["department"], body)
        assert (refused["code"], refused["path"]) == (code, path), refused
    assert await stored_models(connection) == []


async def test_the_domain_scheme_must_be_score_based(client, actors, connection):
    await assign(client, actors["credit_office"], actors["department"], "drug_manufacturing")  # samr_risk
    refused = await save(client, actors["department"], model(domain="drug_manufacturing"))
    assert (refused["code"], refused["path"]) == ("SCHEME_NOT_SCORE_BASED", "domain")
    assert "samr_risk" in refused["message"] and "A, B, C, D" in refused["message"]
    assert await stored_models(connection) == []


async def test_a_department_defines_models_only_for_its_own_domains(client, actors, connection):
    await assign(client, actors["credit_office"], actors["department"], DOMAIN)
    refused = await save(client, actors["department2"], MODEL)
    assert (refused["__typename"], refused["code"], refused["path"]) == (
        "NotPermitted",
        "NOT_YOUR_DOMAIN",
        "domain",
    )
    assert await stored_models(connection) == []
    read = await gql(client, READ, {"d": DOMAIN}, actors["department2"])
    assert read["errors"][0]["extensions"]["code"] == "NOT_YOUR_DOMAIN"
    unknown = await save(client, actors["department"], model(domain="no_such_domain"))
    assert (unknown["__typename"], unknown["code"]) == ("NotFoundProblem", "UNKNOWN_DOMAIN")
    for role in ("bank", "credit_office"):
        # Grading is the department's work: the credit office reads models, it does not define them.
        denied = await gql(client, SAVE, {"m": MODEL}, actors[role])
        assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN", role
    assert await stored_models(connection) == []
    assert (await save(client, actors["department"], MODEL))["version"] == 1
    assert await stored_models(connection) == [(DOMAIN, 1)]
