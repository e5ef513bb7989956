"""Fixtures of the HTTP edge's tests: engines of their own, with a tiny pool or no server at all."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.engine import URL

from hub.db import make_engine
from tests.live import free_port


@pytest.fixture
async def own_engine(test_url: URL) -> AsyncIterator[Any]:
    """An engine of the test's own: two connections at most, a pool timeout of half a second."""
    engine = make_engine(test_url, pool_size=1, pool_timeout=0.5)
    yield engine
    await engine.dispose()


@pytest.fixture
async def nowhere() -> AsyncIterator[Any]:
    """An engine for a PostgreSQL that is not there (nothing listens on the port)."""
    url = URL.create("postgresql+asyncpg", username="hub", host="127.0.0.1", port=free_port(), database="hub")
    engine = make_engine(url, pool_size=1, pool_timeout=0.5)
    yield engine
    await engine.dispose()
