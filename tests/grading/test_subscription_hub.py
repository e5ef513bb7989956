"""The subscriptions of a process share one LISTEN connection; they are limited per connection and
per caller; a failure answers a code and never the database's own text."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
import websockets
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hub import notifications
from hub.auth import service as auth
from hub.auth.caller import Caller, Role
from hub.crypto import StaticKeyProvider
from hub.db import make_engine, make_sessionmaker
from hub.entities.codes import make_uscc
from hub.errors import HubError
from hub.grading.admin import assign_domain
from hub.grading.changes import CHANNEL
from hub.records.ingestion.service import RecordInput, push_records
from hub.settings import Settings
from hub.web.app import create_app
from schema.build import build_schema
from schema.context import HubContext
from tests.conftest import Actor, company_code
from tests.grading.evaluations import evaluation
from tests.live import live_token

DOMAIN = "food_small_workshops"
SUBSCRIBE = """subscription($after: Int) { classificationChanged(domains: ["food_small_workshops"], afterId: $after) {
  id uscc domain newCategory } }"""
OFFICE = make_uscc("1", "1", "230100", "L0000900")
DEPARTMENT = make_uscc("1", "1", "230100", "L0000901")
LISTEN_CONNECTIONS = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = :name"
).bindparams(name=notifications.APPLICATION_NAME)
BACKENDS = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")


async def _scalar(engine: AsyncEngine, query: Any) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(query)).scalar_one())


@pytest.fixture
async def department(live_engine: AsyncEngine) -> str:
    """The committed department of DOMAIN (NOTIFY reaches subscribers only after a commit)."""
    try:
        async with live_engine.begin() as connection:
            session = AsyncSession(bind=connection)
            await auth.register_organisation(session, DEPARTMENT, "订阅共享测试局", Role.DEPARTMENT)
            await assign_domain(session, DOMAIN, DEPARTMENT, by="tests")
            await session.flush()
    except HubError as error:  # registered by an earlier test of this module
        assert error.code == "ALREADY_EXISTS", error
    return DEPARTMENT


async def _commit_change(engine: AsyncEngine, department: str, serial: int) -> str:
    """One committed classification change in DOMAIN: an industry evaluation of a new entity."""
    uscc = company_code(serial)
    today = dt.date.today()
    record = evaluation(
        "industry_evaluation",
        Actor(department, Role.DEPARTMENT, ""),
        uscc,
        "C",
        scheme="samr_risk",
        evaluated=(today - dt.timedelta(days=3)).isoformat(),
        valid_until=(today + dt.timedelta(days=300)).isoformat(),
        domain=DOMAIN,
        record_id=f"E-{serial}",
    )
    async with engine.begin() as connection:
        session = AsyncSession(bind=connection)
        answer = await push_records(
            session,
            Caller(Role.DEPARTMENT, department),
            [RecordInput(record["recordType"], record["sourceRecordId"], record["fields"])],
            idempotency_key=f"subscription-hub-{serial}",
            keys=StaticKeyProvider(Settings().master_key),
            max_records=10,
            today=today,
        )
        assert [o.outcome.value for o in answer.outcomes] == ["created"], answer
        await session.flush()
    return uscc


LIMITLESS = Settings(max_subscriptions_per_connection=500, max_subscriptions_per_caller=500)
LAST_CHANGE = text("SELECT coalesce(max(id), 0) FROM classification_changes")


def _context(
    sessions: async_sessionmaker[AsyncSession],
    url: URL,
    settings: Settings = LIMITLESS,
    caller: str = OFFICE,
) -> HubContext:
    """What the hub builds for one WebSocket connection."""
    return HubContext(
        caller=Caller(Role.CREDIT_OFFICE, caller),
        session=sessions(),
        settings=settings,
        keys=StaticKeyProvider(settings.master_key),
        request_id="test",
        sessions=sessions,
        listen_url=url,
    )


class Subscriptions:
    """Subscriptions started as the graphql-transport-ws handler starts them; each task waits for
    the subscription's first result (an event or a refusal)."""

    def __init__(self) -> None:
        self.schema = build_schema(LIMITLESS)
        self.opened: list[tuple[Any, asyncio.Task[Any]]] = []

    async def open(self, context: HubContext, after_id: int | None) -> asyncio.Task[Any]:
        stream = await self.schema.subscribe(
            SUBSCRIBE, variable_values={"after": after_id}, context_value=context
        )
        task = asyncio.ensure_future(anext(stream))
        self.opened.append((stream, task))
        return task

    async def close(self, index: int | None = None) -> None:
        """Close one subscription (or all), as the handler does when the client completes it."""
        chosen = self.opened if index is None else [self.opened[index]]
        for stream, task in chosen:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await task
            await stream.aclose()
        self.opened = [pair for pair in self.opened if pair not in chosen]


@pytest.fixture
async def subscriptions() -> AsyncIterator[Subscriptions]:
    opened = Subscriptions()
    yield opened
    await opened.close()
    await notifications.stop_listeners()


async def _until_listening(url: URL, count: int) -> None:
    """Wait until `count` subscriptions have their queue on the process's listener."""
    listener = notifications.listener_for(url)
    async with asyncio.timeout(30):
        while True:
            if listener.subscribers >= count and listener._connection is not None:
                return
            await asyncio.sleep(0.05)


def _code(result: Any) -> str:
    assert result.errors, result
    return str(result.errors[0].extensions["code"])


async def test_two_hundred_subscriptions_share_one_database_connection(
    live_engine: AsyncEngine, live_url: URL, department: str, subscriptions: Subscriptions
) -> None:
    # One WebSocket connection with 200 subscriptions (the probe used 100 and exhausted the server).
    context = _context(make_sessionmaker(live_engine), live_url)
    before = await _scalar(live_engine, BACKENDS)
    after_id = await _scalar(live_engine, LAST_CHANGE)  # from here: no race with the commit below
    waiting = [await subscriptions.open(context, after_id) for _ in range(200)]
    await _until_listening(live_url, 200)
    assert await _scalar(live_engine, LISTEN_CONNECTIONS) == 1
    # The LISTEN connection and at most the pool the subscriptions read through (live_engine: 2,
    # overflow 2); one connection each would be 200 more.
    assert await _scalar(live_engine, BACKENDS) <= before + 1 + 4

    uscc = await _commit_change(live_engine, department, 7701)
    heard = await asyncio.wait_for(asyncio.gather(*waiting), timeout=60)
    assert all(result.errors is None for result in heard), heard[0]
    assert [result.data["classificationChanged"]["uscc"] for result in heard] == [uscc] * 200
    assert await _scalar(live_engine, LISTEN_CONNECTIONS) == 1

    await subscriptions.close()
    await notifications.stop_listeners()
    assert await _scalar(live_engine, LISTEN_CONNECTIONS) == 0  # closed at shutdown


async def test_subscriptions_are_limited_per_connection_and_per_caller(
    live_engine: AsyncEngine, live_url: URL, subscriptions: Subscriptions
) -> None:
    sessions = make_sessionmaker(live_engine)
    limits = Settings(max_subscriptions_per_connection=2, max_subscriptions_per_caller=3)
    first, second = _context(sessions, live_url, limits), _context(sessions, live_url, limits)
    other_caller = _context(sessions, live_url, limits, caller=make_uscc("1", "1", "230100", "L0000902"))
    held = [await subscriptions.open(first, 0), await subscriptions.open(first, 0)]
    refused = await asyncio.wait_for(await subscriptions.open(first, 0), timeout=10)
    assert _code(refused) == "SUBSCRIPTION_LIMIT_CONNECTION"
    held.append(await subscriptions.open(second, 0))  # the caller's third, on another connection
    await _until_listening(live_url, 3)
    refused = await asyncio.wait_for(await subscriptions.open(second, 0), timeout=10)
    assert _code(refused) == "SUBSCRIPTION_LIMIT_CALLER"
    assert "3" in refused.errors[0].message
    # Another organisation has limits of its own.
    held.append(await subscriptions.open(other_caller, 0))
    await _until_listening(live_url, 4)
    assert not any(task.done() and task.result().errors for task in held)

    # A closed subscription frees its place.
    await subscriptions.close(0)
    again = await subscriptions.open(second, 0)
    await _until_listening(live_url, 4)
    assert not (again.done() and again.result().errors)


async def test_a_database_failure_answers_a_code_and_not_its_text(
    live_url: URL, settings: Settings, subscriptions: Subscriptions
) -> None:
    # The reads of the subscription go to a database that does not exist: asyncpg's error names it.
    missing = make_engine(live_url.set(database="hub_no_such_database"), pool_size=1)
    try:
        context = _context(make_sessionmaker(missing), live_url)
        result = await asyncio.wait_for(await subscriptions.open(context, 0), timeout=20)
    finally:
        await missing.dispose()
    assert _code(result) == "SUBSCRIPTION_UNAVAILABLE"
    message = result.errors[0].message
    assert "hub_no_such_database" not in message and "does not exist" not in message, message


async def test_no_listen_connection_answers_a_code(
    live_engine: AsyncEngine, live_url: URL, subscriptions: Subscriptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notifications, "CONNECT_TIMEOUT", 1.0)
    context = _context(make_sessionmaker(live_engine), live_url.set(database="hub_no_such_database"))
    result = await asyncio.wait_for(await subscriptions.open(context, 0), timeout=20)
    assert _code(result) == "SUBSCRIPTION_UNAVAILABLE"
    assert "hub_no_such_database" not in result.errors[0].message


async def test_a_dropped_listen_connection_is_reconnected_and_nothing_is_missed(
    live_engine: AsyncEngine, live_url: URL, department: str, subscriptions: Subscriptions
) -> None:
    context = _context(make_sessionmaker(live_engine), live_url)
    after_id = await _scalar(live_engine, LAST_CHANGE)
    waiting = await subscriptions.open(context, after_id)
    await _until_listening(live_url, 1)
    terminate = text(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :name"
    ).bindparams(name=notifications.APPLICATION_NAME)
    assert await _scalar(live_engine, terminate) == 1  # as an operator or a restart would
    # Committed while the listener may be down: the reconnection wakes the subscriber to read by id.
    uscc = await _commit_change(live_engine, department, 7702)
    heard = await asyncio.wait_for(waiting, timeout=20)
    assert heard.errors is None and heard.data["classificationChanged"]["uscc"] == uscc, heard
    async with asyncio.timeout(10):
        while True:
            if await _scalar(live_engine, LISTEN_CONNECTIONS) == 1:
                return
            await asyncio.sleep(0.05)


async def test_one_websocket_connection_may_hold_ten_subscriptions(
    live_engine: AsyncEngine, hub_server: str
) -> None:
    """Through a real hub: the eleventh subscription on one connection is refused with a code
    (HUB_MAX_SUBSCRIPTIONS_PER_CONNECTION, default 10), and the ten share one LISTEN connection."""
    secret = await live_token(
        live_engine, make_uscc("1", "1", "230100", "L0000903"), "订阅上限测试办", Role.CREDIT_OFFICE
    )
    ws_url = hub_server.replace("http://", "ws://")
    async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        init = {"type": "connection_init", "payload": {"authorization": f"Bearer {secret}"}}
        await ws.send(orjson.dumps(init).decode())
        assert orjson.loads(await asyncio.wait_for(ws.recv(), timeout=20))["type"] == "connection_ack"
        for n in range(1, 12):
            subscribe = {"id": str(n), "type": "subscribe", "payload": {"query": SUBSCRIBE}}
            await ws.send(orjson.dumps(subscribe).decode())
        refused = orjson.loads(await asyncio.wait_for(ws.recv(), timeout=20))
        assert refused["id"] == "11", refused
        errors = refused["payload"] if refused["type"] == "error" else refused["payload"]["errors"]
        assert [e["extensions"]["code"] for e in errors] == ["SUBSCRIPTION_LIMIT_CONNECTION"], refused
        async with asyncio.timeout(20):
            while True:
                if await _scalar(live_engine, LISTEN_CONNECTIONS) == 1:
                    break
                await asyncio.sleep(0.05)


async def test_the_app_closes_the_listen_connection_at_shutdown(
    live_engine: AsyncEngine, live_url: URL
) -> None:
    """The listener opens with the first subscription, outlives it, and the app's lifespan closes it."""
    await notifications.stop_listeners()
    app = create_app(Settings(database_url=live_url.render_as_string(hide_password=False)))
    async with app.router.lifespan_context(app):
        assert await _scalar(live_engine, LISTEN_CONNECTIONS) == 0  # lazily: none before a subscriber
        async with notifications.listening(live_url, CHANNEL):
            assert await _scalar(live_engine, LISTEN_CONNECTIONS) == 1
        assert await _scalar(live_engine, LISTEN_CONNECTIONS) == 1  # kept for the next subscriber
    assert await _scalar(live_engine, LISTEN_CONNECTIONS) == 0
