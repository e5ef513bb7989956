"""What the hub derives from a pushed record: lateness (双公示), severity and publicity, outbox, history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.web.app import HubGraphQL
from schema.loaders import Loaders
from tests.conftest import Actor, company_code, days_ago, gql
from tests.records.builders import (
    NOTHING_WRITTEN,
    RECORD_FIELDS,
    count,
    push_ok,
    records_of,
    valid_record,
    written,
)


@pytest.fixture
def freeze_today(monkeypatch: pytest.MonkeyPatch) -> Callable[[dt.date], None]:
    """Make the app's requests run on a given day (the context's `today`, as a clock would)."""
    original = HubGraphQL.get_context

    def freeze(day: dt.date) -> None:
        async def get_context(self: HubGraphQL, request: Any, response: Any) -> Any:
            context = await original(self, request, response)
            context.today = day
            context.loaders = Loaders(context.session, context.caller, day, context.keys)
            return context

        monkeypatch.setattr(HubGraphQL, "get_context", get_context)

    return freeze


def licence(dept: str, uscc: str, decided: str, record_id: str = "许-1", **over: Any) -> dict[str, Any]:
    return valid_record("administrative_licence", dept, uscc, record_id=record_id, decided=decided, **over)


# --- late flag -----------------------------------------------------------------------------------


async def test_licence_decided_on_2026_09_25_pushed_today_is_late(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> None:
    dept = actors["department"]
    receipt = await push_ok(client, dept, [licence(dept.code, company_code(51), "2026-09-25")])

    assert receipt["results"][0]["late"] is True
    assert receipt["results"][0]["warnings"] == []
    assert await connection.scalar(text("SELECT late FROM records")) is True


@pytest.mark.parametrize("days", [0, 1, 2, 3])
async def test_licence_decided_within_three_days_is_not_late(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection, days: int
) -> None:
    # Needs the working-day calendar of the current year (and of the next, in late December).
    dept = actors["department"]
    receipt = await push_ok(client, dept, [licence(dept.code, company_code(52), days_ago(days))])

    assert receipt["results"][0]["late"] is False
    assert receipt["results"][0]["warnings"] == []
    assert await connection.scalar(text("SELECT late FROM records")) is False


@pytest.mark.parametrize(
    ("decided", "deadline"),
    [
        # Fri before Mid-autumn: Sun 09-20 is a make-up working day (1), 09-21..24 (2-5), 09-25..27 off,
        # 09-28, 09-29 (6, 7). Without the make-up day the deadline would be 09-30.
        ("2026-09-18", "2026-09-29"),
        # Wed before National Day: 10-01..07 off, 10-08, 10-09 (1, 2), Sat 10-10 make-up (3), 10-12..15
        # (4-7). Without the make-up day the deadline would be 10-16; without the holidays, 10-09.
        ("2026-09-30", "2026-10-15"),
    ],
)
async def test_lateness_counts_working_days_with_holidays_and_make_up_days(
    client: httpx.AsyncClient,
    actors: dict[str, Actor],
    freeze_today: Callable[[dt.date], None],
    decided: str,
    deadline: str,
) -> None:
    dept = actors["department"]
    last_day = dt.date.fromisoformat(deadline)

    freeze_today(last_day)
    on_time = await push_ok(client, dept, [licence(dept.code, company_code(53), decided, "许-1")], "a")
    freeze_today(last_day + dt.timedelta(days=1))
    late = await push_ok(client, dept, [licence(dept.code, company_code(53), decided, "许-2")], "b")

    assert on_time["results"][0]["late"] is False
    assert late["results"][0]["late"] is True


async def test_unchanged_repush_reports_the_lateness_of_the_version_in_force(
    client: httpx.AsyncClient,
    actors: dict[str, Actor],
    connection: AsyncConnection,
    freeze_today: Callable[[dt.date], None],
) -> None:
    dept = actors["department"]
    record = licence(dept.code, company_code(50), "2026-09-30")
    freeze_today(dt.date(2026, 10, 15))
    first = await push_ok(client, dept, [record], "a")

    freeze_today(dt.date(2026, 11, 20))
    again = await push_ok(client, dept, [record], "b")

    assert (first["results"][0]["outcome"], first["results"][0]["late"]) == ("CREATED", False)
    # Nothing new was pushed: the version in force was on time, and stays so.
    assert (again["results"][0]["outcome"], again["results"][0]["late"]) == ("UNCHANGED", False)
    assert await connection.scalar(text("SELECT late FROM records")) is False


async def test_decision_in_a_year_the_calendar_does_not_know_has_no_lateness_and_a_warning(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> None:
    dept = actors["department"]
    receipt = await push_ok(client, dept, [licence(dept.code, company_code(54), "2022-06-01")])

    result = receipt["results"][0]
    assert (result["outcome"], result["version"], result["late"]) == ("CREATED", 1, None)
    assert result["warnings"] == [
        {
            "code": "CALENDAR_YEAR_UNKNOWN",
            "path": "fields.JDRQ",
            "message": "lateness not computed: the working-day calendar has no schedule for 2022; "
            "the credit office must load it first",
        }
    ]
    row = (await connection.execute(text("SELECT late, publish_until, published FROM records"))).one()
    assert tuple(row) == (None, dt.date(2030, 12, 31), True)


async def test_penalty_decided_before_any_publicity_rule_is_rejected(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> None:
    dept = actors["department"]
    record = valid_record("administrative_penalty", dept.code, company_code(55), decided="2022-06-01")

    receipt = await push_ok(client, dept, [record])

    assert receipt["results"][0]["outcome"] == "REJECTED"
    assert receipt["results"][0]["errors"] == [
        {
            "code": "NO_PUBLICITY_RULE",
            "path": "fields.JDRQ",
            "message": "no publicity rule for administrative_penalty was in force on the decision date "
            "2022-06-01 (the earliest rule starts 2023-05-01)",
        }
    ]
    assert await written(connection) == NOTHING_WRITTEN | {"idempotent_pushes": 1}


# --- severity and publicity ----------------------------------------------------------------------


def penalty(dept: str, uscc: str, record_id: str, decided: str, **over: Any) -> dict[str, Any]:
    return valid_record("administrative_penalty", dept, uscc, record_id=record_id, decided=decided, **over)


async def test_penalty_severity_is_derived_from_its_categories_unless_stated(
    client: httpx.AsyncClient, actors: dict[str, Actor]
) -> None:
    dept = actors["department2"]
    uscc = company_code(56)
    day = "2026-05-06"
    records = [
        penalty(dept.code, uscc, "警告", day, CFLB=["警告"], NR_FK=None, NR="警告"),
        penalty(dept.code, uscc, "警告+通报", day, CFLB="警告；通报批评", NR_FK=None, NR="警告并通报批评"),
        penalty(dept.code, uscc, "罚款", day),
        penalty(dept.code, uscc, "吊销", day, CFLB=["罚款", "吊销许可证件"], NR_ZKDX="食品经营许可证 JY123"),
        penalty(dept.code, uscc, "自定严重", day, YZCD="严重"),
    ]
    receipt = await push_ok(client, dept, records)
    assert receipt["created"] == 5

    stored = await records_of(client, actors["credit_office"], uscc)

    assert {rid: r["severity"] for rid, r in stored.items()} == {
        "警告": "minor",
        "警告+通报": "minor",
        "罚款": "general",
        "吊销": "serious",
        "自定严重": "serious",
    }
    assert stored["警告+通报"]["fields"]["CFLB"] == ["警告", "通报批评"]


async def test_penalty_missing_the_revoked_licence_is_rejected(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> None:
    dept = actors["department"]
    record = penalty(dept.code, company_code(57), "吊销", days_ago(2), CFLB=["吊销许可证件"], NR_FK=None)

    receipt = await push_ok(client, dept, [record])

    assert [(e["code"], e["path"]) for e in receipt["results"][0]["errors"]] == [
        ("REQUIRED", "fields.NR_ZKDX")
    ]
    assert await count(connection, "records") == 0


PUBLICITY_FIELDS = ("severity", "publicityRule", "published", "repairFrom", "publishUntil")


@pytest.mark.parametrize(
    ("pusher", "over", "expected"),
    [
        # NDRC Order 58 (2023-05-01 .. 2026-03-31): 3 months to 3 years whatever the severity and authority.
        ("department2", {}, ("general", "ndrc_order_58", True, "2025-09-10", "2028-06-10")),
        ("department", {}, ("general", "ndrc_order_58", True, "2025-09-10", "2028-06-10")),
        # Key fields (food, drug, …): at least one year before repair.
        ("department2", {"ZDLY": True}, ("general", "ndrc_order_58", True, "2026-06-10", "2028-06-10")),
    ],
    ids=["other-department", "market-regulation-before-samr-107", "key-field"],
)
async def test_publicity_of_a_penalty_decided_under_ndrc_order_58(
    client: httpx.AsyncClient,
    actors: dict[str, Actor],
    pusher: str,
    over: dict[str, Any],
    expected: tuple[Any, ...],
) -> None:
    dept = actors[pusher]
    uscc = company_code(58)
    receipt = await push_ok(client, dept, [penalty(dept.code, uscc, "罚-58", "2025-06-10", **over)])
    assert receipt["results"][0]["late"] is True

    stored = (await records_of(client, actors["credit_office"], uscc))["罚-58"]

    assert tuple(stored[f] for f in PUBLICITY_FIELDS) == expected


@pytest.mark.parametrize(
    ("pusher", "categories", "expected"),
    [
        # SAMR Order 107 for the market-regulation department (authority domain market_regulation).
        ("department", ["罚款"], ("general", "samr_order_107", True, "2026-08-06", "2027-05-06")),
        ("department", ["吊销许可证件"], ("serious", "samr_order_107", True, "2027-05-06", "2029-05-06")),
        ("department", ["通报批评"], ("minor", "samr_order_107", True, None, "2026-08-06")),
        ("department", ["警告"], ("minor", "samr_order_107", False, None, None)),
        # NDRC Order 36 for a department without a domain rule.
        ("department2", ["罚款"], ("general", "ndrc_order_36", True, "2026-08-06", "2027-05-06")),
        ("department2", ["吊销许可证件"], ("serious", "ndrc_order_36", True, "2027-05-06", "2029-05-06")),
        ("department2", ["通报批评"], ("minor", "ndrc_order_36", False, None, None)),
    ],
)
async def test_publicity_of_a_penalty_under_samr_order_107_and_ndrc_order_36(
    client: httpx.AsyncClient,
    actors: dict[str, Actor],
    pusher: str,
    categories: list[str],
    expected: tuple[Any, ...],
) -> None:
    dept = actors[pusher]
    uscc = company_code(59)
    fine = "0.5" if "罚款" in categories else None
    revoked = "食品经营许可证 JY123" if "吊销许可证件" in categories else None
    record = penalty(dept.code, uscc, "罚-107", "2026-05-06", CFLB=categories, NR_FK=fine, NR_ZKDX=revoked)
    await push_ok(client, dept, [record])

    stored = (await records_of(client, actors["credit_office"], uscc))["罚-107"]

    assert tuple(stored[f] for f in PUBLICITY_FIELDS) == expected


# --- outbox --------------------------------------------------------------------------------------


async def outbox(connection: AsyncConnection) -> list[tuple[str, str | None, dict[str, Any]]]:
    rows = await connection.execute(text("SELECT event_type, uscc, payload FROM outbox ORDER BY id"))
    return [(r[0], r[1], r[2]) for r in rows]


async def test_created_and_updated_records_write_one_outbox_event_each(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> None:
    dept = actors["department"]
    uscc = company_code(60)
    await push_ok(
        client,
        dept,
        [
            valid_record("administrative_penalty", dept.code, uscc, record_id="罚-1"),
            valid_record("inspection_result", dept.code, uscc, record_id="检-1"),
        ],
        "a",
    )
    await push_ok(
        client,
        dept,
        [
            valid_record("administrative_penalty", dept.code, uscc, record_id="罚-1", NR_FK="0.7"),  # updated
            valid_record("inspection_result", dept.code, uscc, record_id="检-1"),  # unchanged
            valid_record("inspection_result", dept.code, uscc, record_id="检-2", JCJL="优秀"),  # rejected
        ],
        "b",
    )

    def payload(rid: str, record_type: str, version: int) -> dict[str, Any]:
        return {
            "source_dept": dept.code,
            "source_record_id": rid,
            "version": version,
            "record_type": record_type,
        }

    assert await outbox(connection) == [
        ("record.created", uscc, payload("罚-1", "administrative_penalty", 1)),
        ("record.created", uscc, payload("检-1", "inspection_result", 1)),
        ("record.updated", uscc, payload("罚-1", "administrative_penalty", 2)),
    ]
    assert await count(connection, "outbox", "sent_at IS NOT NULL") == 0


async def test_a_refused_push_writes_no_outbox_event(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> None:
    dept = actors["department"]
    uscc = company_code(61)
    await push_ok(client, dept, [valid_record("administrative_penalty", dept.code, uscc)], "same")

    # Same key, new content: refused whole, so the new version and its event are not written either.
    await gql(
        client,
        'mutation($r: [RecordInput!]!) { pushRecords(records: $r, idempotencyKey: "same") { __typename } }',
        {"r": [valid_record("administrative_penalty", dept.code, uscc, NR_FK="2")]},
        dept,
    )

    assert [topic for topic, _, _ in await outbox(connection)] == ["record.created"]
    assert await count(connection, "records") == 1


# --- history -------------------------------------------------------------------------------------

HISTORY = (
    """
query($uscc: String!) { entity(uscc: $uscc) { name records { edges { node {
  sourceRecordId version versions { """
    + RECORD_FIELDS
    + """ } } } } } }
"""
)


async def test_versions_lists_every_version_newest_first(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> None:
    dept = actors["department"]
    uscc = company_code(62)
    base = {"record_id": "罚-H"}
    await push_ok(client, dept, [valid_record("administrative_penalty", dept.code, uscc, **base)], "v1")
    await push_ok(
        client, dept, [valid_record("administrative_penalty", dept.code, uscc, **base, NR_FK="0.6")], "v2"
    )
    await push_ok(
        client,
        dept,
        [
            valid_record(
                "administrative_penalty",
                dept.code,
                uscc,
                **base,
                NR_FK="0.6",
                XDR_MC="哈尔滨新名称有限公司",
                BZ="更名",
            )
        ],
        "v3",
    )

    result = await gql(client, HISTORY, {"uscc": uscc}, dept)

    entity = result["data"]["entity"]
    assert entity["name"] == "哈尔滨示例科技有限公司"  # a push never renames the entity (issue 8)
    [edge] = entity["records"]["edges"]
    assert (edge["node"]["sourceRecordId"], edge["node"]["version"]) == ("罚-H", 3)
    versions = edge["node"]["versions"]
    assert [(v["version"], v["current"], v["pushedBy"], v["changedFields"]) for v in versions] == [
        (3, True, dept.code, ["BZ", "XDR_MC"]),
        (2, False, dept.code, ["NR_FK"]),
        (1, False, dept.code, None),
    ]
    assert [v["fields"]["NR_FK"] for v in versions] == ["0.6", "0.6", "0.5"]
    assert [v["fields"]["XDR_MC"] for v in versions] == [
        "哈尔滨新名称有限公司",
        "哈尔滨示例科技有限公司",
        "哈尔滨示例科技有限公司",
    ]
    assert await count(connection, "records", "current") == 1


async def test_versions_show_the_public_only_public_fields(
    client: httpx.AsyncClient, actors: dict[str, Actor]
) -> None:
    dept = actors["department"]
    uscc = company_code(63)
    await push_ok(client, dept, [valid_record("administrative_penalty", dept.code, uscc, BZ="一")], "v1")
    await push_ok(client, dept, [valid_record("administrative_penalty", dept.code, uscc, BZ="二")], "v2")

    result = await gql(client, HISTORY, {"uscc": uscc})

    versions = result["data"]["entity"]["records"]["edges"][0]["node"]["versions"]
    assert [(v["version"], v["changedFields"], v["withheldFields"]) for v in versions] == [
        (2, ["BZ"], ["BZ"]),
        (1, None, ["BZ"]),
    ]
    assert all("BZ" not in v["fields"] for v in versions)
