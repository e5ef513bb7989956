"""A real `credit-hub serve` process on the test database, for tests that need a second process
(the GraphQL-over-HTTP audit, WebSocket subscriptions, committed transactions)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from hub import migrate
from hub.catalog.policy import sync_bundled
from hub.db import database_url, make_engine
from hub.settings import Settings
from tests.conftest import TEST_DATABASE

BIN = Path(sys.executable).parent
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def pytest_configure(config: pytest.Config) -> None:
    # SIGTERM (a CI timeout, `kill`) ends the run as Ctrl-C does: fixtures tear down and exit
    # handlers run, so the embedded PostgreSQL the run started is stopped, not left behind.
    signal.signal(signal.SIGTERM, _interrupt)


def tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{path} is missing: install the dev extra (`pip install -e '.[dev]'`)")
    return str(path)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_healthy(process: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the hub exited with {process.returncode} before it was healthy:\n{log.read_text()}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"the hub was not healthy within {START_TIMEOUT:.0f}s:\n{log.read_text()}")


@pytest.fixture(scope="session")
async def live_url(settings: Settings) -> AsyncIterator[URL]:
    """A database of its own for the live server: what it commits never reaches the rolled-back tests."""
    database = f"{TEST_DATABASE}_{os.getpid()}_live"
    admin = make_engine(database_url(settings, "postgres"), pool_size=1)
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{database}"'))
    url = database_url(settings, database)
    await asyncio.to_thread(migrate.upgrade, url)
    engine = make_engine(url, pool_size=1)
    async with engine.begin() as conn:
        await sync_bundled(AsyncSession(bind=conn))
    await engine.dispose()
    yield url
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    await admin.dispose()


@pytest.fixture
async def live_engine(live_url: URL) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(live_url, pool_size=2)
    yield engine
    await engine.dispose()


@contextlib.contextmanager
def serving(url: URL, log: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """A `credit-hub serve` process on `url` (with `env`: HUB_ settings of its own) until the block
    ends; yields its base URL. Its output goes to `log`."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    environment = {**os.environ, "HUB_DATABASE_URL": url.render_as_string(hide_password=False), **(env or {})}
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [tool("credit-hub"), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_healthy(process, base, log)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


@pytest.fixture
def hub_server(live_url: URL, tmp_path: Path) -> Iterator[str]:
    """The URL of a real hub's /graphql, serving the live database."""
    with serving(live_url, tmp_path / "hub.log") as base:
        yield f"{base}/graphql"
