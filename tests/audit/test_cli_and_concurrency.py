"""`credit-hub audit integrate|verify` as real processes, and concurrent appends from several hub
processes while their sequencers race: indices stay gap-free, every entry integrated once. Each test
has a database of its own (they commit)."""

from __future__ import annotations

import asyncio
import secrets
import sys
import textwrap
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL

from hub.audit import service
from hub.audit.service import Read, Who
from hub.db import make_engine, make_sessionmaker, unit_of_work
from hub.settings import Settings
from tests.conftest import company_code
from tests.databases import Roles
from tests.test_cli import run

BANK = Who("bank", "91230100B00000014T", 1)


@pytest.fixture
async def own_database(roles: Roles) -> AsyncIterator[str]:
    name = f"hub_audit_{secrets.token_hex(4)}"
    await roles.create_database(name)
    yield name
    await roles.drop_database(name)


async def _append(url: URL, n: int) -> None:
    engine = make_engine(url, pool_size=1)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            for i in range(n):
                await service.record_read(
                    session, BANK, Read(company_code(500 + i), ["record.penalty.amount"])
                )
    finally:
        await engine.dispose()


async def test_the_cli_integrates_verifies_and_names_the_first_bad_index(
    roles: Roles, own_database: str
) -> None:
    server, owner = roles.server_url(own_database), roles.owner_url(own_database)
    await _append(server, 6)
    done = run(server, "audit", "integrate", HUB_ACCESS_LOG_CHECKPOINT_ENTRIES="1")
    assert done.returncode == 0 and "integrated 6 entries" in done.stdout, done.stderr
    good = run(server, "audit", "verify")
    assert good.returncode == 0 and "ok" in good.stdout, good.stdout + good.stderr
    engine = make_engine(owner, pool_size=1)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE access_log_entries SET fields = '{}' WHERE id = "
                "(SELECT entry_id FROM access_log_leaves WHERE leaf_index = 4)"
            )
        )
    await engine.dispose()
    bad = run(server, "audit", "verify")
    assert bad.returncode == 1 and "first bad index 4" in bad.stdout, bad.stdout + bad.stderr


# One hub process: appends `n` entries in small transactions and runs the sequencer between them.
_WORKER = textwrap.dedent(
    """
    import asyncio, sys
    from sqlalchemy.engine import make_url
    from hub.audit import service
    from hub.crypto import StaticKeyProvider
    from hub.db import make_engine, make_sessionmaker, unit_of_work
    from hub.settings import Settings

    async def main(url, worker, n):
        settings = Settings(access_log_checkpoint_entries=50, access_log_batch=37)
        keys = StaticKeyProvider(settings.master_key)
        engine = make_engine(make_url(url), pool_size=2)
        sessions = make_sessionmaker(engine)
        who = service.Who("bank", f"W{worker}", worker)
        for i in range(n):
            async with unit_of_work(sessions) as session:
                await service.record_reads(session, who, [service.Read(f"U{worker}-{i}-{k}", ["f"]) for k in range(3)])
            if i % 5 == 0:
                async with unit_of_work(sessions) as session:
                    await service.integrate(session, settings, keys)
        await engine.dispose()

    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
    """
)


async def test_concurrent_processes_append_and_sequence_gap_free(
    roles: Roles, own_database: str, settings: Settings
) -> None:
    server = roles.server_url(own_database)
    url = server.render_as_string(hide_password=False)
    workers, per_worker = 4, 60
    processes = [
        await asyncio.create_subprocess_exec(sys.executable, "-c", _WORKER, url, str(w), str(per_worker))
        for w in range(workers)
    ]
    assert [await p.wait() for p in processes] == [0] * workers
    keys = __import__("hub.crypto", fromlist=["StaticKeyProvider"]).StaticKeyProvider(settings.master_key)
    engine = make_engine(server, pool_size=1)
    sessions = make_sessionmaker(engine)
    while True:  # drain what the last runs left
        async with unit_of_work(sessions) as session:
            if (await service.integrate(session, settings, keys)).added == 0:
                break
    async with unit_of_work(sessions) as session:
        total = workers * per_worker * 3
        rows = (
            await session.execute(text("SELECT leaf_index, entry_id FROM access_log_leaves ORDER BY 1"))
        ).all()
        assert [r[0] for r in rows] == list(range(total))  # gap-free
        entries = {int(i) for (i,) in await session.execute(text("SELECT id FROM access_log_entries"))}
        assert sorted(r[1] for r in rows) == sorted(entries)  # each entry exactly once
        report = await service.verify(session, settings, keys)
    await engine.dispose()
    assert report.ok, report.problems
    # A checkpoint once 50 entries passed since the last; a run adds up to 37 entries.
    assert report.size == total and report.checkpoints >= total // (50 + 37)


async def test_the_entry_is_committed_before_the_answer_leaves(roles: Roles, own_database: str) -> None:
    """The real app on a database of its own (real commits): when the entry cannot be committed (a
    deferred trigger fails at COMMIT, as a full disk or a lost primary would), the reader gets no
    data; when it can, another connection sees the entry as soon as the answer has arrived."""
    import httpx

    from hub.auth import service as auth
    from hub.auth.caller import Role
    from hub.web.app import create_app
    from tests.conftest import Actor, gov_code
    from tests.records.builders import ENTITY, push_ok, valid_record

    server, owner = roles.server_url(own_database), roles.owner_url(own_database)
    engine = make_engine(server, pool_size=2)
    sessions = make_sessionmaker(engine)
    people: dict[str, Actor] = {}
    async with unit_of_work(sessions) as session:
        for key, code, role in (
            ("office", gov_code(1), Role.CREDIT_OFFICE),
            ("dept", gov_code(2), Role.DEPARTMENT),
        ):
            await auth.register_organisation(session, code, key, role, None)
            people[key] = Actor(
                code, role, (await auth.issue_token(session, code, key, 1, by="tests")).secret
            )
    uscc = company_code(1)
    app = create_app(Settings(access_log_sequencer_seconds=0), sessions=sessions)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub.test"
    ) as client:
        dept = people["dept"]
        record = valid_record("administrative_penalty", dept.code, uscc, record_id="P1", BZ="内部备注")
        await push_ok(client, dept, [record], "p")

        async def read() -> dict[str, object]:
            response = await client.post(
                "/graphql",
                json={"query": ENTITY, "variables": {"uscc": uscc}},
                headers=people["office"].headers,
            )
            body: dict[str, object] = response.json()
            return body

        body = await read()
        [named] = body["extensions"]["access"]  # type: ignore[index]
        watcher = make_engine(owner, pool_size=1)
        async with watcher.connect() as conn:
            seen = await conn.scalar(
                text("SELECT count(*) FROM access_log_entries WHERE id = :i"), {"i": int(named["entry"])}
            )
            assert seen == 1
            for sql in (
                "CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'disk full'; END $$",
                "CREATE CONSTRAINT TRIGGER refuse AFTER INSERT ON access_log_entries DEFERRABLE INITIALLY "
                "DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_at_commit()",
            ):
                await conn.execute(text(sql))
            await conn.commit()
            refused = await read()
            assert refused["data"] is None, refused
            assert "access" not in (refused.get("extensions") or {})  # type: ignore[operator]
            count = await conn.scalar(text("SELECT count(*) FROM access_log_entries WHERE kind = 'read'"))
            assert count == 1
        await watcher.dispose()
    await engine.dispose()
