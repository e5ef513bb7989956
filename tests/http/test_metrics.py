"""/metrics (issue 8): each metric moves after the action that should move it, label values stay in
their fixed sets whatever a client sends, and only operators may read it.

Through the real app (httpx ASGI transport, or the live server for WebSocket subscriptions) with real
tokens; the scrape is parsed with prometheus_client's own parser. Names, labels and the expected
label sets are the README's table, written out here by hand.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
import websockets
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.auth.caller import Role
from hub.db import make_sessionmaker
from hub.entities.codes import make_uscc
from hub.settings import Settings, check_production
from hub.web.app import create_app
from tests.conftest import Actor, company_code
from tests.http.test_edge import chunks, multipart
from tests.live import LIVE_METRICS_TOKEN, live_token
from tests.records.test_bulk_smoke import csv_file, upload

SCRAPE_TOKEN = "scrape-token-for-the-tests-" + "x" * 20
SCRAPE = {"authorization": f"Bearer {SCRAPE_TOKEN}"}
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

# The README's label sets.
OUTCOMES = {"ok", "field_error", "request_error", "rejected", "client_error", "server_error"}
OPERATIONS = {"query", "mutation", "subscription", "none"}
FIELD_CONSTANTS = {"none", "other", "multiple", "introspection"}
REASONS = {
    "cost",
    "depth",
    "aliases",
    "tokens",
    "page_size",
    "string_length",
    "body_size",
    "rate",
    "concurrency",
    "pool_timeout",
}
ME = "{ me { role } }"


def settings_of(**overrides: Any) -> Settings:
    return Settings(request_timeout_seconds=60, metrics_token=SCRAPE_TOKEN, **overrides)


async def app_client(settings: Settings, sessions: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(settings, sessions=sessions))
    return httpx.AsyncClient(transport=transport, base_url="http://hub.test")


@pytest.fixture
async def hub(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[httpx.AsyncClient]:
    async with await app_client(settings_of(), sessions) as client:
        yield client


def parse(body: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


async def scrape(client: httpx.AsyncClient, headers: dict[str, str] = SCRAPE) -> Samples:
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    return parse(response.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def requests(samples: Samples, field: str, outcome: str, operation: str = "query") -> float:
    labels = {"route": "graphql", "operation": operation, "field": field, "outcome": outcome}
    return value(samples, "hub_requests_total", **labels)


def rejections(samples: Samples, reason: str) -> float:
    return value(samples, "hub_rejections_total", reason=reason)


def label_values(samples: Samples, name: str, label: str) -> set[str]:
    return {dict(labels)[label] for sample, labels in samples if sample == name}


async def post(
    client: httpx.AsyncClient, query: str, actor: Actor | None = None, **extra: Any
) -> httpx.Response:
    headers = actor.headers if actor else {}
    return await client.post("/graphql", json={"query": query, **extra}, headers=headers)


# --- access -------------------------------------------------------------------------------------


async def test_only_the_scrape_token_and_the_credit_office_read_metrics(hub, actors):
    assert (await hub.get("/metrics", headers=SCRAPE)).status_code == 200
    assert (await hub.get("/metrics", headers=actors["credit_office"].headers)).status_code == 200
    for name in ("department", "province", "bank", "association", "entity"):
        response = await hub.get("/metrics", headers=actors[name].headers)
        assert response.status_code == 403, (name, response.text)
        assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    anonymous = await hub.get("/metrics")
    assert anonymous.status_code == 403
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    for header in (f"Bearer {SCRAPE_TOKEN}x", f"Basic {SCRAPE_TOKEN}", "Bearer"):
        response = await hub.get("/metrics", headers={"authorization": header})
        assert response.status_code == 401, (header, response.text)
        assert response.json()["errors"][0]["extensions"]["code"] == "TOKEN_INVALID"


async def test_without_a_scrape_token_set_only_the_credit_office_reads(sessions, actors):
    async with await app_client(Settings(request_timeout_seconds=60), sessions) as client:
        # An empty setting never matches an empty bearer secret.
        assert (await client.get("/metrics", headers={"authorization": "Bearer "})).status_code == 401
        assert (await client.get("/metrics", headers=SCRAPE)).status_code == 401
        assert (await client.get("/metrics", headers=actors["credit_office"].headers)).status_code == 200


async def test_the_answer_is_the_prometheus_text_format_without_callers_or_tokens(hub, actors):
    office = actors["credit_office"]
    assert (await post(hub, ME, office)).status_code == 200
    response = await hub.get("/metrics", headers=SCRAPE)
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    names = {family.name for family in text_string_to_metric_families(response.text)}
    # Each counter and histogram also has its `_created` series (the library's default).
    assert {name for name in names if not name.endswith("_created")} == {
        "hub_requests",
        "hub_request_duration_seconds",
        "hub_rejections",
        "hub_subscriptions",
        "hub_bulk_rows",
        "hub_bulk_files",
        "hub_db_pool_connections_in_use",
        "hub_db_pool_waiting_requests",
        "hub_subscriptions_open",
        "hub_listen_connections",
    }
    for secret in (office.token, office.code, SCRAPE_TOKEN):
        assert secret not in response.text


# --- requests -----------------------------------------------------------------------------------


async def test_a_query_counts_by_root_field_and_outcome_with_its_latency(hub, actors):
    before = await scrape(hub)
    assert (await post(hub, ME, actors["bank"])).status_code == 200
    assert "errors" in (await post(hub, "{ organisations { code } }")).json()  # the public may not
    after = await scrape(hub)
    assert requests(after, "me", "ok") - requests(before, "me", "ok") == 1
    assert (
        requests(after, "organisations", "field_error") - requests(before, "organisations", "field_error")
        == 1
    )
    labels = {"route": "graphql", "operation": "query", "field": "me"}
    count = "hub_request_duration_seconds_count"
    assert value(after, count, **labels) - value(before, count, **labels) == 1
    elapsed = value(after, "hub_request_duration_seconds_sum", **labels)
    assert elapsed > value(before, "hub_request_duration_seconds_sum", **labels)
    # The request took less than the largest bucket: it is counted in it.
    bucket = "hub_request_duration_seconds_bucket"
    assert value(after, bucket, **labels, le="60.0") - value(before, bucket, **labels, le="60.0") == 1


@pytest.mark.parametrize(
    ("query", "field", "outcome"),
    [
        ("{ me { role } __typename }", "me", "ok"),
        ("{ __typename }", "introspection", "ok"),
        ("{ me { role } calendarYears { year } }", "multiple", "ok"),
        ("{ noSuchField }", "other", "request_error"),
        ("{ ...F } fragment F on Query { me { role } }", "other", "ok"),
        ("{ me { role }", "other", "request_error"),  # does not parse: no operation type either
    ],
)
async def test_the_field_label_is_a_root_field_of_the_schema_or_a_fixed_word(hub, query, field, outcome):
    operation = "none" if query.count("{") != query.count("}") else "query"
    before = await scrape(hub)
    await post(hub, query)
    after = await scrape(hub)
    assert requests(after, field, outcome, operation) - requests(before, field, outcome, operation) == 1


async def test_a_mutation_is_labelled_mutation_with_its_field_and_a_typed_problem_is_ok(hub, actors):
    before = await scrape(hub)
    mutation = "mutation { revokeToken(tokenId: 999999999) { __typename } }"
    answer = (await post(hub, mutation, actors["credit_office"])).json()
    assert answer == {"data": {"revokeToken": {"__typename": "NotFoundProblem"}}}, answer
    denied = (await post(hub, mutation, actors["bank"])).json()
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN", denied
    after = await scrape(hub)
    for outcome in ("ok", "field_error"):
        gained = requests(after, "revokeToken", outcome, "mutation") - requests(
            before, "revokeToken", outcome, "mutation"
        )
        assert gained == 1, outcome


async def test_hostile_operation_names_and_fields_make_no_new_label_values(hub):
    """1,000 distinct operation names, unknown root fields and aliases: the label sets do not grow."""
    await post(hub, ME)
    await post(hub, "{ nope }")
    before = await scrape(hub)
    for i in range(1000):
        name = f"Evil{i}_{'x' * 40}"
        assert (await post(hub, f"query {name} {{ me {{ role }} }}", operationName=name)).status_code == 200
        await post(hub, f"{{ evil{i}: me {{ role }} field{i} }}")
    after = await scrape(hub)
    series = {key for key in after if key[0] == "hub_requests_total"}
    assert series == {key for key in before if key[0] == "hub_requests_total"}
    assert requests(after, "me", "ok") - requests(before, "me", "ok") == 1000
    assert requests(after, "other", "request_error") - requests(before, "other", "request_error") == 1000
    exposed = (await hub.get("/metrics", headers=SCRAPE)).text
    assert "Evil" not in exposed and "evil" not in exposed and "field1" not in exposed


async def test_every_label_value_is_from_the_readme_sets(hub, actors):
    for query in (ME, "{ x }", "{ __schema { queryType { name } } }", "mutation { me { role } }"):
        await post(hub, query, actors["entity"])
    await hub.put("/graphql")
    samples = await scrape(hub)
    assert label_values(samples, "hub_requests_total", "outcome") <= OUTCOMES
    assert label_values(samples, "hub_requests_total", "operation") <= OPERATIONS
    assert label_values(samples, "hub_requests_total", "route") == {"graphql"}
    assert label_values(samples, "hub_rejections_total", "reason") == REASONS
    fields = label_values(samples, "hub_requests_total", "field") - FIELD_CONSTANTS
    assert fields == {"me"}, fields


# --- rejections ---------------------------------------------------------------------------------

USCC = company_code(1)
ENTITY = f'{{ entity(uscc: "{USCC}") {{ records(first: 20) {{ edges {{ node {{ recordType }} }} }} }} }}'
SEARCH_LONG = '{ searchEntities(name: "某某某某某某某某") { edges { node { uscc } } } }'
PAGE = '{ searchEntities(name: "某某", first: 1000) { edges { node { uscc } } } }'


@pytest.mark.parametrize(
    ("overrides", "query", "reason", "field", "operation"),
    [
        ({"max_cost": 10}, ENTITY, "cost", "entity", "query"),  # 42 > 10 (the README's example)
        ({"max_depth": 2}, ENTITY, "depth", "entity", "query"),
        ({"max_aliases": 1}, "{ a: me { role } b: me { role } }", "aliases", "me", "query"),
        ({"max_tokens": 5}, ENTITY, "tokens", "other", "none"),  # refused while parsing
        ({}, PAGE, "page_size", "searchEntities", "query"),
        ({"max_string_length": 5}, SEARCH_LONG, "string_length", "searchEntities", "query"),
    ],
)
async def test_a_refused_query_counts_its_reason(sessions, overrides, query, reason, field, operation):
    async with await app_client(settings_of(**overrides), sessions) as client:
        before = await scrape(client)
        body = (await post(client, query)).json()
        assert body["errors"][0]["extensions"]["code"] in {
            "COST_LIMIT",
            "MAX_DEPTH",
            "MAX_ALIASES",
            "MAX_TOKENS",
            "PAGE_SIZE",
            "STRING_TOO_LONG",
        }, body
        after = await scrape(client)
    assert rejections(after, reason) - rejections(before, reason) == 1
    assert {r: rejections(after, r) - rejections(before, r) for r in REASONS - {reason}} == dict.fromkeys(
        REASONS - {reason}, 0.0
    )
    assert requests(after, field, "rejected", operation) - requests(before, field, "rejected", operation) == 1


async def test_a_long_string_in_variables_is_a_string_length_rejection(sessions):
    query = "query($n: String) { searchEntities(name: $n) { edges { node { uscc } } } }"
    async with await app_client(settings_of(max_string_length=5), sessions) as client:
        before = await scrape(client)
        body = (await post(client, query, variables={"n": "某" * 6})).json()
        assert body["errors"][0]["extensions"]["code"] == "STRING_TOO_LONG", body
        after = await scrape(client)
    assert rejections(after, "string_length") - rejections(before, "string_length") == 1


async def test_an_oversized_body_is_a_body_size_rejection(sessions):
    async with await app_client(settings_of(max_body_bytes=1024), sessions) as client:
        before = await scrape(client)
        response = await client.post("/graphql", json={"query": ME, "pad": "x" * 2048})
        assert response.status_code == 413
        after = await scrape(client)
    assert rejections(after, "body_size") - rejections(before, "body_size") == 1
    assert requests(after, "none", "rejected", "none") - requests(before, "none", "rejected", "none") == 1


async def test_a_multipart_body_counted_past_the_limit_is_a_body_size_rejection(sessions):
    async with await app_client(settings_of(max_body_bytes=1024, max_upload_bytes=1024), sessions) as client:
        before = await scrape(client)
        body, content_type = multipart(6 * 1024)
        headers = {"content-type": content_type, "graphql-require-preflight": "1"}
        response = await client.post("/graphql", content=chunks(body, 1024), headers=headers)  # no length
        assert response.status_code == 413, response.text
        after = await scrape(client)
    assert rejections(after, "body_size") - rejections(before, "body_size") == 1
    assert requests(after, "none", "rejected", "none") - requests(before, "none", "rejected", "none") == 1


async def test_past_the_rate_limit_is_a_rate_rejection(sessions):
    async with await app_client(settings_of(rate_limits={"public": 1}), sessions) as client:
        before = await scrape(client)
        assert (await post(client, ME)).status_code == 200
        assert (await post(client, ME)).status_code == 429
        after = await scrape(client)
    assert rejections(after, "rate") - rejections(before, "rate") == 1
    assert requests(after, "me", "ok") - requests(before, "me", "ok") == 1
    assert requests(after, "none", "rejected", "none") - requests(before, "none", "rejected", "none") == 1


async def test_past_the_concurrency_limit_is_a_concurrency_rejection(sessions):
    async with await app_client(settings_of(max_concurrent_requests=0), sessions) as client:
        before = await scrape(client)
        assert (await post(client, ME)).status_code == 503
        after = await scrape(client)
    assert rejections(after, "concurrency") - rejections(before, "concurrency") == 1


async def test_a_refusal_without_a_limit_is_a_client_error_not_a_rejection(hub):
    before = await scrape(hub)
    assert (await hub.put("/graphql")).status_code == 405
    bad = await hub.post("/graphql", content=b"null", headers={"content-type": "application/json"})
    assert bad.status_code == 400
    token = await hub.post("/graphql", json={"query": ME}, headers={"authorization": "Bearer nope"})
    assert token.status_code == 401
    after = await scrape(hub)
    gained = requests(after, "none", "client_error", "none") - requests(
        before, "none", "client_error", "none"
    )
    assert gained == 3
    assert sum(rejections(after, r) for r in REASONS) == sum(rejections(before, r) for r in REASONS)


async def test_a_database_that_is_down_is_a_server_error_not_a_rejection(nowhere):
    async with await app_client(settings_of(), make_sessionmaker(nowhere)) as client:
        before = await scrape(client)  # the scrape token: no database needed
        assert (await post(client, ME)).status_code == 503
        after = await scrape(client)
    gained = requests(after, "none", "server_error", "none") - requests(
        before, "none", "server_error", "none"
    )
    assert gained == 1
    assert sum(rejections(after, r) for r in REASONS) == 0


# --- the pool -----------------------------------------------------------------------------------


async def test_pool_in_use_and_waiting_are_read_at_scrape_and_a_pool_timeout_counted(own_engine):
    async with await app_client(settings_of(), make_sessionmaker(own_engine)) as client:
        idle = await scrape(client)
        assert value(idle, "hub_db_pool_connections_in_use") == 0
        assert value(idle, "hub_db_pool_waiting_requests") == 0
        async with own_engine.connect() as one, own_engine.connect() as two:
            await one.execute(text("SELECT 1"))
            await two.execute(text("SELECT 1"))
            held = await scrape(client)  # the scrape token needs no connection
            assert value(held, "hub_db_pool_connections_in_use") == 2
            waiting = asyncio.create_task(post(client, ME))
            await asyncio.sleep(0.2)
            during = await scrape(client)
            assert value(during, "hub_db_pool_waiting_requests") == 1
            assert (await waiting).status_code == 503
        after = await scrape(client)
    assert value(after, "hub_db_pool_connections_in_use") == 0
    assert value(after, "hub_db_pool_waiting_requests") == 0
    assert rejections(after, "pool_timeout") - rejections(idle, "pool_timeout") == 1
    assert rejections(after, "concurrency") == rejections(idle, "concurrency")


# --- bulk files and downloads -------------------------------------------------------------------


async def test_a_bulk_file_counts_its_rows_and_its_outcome(hub, actors):
    department = actors["department"]
    before = await scrape(hub)
    stored = await upload(hub, department, csv_file(department.code, 3, bad=1), key="metrics-1")
    assert stored["data"]["pushRecordsFile"]["rejected"] == 1, stored
    middle = await scrape(hub)
    replayed = await upload(hub, department, csv_file(department.code, 3, bad=1), key="metrics-1")
    assert replayed["data"]["pushRecordsFile"]["replayed"] is True
    refused = await upload(hub, department, b"", key="metrics-2")
    assert refused["data"]["pushRecordsFile"]["code"] == "EMPTY_FILE"
    after = await scrape(hub)

    def gained(name: str, outcome: str, since: Samples = before, until: Samples = after) -> float:
        return value(until, name, outcome=outcome) - value(since, name, outcome=outcome)

    assert gained("hub_bulk_rows_total", "accepted", until=middle) == 3
    assert gained("hub_bulk_rows_total", "rejected", until=middle) == 1
    assert gained("hub_bulk_rows_total", "accepted") == 3  # the replay stored nothing more
    assert gained("hub_bulk_files_total", "stored") == 1
    assert gained("hub_bulk_files_total", "replayed") == 1
    assert gained("hub_bulk_files_total", "refused") == 1
    assert (
        requests(after, "pushRecordsFile", "ok", "mutation")
        - requests(before, "pushRecordsFile", "ok", "mutation")
        == 3
    )

    url = stored["data"]["pushRecordsFile"]["rejectionsUrl"]
    assert (await hub.get(url, headers=department.headers)).status_code == 200
    assert (await hub.get(url)).status_code == 403
    downloads = await scrape(hub)
    route = {"route": "bulk_rejections", "operation": "none", "field": "none"}
    assert value(downloads, "hub_requests_total", **route, outcome="ok") == 1
    assert value(downloads, "hub_requests_total", **route, outcome="client_error") == 1
    assert value(downloads, "hub_request_duration_seconds_count", **route) == 2


# --- subscriptions (a live server: WebSockets) --------------------------------------------------

SUBSCRIBE = 'subscription { classificationChanged(domains: ["food_small_workshops"]) { id } }'


async def _live_scrape(base: str) -> Samples:
    async with httpx.AsyncClient(base_url=base) as client:
        return await scrape(client, {"authorization": f"Bearer {LIVE_METRICS_TOKEN}"})


async def _until(base: str, check: Any) -> Samples:
    for _ in range(100):  # 10 s
        samples = await _live_scrape(base)
        if check(samples):
            return samples
        await asyncio.sleep(0.1)
    raise AssertionError(f"never reached: {samples}")


async def test_subscriptions_open_admitted_refused_and_one_listen_connection(live_engine, hub_server):
    base = hub_server.removesuffix("/graphql")
    token = await live_token(
        live_engine, make_uscc("1", "1", "230100", "Q0000001"), "指标测试信用办", Role.CREDIT_OFFICE
    )
    idle = await _live_scrape(base)
    assert value(idle, "hub_subscriptions_open") == 0
    assert value(idle, "hub_listen_connections") == 0
    limit = Settings().max_subscriptions_per_connection
    url = hub_server.replace("http://", "ws://")
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
        await ws.send(orjson.dumps(init).decode())
        assert orjson.loads(await asyncio.wait_for(ws.recv(), timeout=20))["type"] == "connection_ack"
        for i in range(limit + 1):
            message = {"id": str(i), "type": "subscribe", "payload": {"query": SUBSCRIBE}}
            await ws.send(orjson.dumps(message).decode())
        opened = await _until(
            base,
            lambda s: (
                value(s, "hub_subscriptions_total", outcome="admitted") == limit
                and value(s, "hub_subscriptions_total", outcome="limit_connection") == 1
            ),
        )
        assert value(opened, "hub_subscriptions_open") == limit
        await _until(base, lambda s: value(s, "hub_listen_connections") == 1)
    closed = await _until(base, lambda s: value(s, "hub_subscriptions_open") == 0)
    assert value(closed, "hub_subscriptions_total", outcome="admitted") == limit
    assert value(closed, "hub_subscriptions_total", outcome="limit_caller") == 0


# --- configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize(("token", "starts"), [("", True), ("s" * 31, False), ("s" * 32, True)])
def test_production_needs_a_long_scrape_token_when_one_is_set(token, starts):
    settings = Settings(
        environment="production",
        master_key="m" * 40,
        database_url="postgresql://hub@db.example/hub",
        metrics_token=token,
    )
    if starts:
        check_production(settings)
    else:
        with pytest.raises(SystemExit, match="HUB_METRICS_TOKEN"):
            check_production(settings)
