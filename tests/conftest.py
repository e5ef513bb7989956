"""Test fixtures: a real PostgreSQL (embedded unless HUB_DATABASE_URL is set) built by the migrations
as the database's owner, and the app connected as the server role (tests/databases.py).

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
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from hub.auth import service as auth
from hub.auth.caller import Role
from hub.catalog.policy import load_calendar_year
from hub.catalog.workdays import bundled_years
from hub.crypto import StaticKeyProvider
from hub.db import RequestSession, make_engine
from hub.entities.codes import make_uscc
from hub.settings import Settings
from hub.web.app import create_app
from tests.databases import Roles, drop_stale, make_roles

TEST_DATABASE = "hub_test"
# The live server fixtures (a real second process on a database of its own).
pytest_plugins = ["tests.live"]


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings(request_timeout_seconds=60, server_role=f"{TEST_DATABASE}_{os.getpid()}_server")


@pytest.fixture(scope="session")
async def roles(settings: Settings) -> AsyncIterator[Roles]:
    """This run's owner role (migrates) and server role (the app), dropped after its databases."""
    roles = await make_roles(settings, f"{TEST_DATABASE}_{os.getpid()}")
    await drop_stale(roles, TEST_DATABASE)
    yield roles
    await roles.drop()


@pytest.fixture(scope="session")
async def test_database(roles: Roles) -> AsyncIterator[str]:
    """A fresh database for this test run, built by `alembic upgrade head` as its owner, dropped
    afterwards. Named after the process, so parallel runs (several developers, CI) never share one."""
    database = os.environ.get("HUB_TEST_DATABASE", f"{TEST_DATABASE}_{os.getpid()}")
    await roles.create_database(database)
    yield database
    await roles.drop_database(database)


@pytest.fixture(scope="session")
def test_url(roles: Roles, test_database: str) -> URL:
    """The test database as the server role: what the app and the tests' sessions connect as."""
    return roles.server_url(test_database)


@pytest.fixture(scope="session")
def owner_url(roles: Roles, test_database: str) -> URL:
    """The test database as its owner (migrations, and tests that must break a rule on purpose)."""
    return roles.owner_url(test_database)


@pytest.fixture
async def owner_connection(owner_url: URL, engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """The database's owner in a transaction rolled back after the test: DDL planted to test a check."""
    owner = make_engine(owner_url, pool_size=1)
    async with owner.connect() as conn:
        transaction = await conn.begin()
        yield conn
        await transaction.rollback()
    await owner.dispose()


class AsOwner:
    """What a test does with the database owner's rights, which the app's role lacks: tamper with a
    frozen list, inject a fault with a trigger. Each statement is committed at once (the app's
    connection sees it from its next lock on the table) and undone when the test ends, last first;
    tests run one at a time, so no other test sees it."""

    def __init__(self, engine: AsyncEngine, server: str) -> None:
        self.engine, self.server, self.undo = engine, server, list[str]()

    async def run(self, statement: str, undo: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(text(statement))
        self.undo.append(undo)

    async def lend(self, privilege: str, table: str) -> None:
        """Lend the server role `privilege` on `table` for this test."""
        grantee = f'"{self.server}"'
        await self.run(
            f"GRANT {privilege} ON TABLE {table} TO {grantee}",
            f"REVOKE {privilege} ON TABLE {table} FROM {grantee}",
        )


@pytest.fixture
async def as_owner(owner_url: URL, roles: Roles, engine: AsyncEngine) -> AsyncIterator[AsOwner]:
    owner = AsOwner(make_engine(owner_url, pool_size=1), roles.server)
    yield owner
    async with owner.engine.begin() as conn:
        for undo in reversed(owner.undo):
            await conn.execute(text(undo))
    await owner.engine.dispose()


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


@pytest.fixture(scope="session")
async def engine(test_url: URL) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(test_url, pool_size=5)
    async with engine.begin() as conn:
        session = AsyncSession(bind=conn)
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
