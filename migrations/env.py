"""Alembic environment (async). The URL comes from hub settings, never from a file."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from hub.db import database_url, make_engine
from hub.models import Base
from hub.settings import get_settings

config = context.config
target_metadata = Base.metadata


# Expression indexes: autogenerate cannot compare them, so the migrations own them alone.
EXPRESSION_INDEXES = frozenset({"ix_records_industry_domain"})


def _include(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    return not (type_ == "index" and name in EXPRESSION_INDEXES)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection, target_metadata=target_metadata, compare_type=True, include_object=_include
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    url = config.attributes.get("url") or database_url(get_settings())
    engine = make_engine(url, pool_size=1)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run against a database")

connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_run_online())
