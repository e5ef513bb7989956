"""pushRecords as a whole: idempotency, duplicates, limits and who may push."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.conftest import Actor, company_code, gql
from tests.records.builders import (
    NOTHING_WRITTEN,
    PUSH,
    count,
    person_record,
    push,
    push_ok,
    valid_record,
    written,
)

# --- idempotency ---------------------------------------------------------------------------------


async def test_same_key_and_body_replays_the_first_answer_and_writes_nothing(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> None:
    dept = actors["department"]
    uscc = company_code(31)
    records = [
        valid_record("administrative_penalty", dept.code, uscc, record_id="罚-1"),
        valid_record("administrative_penalty", dept.code, uscc, record_id="罚-2", NR_FK="-1"),
    ]
    first = await push_ok(client, dept, records, key="2026-11-batch-7")
    after_first = await written(connection)

    again = await push_ok(client, dept, records, key="2026-11-batch-7")

    assert first["replayed"] is False
    assert again["replayed"] is True
    # The first answer, not a fresh one (a fresh one would say UNCHANGED).
    assert again | {"replayed": False} == first
    assert [r["outcome"] for r in again["results"]] == ["CREATED", "REJECTED"]
    assert (
        await written(connection)
        == after_first
        == {
            "records": 1,
            "outbox": 1,
            "entities": 1,
            "idempotent_pushes": 1,
        }
    )


async def test_same_key_with_another_body_is_a_conflict_and_writes_nothing(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> None:
    dept = actors["department"]
    uscc = company_code(32)
    await push_ok(client, dept, [valid_record("administrative_penalty", dept.code, uscc)], key="k-1")
    before = await written(connection)

    changed = [valid_record("administrative_penalty", dept.code, uscc, NR_FK="0.9")]
    answer = await push(client, dept, changed, key="k-1")

    assert answer == {
        "__typename": "ConflictProblem",
        "code": "IDEMPOTENCY_KEY_REUSED",
        "message": "this idempotencyKey was used with a different body; use a new key for new content",
        "path": "idempotencyKey",
    }
    assert await written(connection) == before
    fine = await connection.scalar(text("SELECT content->>'NR_FK' FROM records WHERE current"))
    assert fine == "0.5"


async def test_idempotency_keys_are_per_organisation(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> None:
    dept, dept2 = actors["department"], actors["department2"]
    uscc = company_code(33)
    await push_ok(
        client, dept, [valid_record("inspection_result", dept.code, uscc, record_id="检-1")], key="daily"
    )

    other = await push_ok(
        client, dept2, [valid_record("inspection_result", dept2.code, uscc, record_id="检-1")], key="daily"
    )

    assert other["replayed"] is False
    assert other["results"][0]["outcome"] == "CREATED"
    rows = await connection.execute(text("SELECT source_dept FROM records ORDER BY 1"))
    assert list(rows.scalars()) == sorted([dept.code, dept2.code])
    assert await count(connection, "idempotent_pushes") == 2


@pytest.mark.parametrize("key", ["", "   ", "x" * 201, "tab\tkey"])
async def test_unusable_idempotency_key_is_refused(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection, key: str
) -> None:
    dept = actors["department"]
    records = [valid_record("administrative_penalty", dept.code, company_code(34))]

    answer = await push(client, dept, records, key=key)

    assert answer == {
        "__typename": "InvalidInput",
        "code": "INVALID_KEY",
        "message": "idempotencyKey must be 1 to 200 printable characters",
        "path": "idempotencyKey",
    }
    assert await written(connection) == NOTHING_WRITTEN


# --- duplicates and moves ------------------------------------------------------------------------


async def test_the_same_record_twice_in_one_push_keeps_the_later(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> None:
    dept = actors["department"]
    uscc = company_code(35)
    records = [
        valid_record("administrative_penalty", dept.code, uscc, record_id="罚-1", NR_FK="0.3"),
        valid_record("administrative_penalty", dept.code, uscc, record_id="罚-2"),
        valid_record("administrative_penalty", dept.code, uscc, record_id="罚-1", NR_FK="0.4"),
    ]

    receipt = await push_ok(client, dept, records)

    assert [(r["outcome"], r["version"]) for r in receipt["results"]] == [
        ("REJECTED", None),
        ("CREATED", 1),
        ("CREATED", 1),
    ]
    assert receipt["results"][0]["errors"] == [
        {
            "code": "DUPLICATE_IN_PUSH",
            "path": "sourceRecordId",
            "message": "superseded by record 2 of this push",
        }
    ]
    rows = await connection.execute(
        text("SELECT version, content->>'NR_FK' FROM records WHERE source_record_id = '罚-1'")
    )
    assert [tuple(r) for r in rows] == [(1, "0.4")]
    assert await count(connection, "outbox") == 2


async def test_a_record_cannot_move_to_another_uscc(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> None:
    dept = actors["department"]
    first, second = company_code(36), company_code(37)
    await push_ok(
        client, dept, [valid_record("administrative_penalty", dept.code, first, record_id="罚-1")], "a"
    )
    before = await written(connection)

    moved = valid_record("administrative_penalty", dept.code, second, record_id="罚-1", XDR_MC="另一家公司")
    receipt = await push_ok(client, dept, [moved], "b")

    assert receipt["results"][0]["outcome"] == "REJECTED"
    assert receipt["results"][0]["errors"] == [
        {
            "code": "SUBJECT_CHANGED",
            "path": "fields.XDR_SHXYM",
            "message": "a record cannot move to another party; withdraw it and push a new record",
        }
    ]
    assert await written(connection) == before | {"idempotent_pushes": 2}
    rows = await connection.execute(text("SELECT uscc, version, current FROM records"))
    assert [tuple(r) for r in rows] == [(first, 1, True)]
    assert await count(connection, "entities", "uscc = :u", u=second) == 0


async def test_a_natural_persons_record_cannot_move_to_another_person(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> None:
    dept = actors["department"]
    await push_ok(client, dept, [person_record("administrative_penalty", dept.code, WSH="罚-P")], "a")

    moved = person_record("administrative_penalty", dept.code, WSH="罚-P", id_number="11010519491231002X")
    receipt = await push_ok(client, dept, [moved], "b")

    assert [(e["code"], e["path"]) for e in receipt["results"][0]["errors"]] == [
        ("SUBJECT_CHANGED", "fields.XDR_ZJHM")
    ]
    assert await count(connection, "records") == 1


# --- limits --------------------------------------------------------------------------------------


async def test_more_than_1000_records_is_refused_whole(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> None:
    dept = actors["department"]
    uscc = company_code(38)
    records = [
        valid_record("inspection_result", dept.code, uscc, record_id=f"检-{i:04d}") for i in range(1001)
    ]

    answer = await push(client, dept, records)

    assert answer == {
        "__typename": "InvalidInput",
        "code": "TOO_MANY",
        "message": "a push carries at most 1000 records, got 1001",
        "path": "records",
    }
    assert await written(connection) == NOTHING_WRITTEN


async def test_exactly_1000_records_are_accepted(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> None:
    dept = actors["department"]
    uscc = company_code(39)
    records = [
        valid_record("inspection_result", dept.code, uscc, record_id=f"检-{i:04d}") for i in range(1000)
    ]

    receipt = await push_ok(client, dept, records)

    assert receipt["created"] == 1000
    assert await count(connection, "records") == 1000


async def test_empty_push_is_refused(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> None:
    answer = await push(client, actors["department"], [])

    assert answer == {
        "__typename": "InvalidInput",
        "code": "EMPTY_PUSH",
        "message": "a push carries at least one record",
        "path": "records",
    }
    assert await written(connection) == NOTHING_WRITTEN


@pytest.mark.parametrize("fields", ["XDR_MC=某公司", ["XDR_MC", "某公司"], 42, True])
async def test_fields_that_are_not_an_object_are_refused_with_their_path(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection, fields: Any
) -> None:
    dept = actors["department"]
    good = valid_record("administrative_penalty", dept.code, company_code(40))
    bad = {"recordType": "administrative_penalty", "fields": fields}

    answer = await push(client, dept, [good, good | {"sourceRecordId": "x"}, bad])

    assert answer == {
        "__typename": "InvalidInput",
        "code": "NOT_AN_OBJECT",
        "message": "fields must be a JSON object of field codes",
        "path": "records.2.fields",
    }
    assert await written(connection) == NOTHING_WRITTEN


# --- who may push --------------------------------------------------------------------------------


@pytest.mark.parametrize("who", [None, "bank", "entity"])
async def test_roles_that_never_push_are_refused(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection, who: str | None
) -> None:
    actor = actors[who] if who else None
    # The record names the caller as its source, so only the role can stop it.
    source = actor.code if actor else actors["department"].code
    records = [valid_record("administrative_penalty", source, company_code(41))]

    result = await gql(client, PUSH, {"records": records, "key": "k"}, actor)

    assert result["data"] is None
    assert [(e["message"], e["path"], e["extensions"]["code"]) for e in result["errors"]] == [
        ("this operation is not permitted for your role", ["pushRecords"], "FORBIDDEN")
    ]
    assert await written(connection) == NOTHING_WRITTEN


@pytest.mark.parametrize("who", ["association", "province", "credit_office"])
async def test_only_departments_push_penalties(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection, who: str
) -> None:
    # These roles push evaluations (and the province list entries), never a department's records.
    actor = actors[who]
    records = [valid_record("administrative_penalty", actor.code, company_code(41))]

    result = await gql(client, PUSH, {"records": records, "key": "k"}, actor)

    [outcome] = result["data"]["pushRecords"]["results"]
    assert outcome["outcome"] == "REJECTED"
    assert [(e["code"], e["path"]) for e in outcome["errors"]] == [("NOT_PUSHER", "recordType")]
    # Only the answer is kept, for replay under the same idempotency key.
    assert await written(connection) == {**NOTHING_WRITTEN, "idempotent_pushes": 1}
