"""Test fixtures: a real PostgreSQL (embedded unless HUB_DATABASE_URL is set) built by the migrations.

Each test runs inside a transaction that is rolled back; the app's sessions join it through
savepoints, so a request's commit is real to the app and gone after the test.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import psutil
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from hub import migrate
from hub.auth import service as auth
from hub.auth.caller import Role
from hub.catalog.policy import load_calendar_year, sync_bundled
from hub.catalog.workdays import bundled_years
from hub.crypto import StaticKeyProvider
from hub.db import RequestSession, database_url, make_engine
from hub.entities.codes import make_uscc
from hub.settings import Settings
from hub.web.app import create_app

TEST_DATABASE = "hub_test"
# The live server fixtures (a real second process on a database of its own).
pytest_plugins = ["tests.live"]


def _admin_url(settings: Settings) -> URL:
    return database_url(settings, "postgres")


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings(request_timeout_seconds=60)


@pytest.fixture(scope="session")
async def test_url(settings: Settings) -> AsyncIterator[URL]:
    """A fresh database for this test run, built by `alembic upgrade head`, dropped afterwards.

    Named after the process, so parallel runs (several developers, CI) never share one.
    """
    database = os.environ.get("HUB_TEST_DATABASE", f"{TEST_DATABASE}_{os.getpid()}")
    admin = make_engine(_admin_url(settings), pool_size=1)
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        for (stale,) in (
            await conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE 'hub_test_%'"))
        ).all():
            pid = stale.rsplit("_", 1)[-1]
            if pid.isdigit() and not psutil.pid_exists(int(pid)):
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{stale}" WITH (FORCE)'))
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{database}"'))
    url = database_url(settings, database)
    await _run_sync(migrate.upgrade, url)
    yield url
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    await admin.dispose()


async def load_years_around_today(session: AsyncSession) -> None:
    """Tests push records dated "a few days ago" and check their 7-working-day deadline. When the
    suite runs in a year the shipped calendar does not cover yet, the test database (only) gets a
    plain schedule for it, weekends off and no holidays, so those tests keep meaning what they say.
    Tests of real holidays use fixed dates in the shipped years."""
    known = {s.year for s in bundled_years()}
    today = dt.date.today()
    for year in sorted({today.year - 1, today.year, today.year + 1} - known):
        await load_calendar_year(
            session,
            {"year": year, "source": "test-only plain calendar", "holidays": [], "workdays": []},
            by="tests",
        )


async def _run_sync(fn: Any, *args: Any) -> Any:
    import asyncio

    # Alembic's env runs its own event loop; give it a thread.
    return await asyncio.to_thread(fn, *args)


@pytest.fixture(scope="session")
async def engine(test_url: URL) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(test_url, pool_size=5)
    async with engine.begin() as conn:
        session = AsyncSession(bind=conn)
        await sync_bundled(session)
        await load_years_around_today(session)
        await session.flush()
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        transaction = await conn.begin()
        yield conn
        await transaction.rollback()


@pytest.fixture
def sessions(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        bind=connection,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
        autoflush=False,
        class_=RequestSession,
    )


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessions() as session:
        yield session


@pytest.fixture
def keys(settings: Settings) -> StaticKeyProvider:
    return StaticKeyProvider(settings.master_key)


@pytest.fixture
async def client(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, sessions=sessions)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield client


def gov_code(serial: int) -> str:
    """A valid USCC for a government body (11…) in Harbin."""
    return make_uscc("1", "1", "230100", f"{serial:08d}")


def company_code(serial: int, district: str = "230102") -> str:
    return make_uscc("9", "1", district, f"M{serial:07d}")


@dataclass
class Actor:
    code: str
    role: Role
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
async def actors(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Actor]:
    """One organisation and token per role, committed into the test's transaction."""
    specs = {
        "credit_office": (gov_code(1), "市信用办", Role.CREDIT_OFFICE, None),
        "department": (gov_code(2), "市市场监督管理局", Role.DEPARTMENT, "market_regulation"),
        "department2": (gov_code(3), "市生态环境局", Role.DEPARTMENT, None),
        "province": (gov_code(4), "省信用平台", Role.PROVINCE, None),
        "bank": (make_uscc("9", "1", "230100", "B0000001"), "示例银行哈尔滨分行", Role.BANK, None),
        "association": (make_uscc("5", "1", "230100", "A0000001"), "市餐饮行业协会", Role.ASSOCIATION, None),
        "entity": (company_code(1), "哈尔滨示例科技有限公司", Role.ENTITY, None),
    }
    found: dict[str, Actor] = {}
    async with sessions() as session:
        for key, (code, name, role, domain) in specs.items():
            await auth.register_organisation(session, code, name, role, domain)
            issued = await auth.issue_token(session, code, f"test {key}", 1, by="tests")
            found[key] = Actor(code, role, issued.secret)
        await session.commit()
    return found


async def gql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, actor: Actor | None = None
) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers=actor.headers if actor else {},
    )
    assert response.status_code in (200, 400), response.text
    result: dict[str, Any] = response.json()
    return result


def days_ago(n: int) -> str:
    return (dt.date.today() - dt.timedelta(days=n)).isoformat()
