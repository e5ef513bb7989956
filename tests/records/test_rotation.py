"""`credit-hub keys rotate`: every row onto the current wrapping key, in short batches, no primary key
changed, reads right throughout, resumable after kill -9; `keys status` counts rows per version."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from adapters.keyfile import KeyFile
from hub.auth.caller import Role
from hub.crypto import KeyRing, StaticKeyProvider
from hub.db import asyncpg_dsn, make_engine
from hub.records.sealing.fields import opened_content
from hub.records.sealing.service import key_status, rotate
from hub.settings import Settings
from tests.bench.key_rotation import _Row, fill, fresh_key_file, representative_id
from tests.conftest import Actor, company_code, gov_code
from tests.databases import Roles
from tests.live import live_token, serving
from tests.records.builders import person_record, push_ok, records_of
from tests.records.test_sealing import REPRESENTATIVE_ID, company_penalty, stored

PRIMARY_KEY = "uscc, source_dept, source_record_id, version"


async def keys_and_rows(connection: AsyncConnection) -> list[Any]:
    rows = await connection.execute(
        text(
            f"SELECT {PRIMARY_KEY}, content_hash, key_version, wrapped_key FROM records ORDER BY {PRIMARY_KEY}"
        )
    )
    return list(rows)


async def test_rotation_moves_every_row_onto_the_new_version_and_keeps_every_key(
    client: httpx.AsyncClient,
    actors: dict[str, Actor],
    connection: AsyncConnection,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    dept = actors["department"]
    records = [company_penalty(dept.code, company_code(80 + i), f"罚-R{i}") for i in range(5)]
    await push_ok(
        client, dept, [*records, person_record("administrative_penalty", dept.code, record_id="罚-RP")]
    )
    await push_ok(
        client, dept, [company_penalty(dept.code, company_code(80), "罚-R0", FRDB="李四")], key="v2"
    )
    before = await keys_and_rows(connection)
    tags_before = [v.tags for v in await stored(connection, "罚-R0")]
    assert {r.key_version for r in before} == {1} and len(before) == 7
    rotated = StaticKeyProvider(settings.master_key, current_version=2)

    async with sessions() as session:
        assert (await key_status(session, rotated)).by_version == {1: 7}
    moved = await rotate(sessions, rotated, batch_rows=2)

    after = await keys_and_rows(connection)
    assert moved == 7
    assert [r[:5] for r in after] == [r[:5] for r in before]  # primary keys and row keys as they were
    assert {r.key_version for r in after} == {2}
    assert not {bytes(r.wrapped_key) for r in after} & {bytes(r.wrapped_key) for r in before}
    async with sessions() as session:
        status = await key_status(session, rotated)
    assert (status.by_version, status.behind) == ({2: 7}, 0)
    # Both versions of 罚-R0 open under the new key to what was pushed.
    versions = await stored(connection, "罚-R0")
    assert [v.tags for v in versions] == tags_before  # their key is never rotated: the tags stay
    assert [opened_content(rotated, v)["FRDB"] for v in versions] == ["张三", "李四"]
    assert opened_content(rotated, versions[0])["FR_ZJHM"] == REPRESENTATIVE_ID
    assert await rotate(sessions, rotated, batch_rows=2) == 0  # nothing left: a no-op
    # Each finished rotation is an administrative entry of the access log.
    logged = await connection.execute(
        text(
            "SELECT subject FROM access_log_entries WHERE kind = 'admin' AND action = 'keys.rotated' ORDER BY id"
        )
    )
    assert [r[0] for r in logged][-2:] == [
        "every sealed row on wrapping key version 2 (7 moved)",
        "every sealed row on wrapping key version 2 (0 moved)",
    ]


async def test_rotation_seals_rows_written_before_encryption_at_rest(
    client: httpx.AsyncClient,
    actors: dict[str, Actor],
    connection: AsyncConnection,
    sessions: async_sessionmaker[AsyncSession],
    keys: StaticKeyProvider,
) -> None:
    """A row as migration 0012 leaves it (key_version 0, personal fields plain in `content`, the
    unkeyed digest) is sealed, gets the keyed digest, and a re-push of the same record is unchanged."""
    dept, company = actors["department"], company_code(90)
    record = company_penalty(dept.code, company)
    await push_ok(client, dept, [record])
    (row,) = await stored(connection, "罚-S1")
    plain = {**row.content, "FRDB": "张三", "FR_ZJLX": "身份证", "FR_ZJHM": REPRESENTATIVE_ID}
    await connection.execute(
        text(
            "UPDATE records SET content = CAST(:plain AS jsonb), content_hash = :legacy, sealed = NULL, "
            "tags = NULL, key_version = 0, wrapped_key = NULL, id_index = NULL WHERE source_record_id = '罚-S1'"
        ),
        {"plain": json.dumps(plain), "legacy": b"\x00" * 16},
    )
    assert await rotate(sessions, keys, batch_rows=10) == 1
    (sealed,) = await stored(connection, "罚-S1")
    assert sealed.key_version == 1 and set(sealed.sealed) == {"FRDB", "FR_ZJHM"}
    assert "张三" not in sealed.raw and REPRESENTATIVE_ID not in sealed.raw
    assert bytes(sealed.content_hash) == bytes(row.content_hash)  # the keyed digest a push computes
    assert sealed.id_index == row.id_index  # and indexed for the look-up by ID number
    again = await push_ok(client, dept, [record], key="again")
    assert again["results"][0]["outcome"] == "UNCHANGED"
    shown = (await records_of(client, actors["credit_office"], company))["罚-S1"]["fields"]
    assert (shown["FRDB"], shown["FR_ZJHM"]) == ("张三", REPRESENTATIVE_ID)


# --- a real rotation process, killed and resumed, read throughout -----------------------------------

# 1,000 batches of 20: the kill lands long before the end.
ROWS = 20_000


def _cli(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hub.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


async def _versions(dsn: str) -> dict[int, int]:
    conn = await asyncpg.connect(dsn)
    try:
        return dict(await conn.fetch("SELECT key_version, count(*) FROM records GROUP BY 1"))
    finally:
        await conn.close()


async def _read_sample(dsn: str, keys: KeyRing) -> int:
    """Open 50 random rows as a reader would, checking each value; the number read."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT uscc, source_dept, source_record_id, content, content_hash, sealed, key_version, "
            "wrapped_key FROM records ORDER BY random() LIMIT 50"
        )
    finally:
        await conn.close()
    for row in rows:
        opened = opened_content(keys, _Row(row))
        i = int(opened["WSH"].split("〕")[1].rstrip("号"))
        assert opened["FR_ZJHM"] == representative_id(i)
    return len(rows)


BY_ID = "query($n: String!) { recordsByIdNumber(idNumber: $n) { sourceRecordId fields } }"


async def _read_through_hub(client: httpx.AsyncClient, token: str, serial: int) -> int:
    """A credit-office look-up through a running `credit-hub serve` (another process, which learns of
    the new key version from the key file): the record it finds opens to what was written."""
    number = representative_id(serial)
    answer = await client.post(
        "/graphql",
        json={"query": BY_ID, "variables": {"n": number}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text
    (record,) = answer.json()["data"]["recordsByIdNumber"]
    assert record["sourceRecordId"] == f"哈市监罚〔2026〕{serial}号" and record["fields"]["FR_ZJHM"] == number
    return 1


async def test_a_rotation_killed_mid_run_resumes_and_reads_work_throughout(
    roles: Roles, settings: Settings, tmp_path: Path
) -> None:
    database = f"{roles.owner.removesuffix('_owner')}_rotation"
    await roles.create_database(database)
    try:
        key_file = tmp_path / "keys.json"
        keys = KeyRing(settings.master_key, fresh_key_file(key_file))
        await fill(roles.owner_url(database), keys, ROWS)
        server = roles.server_url(database).render_as_string(hide_password=False)
        dsn = asyncpg_dsn(roles.server_url(database))
        env = {**os.environ, "HUB_DATABASE_URL": server, "HUB_KEY_FILE": str(key_file)}
        env["HUB_MASTER_KEY"] = settings.master_key.get_secret_value()

        engine = make_engine(roles.server_url(database), pool_size=1)
        token = await live_token(engine, gov_code(1), "市信用办", Role.CREDIT_OFFICE)
        await engine.dispose()
        hub_env = {"HUB_KEY_FILE": str(key_file), "HUB_MASTER_KEY": env["HUB_MASTER_KEY"]}
        served = 0
        with serving(roles.server_url(database), tmp_path / "hub.log", hub_env) as base:
            async with httpx.AsyncClient(base_url=base, timeout=30) as hub:
                served += await _read_through_hub(hub, token, 0)
                first = _cli(env, "keys", "rotate", "--batch", "20")
                assert first.stdout is not None
                assert "version 2 added" in first.stdout.readline()
                read, lines = 0, 0
                # Read while it rotates (every 10th batch), until it has moved a quarter of the rows.
                while True:
                    line = first.stdout.readline()
                    assert line.startswith("moved"), line + first.communicate()[1]
                    lines += 1
                    if int(line.split()[1]) >= ROWS // 4:
                        break
                    if lines % 10 == 0:
                        read += await _read_sample(dsn, keys)
                        served += await _read_through_hub(hub, token, random.randrange(ROWS))
                first.send_signal(signal.SIGKILL)
                first.wait(timeout=30)
                assert first.returncode == -signal.SIGKILL
                halfway = await _versions(dsn)
                assert (
                    halfway.get(1, 0) > 0 and halfway.get(2, 0) >= ROWS // 4 and sum(halfway.values()) == ROWS
                )
                read += await _read_sample(dsn, keys)

                resumed = _cli(env, "keys", "rotate", "--batch", "500")
                out, err = resumed.communicate(timeout=300)
                assert resumed.returncode == 0, err
                assert out.startswith(f"resuming: {halfway[1]} rows below version 2"), out
                assert "rows on an older version: 0" in out
                assert await _versions(dsn) == {2: ROWS}
                assert sorted(KeyFile(key_file).versions()) == [1, 2]  # resumed: no third key
                read += await _read_sample(dsn, keys)
                served += await _read_through_hub(hub, token, random.randrange(ROWS))
                assert read >= 200 and served >= 5

                status = _cli(env, "keys", "status")
                out, err = status.communicate(timeout=120)
                assert status.returncode == 0, err
                assert "current wrapping key version: 2" in out and f"version 2: {ROWS} rows" in out
    finally:
        await roles.drop_database(database)
