"""Sibling resolvers of one request share one session: they take turns instead of failing."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from tests.conftest import company_code, gql


async def test_many_root_fields_that_each_query_the_database(client, actors):
    fields = " ".join(
        f'e{i}: entity(uscc: "{company_code(900 + i)}") {{ uscc }} s{i}: searchEntities(name: "公司{i}") {{ totalCount }}'
        for i in range(5)
    )
    answer = await gql(
        client,
        f"{{ {fields} gradingSchemes {{ code }} supervisionDomains {{ code }} me {{ role }} }}",
        actor=actors["bank"],
    )
    assert "errors" not in answer, answer
    assert len(answer["data"]["gradingSchemes"]) >= 8 and answer["data"]["me"] == {"role": "BANK"}


# A streamed result reads from the connection as it is iterated: it holds the session until it ends.
NUMBERS = text("SELECT g FROM generate_series(1, 3000) AS g").execution_options(yield_per=100)


async def test_streams_and_statements_of_one_session_take_turns(session):
    async def rows() -> list[int]:
        return [row[0] async for row in await session.stream(NUMBERS)]

    async def scalars() -> list[int]:
        return [value async for value in await session.stream_scalars(NUMBERS)]

    async def one() -> int:
        return int((await session.execute(text("SELECT 42"))).scalar_one())

    streamed, scalared, single = await asyncio.wait_for(asyncio.gather(rows(), scalars(), one()), 10)
    assert streamed == scalared == list(range(1, 3001))
    assert single == 42


async def test_a_stream_read_in_part_holds_the_session_until_it_is_closed(session):
    result = await session.stream(NUMBERS)
    assert [row[0] for row in await result.fetchmany(3)] == [1, 2, 3]
    waiting = asyncio.ensure_future(session.execute(text("SELECT 7")))
    await asyncio.sleep(0.2)
    assert not waiting.done()  # it waits for the stream instead of breaking into it
    await result.close()
    assert (await asyncio.wait_for(waiting, 5)).scalar_one() == 7


async def test_a_stream_left_open_ends_with_its_transaction(session):
    result = await session.stream(NUMBERS)
    await result.fetchmany(3)
    await session.rollback()
    assert (await asyncio.wait_for(session.execute(text("SELECT 8")), 5)).scalar_one() == 8


async def test_a_stream_of_a_statement_without_rows_holds_nothing(session):
    await session.stream(text("SET LOCAL work_mem = '8MB'"))  # no rows: the result is over at once
    assert (await asyncio.wait_for(session.execute(text("SELECT 9")), 5)).scalar_one() == 9
