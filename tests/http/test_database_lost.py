"""The database lost while a request runs, for real: the request's own PostgreSQL backend is killed with
pg_terminate_backend from another connection while it waits on a table lock (what a restart or an
operator does to it), after the caller's token was looked up; and the same during a WebSocket
connection's token look-up. Each answer is a code with a Retry-After (or a documented close code),
never INTERNAL. The data is committed to the live database (tests/live.py), whose rows are the tests'."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
import strawberry
import websockets
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from hub.auth import service as auth
from hub.auth.caller import Role
from hub.db import database_failure, make_engine, make_sessionmaker
from hub.entities.codes import make_uscc
from hub.settings import Settings
from hub.web.app import create_app
from schema.build import HubSchema
from schema.extensions import UnitOfWork
from schema.permissions import ALL_ROLES, allow
from tests.http.test_edge import app_client, refusal

SEARCH = '{ searchEntities(name: "哈尔滨", first: 1) { totalCount } }'
# The backend that waits on a lock (the request's), other than the one asking.
WAITING = text(
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
    "AND pid <> pg_backend_pid() AND query LIKE :table"
)
TRY_AGAIN_LATER = 1013  # RFC 6455's registry: the server is overloaded or its backend is gone


async def committed_token(engine: AsyncEngine, serial: int, role: Role) -> str:
    code = make_uscc("9", "1", "230100", f"D{serial:07d}")
    async with engine.begin() as connection:
        session = AsyncSession(bind=connection)
        await auth.register_organisation(session, code, f"断库测试{serial}", role)
        issued = await auth.issue_token(session, code, "database lost", 1, by="tests")
        await session.flush()
    return issued.secret


async def kill_the_waiting_backend(engine: AsyncEngine, table: str) -> int:
    """Wait (up to 20 s) for a backend blocked on `table`'s lock and terminate it; its pid."""
    async with engine.connect() as killer:
        async with asyncio.timeout(20):
            while (pid := await killer.scalar(WAITING, {"table": f"%{table}%"})) is None:
                await killer.rollback()
                await asyncio.sleep(0.05)
        assert await killer.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}) is True
        await killer.commit()
    return int(pid)


async def locked(connection: AsyncConnection, table: str) -> None:
    await connection.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))


@pytest.fixture
async def own_live_engine(live_url: URL) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(live_url, pool_size=1, pool_timeout=2)
    yield engine
    await engine.dispose()


async def test_connection_lost_inside_a_resolver_is_503_database_unavailable_with_retry_after(
    live_engine: AsyncEngine, own_live_engine: AsyncEngine
) -> None:
    token = await committed_token(live_engine, 1, Role.BANK)
    headers = {"authorization": f"Bearer {token}"}
    app = create_app(Settings(request_timeout_seconds=30), sessions=make_sessionmaker(own_live_engine))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub.test"
    ) as client:
        before = await client.post("/graphql", json={"query": SEARCH}, headers=headers)
        assert before.status_code == 200 and "errors" not in before.json(), before.text
        async with live_engine.connect() as locker:
            await locked(locker, "entities")  # the token look-up reads api_tokens and organisations only
            request = asyncio.create_task(client.post("/graphql", json={"query": SEARCH}, headers=headers))
            await kill_the_waiting_backend(live_engine, "entities")
            await locker.rollback()
        response = await request
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "1"
        assert response.headers["content-type"].startswith("application/json")
        [error] = response.json()["errors"]
        assert error["extensions"]["code"] == "DATABASE_UNAVAILABLE", response.text
        assert error["extensions"]["requestId"] == response.headers["x-request-id"]
        assert "terminat" not in response.text.lower() and "asyncpg" not in response.text.lower()
        # The pool drops the dead connection: the next request is served.
        after = await client.post("/graphql", json={"query": SEARCH}, headers=headers)
        assert after.status_code == 200 and "errors" not in after.json(), after.text


async def _connect(url: str, protocol: str, init: dict[str, Any]) -> tuple[list[Any], int | None, str | None]:
    """Open a WebSocket, send connection_init; what the server sent and how it closed."""
    async with websockets.connect(url, subprotocols=[protocol]) as ws:  # type: ignore[list-item]
        await ws.send(orjson.dumps(init).decode())
        received: list[Any] = []
        try:
            async with asyncio.timeout(30):
                async for message in ws:
                    received.append(orjson.loads(message))
        except websockets.ConnectionClosed:
            pass
        return received, ws.close_code, ws.close_reason


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
async def test_connection_lost_during_the_websocket_token_look_up_closes_with_a_code(
    live_engine: AsyncEngine, hub_server: str, protocol: str
) -> None:
    token = await committed_token(live_engine, 2 if protocol == "graphql-ws" else 3, Role.CREDIT_OFFICE)
    init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
    url = hub_server.replace("http://", "ws://")
    async with live_engine.connect() as locker:
        await locked(locker, "api_tokens")
        connecting = asyncio.create_task(_connect(url, protocol, init))
        await kill_the_waiting_backend(live_engine, "api_tokens")
        await locker.rollback()
    received, close_code, reason = await connecting
    assert (close_code, reason) == (TRY_AGAIN_LATER, "DATABASE_UNAVAILABLE"), received
    if protocol == "graphql-ws":  # the legacy protocol says it in a message too
        assert received == [
            {
                "type": "connection_error",
                "payload": {
                    "code": "DATABASE_UNAVAILABLE",
                    "message": "the database cannot be reached; retry after Retry-After",
                },
            }
        ]
    else:
        assert received == []
    # The next connection is authenticated again.
    async with websockets.connect(url, subprotocols=[protocol]) as ws:  # type: ignore[list-item]
        await ws.send(orjson.dumps(init).decode())
        ack = orjson.loads(await asyncio.wait_for(ws.recv(), timeout=20))
        assert ack["type"] == "connection_ack", ack


async def _failure_of(engine: AsyncEngine, statement: str) -> BaseException:
    async with engine.connect() as connection:
        try:
            for part in statement.split("; "):
                await connection.execute(text(part))
        except Exception as exc:
            return exc
    raise AssertionError(f"{statement} did not fail")


async def test_only_failures_of_the_database_itself_are_retry_later(own_live_engine: AsyncEngine) -> None:
    """A defect (division by zero, a missing table) stays masked as INTERNAL, not a 503 that invites a
    retry; a statement timeout is TIMEOUT; a backend terminated under the statement is unavailable."""
    expected = {
        "SELECT 1 / 0": None,
        "SELECT * FROM no_such_table": None,
        "SET LOCAL statement_timeout = 50; SELECT pg_sleep(5)": "TIMEOUT",
        "SELECT pg_terminate_backend(pg_backend_pid())": "DATABASE_UNAVAILABLE",
    }
    found = {sql: database_failure(await _failure_of(own_live_engine, sql)) for sql in expected}
    assert found == expected


@strawberry.type
class LosingQuery:
    @strawberry.field(extensions=allow(*ALL_ROLES))
    async def lost(self, info: strawberry.Info) -> int:
        # The server ends this very connection (57P01, as a fast shutdown or restart does).
        await info.context.session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        return 1


async def test_a_connection_that_ends_itself_under_an_operation_answers_503(test_url: URL) -> None:
    engine = make_engine(test_url, pool_size=1)
    settings = Settings(request_timeout_seconds=60, retry_after_seconds=2)
    schema = HubSchema(query=LosingQuery, extensions=[UnitOfWork])
    async with await app_client(settings, make_sessionmaker(engine), schema) as client:
        response = await client.post("/graphql", json={"query": "{ lost }"})
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "2"
        assert refusal(response) == "DATABASE_UNAVAILABLE"
        assert response.json().get("data") is None
    await engine.dispose()
