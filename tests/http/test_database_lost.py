"""A PostgreSQL connection lost under an operation (the server restarted or shut down) answers 503
DATABASE_UNAVAILABLE with Retry-After, as a database unreachable before it does, never INTERNAL."""

from __future__ import annotations

import strawberry
from sqlalchemy import text
from sqlalchemy.engine import URL

from hub.db import make_engine, make_sessionmaker
from hub.settings import Settings
from schema.build import HubSchema
from schema.extensions import UnitOfWork
from schema.permissions import ALL_ROLES, allow
from tests.http.test_edge import app_client, refusal


@strawberry.type
class LosingQuery:
    @strawberry.field(extensions=allow(*ALL_ROLES))
    async def lost(self, info: strawberry.Info) -> int:
        # The server ends this very connection (57P01, as a fast shutdown or restart does).
        await info.context.session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        return 1


async def test_a_connection_lost_under_an_operation_answers_503_with_retry_after(test_url: URL) -> None:
    engine = make_engine(test_url, pool_size=1)
    settings = Settings(request_timeout_seconds=60, retry_after_seconds=2)
    schema = HubSchema(query=LosingQuery, extensions=[UnitOfWork])
    async with await app_client(settings, make_sessionmaker(engine), schema) as client:
        response = await client.post("/graphql", json={"query": "{ lost }"})
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "2"
        assert refusal(response) == "DATABASE_UNAVAILABLE"
        assert response.json()["data"] is None
    await engine.dispose()
