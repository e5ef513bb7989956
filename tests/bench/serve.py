"""The two servers of the entity lookup benchmark, each served by uvicorn exactly as `credit-hub serve` does.

`python -m tests.bench.serve hub PORT`: the real app (hub.web.app.create_app, the database from HUB_DATABASE_URL).
`python -m tests.bench.serve baseline PORT SCRIPT`: a bare Starlette route, POST /entity {"uscc": ...},
that runs the SQL statements the GraphQL lookup runs (SCRIPT, captured by tests.bench.entity_lookup),
with the same transactions on the same engine, and answers the rows as JSON.
"""

from __future__ import annotations

import contextlib
import gc
import pickle
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub import logs
from hub.db import database_url, make_engine
from hub.settings import Settings
from hub.web.app import create_app

SAMPLE = "__USCC__"


def _bind(params: list[Any], uscc: str) -> list[Any]:
    """The captured parameters with the sample entity's code replaced by the one asked for."""
    return [
        uscc if p == SAMPLE else [uscc if q == SAMPLE else q for q in p] if isinstance(p, list) else p
        for p in params
    ]


def _json_default(value: Any) -> Any:
    # bytes (hashes) and asyncpg's own UUID type, which orjson does not know.
    return value.hex() if isinstance(value, bytes) else str(value)


def baseline_app(settings: Settings, script: list[list[tuple[str, list[Any]]]]) -> Starlette:
    """`script`: transactions, each a list of (statement, parameters) as the GraphQL request ran them.

    The same engine as the hub's (hub.db.make_engine: pool size, pre-ping, JSON codecs), one
    connection checkout per transaction as the hub's request does; only GraphQL, the ORM and the
    hub's own code are left out.
    """
    engine = make_engine(database_url(settings), pool_size=settings.db_pool_size)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await engine.dispose()

    async def entity(request: Request) -> Response:
        uscc = orjson.loads(await request.body())["uscc"]
        results: list[list[dict[str, Any]]] = []
        for transaction in script:
            async with engine.connect() as conn:
                async with conn.begin():
                    for statement, params in transaction:
                        rows = await conn.exec_driver_sql(statement, tuple(_bind(params, uscc)))
                        results.append([dict(r._mapping) for r in rows])
        body = orjson.dumps({"results": results}, default=_json_default)
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/entity", entity, methods=["POST"])], lifespan=lifespan)


def main() -> None:
    kind, port = sys.argv[1], int(sys.argv[2])
    settings = Settings()
    logs.configure(settings.log_level)
    if kind == "hub":
        app = create_app(settings)
    else:
        # Our own file, written by tests.bench.entity_lookup a moment ago (parameters keep their types).
        script = pickle.loads(Path(sys.argv[3]).read_bytes())
        app = baseline_app(settings, script)
    # As `credit-hub serve` does (hub/cli.py): what start-up built lives as long as the process, so the
    # collector is kept from scanning it again and again. Both servers, so the comparison stays fair.
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
