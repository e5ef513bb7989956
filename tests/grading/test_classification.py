"""Effective classification (seed 001): industry evaluation, else public evaluation, else the default."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from hub.db import count_statements
from tests.conftest import company_code, gql
from tests.grading.evaluations import DOMAIN, OTHER_DOMAIN, assign, evaluation, push, supervision

TODAY = dt.date.today()
LAST_MONTH = (TODAY - dt.timedelta(days=30)).isoformat()
NEXT_YEAR = (TODAY + dt.timedelta(days=365)).isoformat()
YESTERDAY = (TODAY - dt.timedelta(days=1)).isoformat()


def public(actors, uscc, grade, **kw):
    return evaluation(
        "public_evaluation",
        actors["province"],
        uscc,
        grade,
        scheme="heilongjiang",
        evaluated=kw.pop("evaluated", LAST_MONTH),
        valid_until=kw.pop("valid_until", NEXT_YEAR),
        **kw,
    )


def industry(actors, uscc, grade, **kw):
    return evaluation(
        "industry_evaluation",
        actors["department"],
        uscc,
        grade,
        scheme=kw.pop("scheme", "samr_risk"),
        evaluated=kw.pop("evaluated", LAST_MONTH),
        valid_until=kw.pop("valid_until", NEXT_YEAR),
        domain=kw.pop("domain", DOMAIN),
        **kw,
    )


async def test_without_any_evaluation_the_domain_default_applies(client, actors):
    found = await supervision(client, actors["bank"], company_code(501))
    assert (found["category"], found["basis"], found["grade"], found["scheme"]) == (
        "TRUSTWORTHY",
        "default",
        None,
        None,
    )
    assert found["measures"]["mayExclude"] is True


async def test_public_evaluation_applies_when_the_department_has_none(client, actors):
    uscc = company_code(502)
    receipt = await push(client, actors["province"], [public(actors, uscc, "D")], "p1")
    assert receipt["created"] == 1, receipt
    found = await supervision(client, actors["department"], uscc)
    assert (found["category"], found["grade"], found["scheme"], found["basis"]) == (
        "GENERAL",
        "D",
        "heilongjiang",
        "public",
    )
    assert found["evaluatedBy"] == actors["province"].code and found["schemeVersion"] == 1
    assert found["validUntil"] == NEXT_YEAR
    assert "key_attention_target" in found["measures"]["restrictions"]


async def test_industry_evaluation_wins_and_is_recorded_with_its_cause(client, actors, connection):
    uscc = company_code(503)
    await assign(client, actors["credit_office"], actors["department"])
    await push(client, actors["province"], [public(actors, uscc, "A")], "p1")
    receipt = await push(client, actors["department"], [industry(actors, uscc, "D")], "i1")
    assert receipt["created"] == 1, receipt
    found = await supervision(client, actors["bank"], uscc)
    assert (found["category"], found["grade"], found["basis"]) == ("SERIOUS", "D", "industry")
    assert found["measures"]["alwaysInspect"] is True
    assert "excluded_government_procurement" in found["measures"]["restrictions"]

    history = await gql(
        client,
        "query($u: String!) { classificationHistory(uscc: $u) { domain oldCategory newCategory newGrade basis cause } }",
        {"u": uscc},
        actors["department"],
    )
    [change] = history["data"]["classificationHistory"]
    assert change == {
        "domain": DOMAIN,
        "oldCategory": None,
        "newCategory": "SERIOUS",
        "newGrade": "D",
        "basis": "industry",
        "cause": f"evaluation pushed by {actors['department'].code}",
    }
    outbox = (
        await connection.execute(
            text("SELECT payload FROM outbox WHERE event_type = 'classification.changed'")
        )
    ).all()
    assert [p[0]["domain"] for p in outbox] == [DOMAIN]

    # A better grade later: the change from serious to trustworthy is kept too.
    await push(client, actors["department"], [industry(actors, uscc, "A", record_id="E-2")], "i2")
    history = await gql(
        client,
        'query($u: String!) { classificationHistory(uscc: $u, domain: "drug_manufacturing") { oldCategory newCategory } }',
        {"u": uscc},
        actors["credit_office"],
    )
    assert history["data"]["classificationHistory"][0] == {
        "oldCategory": "SERIOUS",
        "newCategory": "TRUSTWORTHY",
    }


async def test_expired_evaluations_are_not_current(client, actors):
    uscc = company_code(504)
    await assign(client, actors["credit_office"], actors["department"])
    expired = industry(actors, uscc, "D", evaluated="2025-01-10", valid_until=YESTERDAY)
    await push(client, actors["department"], [expired], "i1")
    await push(client, actors["province"], [public(actors, uscc, "C")], "p1")
    found = await supervision(client, actors["department"], uscc)
    assert (found["basis"], found["grade"], found["category"]) == ("public", "C", "MINOR")


async def test_evaluation_rules_are_enforced_per_record(client, actors, connection):
    uscc = company_code(505)
    await assign(client, actors["credit_office"], actors["department"])
    cases = [
        (
            actors["department"],
            industry(actors, uscc, "Z", record_id="x1"),
            ("GRADE_NOT_IN_SCHEME", "fields.PJDJ"),
        ),
        (
            actors["department"],
            industry(actors, uscc, "A", scheme="heilongjiang", record_id="x2"),
            ("SCHEME_NOT_OF_DOMAIN", "fields.PJMX"),
        ),
        (
            actors["department"],
            industry(actors, uscc, "A", domain=OTHER_DOMAIN, record_id="x3"),
            ("NOT_YOUR_DOMAIN", "fields.JGLY"),
        ),
        (
            actors["department"],
            industry(actors, uscc, "A", domain="no_such_domain", record_id="x4"),
            ("UNKNOWN_DOMAIN", "fields.JGLY"),
        ),
        (
            actors["department"],
            industry(actors, uscc, "A", scheme="nope", record_id="x5"),
            ("UNKNOWN_SCHEME", "fields.PJMX"),
        ),
        (actors["department"], public(actors, uscc, "A", record_id="x6"), ("NOT_SOURCE", "fields.LYDWDM")),
        (
            actors["department"],
            {
                **public(actors, uscc, "A", record_id="x7"),
                "fields": {
                    **public(actors, uscc, "A")["fields"],
                    "LYDWDM": actors["department"].code,
                    "PJJGDM": actors["department"].code,
                },
            },
            ("NOT_EVALUATOR", "recordType"),
        ),
    ]
    for index, (actor, record, expected) in enumerate(cases):
        receipt = await push(client, actor, [record], f"bad{index}")
        [result] = receipt["results"]
        assert result["outcome"] == "REJECTED", (index, result)
        assert (result["errors"][0]["code"], result["errors"][0]["path"]) == expected, (index, result)
    count = (
        await connection.execute(text("SELECT count(*) FROM records WHERE uscc = :u"), {"u": uscc})
    ).scalar()
    assert count == 0


async def test_customs_scheme_is_not_in_force_before_april_2026(client, actors):
    uscc = company_code(506)
    record = evaluation(
        "market_evaluation",
        actors["association"],
        uscc,
        "REGULAR",
        scheme="customs",
        evaluated="2026-03-01",
        valid_until=NEXT_YEAR,
    )
    receipt = await push(client, actors["association"], [record], "m1")
    [result] = receipt["results"]
    assert [e["code"] for e in result["errors"]] == ["SCHEME_NOT_IN_FORCE"]


async def test_market_evaluations_are_kept_but_never_decide_a_category(client, actors):
    uscc = company_code(507)
    record = evaluation(
        "market_evaluation",
        actors["association"],
        uscc,
        "E",
        scheme="heilongjiang",
        evaluated=LAST_MONTH,
        valid_until=NEXT_YEAR,
    )
    receipt = await push(client, actors["association"], [record], "m1")
    assert receipt["created"] == 1, receipt
    found = await supervision(client, actors["bank"], uscc)
    assert found["basis"] == "default"


async def test_supervision_batch_answers_in_order_with_constant_statements(client, actors, connection):
    usccs = [company_code(600 + i) for i in range(200)]
    await push(client, actors["province"], [public(actors, usccs[0], "E", record_id="P0")], "p0")
    query = 'query($u: [String!]!) { supervisionBatch(usccs: $u, domain: "drug_manufacturing") { uscc category basis } }'

    async def statements(codes):
        async with count_statements(connection.engine) as seen:
            answer = await gql(client, query, {"u": codes}, actors["bank"])
        return answer, len(seen)

    _, few = await statements(usccs[:2])
    large, many = await statements(usccs)
    assert [s["uscc"] for s in large["data"]["supervisionBatch"]] == usccs
    assert large["data"]["supervisionBatch"][0] == {
        "uscc": usccs[0],
        "category": "SERIOUS",
        "basis": "public",
    }
    assert few == many


async def test_supervision_refuses_bad_input(client, actors):
    answer = await gql(
        client,
        'query { supervision(uscc: "123", domain: "drug_manufacturing") { category } }',
        actor=actors["bank"],
    )
    assert answer["errors"][0]["extensions"]["code"] == "USCC_LENGTH"
    answer = await gql(
        client,
        f'query {{ supervision(uscc: "{company_code(1)}", domain: "nope") {{ category }} }}',
        actor=actors["bank"],
    )
    assert answer["errors"][0]["extensions"]["code"] == "UNKNOWN_DOMAIN"
    too_many = [company_code(1)] * 1001
    answer = await gql(
        client,
        'query($u: [String!]!) { supervisionBatch(usccs: $u, domain: "drug_manufacturing") { category } }',
        {"u": too_many},
        actors["bank"],
    )
    assert answer["errors"][0]["extensions"]["code"] == "TOO_MANY"
    public_answer = await gql(
        client,
        f'query {{ supervision(uscc: "{company_code(1)}", domain: "drug_manufacturing") {{ category }} }}',
    )
    assert public_answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
