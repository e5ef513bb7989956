"""classificationChanged over graphql-transport-ws, against a real hub process on the test database.

The server commits for real, so this test registers its own organisations (unique codes) and
commits them; NOTIFY reaches subscribers only after a commit.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx
import orjson
import websockets
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from hub.auth import service as auth
from hub.auth.caller import Role
from hub.entities.codes import make_uscc
from hub.grading.admin import assign_domain
from tests.conftest import Actor, company_code
from tests.grading.evaluations import evaluation
from tests.records.builders import PUSH

DOMAIN = "food_business_risk"
SUBSCRIBE = """subscription($d: [String!]) { classificationChanged(domains: $d) {
  id uscc domain oldCategory newCategory newGrade basis cause } }"""


async def _committed_department(engine: AsyncEngine, serial: str) -> tuple[str, str]:
    code = make_uscc("1", "1", "230100", f"W{serial}")
    async with engine.begin() as connection:
        session = AsyncSession(bind=connection)
        await auth.register_organisation(session, code, f"订阅测试局{serial}", Role.DEPARTMENT)
        issued = await auth.issue_token(session, code, "subscription test", 1, by="tests")
        await assign_domain(session, DOMAIN, code, by="tests")
        await session.flush()
    return code, issued.secret


async def _until_listening(engine: AsyncEngine) -> None:
    """Wait (at most 20 s) until the hub's subscription has issued its LISTEN: notifications are not replayed."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND query ILIKE 'LISTEN%classification_changes%'"
    )
    async with asyncio.timeout(20):
        while True:
            async with engine.connect() as connection:
                if (await connection.execute(query)).scalar_one() > 0:
                    return
            await asyncio.sleep(0.05)


def _error_codes(message: dict[str, Any]) -> list[str]:
    """Codes of a refusal, sent as an `error` message or as a `next` carrying errors."""
    errors = message["payload"] if message["type"] == "error" else message["payload"].get("errors") or []
    return [e.get("extensions", {}).get("code") for e in errors]


async def _message(ws: Any) -> dict[str, Any]:
    return dict(orjson.loads(await asyncio.wait_for(ws.recv(), timeout=20)))


async def test_a_department_hears_of_changes_in_its_domain(live_engine: AsyncEngine, hub_server: str) -> None:
    _, token = await _committed_department(live_engine, "0000001")
    # Assigned second, this department now answers for the domain instead of the first.
    _, other_token = await _committed_department(live_engine, "0000002")
    ws_url = hub_server.replace("http://", "ws://")
    async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(
            orjson.dumps(
                {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
            ).decode()
        )
        assert (await _message(ws))["type"] == "connection_ack"
        await ws.send(
            orjson.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": SUBSCRIBE, "variables": {"d": [DOMAIN]}},
                }
            ).decode()
        )
        refused = await _message(ws)
        # The domain moved to another department after this one was assigned: it may not follow it.
        assert _error_codes(refused) == ["NOT_YOUR_DOMAIN"], refused

    async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(
            orjson.dumps(
                {"type": "connection_init", "payload": {"authorization": f"Bearer {other_token}"}}
            ).decode()
        )
        assert (await _message(ws))["type"] == "connection_ack"
        await ws.send(
            orjson.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": SUBSCRIBE, "variables": {"d": [DOMAIN]}},
                }
            ).decode()
        )
        await _until_listening(live_engine)  # the change must be committed after the LISTEN

        owner = make_uscc("1", "1", "230100", "W0000002")
        uscc = company_code(8801)
        today = dt.date.today()
        record = evaluation(
            "industry_evaluation",
            Actor(owner, Role.DEPARTMENT, other_token),
            uscc,
            "C",
            scheme="samr_risk",
            evaluated=(today - dt.timedelta(days=3)).isoformat(),
            valid_until=(today + dt.timedelta(days=300)).isoformat(),
            domain=DOMAIN,
        )
        async with httpx.AsyncClient() as http:
            pushed = await http.post(
                hub_server,
                json={"query": PUSH, "variables": {"records": [record], "key": "ws-1"}},
                headers={"Authorization": f"Bearer {other_token}"},
            )
        assert pushed.json()["data"]["pushRecords"]["created"] == 1, pushed.text

        event = await _message(ws)
        assert event["type"] == "next", event
        change = event["payload"]["data"]["classificationChanged"]
        assert (
            change["uscc"],
            change["domain"],
            change["oldCategory"],
            change["newCategory"],
            change["newGrade"],
        ) == (uscc, DOMAIN, None, "GENERAL", "C")
        assert change["basis"] == "industry" and change["cause"] == f"evaluation pushed by {owner}"


async def test_a_bad_token_is_rejected_at_connection(hub_server: str) -> None:
    ws_url = hub_server.replace("http://", "ws://")
    async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(
            orjson.dumps(
                {"type": "connection_init", "payload": {"authorization": "Bearer chub_nope"}}
            ).decode()
        )
        try:
            await asyncio.wait_for(ws.recv(), timeout=10)
        except websockets.ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code == 4403
        else:
            raise AssertionError("the connection was not closed")


async def test_the_public_may_not_subscribe(hub_server: str) -> None:
    ws_url = hub_server.replace("http://", "ws://")
    async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(orjson.dumps({"type": "connection_init", "payload": {}}).decode())
        assert (await _message(ws))["type"] == "connection_ack"
        await ws.send(
            orjson.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}).decode()
        )
        refused = await _message(ws)
        assert _error_codes(refused) == ["FORBIDDEN"], refused
