"""gradeDomain: exact scores and grades for a handful of entities, stored as industry evaluation
records (unchanged results write nothing, a changed one is a new version), and the classification."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import text

from hub.entities.codes import make_uscc
from tests.conftest import company_code, gql
from tests.grading.evaluations import assign, supervision
from tests.scoring.test_scoring import DOMAIN, MODEL, PERIOD, entity, grade, load, model, save, setup
from tests.scoring.test_scoring_values import public_score

TODAY = dt.date.today()
HISTORY = """query($u: String!, $d: String) { classificationHistory(uscc: $u, domain: $d) {
  oldCategory newCategory oldGrade newGrade basis cause } }"""
# 92…: an individual business (个体工商户).
SHOP = make_uscc("9", "2", "230102", "G0000001")


async def results(connection) -> dict[str, dict[str, Any]]:
    rows = await connection.execute(
        text(
            """SELECT uscc, content, version, source_dept, source_record_id, scheme_version, pushed_by
               FROM records WHERE current AND record_type = 'industry_evaluation'"""
        )
    )
    return {
        r[0]: {"content": r[1], "version": r[2], "dept": r[3], "id": r[4], "scheme_version": r[5]}
        for r in rows
    }


async def count_records(connection) -> int:
    return int(
        (
            await connection.execute(
                text("SELECT count(*) FROM records WHERE record_type = 'industry_evaluation'")
            )
        ).scalar_one()
    )


async def graded_setup(client, actors) -> tuple[str, str, str, str, str]:
    """Five entities: A (95), B (76.67, optional HON left empty), ungraded (58), C (64), A from the
    public evaluation score 88 (95.2)."""
    await setup(client, actors)
    e1, e2, e3, e4 = company_code(801), company_code(802), company_code(803), SHOP
    e5 = company_code(805)
    await public_score(client, actors, e5, "88", "p1")
    loaded = await load(
        client,
        actors["department"],
        [
            entity(e1, PUB="95", INS="9", CMP="5", HON="1"),
            entity(e2, PUB="80", INS="7", CMP="4"),
            entity(e3, PUB="70", INS="6", CMP="3", HON="0"),
            entity(e4, PUB="60", INS="8", CMP="4", HON="0"),
            entity(e5, INS="10", CMP="5", HON="1"),
        ],
    )
    assert (loaded["created"], loaded["rejected"]) == (5, 0), loaded
    return e1, e2, e3, e4, e5


async def test_grading_stores_exact_scores_and_grades(client, actors, connection):
    e1, e2, e3, e4, e5 = await graded_setup(client, actors)
    dept = actors["department"]
    graded = await grade(client, dept)
    assert graded == {
        "__typename": "DomainGraded",
        "domain": DOMAIN,
        "period": PERIOD,
        "modelVersion": 1,
        "scheme": "catering_food_safety",
        "entities": 5,
        "scored": 4,
        "incomplete": 0,
        "ungraded": 1,
        "created": 4,
        "updated": 0,
        "unchanged": 0,
        "population": 4,
        "classificationChanges": 4,
    }
    found = await results(connection)
    assert {u: (r["content"]["PJFS"], r["content"]["PJDJ"]) for u, r in found.items()} == {
        e1: ("95", "A"),
        e2: ("76.67", "B"),
        e4: ("64", "C"),
        e5: ("95.2", "A"),
    }
    first = found[e1]
    assert (first["dept"], first["id"], first["version"], first["scheme_version"]) == (
        dept.code,
        f"{DOMAIN}:{PERIOD}:{e1}",
        1,
        1,
    )
    assert first["content"] == {
        "XDR_MC": e1,
        "XDR_LB": "法人及非法人组织",
        "XDR_SHXYM": e1,
        "PJBH": f"{DOMAIN}:{PERIOD}:{e1}",
        "JGLY": DOMAIN,
        "PJMX": "catering_food_safety",
        "PJDJ": "A",
        "PJFS": "95",
        "PJRQ": TODAY.isoformat(),
        "YXQZ": f"{PERIOD}-12-31",
        "PJJG": "市市场监督管理局",
        "PJJGDM": dept.code,
        "LYDW": "市市场监督管理局",
        "LYDWDM": dept.code,
        "BZ": f"行业信用评价模型 {DOMAIN} 第1版，评价期间 {PERIOD}",
    }
    assert found[e4]["content"]["XDR_LB"] == "个体工商户"
    assert (
        found[e5]["content"]["XDR_MC"] == "哈尔滨示例评价对象有限公司"
    )  # registered by the public evaluation

    one = await supervision(client, actors["bank"], e1, DOMAIN)
    assert (one["grade"], one["category"], one["basis"], one["scheme"], one["evaluatedBy"]) == (
        "A",
        "TRUSTWORTHY",
        "industry",
        "catering_food_safety",
        dept.code,
    )
    assert one["validUntil"] == f"{PERIOD}-12-31" and one["evaluationId"] == f"{DOMAIN}:{PERIOD}:{e1}"
    four = await supervision(client, dept, e4, DOMAIN)
    assert (four["grade"], four["category"], four["basis"]) == ("C", "GENERAL", "industry")
    # No band holds 58: no industry result, the domain default applies.
    three = await supervision(client, dept, e3, DOMAIN)
    assert (three["basis"], three["grade"]) == ("default", None)


async def test_regrading_the_same_values_writes_nothing(client, actors, connection):
    await graded_setup(client, actors)
    await grade(client, actors["department"])
    before = await count_records(connection)
    changes = (await connection.execute(text("SELECT count(*) FROM classification_changes"))).scalar_one()
    again = await grade(client, actors["department"])
    assert (
        again["scored"],
        again["created"],
        again["updated"],
        again["unchanged"],
        again["classificationChanges"],
    ) == (4, 0, 0, 4, 0)
    assert await count_records(connection) == before == 4
    assert (
        await connection.execute(text("SELECT count(*) FROM classification_changes"))
    ).scalar_one() == changes


async def test_a_changed_value_is_a_new_version_for_that_entity_only(client, actors, connection):
    e1, e2, _, e4, e5 = await graded_setup(client, actors)
    dept = actors["department"]
    await grade(client, dept)
    # INS 9 -> 5: 0.4 x 95 + 0.3 x 50 + 0.2 x 100 + 0.1 x 100 = 83, grade B.
    changed = await load(client, dept, [entity(e1, PUB="95", INS="5", CMP="5", HON="1")])
    assert changed["updated"] == 1
    regraded = await grade(client, dept)
    assert (
        regraded["created"],
        regraded["updated"],
        regraded["unchanged"],
        regraded["classificationChanges"],
    ) == (0, 1, 3, 1)
    versions = await connection.execute(
        text(
            "SELECT uscc, version, current, content ->> 'PJDJ', content ->> 'PJFS', changed_fields FROM records "
            "WHERE record_type = 'industry_evaluation' ORDER BY uscc, version"
        )
    )
    rows = [tuple(r) for r in versions]
    assert [r for r in rows if r[0] == e1] == [
        (e1, 1, False, "A", "95", None),
        (e1, 2, True, "B", "83", ["PJDJ", "PJFS"]),
    ]
    assert sorted((r[0], r[1]) for r in rows if r[0] != e1) == sorted([(e2, 1), (e4, 1), (e5, 1)])
    history = await gql(client, HISTORY, {"u": e1, "d": DOMAIN}, dept)
    latest = history["data"]["classificationHistory"][0]
    assert latest == {
        "oldCategory": "TRUSTWORTHY",
        "newCategory": "MINOR",
        "oldGrade": "A",
        "newGrade": "B",
        "basis": "industry",
        "cause": f"industry evaluation {DOMAIN} {PERIOD} (model v1) graded by department:{dept.code}",
    }
    found = await supervision(client, actors["bank"], e1, DOMAIN)
    assert (found["grade"], found["category"], found["basis"]) == ("B", "MINOR", "industry")


async def test_a_new_model_version_regrades_and_skips_incomplete_values(client, actors, connection):
    e1, *_ = await graded_setup(client, actors)
    await grade(client, actors["department"])
    # A new required indicator nobody has a value for yet: every entity is incomplete, nothing written.
    extra = {"code": "NEW", "labelZh": "新增指标", "weight": "0.1", "min": "0", "max": "1"}
    indicators = [{**MODEL["indicators"][0], "weight": "0.3"}, *MODEL["indicators"][1:], extra]
    assert (await save(client, actors["department"], model(indicators=indicators)))["version"] == 2
    graded = await grade(client, actors["department"])
    assert (
        graded["modelVersion"],
        graded["entities"],
        graded["incomplete"],
        graded["scored"],
        graded["created"],
        graded["updated"],
    ) == (2, 5, 5, 0, 0, 0)
    # Once the entity's values are complete it is graded with the new model (new version, BZ names it).
    await load(client, actors["department"], [entity(e1, PUB="95", INS="9", CMP="5", HON="1", NEW="1")])
    graded = await grade(client, actors["department"])
    assert (graded["scored"], graded["updated"], graded["incomplete"]) == (1, 1, 4)
    content = (await results(connection))[e1]["content"]
    # 0.3 x 95 + 0.3 x 90 + 0.2 x 100 + 0.1 x 100 + 0.1 x 100 = 95.5
    assert (content["PJFS"], content["PJDJ"], content["BZ"]) == (
        "95.5",
        "A",
        f"行业信用评价模型 {DOMAIN} 第2版，评价期间 {PERIOD}",
    )


async def test_grading_is_refused_with_a_reason(client, actors, connection):
    await graded_setup(client, actors)
    cases = [
        (actors["department2"], DOMAIN, PERIOD, ("NotPermitted", "NOT_YOUR_DOMAIN", "domain")),
        (actors["department"], DOMAIN, "2099", ("NotFoundProblem", "NO_MODEL", "period")),
        (actors["department"], DOMAIN, "2020", ("InvalidInput", "PERIOD_ENDED", "period")),
        (actors["department"], DOMAIN, "20x6", ("InvalidInput", "PERIOD_INVALID", "period")),
        (actors["department"], "no_such_domain", PERIOD, ("NotFoundProblem", "UNKNOWN_DOMAIN", "domain")),
    ]
    for actor, domain, period, expected in cases:
        refused = await grade(client, actor, domain, period)
        assert (refused["__typename"], refused["code"], refused["path"]) == expected, refused
    await assign(client, actors["credit_office"], actors["department"], "drug_manufacturing")
    refused = await grade(client, actors["department"], "drug_manufacturing")
    assert (refused["code"], refused["path"]) == ("SCHEME_NOT_SCORE_BASED", "domain")
    denied = await gql(
        client, 'mutation { gradeDomain(domain: "x", period: "2026") { __typename } }', None, actors["bank"]
    )
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await count_records(connection) == 0
