"""The HTTP edge's refusals (issue 8): sizes, body shapes, methods, CSRF, back-pressure and faults.

Through the real app (httpx ASGI transport) on the real PostgreSQL; each refusal with its status,
code (and Retry-After where it says when to come back) and the proof that nothing was written.
Expected statuses and codes are the table below, written by hand from the README.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
import strawberry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from strawberry.file_uploads import Upload

from hub.auth.caller import Role
from hub.db import make_engine, make_sessionmaker
from hub.settings import Settings
from hub.web.app import create_app
from schema.build import HubSchema
from schema.extensions import UnitOfWork
from schema.permissions import ALL_ROLES, allow, uploading_roles
from tests.conftest import Actor
from tests.permission_table import writes

KIB = 1024
REVOKE = "mutation Revoke($id: Int!) { revokeToken(tokenId: $id) { __typename } }"
ISSUE = """
mutation Issue($org: String!) {
  issueToken(organisationCode: $org, label: "edge", days: 30) { __typename ... on IssuedToken { id } }
}
"""


def refusal(response: httpx.Response) -> str:
    """The code of an edge refusal; fails unless the answer is JSON with exactly one coded error."""
    assert response.headers["content-type"].startswith("application/json"), response.text
    [error] = response.json()["errors"]
    code = error["extensions"]["code"]
    assert isinstance(code, str), response.text
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]
    return code


async def app_client(settings: Settings, sessions: Any, schema: Any = None) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(settings, sessions=sessions, schema=schema))
    return httpx.AsyncClient(transport=transport, base_url="http://hub.test")


async def issue(client: httpx.AsyncClient, office: Actor, organisation: str) -> int:
    result = (
        await client.post(
            "/graphql", json={"query": ISSUE, "variables": {"org": organisation}}, headers=office.headers
        )
    ).json()
    return int(result["data"]["issueToken"]["id"])


async def revoked_at(connection: AsyncConnection, token_id: int) -> object:
    return await connection.scalar(text("SELECT revoked_at FROM api_tokens WHERE id = :id"), {"id": token_id})


# --- sizes ----------------------------------------------------------------------------------------


@pytest.fixture
async def small(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[httpx.AsyncClient]:
    """Limits small enough to pass cheaply: 1 KiB of JSON, 4 KiB of upload."""
    settings = Settings(max_body_bytes=KIB, max_upload_bytes=4 * KIB, request_timeout_seconds=60)
    async with await app_client(settings, sessions) as client:
        yield client


def padded(size: int) -> bytes:
    """A JSON body of exactly `size` bytes that runs `{ __typename }`."""
    shell = b'{"query": "{ __typename }", "extensions": {"pad": "%s"}}'
    body = shell % (b"x" * (size - len(shell % b"")))
    assert len(body) == size
    return body


async def chunks(body: bytes, size: int = 256) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


JSON_HEADERS = {"content-type": "application/json"}


async def test_json_body_at_the_limit_runs_and_one_byte_more_is_413(small):
    ok = await small.post("/graphql", content=padded(KIB), headers=JSON_HEADERS)
    assert ok.status_code == 200 and ok.json() == {"data": {"__typename": "Query"}}, ok.text
    over = await small.post("/graphql", content=padded(KIB + 1), headers=JSON_HEADERS)
    assert over.status_code == 413
    assert refusal(over) == "BODY_TOO_LARGE"


async def test_oversized_body_is_refused_before_authentication(small):
    # A token the hub does not know would be 401: the 413 shows the look-up never ran.
    headers = {**JSON_HEADERS, "authorization": "Bearer chub_unknown"}
    assert (
        await small.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
    ).status_code == 401
    over = await small.post("/graphql", content=padded(KIB + 1), headers=headers)
    assert over.status_code == 413 and refusal(over) == "BODY_TOO_LARGE"


async def test_body_without_content_length_is_counted_as_it_is_read(small):
    ok = await small.post("/graphql", content=chunks(padded(KIB)), headers=JSON_HEADERS)
    assert ok.status_code == 200, ok.text
    request = small.build_request("POST", "/graphql", content=chunks(padded(8 * KIB)), headers=JSON_HEADERS)
    assert "content-length" not in request.headers  # chunked: only counting can stop it
    over = await small.send(request)
    assert over.status_code == 413 and refusal(over) == "BODY_TOO_LARGE"


@pytest.mark.parametrize(
    "length", ["12abc", "-1", b"\xb2", "1" * 30], ids=["letters", "negative", "superscript two", "30 digits"]
)
async def test_malformed_content_length_is_400(small, length):
    response = await small.post("/graphql", content=b"{}", headers={**JSON_HEADERS, "content-length": length})
    assert response.status_code == 400 and refusal(response) == "BAD_REQUEST"


def multipart(size: int) -> tuple[bytes, str]:
    """A multipart GraphQL request (an upload of `size` bytes) and its content type."""
    boundary = "edgeboundary"
    operations = orjson.dumps({"query": "{ __typename }", "variables": {"file": None}}).decode()
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{operations}\r\n',
        f'--{boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{{"0": ["variables.file"]}}\r\n',
        f'--{boundary}\r\nContent-Disposition: form-data; name="0"; filename="f.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n",
    ]
    body = "".join(parts).encode() + b"a" * size + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


async def test_multipart_has_the_upload_limit_counted_while_streamed(small, actors):
    body, content_type = multipart(2 * KIB)  # over the JSON limit, under the upload limit
    headers = {"content-type": content_type, **actors["department"].headers}
    ok = await small.post("/graphql", content=body, headers=headers)
    assert ok.status_code == 200 and ok.json() == {"data": {"__typename": "Query"}}, ok.text
    body, _ = multipart(6 * KIB)  # over KIB + 4 KiB
    declared = await small.post("/graphql", content=body, headers=headers)
    assert declared.status_code == 413 and refusal(declared) == "BODY_TOO_LARGE"
    streamed = await small.post("/graphql", content=chunks(body, 1024), headers=headers)
    assert streamed.status_code == 413 and refusal(streamed) == "BODY_TOO_LARGE"


@pytest.mark.parametrize("role", ["public", "bank", "entity"])
async def test_multipart_of_a_caller_who_may_not_upload_has_the_json_limit(small, actors, role):
    # No mutation that takes a file admits these roles: their bodies are never spooled past 1 KiB.
    body, content_type = multipart(2 * KIB)
    headers = {"content-type": content_type, "graphql-require-preflight": "1"}
    if role != "public":
        headers.update(actors[role].headers)
    declared = await small.post("/graphql", content=body, headers=headers)
    assert declared.status_code == 413 and refusal(declared) == "BODY_TOO_LARGE", declared.text
    streamed = await small.post("/graphql", content=chunks(body, 512), headers=headers)
    assert streamed.status_code == 413 and refusal(streamed) == "BODY_TOO_LARGE", streamed.text
    small_body, _ = multipart(100)
    ok = await small.post("/graphql", content=small_body, headers=headers)
    assert ok.status_code == 200, ok.text


# --- body shapes ---------------------------------------------------------------------------------

BAD_BODIES = [
    (b"null", 400, "BAD_JSON"),
    (b"1", 400, "BAD_JSON"),
    (b'"x"', 400, "BAD_JSON"),
    (b"true", 400, "BAD_JSON"),
    (b"[]", 400, "BAD_REQUEST"),  # a batch (empty)
    (b"{not json", 400, "BAD_JSON"),
    (b"", 400, "BAD_JSON"),
    (b"\xff\xfe", 400, "BAD_JSON"),
]


@pytest.mark.parametrize(
    ("body", "status", "code"), BAD_BODIES, ids=[b[0].decode("latin-1") or "empty" for b in BAD_BODIES]
)
async def test_json_body_that_is_not_an_object_is_400_json(client, connection, body, status, code):
    before = await writes(connection)
    response = await client.post("/graphql", content=body, headers=JSON_HEADERS)
    assert response.status_code == status, response.text
    assert refusal(response) == code
    assert await writes(connection) == before


EDGE_ANSWERS = [
    # (method, headers, body, status, code)
    ("PUT", JSON_HEADERS, b'{"query": "{ __typename }"}', 405, "METHOD_NOT_ALLOWED"),
    ("DELETE", {}, b"", 405, "METHOD_NOT_ALLOWED"),
    ("POST", {"content-type": "text/plain"}, b'{"query": "{ __typename }"}', 400, "BAD_REQUEST"),
    ("POST", JSON_HEADERS, b'{"variables": {}}', 400, "BAD_REQUEST"),  # no query
    ("POST", JSON_HEADERS, b'{"query": 1}', 400, "BAD_REQUEST"),
    ("POST", JSON_HEADERS, b'[{"query": "{ __typename }"}]', 400, "BAD_REQUEST"),
    ("POST", {"authorization": "Basic dXNlcjpwdw=="}, b'{"query": "{ __typename }"}', 401, "TOKEN_INVALID"),
]


@pytest.mark.parametrize(("method", "headers", "body", "status", "code"), EDGE_ANSWERS)
async def test_every_refusal_of_the_edge_is_json_with_a_code(client, method, headers, body, status, code):
    response = await client.request(method, "/graphql", content=body, headers=headers)
    assert response.status_code == status, response.text
    assert refusal(response) == code
    if status == 405:
        assert response.headers["allow"] == "GET, POST"


# --- transport: GET mutations, cross-site requests --------------------------------------------------


async def test_mutation_over_get_is_405_with_allow_post_and_writes_nothing(client, actors, connection):
    office = actors["credit_office"]
    token_id = await issue(client, office, actors["bank"].code)
    response = await client.get(
        "/graphql",
        params={"query": REVOKE, "variables": orjson.dumps({"id": token_id}).decode()},
        headers=office.headers,
    )
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == "POST"
    assert refusal(response) == "METHOD_NOT_ALLOWED"
    assert await revoked_at(connection, token_id) is None
    # The same operation over POST runs: the refusal was the method's.
    done = await client.post(
        "/graphql", json={"query": REVOKE, "variables": {"id": token_id}}, headers=office.headers
    )
    assert done.json()["data"]["revokeToken"]["__typename"] == "RevokedToken", done.text
    assert await revoked_at(connection, token_id) is not None


def form(query: str, variables: dict[str, Any]) -> dict[str, str]:
    return {"operations": orjson.dumps({"query": query, "variables": variables}).decode(), "map": "{}"}


# What a page on another site can make a browser send without a CORS preflight (simple requests:
# GET, or POST with a form, multipart or text/plain body and no other header), and what needs one.
CSRF = [
    # (kind, content, extra headers, simple request?, expected status, expected code or None)
    ("multipart", "form", {}, True, 400, "PREFLIGHT_REQUIRED"),
    ("multipart", "form", {"GraphQL-Require-Preflight": "1"}, False, 200, None),
    ("text/plain", "json-text", {}, True, 400, "BAD_REQUEST"),
    ("form-urlencoded", "urlencoded", {}, True, 400, "BAD_REQUEST"),
    ("json", "json", {}, False, 200, None),
]


@pytest.mark.parametrize(
    ("kind", "content", "extra", "simple", "status", "code"),
    CSRF,
    ids=[c[0] + str(i) for i, c in enumerate(CSRF)],
)
async def test_csrf_matrix_a_simple_request_never_executes(
    client, connection, kind, content, extra, simple, status, code
):
    query = "{ me { role } }"
    before = await writes(connection)
    if content == "form":
        response = await client.post(
            "/graphql", data=form(query, {}), files={"x": ("x", b"", "text/plain")}, headers=extra
        )
    elif content == "json-text":
        body = orjson.dumps({"query": query})
        response = await client.post(
            "/graphql", content=body, headers={"content-type": "text/plain", **extra}
        )
    elif content == "urlencoded":
        response = await client.post("/graphql", data={"query": query}, headers=extra)
    else:
        response = await client.post("/graphql", json={"query": query}, headers=extra)
    assert response.status_code == status, response.text
    if code is None:
        assert response.json() == {"data": {"me": {"role": "PUBLIC"}}}
        assert not simple  # only a request that needed a preflight ever executes
    else:
        assert refusal(response) == code
    assert await writes(connection) == before


async def test_multipart_with_a_bearer_token_runs_and_without_any_header_writes_nothing(
    client, actors, connection
):
    office = actors["credit_office"]
    token_id = await issue(client, office, actors["bank"].code)
    files = {"x": ("x", b"", "text/plain")}
    data = form(REVOKE, {"id": token_id})
    # A forged upload carries no header of its own (a browser adds cookies, never a bearer token).
    forged = await client.post("/graphql", data=data, files=files)
    assert forged.status_code == 400 and refusal(forged) == "PREFLIGHT_REQUIRED"
    assert await revoked_at(connection, token_id) is None
    # Authorization is not a CORS-safelisted header: it forces a preflight, so it is enough.
    done = await client.post("/graphql", data=data, files=files, headers=office.headers)
    assert done.json()["data"]["revokeToken"]["__typename"] == "RevokedToken", done.text
    assert await revoked_at(connection, token_id) is not None


# --- back-pressure and faults -------------------------------------------------------------------------

RELEASE: dict[str, asyncio.Event] = {}


@strawberry.type
class SlowQuery:
    """Resolvers that hold a request open, or show what its transaction was given."""

    @strawberry.field(extensions=allow(*ALL_ROLES))
    async def held(self) -> int:
        await RELEASE["held"].wait()
        return 1

    @strawberry.field(extensions=allow(*ALL_ROLES))
    async def statement_timeout(self, info: strawberry.Info) -> str:
        return str(await info.context.session.scalar(text("SELECT current_setting('statement_timeout')")))

    @strawberry.field(extensions=allow(*ALL_ROLES))
    async def sleep(self, info: strawberry.Info) -> int:
        await info.context.session.execute(text("SELECT pg_sleep(30) AS edge_sleep"))
        return 1


SLOW = HubSchema(query=SlowQuery, extensions=[UnitOfWork])


async def test_past_max_concurrent_requests_is_503_with_retry_after(test_url, connection):
    RELEASE["held"] = asyncio.Event()
    settings = Settings(max_concurrent_requests=2, request_timeout_seconds=60, retry_after_seconds=3)
    # Concurrent requests need connections of their own (the rolled-back test connection is one),
    # more than the limit lets in: the refusal must be the gate's, not the pool's.
    engine = make_engine(test_url, pool_size=4)
    async with await app_client(settings, make_sessionmaker(engine), SLOW) as client:
        held = [asyncio.create_task(client.post("/graphql", json={"query": "{ held }"})) for _ in range(2)]
        await asyncio.sleep(0.2)  # both are inside the gate, waiting
        before = await writes(connection)
        refused = await client.post("/graphql", json={"query": "{ held }"})
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "3"
        assert refusal(refused) == "OVERLOADED"
        assert (await client.get("/healthz")).status_code == 200  # health stays outside the limit
        RELEASE["held"].set()
        for task in held:
            assert (await task).json() == {"data": {"held": 1}}
        # The slots are free again.
        RELEASE["held"] = asyncio.Event()
        RELEASE["held"].set()
        assert (await client.post("/graphql", json={"query": "{ held }"})).status_code == 200
        assert await writes(connection) == before
    await engine.dispose()


async def test_statement_timeout_is_the_remaining_budget_and_ends_with_the_request(own_engine):
    settings = Settings(request_timeout_seconds=5)
    async with await app_client(settings, make_sessionmaker(own_engine), SLOW) as client:
        result = (await client.post("/graphql", json={"query": "{ statementTimeout }"})).json()
    shown = result["data"]["statementTimeout"]
    assert shown.endswith("ms"), shown  # PostgreSQL shows 5 s as "5s": the budget was not rounded up
    assert 4000 < int(shown.removesuffix("ms")) <= 5100, shown  # 5 s, less the time spent, plus 0.1 s
    # The same connection, taken outside a request (a CLI command, a job), has no limit again.
    async with own_engine.connect() as conn:
        assert await conn.scalar(text("SELECT current_setting('statement_timeout')")) == "0"


async def test_exhausted_pool_is_503_within_the_pool_timeout(own_engine):
    settings = Settings(request_timeout_seconds=60)
    async with await app_client(settings, make_sessionmaker(own_engine)) as client:
        assert (await client.post("/graphql", json={"query": "{ me { role } }"})).status_code == 200
        async with own_engine.connect() as one, own_engine.connect() as two:  # the pool's two
            await one.execute(text("SELECT 1"))
            await two.execute(text("SELECT 1"))
            started = time.monotonic()
            headers = {"authorization": "Bearer chub_" + "A" * 43}  # the look-up needs a connection
            response = await client.post("/graphql", json={"query": "{ me { role } }"}, headers=headers)
            waited = time.monotonic() - started
        assert response.status_code == 503, response.text
        assert refusal(response) == "OVERLOADED"
        assert response.headers["retry-after"] == "1"
        assert waited < 3, waited  # not the request timeout's 60 s
        ready = await client.post("/graphql", json={"query": "{ me { role } }"})
        assert ready.status_code == 200  # connections back: served again


async def test_timed_out_statement_is_gone_from_pg_stat_activity(own_engine, engine):
    settings = Settings(request_timeout_seconds=1)
    async with await app_client(settings, make_sessionmaker(own_engine), SLOW) as client:
        started = time.monotonic()
        response = await client.post("/graphql", json={"query": "{ sleep }"})
        assert time.monotonic() - started < 3
    assert response.status_code == 504, response.text
    assert refusal(response) == "TIMEOUT"
    running = text(
        "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%edge_sleep%' AND pid <> pg_backend_pid()"
    )
    async with engine.connect() as probe:
        for _ in range(20):  # 1 s
            if (count := await probe.scalar(running)) == 0:
                break
            await asyncio.sleep(0.05)
    assert count == 0


async def test_database_unavailable_is_503_json_and_readyz_says_so(nowhere):
    async with await app_client(Settings(request_timeout_seconds=10), make_sessionmaker(nowhere)) as client:
        for headers in ({}, {"authorization": "Bearer chub_" + "A" * 43}):
            response = await client.post("/graphql", json={"query": "{ me { role } }"}, headers=headers)
            assert response.status_code == 503, response.text
            assert refusal(response) == "DATABASE_UNAVAILABLE"
            assert response.headers["retry-after"] == "1"
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"status": "unavailable", "code": "DATABASE_UNAVAILABLE"}
        assert (await client.get("/healthz")).status_code == 200


async def test_rate_limit_per_token_by_role_is_429_with_retry_after(client, sessions, actors, connection):
    office, department = actors["credit_office"], actors["department"]
    token_id = await issue(client, office, actors["bank"].code)  # through the unlimited app
    settings = Settings(request_timeout_seconds=60, rate_limits={"credit_office": 2, "public": 1})
    async with await app_client(settings, sessions) as limited:
        for _ in range(2):  # a burst of the minute's rate
            ok = await limited.post("/graphql", json={"query": "{ me { role } }"}, headers=office.headers)
            assert ok.status_code == 200, ok.text
        refused = await limited.post(
            "/graphql", json={"query": REVOKE, "variables": {"id": token_id}}, headers=office.headers
        )
        assert refused.status_code == 429
        assert refusal(refused) == "RATE_LIMITED"
        assert refused.headers["retry-after"] == "30"  # 2 a minute: the next token in 30 s
        assert await revoked_at(connection, token_id) is None
        # Another role, not limited; the public, limited on its own.
        for _ in range(3):
            other = await limited.post(
                "/graphql", json={"query": "{ me { role } }"}, headers=department.headers
            )
            assert other.status_code == 200
        assert (await limited.post("/graphql", json={"query": "{ __typename }"})).status_code == 200
        public = await limited.post("/graphql", json={"query": "{ __typename }"})
        assert public.status_code == 429 and public.headers["retry-after"] == "60"
        assert refusal(public) == "RATE_LIMITED"


async def test_routes_beside_graphql_answer_json_with_a_code(client, nowhere):
    missing = await client.get("/no/such/path")
    assert missing.status_code == 404 and refusal(missing) == "NOT_FOUND"
    wrong = await client.post("/plans/1/publication.json")
    assert wrong.status_code == 405 and refusal(wrong) == "METHOD_NOT_ALLOWED"
    assert set(wrong.headers["allow"].split(", ")) == {"GET", "HEAD"}
    async with await app_client(Settings(), make_sessionmaker(nowhere)) as down:
        for path in ("/plans/1/publication.json", "/bulk/1/rejections.csv"):
            response = await down.get(path, headers={"authorization": "Bearer chub_" + "A" * 43})
            assert response.status_code == 503, response.text
            assert refusal(response) == "DATABASE_UNAVAILABLE"
            assert response.headers["retry-after"] == "1"


def _form(parts: list[tuple[str, str | None, bytes]]) -> tuple[bytes, str]:
    boundary = "formboundary"
    body = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


OPERATIONS = orjson.dumps({"query": "{ __typename }", "variables": {"file": None}})
MAP = b'{"0": ["variables.file"]}'


@pytest.mark.parametrize(
    "parts",
    [
        [
            ("operations", None, OPERATIONS),
            ("map", None, MAP),
            ("junk", None, b"x" * 100),
            ("0", "f.csv", b"a"),
        ],
        [("operations", None, OPERATIONS + b" " * (2 * KIB)), ("map", None, MAP), ("0", "f.csv", b"a")],
        [("operations", None, OPERATIONS), ("map", None, MAP)] + [(str(i), "f.csv", b"a") for i in range(11)],
    ],
    ids=["a third text part", "a text part over the JSON limit", "eleven files"],
)
async def test_multipart_text_parts_are_bounded(small, actors, parts):
    # Starlette's defaults would keep a thousand text parts of 1 MiB each in memory.
    body, content_type = _form(parts)
    headers = {"content-type": content_type, **actors["department"].headers}
    response = await small.post("/graphql", content=body, headers=headers)
    assert response.status_code == 400 and refusal(response) == "BAD_MULTIPART", response.text
    ok, _ = _form([("operations", None, OPERATIONS), ("map", None, MAP), ("0", "f.csv", b"a")])
    assert (await small.post("/graphql", content=ok, headers=headers)).status_code == 200


def test_a_file_argument_in_any_wrapper_gives_its_roles_the_upload_allowance():
    @strawberry.type
    class Query:
        @strawberry.field(extensions=allow(*ALL_ROLES))
        def ok(self) -> bool:
            return True

    @strawberry.type
    class Mutation:
        @strawberry.mutation(extensions=allow(Role.BANK))
        def maybe(self, file: Upload | None = None) -> bool:
            return True

        @strawberry.mutation(extensions=allow(Role.ENTITY))
        def many(self, files: list[Upload]) -> bool:
            return True

        @strawberry.mutation(extensions=allow(Role.PROVINCE))
        def none(self, text: str) -> bool:
            return True

    schema = strawberry.Schema(query=Query, mutation=Mutation)
    assert uploading_roles(schema) == {Role.BANK, Role.ENTITY}
