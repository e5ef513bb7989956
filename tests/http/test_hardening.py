"""The hardened GraphQL endpoint, through the real app (httpx ASGI transport) with real tokens."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import httpx
import pytest
import strawberry
from graphql.language import Lexer, Source, TokenKind
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from hub.logs import JsonFormatter, request_id
from hub.settings import Settings
from hub.web.app import create_app
from schema.build import HubSchema
from schema.extensions import UnitOfWork
from schema.permissions import ALL_ROLES, allow
from tests.conftest import Actor, company_code, days_ago, gql

# --- helpers -------------------------------------------------------------------------------------


def codes(result: dict[str, Any]) -> list[str | None]:
    return [(e.get("extensions") or {}).get("code") for e in result.get("errors") or []]


def messages(result: dict[str, Any]) -> str:
    return " | ".join(e["message"] for e in result.get("errors") or [])


def versions_query(depth: int) -> str:
    """A valid query whose fields nest `depth` levels deep (Record.versions is recursive)."""
    inner = "recordType"
    for _ in range(depth - 6):
        inner = f"versions(first: 1) {{ {inner} }}"
    # Pages of 1: the depth limit, not the cost limit, is what this query meets.
    return (
        f"{{ searchEntities(first: 1) {{ edges {{ node {{ records(first: 1) {{ edges {{ node {{ {inner} "
        "} } } } } } }"
    )


PUSH = """
mutation Push($records: [RecordInput!]!, $key: String!) {
  pushRecords(records: $records, idempotencyKey: $key) { __typename ... on PushReceipt { created } }
}
"""


def penalty(dept: str, uscc: str) -> dict[str, object]:
    return {
        "recordType": "administrative_penalty",
        "fields": {
            "XDR_MC": "哈尔滨加固测试有限公司",
            "XDR_LB": "法人及非法人组织",
            "XDR_SHXYM": uscc,
            "FRDB": "李四",
            "WSH": "哈市监罚〔2026〕901号",
            "WFXW": "未按规定公示年度报告",
            "SY": "经查，当事人未按规定公示年度报告。",
            "YJ": "《企业信息公示暂行条例》第十八条",
            "CFLB": ["警告"],
            "NR": "警告",
            "JDRQ": days_ago(2),
            "CFJG": "市市场监督管理局",
            "CFJGDM": dept,
            "SJLY": "市市场监督管理局",
            "SJLYDM": dept,
        },
    }


ISSUE = """
mutation Issue($org: String!) {
  issueToken(organisationCode: $org, label: "hardening", days: 30) {
    __typename ... on IssuedToken { id secret }
  }
}
"""
REVOKE = "mutation Revoke($id: Int!) { revokeToken(tokenId: $id) { __typename ... on RevokedToken { id revokedAt } } }"
ME = "{ me { role organisation { code } } }"


async def issue_token(client: httpx.AsyncClient, office: Actor, organisation: str) -> tuple[int, str]:
    result = await gql(client, ISSUE, {"org": organisation}, office)
    issued = result["data"]["issueToken"]
    assert issued["__typename"] == "IssuedToken", result
    return int(issued["id"]), str(issued["secret"])


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


# --- limits ----------------------------------------------------------------------------------------


async def test_query_deeper_than_max_depth_is_refused(client, actors, settings):
    at_limit = await gql(client, versions_query(settings.max_depth))
    assert "errors" not in at_limit, at_limit
    too_deep = await gql(client, versions_query(settings.max_depth + 1))
    assert too_deep["data"] is None
    assert codes(too_deep) == ["MAX_DEPTH"], too_deep
    assert f"exceeds maximum operation depth of {settings.max_depth}" in messages(too_deep), too_deep


async def test_more_aliases_than_max_aliases_is_refused(client, settings):
    def aliased(n: int) -> str:
        return "{ " + " ".join(f"a{i}: me {{ role }}" for i in range(n)) + " }"

    at_limit = await gql(client, aliased(settings.max_aliases))
    assert "errors" not in at_limit and len(at_limit["data"]) == settings.max_aliases, at_limit
    refused = await gql(client, aliased(settings.max_aliases + 1))
    assert refused["data"] is None
    assert codes(refused) == ["MAX_ALIASES"], refused
    assert f"{settings.max_aliases + 1} aliases found. Allowed: {settings.max_aliases}" in messages(
        refused
    ), refused


def token_count(document: str) -> int:
    lexer = Lexer(Source(document))
    count = 0
    while lexer.advance().kind is not TokenKind.EOF:
        count += 1
    return count


def query_of_tokens(count: int) -> str:
    """A valid query of exactly `count` tokens: a long list literal (no validation work per token)."""
    shell = '{ entity(uscc: "%s") { records(filter: {recordTypes: [%s]}) { totalCount } } }'
    overhead = token_count(shell % (company_code(1), ""))
    document = shell % (company_code(1), " ".join(['"x"'] * (count - overhead)))
    assert token_count(document) == count
    return document


async def test_more_tokens_than_max_tokens_is_refused(client, settings):
    at_limit = await gql(client, query_of_tokens(settings.max_tokens))
    assert at_limit == {"data": {"entity": None}}, messages(at_limit)
    refused = await gql(client, query_of_tokens(settings.max_tokens + 1))
    assert refused["data"] is None
    assert codes(refused) == ["MAX_TOKENS"], refused
    assert f"more than {settings.max_tokens} tokens" in messages(refused), refused


async def test_search_entities_page_over_100_is_refused(client, settings):
    ok = await gql(client, "{ searchEntities(first: 100) { totalCount } }")
    assert "errors" not in ok, ok
    result = await gql(client, "{ searchEntities(first: 101) { totalCount } }")
    assert codes(result) == ["PAGE_SIZE"], result
    assert result["data"] is None


async def test_entity_records_page_over_100_is_refused(client, actors):
    dept = actors["department"]
    uscc = company_code(901)
    pushed = await gql(client, PUSH, {"records": [penalty(dept.code, uscc)], "key": "hardening-1"}, dept)
    assert pushed["data"]["pushRecords"]["created"] == 1, pushed
    query = "query($u: String!, $n: Int!) { entity(uscc: $u) { uscc records(first: $n) { totalCount } } }"
    ok = await gql(client, query, {"u": uscc, "n": 100}, dept)
    assert ok["data"]["entity"]["records"]["totalCount"] == 1, ok
    result = await gql(client, query, {"u": uscc, "n": 101}, dept)
    assert codes(result) == ["PAGE_SIZE"], result
    assert result["errors"][0]["path"] == ["entity", "records"]
    assert result["data"]["entity"] is None


# --- introspection and error messages ------------------------------------------------------------

INTROSPECTION = "{ __schema { queryType { name } } }"


async def test_introspection_works_by_default(client):
    result = await gql(client, INTROSPECTION)
    assert result == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


async def test_introspection_is_refused_when_disabled(sessions: async_sessionmaker[AsyncSession]):
    app = create_app(Settings(introspection=False), sessions=sessions)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub.test"
    ) as closed:
        for query in (INTROSPECTION, '{ __type(name: "Query") { name } }'):
            result = await gql(closed, query)
            assert result.get("data") is None, result
            assert "introspection" in messages(result).lower(), result
        # Ordinary queries (and __typename) still work.
        assert await gql(closed, "{ __typename me { role } }") == {
            "data": {"__typename": "Query", "me": {"role": "PUBLIC"}}
        }


async def test_typo_in_field_name_gets_no_suggestion(client):
    result = await gql(client, "{ me { rol } }")
    assert result["data"] is None
    message = messages(result)
    assert "Cannot query field 'rol'" in message, result
    assert "Did you mean" not in message and "'role'" not in message, result


@strawberry.type
class BrokenQuery:
    """A resolver whose SQL fails in the database for real: the way an unexpected error arrives."""

    @strawberry.field(extensions=allow(*ALL_ROLES))
    async def broken(self, info: strawberry.Info) -> int:
        await info.context.session.execute(text("SELECT 1 / 0 AS secret_column"))
        return 1


@pytest.fixture
async def broken_client(settings, sessions):
    schema = HubSchema(query=BrokenQuery, extensions=[UnitOfWork])
    transport = httpx.ASGITransport(app=create_app(settings, sessions=sessions, schema=schema))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield client


async def test_unexpected_error_is_masked(broken_client, caplog):
    caplog.set_level(logging.ERROR, logger="hub.graphql")
    response = await broken_client.post("/graphql", json={"query": "{ broken }"})
    assert response.status_code == 200
    result = response.json()
    assert result["data"] is None
    [error] = result["errors"]
    assert error["message"] == "Unexpected error."
    assert error["extensions"]["code"] == "INTERNAL"
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]
    body = response.text.lower()
    for leak in ("traceback", "select ", "[sql", "sqlalchemy", "asyncpg", ".py", "secret_column", "division"):
        assert leak not in body, (leak, response.text)
    # The log names the kind of failure, not its text.
    [logged] = [r for r in caplog.records if r.getMessage() == "unexpected error"]
    assert logged.error_type == "DBAPIError", logged.__dict__  # the driver refused the statement
    assert logged.field_path == ["broken"]
    assert logged.exc_info is None


# --- batching and GET ------------------------------------------------------------------------------


async def test_batched_request_is_refused(client):
    response = await client.post("/graphql", json=[{"query": "{ me { role } }"}, {"query": "{ __typename }"}])
    assert response.status_code == 400, response.text
    assert "Batching is not enabled" in response.text


async def test_mutation_over_get_is_refused_and_writes_nothing(client, actors, connection: AsyncConnection):
    office = actors["credit_office"]
    token_id, secret = await issue_token(client, office, actors["bank"].code)
    query = f"mutation {{ revokeToken(tokenId: {token_id}) {{ __typename }} }}"
    response = await client.get("/graphql", params={"query": query}, headers=office.headers)
    assert 400 <= response.status_code < 500, response.text
    assert "revokedAt" not in response.text
    revoked_at = await connection.scalar(
        text("SELECT revoked_at FROM api_tokens WHERE id = :id"), {"id": token_id}
    )
    assert revoked_at is None
    still = await gql(client, ME, actor=Actor(actors["bank"].code, actors["bank"].role, secret))
    assert still["data"]["me"]["role"] == "BANK", still


# --- health ------------------------------------------------------------------------------------------


async def test_healthz(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_when_database_is_up(client):
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


# --- request ids -------------------------------------------------------------------------------------


async def test_every_graphql_response_carries_a_request_id(client):
    responses = [
        await client.post("/graphql", json={"query": "{ me { role } }"}),  # 200
        await client.post("/graphql", json={"query": "{"}),  # syntax error
        await client.post("/graphql", json=[{"query": "{ me { role } }"}]),  # 400 batching
        await client.post("/graphql", content=b"{not json", headers={"content-type": "application/json"}),
        await client.get("/graphql", params={"query": "mutation { __typename }"}),  # 405 GET mutation
        await client.post("/graphql", json={"query": "{ me { role } }"}, headers=bearer("garbage")),  # 401
        await client.put("/graphql", json={"query": "{ me { role } }"}),  # 405
    ]
    seen = set()
    for response in responses:
        rid = response.headers.get("x-request-id")
        assert rid and len(rid) == 32, (response.status_code, response.headers)
        seen.add(rid)
    assert len(seen) == len(responses)  # one id per request


async def test_health_responses_carry_a_request_id(client):
    for path in ("/healthz", "/readyz"):
        response = await client.get(path)
        assert response.headers.get("x-request-id"), path


async def test_valid_incoming_request_id_is_echoed(client):
    rid = "bank-7.trace_01"
    response = await client.post("/graphql", json={"query": ME}, headers={"X-Request-ID": rid})
    assert response.headers["x-request-id"] == rid
    failing = await client.post("/graphql", json={"query": "{ me { rol } }"}, headers={"X-Request-ID": rid})
    assert failing.headers["x-request-id"] == rid


@pytest.mark.parametrize("incoming", ["has spaces in it", "x" * 200, "semi;colon", "ünïcode"])
async def test_invalid_incoming_request_id_is_replaced(client, incoming):
    response = await client.post("/graphql", json={"query": ME}, headers={"X-Request-ID": incoming.encode()})
    rid = response.headers["x-request-id"]
    assert rid != incoming
    assert len(rid) == 32 and all(c in "0123456789abcdef" for c in rid)


# --- authentication ------------------------------------------------------------------------------


async def test_no_token_is_public(client):
    result = await gql(client, ME)
    assert result == {"data": {"me": {"role": "PUBLIC", "organisation": None}}}


async def test_token_of_an_organisation_is_its_role(client, actors):
    bank = actors["bank"]
    result = await gql(client, ME, actor=bank)
    assert result["data"]["me"] == {"role": "BANK", "organisation": {"code": bank.code}}


@pytest.mark.parametrize("secret", ["garbage", "chub_" + "A" * 43])
async def test_garbage_token_is_401_token_invalid(client, secret):
    response = await client.post("/graphql", json={"query": ME}, headers=bearer(secret))
    assert response.status_code == 401
    body = response.json()
    assert codes(body) == ["TOKEN_INVALID"]
    assert "data" not in body


async def test_revoked_token_is_401_token_revoked(client, actors):
    office = actors["credit_office"]
    token_id, secret = await issue_token(client, office, actors["bank"].code)
    before = await client.post("/graphql", json={"query": ME}, headers=bearer(secret))
    assert before.status_code == 200 and before.json()["data"]["me"]["role"] == "BANK"
    revoked = await gql(client, REVOKE, {"id": token_id}, office)
    assert revoked["data"]["revokeToken"]["__typename"] == "RevokedToken", revoked
    after = await client.post("/graphql", json={"query": ME}, headers=bearer(secret))
    assert after.status_code == 401
    assert codes(after.json()) == ["TOKEN_REVOKED"]


async def test_expired_token_is_401_token_expired(client, actors, connection: AsyncConnection):
    token_id, secret = await issue_token(client, actors["credit_office"], actors["entity"].code)
    before = await client.post("/graphql", json={"query": ME}, headers=bearer(secret))
    assert before.status_code == 200
    await connection.execute(
        text("UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = :id"),
        {"id": token_id},
    )
    after = await client.post("/graphql", json={"query": ME}, headers=bearer(secret))
    assert after.status_code == 401
    assert codes(after.json()) == ["TOKEN_EXPIRED"]


# --- logs ------------------------------------------------------------------------------------------


def _record(message: str, exc_info: Any = None, **extra: Any) -> logging.LogRecord:
    record = logging.LogRecord("hub.test", logging.ERROR, __file__, 1, message, None, exc_info)
    record.__dict__.update(extra)
    return record


def test_json_formatter_writes_one_object_per_line_with_request_id():
    token = request_id.set("rid-123")
    try:
        line = JsonFormatter().format(_record("two\nlines", status=200, path="/graphql"))
    finally:
        request_id.reset(token)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["request_id"] == "rid-123"
    assert entry["message"] == "two\nlines"
    assert entry["level"] == "error" and entry["logger"] == "hub.test"
    assert entry["status"] == 200 and entry["path"] == "/graphql"


def test_json_formatter_keeps_only_the_exception_type():
    try:
        raise ValueError("SELECT secret FROM api_tokens WHERE holder = '张三'")
    except ValueError:
        exc_info = sys.exc_info()
    line = JsonFormatter().format(_record("failed", exc_info=exc_info))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["error_type"] == "ValueError"
    for leak in ("SELECT", "secret", "张三", "Traceback", "test_hardening.py", "raise "):
        assert leak not in line, (leak, line)


# --- media types (GraphQL over HTTP) -------------------------------------------------------------

GRAPHQL_RESPONSE = {"Accept": "application/graphql-response+json"}


async def post(client: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
    return await client.post("/graphql", json=body, headers=headers)


@pytest.mark.parametrize(
    "body",
    [
        {"query": "{"},  # does not parse
        {"query": "{ me { rol } }"},  # does not validate
        {"query": "query($n: Int!) { searchEntities(first: $n) { totalCount } }", "variables": {"n": "x"}},
    ],
    ids=["parse", "validation", "variables"],
)
async def test_request_error_is_400_without_data_for_graphql_response_json(client, body):
    response = await post(client, body, GRAPHQL_RESPONSE)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/graphql-response+json; charset=utf-8"
    result = response.json()
    assert "data" not in result and result["errors"], result
    legacy = await post(client, body, {"Accept": "application/json"})
    assert legacy.status_code == 200
    assert legacy.headers["content-type"] == "application/json"
    assert legacy.json()["data"] is None


async def test_field_errors_stay_200_with_data_for_graphql_response_json(client, broken_client):
    refused = await post(client, {"query": "{ searchEntities(first: 101) { totalCount } }"}, GRAPHQL_RESPONSE)
    assert refused.status_code == 200
    assert refused.json()["data"] is None and codes(refused.json()) == ["PAGE_SIZE"]
    masked = await post(broken_client, {"query": "{ broken }"}, GRAPHQL_RESPONSE)
    assert masked.status_code == 200
    assert masked.json()["data"] is None and codes(masked.json()) == ["INTERNAL"]


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        ("application/graphql-response+json", "application/graphql-response+json"),
        ("application/graphql-response+json, application/json", "application/graphql-response+json"),
        ("application/json, application/graphql-response+json;q=0.5", "application/json"),
        ("application/graphql-response+json;q=0, */*", "application/json"),
        ("application/*", "application/json"),
        ("text/html, application/graphql-response+json;q=0.9", "application/graphql-response+json"),
    ],
)
async def test_content_negotiation(client, accept, media_type):
    headers = {"Accept": accept} if accept else {}
    request = client.build_request("POST", "/graphql", json={"query": "{ __typename }"}, headers=headers)
    if accept is None:
        del request.headers["accept"]
    response = await client.send(request)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    assert response.json() == {"data": {"__typename": "Query"}}
