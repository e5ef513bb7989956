"""The edge in a real `credit-hub serve` process: the database's connections cut under it (what a
PostgreSQL restart does to a pool), answers stay JSON and the next requests are served again."""

from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

CUT = text(
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


async def test_connections_cut_under_the_server_answer_json_and_recover(
    hub_server: str, live_engine: AsyncEngine
):
    base = hub_server.removesuffix("/graphql")
    async with httpx.AsyncClient(timeout=10) as client:
        for _ in range(3):  # the pool holds live connections now
            first = await client.post(hub_server, json={"query": "{ me { role } }"})
            assert first.json() == {"data": {"me": {"role": "PUBLIC"}}}, first.text
        async with live_engine.connect() as admin:
            cut = await admin.scalar(CUT)
            await admin.commit()
        assert cut >= 1  # the server's pooled connections are gone
        answers = [await client.post(hub_server, json={"query": "{ me { role } }"}) for _ in range(5)]
        for response in answers:
            assert response.headers["content-type"].startswith("application/json"), response.text
        # A dead pooled connection is found at checkout and replaced: not one request fails.
        assert [r.status_code for r in answers] == [200] * 5, [r.text for r in answers]
        ready = await client.get(f"{base}/readyz")
        assert ready.status_code == 200 and ready.json() == {"status": "ready"}
