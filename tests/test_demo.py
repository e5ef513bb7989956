"""The demo data set loads through the real services, once, and covers what the README promises."""

from __future__ import annotations

from sqlalchemy import text

from hub.demo import load_demo


async def test_demo_loads_every_kind_of_data_once(session, connection, keys) -> None:
    tokens = await load_demo(session, keys, entities=300, seed=7)
    await session.commit()
    assert set(tokens) == {"credit_office", "province", "bank", "association", "department", "entity"}
    assert all(secret.startswith("chub_") for _, secret in tokens.values())

    async def scalar(sql: str) -> int:
        return int((await connection.execute(text(sql))).scalar_one())

    types = {r[0] for r in (await connection.execute(text("SELECT DISTINCT record_type FROM records"))).all()}
    assert {
        "administrative_licence",
        "administrative_penalty",
        "inspection_result",
        "public_evaluation",
        "industry_evaluation",
    } <= types
    assert await scalar("SELECT count(DISTINCT source_dept) FROM records") >= 5
    assert await scalar("SELECT count(DISTINCT district) FROM entities") >= 6
    assert await scalar("SELECT count(*) FROM classifications") > 300
    # Natural persons are archived under pseudonymous keys.
    assert await scalar("SELECT count(*) FROM records WHERE uscc LIKE 'P%'") == 20
    before = await scalar("SELECT count(*) FROM records")
    again = await load_demo(session, keys, entities=300, seed=7)  # a second run only issues fresh tokens
    await session.commit()
    assert set(again) == set(tokens) and await scalar("SELECT count(*) FROM records") == before
