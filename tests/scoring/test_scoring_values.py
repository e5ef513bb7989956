"""Indicator values (指标值): a list or a CSV upload, bad lines reported with their codes and nothing
stored for them, the public indicator filled from the entity's public evaluation score."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import orjson
from sqlalchemy import text

from tests.conftest import Actor, company_code
from tests.grading.evaluations import evaluation, push
from tests.scoring.test_scoring import DOMAIN, PERIOD, entity, load, setup

UPLOAD = """mutation($d: String!, $p: String!, $file: Upload!) {
  uploadIndicatorValues(domain: $d, period: $p, file: $file) { __typename
  ... on IndicatorValuesLoaded { receiptId total created updated unchanged filledFromPublic rejected rejectionsUrl
        rejections { line uscc errors { code path message } } }
  ... on Problem { code message path } } }"""
NEXT_YEAR = (dt.date.today() + dt.timedelta(days=365)).isoformat()
LAST_MONTH = (dt.date.today() - dt.timedelta(days=30)).isoformat()


async def upload(
    client: httpx.AsyncClient, actor: Actor, data: bytes, period: str = PERIOD
) -> dict[str, Any]:
    operations = {"query": UPLOAD, "variables": {"d": DOMAIN, "p": period, "file": None}}
    response = await client.post(
        "/graphql",
        data={
            "operations": orjson.dumps(operations).decode(),
            "map": orjson.dumps({"0": ["variables.file"]}).decode(),
        },
        files={"0": ("values.csv", data, "text/csv")},
        headers=actor.headers,
    )
    body = response.json()
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["uploadIndicatorValues"]
    return result


async def stored(connection) -> dict[str, dict[str, Any]]:
    rows = await connection.execute(
        text('SELECT uscc, "values", loaded_by FROM indicator_values WHERE domain = :d AND period = :p'),
        {"d": DOMAIN, "p": PERIOD},
    )
    return {r[0]: r[1] for r in rows}


async def public_score(client, actors, uscc: str, score: str, key: str) -> None:
    record = evaluation(
        "public_evaluation",
        actors["province"],
        uscc,
        "B",
        scheme="heilongjiang",
        evaluated=LAST_MONTH,
        valid_until=NEXT_YEAR,
        score=score,
        record_id=f"P-{uscc}",
    )
    receipt = await push(client, actors["province"], [record], key)
    assert receipt["created"] == 1, receipt


def errors_of(result: dict[str, Any]) -> dict[int, list[tuple[str, str]]]:
    return {r["line"]: [(e["code"], e["path"]) for e in r["errors"]] for r in result["rejections"]}


async def test_a_list_stores_the_valid_entities_and_reports_each_bad_one(client, actors, connection):
    await setup(client, actors)
    good, other = company_code(701), company_code(702)
    result = await load(
        client,
        actors["department"],
        [
            entity(good, PUB="95", INS="9", CMP="5", HON="1"),
            entity("91230102MA0000000X", PUB="90", INS="9", CMP="5"),
            entity(company_code(703), PUB="90", INS="11", CMP="5"),
            entity(company_code(704), PUB="90", INS="9", CMP="5", XYZ="1"),
            entity(company_code(705), PUB="90", INS="9"),
            entity(company_code(706), INS="9", CMP="5"),
            entity(company_code(707), PUB="ninety", INS="9", CMP="5"),
            entity(other, PUB="80.50", INS="7", CMP="4", HON=""),
        ],
    )
    assert result["__typename"] == "IndicatorValuesLoaded", result
    assert (
        result["total"],
        result["created"],
        result["updated"],
        result["unchanged"],
        result["rejected"],
    ) == (8, 2, 0, 0, 6)
    assert errors_of(result) == {
        1: [("USCC_CHECK", "entities.1.uscc")],
        2: [("VALUE_OUT_OF_RANGE", "entities.2.indicators.INS")],
        3: [("UNKNOWN_INDICATOR", "entities.3.indicators.XYZ")],
        4: [("MISSING_INDICATOR", "entities.4.indicators.CMP")],
        5: [("MISSING_INDICATOR", "entities.5.indicators.PUB")],
        6: [("NOT_A_NUMBER", "entities.6.indicators.PUB")],
    }
    messages = {r["line"]: r["errors"][0]["message"] for r in result["rejections"]}
    assert messages[2] == "INS: 11 is outside 0 to 10"
    assert messages[5] == (
        "PUB (公共信用综合评价结果) is empty and the entity has no current public comprehensive evaluation with a "
        "score (PJFS) to fill it from"
    )
    assert await stored(connection) == {
        good: {"PUB": 95, "INS": 9, "CMP": 5, "HON": 1},
        other: {"PUB": 80.5, "INS": 7, "CMP": 4},
    }

    # The same values again change nothing; a changed one is an update.
    again = await load(
        client,
        actors["department"],
        [entity(good, PUB="95", INS="9", CMP="5", HON="1"), entity(other, PUB="80.5", INS="8", CMP="4")],
    )
    assert (again["created"], again["updated"], again["unchanged"], again["rejected"]) == (0, 1, 1, 0)
    assert (await stored(connection))[other]["INS"] == 8


async def test_the_public_indicator_is_filled_from_the_public_evaluation(client, actors, connection):
    await setup(client, actors)
    filled, too_high = company_code(711), company_code(712)
    await public_score(client, actors, filled, "88", "p1")
    await public_score(client, actors, too_high, "150", "p2")
    result = await load(
        client, actors["department"], [entity(filled, INS="10", CMP="5"), entity(too_high, INS="10", CMP="5")]
    )
    assert (result["created"], result["filledFromPublic"], result["rejected"]) == (1, 1, 1)
    [rejection] = result["rejections"]
    assert rejection["line"] == 1 and rejection["uscc"] == too_high
    assert rejection["errors"] == [
        {
            "code": "VALUE_OUT_OF_RANGE",
            "path": "entities.1.indicators.PUB",
            "message": "PUB: the public comprehensive evaluation score 150 (PJFS of the entity's current public "
            "evaluation) is outside 0 to 100",
        }
    ]
    assert await stored(connection) == {filled: {"PUB": 88, "INS": 10, "CMP": 5}}


async def test_a_csv_upload_reports_bad_lines_by_number(client, actors, connection):
    await setup(client, actors)
    a, b, c = company_code(721), company_code(722), company_code(723)
    await public_score(client, actors, c, "70", "p1")
    data = (
        "USCC,PUB,INS,CMP,HON\n"
        f"{a},95,9,5,1\n"
        "91230102MA0000000X,90,9,5,\n"
        f"{b},90,9,6,\n"
        "\n"
        f"{c},,8,4,0\n"
        f"{b},90,9\n"
        f"{a},96,9,5,1\n"
    ).encode()
    result = await upload(client, actors["department"], data)
    assert result["__typename"] == "IndicatorValuesLoaded", result
    assert (result["total"], result["created"], result["filledFromPublic"], result["rejected"]) == (
        6,
        2,
        1,
        4,
    )
    assert errors_of(result) == {
        2: [("DUPLICATE_IN_FILE", "USCC")],
        3: [("USCC_CHECK", "USCC")],
        4: [("VALUE_OUT_OF_RANGE", "CMP")],
        7: [("ROW_WIDTH", "file")],
    }
    assert result["rejections"][0]["errors"][0]["message"] == "the same entity is given again on line 8"
    assert await stored(connection) == {
        a: {"PUB": 96, "INS": 9, "CMP": 5, "HON": 1},
        c: {"PUB": 70, "INS": 8, "CMP": 4, "HON": 0},
    }
    download = await client.get(result["rejectionsUrl"], headers=actors["department"].headers)
    assert download.status_code == 200
    assert [line.split(",")[0] for line in download.text.strip().splitlines()[1:]] == ["2", "3", "4", "7"]
    assert (
        await client.get(result["rejectionsUrl"], headers=actors["department2"].headers)
    ).status_code == 403


async def test_a_file_with_a_bad_header_is_refused_whole(client, actors, connection):
    await setup(client, actors)
    cases = [
        (
            b"USCC,PUB,INS,CMP,XYZ\n",
            "UNKNOWN_COLUMN",
            "line 1: unknown column(s) XYZ; the model's indicators are PUB, INS, CMP, HON",
        ),
        (b"USCC,PUB,INS\n", "MISSING_COLUMN", "line 1: column(s) missing: CMP"),
        (b"PUB,INS,CMP\n", "MISSING_COLUMN", "line 1: column(s) missing: USCC"),
        (b"USCC,PUB,INS,CMP,INS\n", "DUPLICATE_COLUMN", "line 1: column(s) given twice: INS"),
        (b"", "EMPTY_FILE", "the file is empty; it needs a header row"),
    ]
    for header, code, message in cases:
        result = await upload(
            client,
            actors["department"],
            header + f"{company_code(731)},90,9,5,1\n".encode() if header else b"",
        )
        assert (result["__typename"], result["code"], result["message"]) == ("InvalidInput", code, message), (
            result
        )
    assert await stored(connection) == {}
    # The public column may be left out: every line then takes the public evaluation score.
    await public_score(client, actors, company_code(732), "91", "p1")
    result = await upload(client, actors["department"], f"uscc,ins,cmp\n{company_code(732)},9,5\n".encode())
    assert (result["created"], result["filledFromPublic"]) == (1, 1)


async def test_values_need_a_model_and_your_domain(client, actors, connection):
    await setup(client, actors)
    no_model = await upload(client, actors["department"], b"USCC,PUB,INS,CMP\n", period="2099")
    assert (no_model["__typename"], no_model["code"], no_model["path"]) == (
        "NotFoundProblem",
        "NO_MODEL",
        "period",
    )
    bad_period = await upload(client, actors["department"], b"USCC,PUB,INS,CMP\n", period="last year")
    assert (bad_period["code"], bad_period["path"]) == ("PERIOD_INVALID", "period")
    theirs = await load(
        client, actors["department2"], [entity(company_code(741), PUB="90", INS="9", CMP="5")]
    )
    assert (theirs["__typename"], theirs["code"]) == ("NotPermitted", "NOT_YOUR_DOMAIN")
    too_many = await load(
        client, actors["department"], [entity(company_code(742), PUB="90", INS="9", CMP="5")] * 1001
    )
    assert (too_many["code"], too_many["path"]) == ("OUT_OF_RANGE", "entities")
    assert await stored(connection) == {}
