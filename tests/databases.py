"""Databases for tests and benchmarks, each with its two roles, as production has them.

The admin connection (the embedded server's superuser, or HUB_DATABASE_URL: a role that may create
roles and databases) makes an owner role and a server role per run; a database is owned by the owner,
migrated as the owner, and the app connects as the server role, which has only what the migrations
granted it, so a missing grant fails the test that needs it.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass

import psutil
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession

from hub import migrate
from hub.catalog.policy import sync_bundled
from hub.db import database_url, embedded_superuser_url, make_engine
from hub.settings import Settings


def admin_url(settings: Settings) -> URL:
    if settings.database_url.get_secret_value():
        return database_url(settings, "postgres")
    return embedded_superuser_url(settings, "postgres")


@dataclass(frozen=True)
class Roles:
    admin: URL
    owner: str
    server: str
    owner_password: str
    server_password: str

    def owner_url(self, database: str) -> URL:
        return self.admin.set(username=self.owner, password=self.owner_password, database=database)

    def server_url(self, database: str) -> URL:
        return self.admin.set(username=self.server, password=self.server_password, database=database)

    async def admin_sql(self, *statements: str) -> None:
        engine = make_engine(self.admin, pool_size=1)
        try:
            async with engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                for statement in statements:
                    await conn.execute(text(statement))
        finally:
            await engine.dispose()

    async def create_database(self, name: str) -> None:
        """A fresh database `name` owned by the owner role, migrated as it, catalogue loaded."""
        await self.admin_sql(
            f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}" OWNER "{self.owner}"'
        )
        await self.migrate(name, "head")
        engine = make_engine(self.server_url(name), pool_size=1)
        async with engine.begin() as conn:
            await sync_bundled(AsyncSession(bind=conn))
        await engine.dispose()

    async def migrate(self, database: str, revision: str, *, down: bool = False) -> None:
        # Alembic's env runs its own event loop; give it a thread.
        run = migrate.downgrade if down else migrate.upgrade
        await asyncio.to_thread(run, self.owner_url(database), revision, self.server)

    async def drop_database(self, name: str) -> None:
        await self.admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def drop(self) -> None:
        await self.admin_sql(f'DROP ROLE IF EXISTS "{self.server}"', f'DROP ROLE IF EXISTS "{self.owner}"')


async def make_roles(settings: Settings, prefix: str) -> Roles:
    """`prefix`_owner and `prefix`_server, with new passwords (the embedded server trusts its socket;
    a named one may not): a process that connects as them with older passwords can no longer."""
    roles = Roles(
        admin_url(settings),
        f"{prefix}_owner",
        f"{prefix}_server",
        secrets.token_urlsafe(24),
        secrets.token_urlsafe(24),
    )
    statements = []
    for name, password in ((roles.owner, roles.owner_password), (roles.server, roles.server_password)):
        statements += [
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN "
            f'CREATE ROLE "{name}"; END IF; END $$',
            f"ALTER ROLE \"{name}\" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '{password}'",
        ]
    await roles.admin_sql(*statements)
    return roles


async def drop_stale(roles: Roles, prefix: str) -> None:
    """Databases and roles of runs whose process is gone (`prefix`_<pid>…)."""
    engine = make_engine(roles.admin, pool_size=1)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        pattern = {"p": f"{prefix}\\_%"}
        databases = (
            await conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :p"), pattern)
        ).all()
        names = (
            await conn.execute(text("SELECT rolname FROM pg_roles WHERE rolname LIKE :p"), pattern)
        ).all()
        stale = [
            (kind, name)
            for kind, found in (("DATABASE", databases), ("ROLE", names))
            for (name,) in found
            if _dead(name[len(prefix) + 1 :].split("_", 1)[0])
        ]
        for kind, name in sorted(stale):  # databases before the roles that own them
            await conn.execute(
                text(f'DROP {kind} IF EXISTS "{name}"' + (" WITH (FORCE)" if kind == "DATABASE" else ""))
            )
    await engine.dispose()


def _dead(pid: str) -> bool:
    return pid.isdigit() and not psutil.pid_exists(int(pid))
