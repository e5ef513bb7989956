"""One unit of work per entry point: what the answer reports as stored is stored, and nothing else."""

from __future__ import annotations

import ast
import asyncio
import re
from pathlib import Path

import httpx
import pytest
import strawberry
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from hub.auth import service as auth
from hub.auth.caller import Role
from hub.db import make_sessionmaker, settle, unit_of_work
from hub.errors import Forbidden
from hub.settings import Settings
from hub.web.app import create_app
from schema.build import HubSchema
from schema.extensions import UnitOfWork
from schema.permissions import ALL_ROLES, allow
from tests.conftest import company_code, gql
from tests.records.builders import valid_record

PUSH_AND_REFUSED = """mutation($r: [RecordInput!]!) {
  pushRecords(records: $r, idempotencyKey: "uow-1") { ... on PushReceipt { created } }
  issueToken(organisationCode: "x") { __typename }
}"""
TWO_PUSHES = """mutation($a: [RecordInput!]!, $b: [RecordInput!]!) {
  a: pushRecords(records: $a, idempotencyKey: "uow-a") { ... on PushReceipt { created } }
  b: pushRecords(records: $b, idempotencyKey: "uow-b") { ... on PushReceipt { created } }
}"""
COUNT = "SELECT count(*) FROM records WHERE uscc = ANY(CAST(:u AS text[]))"


async def test_an_operation_answered_with_no_data_keeps_nothing(client, actors, connection):
    dept = actors["department"]
    record = valid_record("administrative_penalty", dept.code, company_code(991))
    answer = await gql(client, PUSH_AND_REFUSED, {"r": [record]}, dept)
    # The refused field nulls the whole answer, so the caller never learns of the push: it is not kept.
    assert answer["data"] is None
    assert [e["extensions"]["code"] for e in answer["errors"]] == ["FORBIDDEN"]
    assert (await connection.execute(text(COUNT), {"u": [company_code(991)]})).scalar() == 0


async def test_two_mutations_in_one_operation_are_both_kept(client, actors, connection):
    dept = actors["department"]
    first = valid_record("administrative_penalty", dept.code, company_code(992))
    second = {
        **valid_record("administrative_penalty", dept.code, company_code(993)),
        "sourceRecordId": "UOW-2",
    }
    answer = await gql(client, TWO_PUSHES, {"a": [first], "b": [second]}, dept)
    assert answer["data"] == {"a": {"created": 1}, "b": {"created": 1}}
    codes = [company_code(992), company_code(993)]
    assert (await connection.execute(text(COUNT), {"u": codes})).scalar() == 2


# --- one unit of work for every entry point (house rule 3) ----------------------------------------

ROOT = Path(__file__).resolve().parent.parent
# The only module of hub/ and schema/ that may end a transaction by committing it.
COMMITTERS = {"hub/db.py"}
COMMIT_SQL = re.compile(r"\s*COMMIT\s*;?\s*$", re.IGNORECASE)


def test_nothing_in_hub_or_schema_commits_but_the_unit_of_work():
    found = []
    for path in sorted([*ROOT.glob("hub/**/*.py"), *ROOT.glob("schema/**/*.py")]):
        name = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text(), name)):
            # `x.commit` called or passed around, and `COMMIT` sent as SQL text.
            commits = isinstance(node, ast.Attribute) and node.attr == "commit"
            sql = (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and COMMIT_SQL.match(node.value)
            )
            if (commits or sql) and name not in COMMITTERS:
                found.append(f"{name}:{node.lineno}")
    assert found == []


ORG = company_code(994)
COUNT_ORG = "SELECT count(*) FROM organisations WHERE code = :code"


@strawberry.type
class WritingQuery:
    """Reads that write, as one that keeps its access-log entry will: through a real service."""

    @strawberry.field(extensions=allow(*ALL_ROLES))
    async def logged_read(self, info: strawberry.Info) -> int:
        await auth.register_organisation(info.context.session, ORG, "读时写入测试公司", Role.BANK)
        return 1

    @strawberry.field(extensions=allow(*ALL_ROLES))
    async def refused(self, info: strawberry.Info) -> int | None:
        raise Forbidden("not for you")

    @strawberry.field(extensions=allow(*ALL_ROLES))
    async def broken(self, info: strawberry.Info) -> int:
        await asyncio.sleep(0.05)  # after logged_read has written
        await info.context.session.execute(text("SELECT 1 / 0"))
        return 1

    @strawberry.field(extensions=allow(*ALL_ROLES))
    async def slow(self, info: strawberry.Info) -> int:
        await asyncio.sleep(5)
        return 1


def _client(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> httpx.AsyncClient:
    schema = HubSchema(query=WritingQuery, extensions=[UnitOfWork])
    app = create_app(settings, sessions=sessions, schema=schema)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test")


async def _organisations(connection: AsyncConnection) -> int:
    return int((await connection.execute(text(COUNT_ORG), {"code": ORG})).scalar_one())


async def test_a_query_commits_what_its_resolvers_wrote(settings, sessions, connection):
    async with _client(settings, sessions) as client:
        answer = (await client.post("/graphql", json={"query": "{ loggedRead }"})).json()
    assert answer == {"data": {"loggedRead": 1}}
    assert await _organisations(connection) == 1


async def test_a_query_with_an_expected_error_keeps_what_it_answered(settings, sessions, connection):
    async with _client(settings, sessions) as client:
        answer = (await client.post("/graphql", json={"query": "{ loggedRead refused }"})).json()
    assert answer["data"] == {"loggedRead": 1, "refused": None}
    assert [e["extensions"]["code"] for e in answer["errors"]] == ["FORBIDDEN"]
    assert await _organisations(connection) == 1


async def test_an_unexpected_error_rolls_the_query_back(settings, sessions, connection):
    async with _client(settings, sessions) as client:
        answer = (await client.post("/graphql", json={"query": "{ loggedRead broken }"})).json()
    assert answer["data"] is None
    assert [e["extensions"]["code"] for e in answer["errors"]] == ["INTERNAL"]
    assert await _organisations(connection) == 0


async def test_a_request_that_times_out_is_rolled_back(sessions, connection):
    async with _client(Settings(request_timeout_seconds=0.5), sessions) as client:
        response = await client.post("/graphql", json={"query": "{ loggedRead slow }"})
    assert response.status_code == 504
    assert response.json()["errors"][0]["extensions"]["code"] == "TIMEOUT"
    assert await _organisations(connection) == 0


async def test_the_helper_commits_at_the_end_and_rolls_back_on_error(sessions, connection):
    with pytest.raises(ZeroDivisionError):
        async with unit_of_work(sessions) as session:
            await auth.register_organisation(session, ORG, "回滚测试公司", Role.BANK)
            raise ZeroDivisionError
    assert await _organisations(connection) == 0
    async with unit_of_work(sessions) as session:
        await auth.register_organisation(session, ORG, "提交测试公司", Role.BANK)
    assert await _organisations(connection) == 1


async def test_settling_without_keeping_leaves_nothing_for_the_end_to_commit(sessions, connection):
    async with unit_of_work(sessions) as session:
        await auth.register_organisation(session, ORG, "结算测试公司", Role.BANK)
        await settle(session, keep=False)
    assert await _organisations(connection) == 0


async def test_a_read_costs_one_commit_and_no_rollback(settings, engine: AsyncEngine):
    """On a real engine (not the test's savepoints): the transaction a read opens ends in one COMMIT,
    where it used to end in one ROLLBACK; the request's own end adds nothing."""
    ended: list[str] = []

    def on_commit(conn: object) -> None:
        ended.append("COMMIT")

    def on_rollback(conn: object) -> None:
        ended.append("ROLLBACK")

    app = create_app(settings, sessions=make_sessionmaker(engine))
    event.listen(engine.sync_engine, "commit", on_commit)
    event.listen(engine.sync_engine, "rollback", on_rollback)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test") as c:
            answer = await gql(c, '{ searchEntities(name: "读取") { totalCount } }')
    finally:
        event.remove(engine.sync_engine, "commit", on_commit)
        event.remove(engine.sync_engine, "rollback", on_rollback)
    assert answer == {"data": {"searchEntities": {"totalCount": 0}}}
    assert ended == ["COMMIT"]
