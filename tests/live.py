"""A real `credit-hub serve` process on the test database, for tests that need a second process
(the GraphQL-over-HTTP audit, WebSocket subscriptions, committed transactions)."""

from __future__ import annotations

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
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from hub.auth import service as auth
from hub.auth.caller import Role
from hub.db import make_engine
from tests.conftest import TEST_DATABASE
from tests.databases import Roles

BIN = Path(sys.executable).parent
START_TIMEOUT = 60.0
# The scrape token of the live server's /metrics.
LIVE_METRICS_TOKEN = "live-scrape-token-" + "0" * 32
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
async def live_url(roles: Roles) -> AsyncIterator[URL]:
    """A database of its own for the live server, as the server role: what it commits never reaches
    the rolled-back tests."""
    database = f"{TEST_DATABASE}_{os.getpid()}_live"
    await roles.create_database(database)
    yield roles.server_url(database)
    await roles.drop_database(database)


@pytest.fixture
async def live_engine(live_url: URL) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(live_url, pool_size=2)
    yield engine
    await engine.dispose()


async def live_token(engine: AsyncEngine, code: str, name: str, role: Role) -> str:
    """The secret of a token of a new organisation, committed in the live database."""
    async with engine.begin() as connection:
        session = AsyncSession(bind=connection)
        await auth.register_organisation(session, code, name, role)
        issued = await auth.issue_token(session, code, "live tests", 1, by="tests")
        await session.flush()
    return issued.secret


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
    with serving(live_url, tmp_path / "hub.log", {"HUB_METRICS_TOKEN": LIVE_METRICS_TOKEN}) as base:
        yield f"{base}/graphql"
