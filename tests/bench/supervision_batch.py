"""`supervisionBatch` for 1,000 codes: requests/s, and the proof that statements do not grow with the batch.

An approval system checks many applicants at once; the figure is answers per second through the
real app (in-process, sequential requests), with the SQL statements counted for 10 and 1,000 codes.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth import service as auth
from hub.auth.caller import Caller, Role
from hub.crypto import StaticKeyProvider
from hub.db import count_statements, make_engine, make_sessionmaker
from hub.entities.codes import make_uscc
from hub.records.ingestion.service import RecordInput, push_records
from hub.web.app import create_app
from tests.bench import support

# Per process, so the small pytest run and `make bench` never share it.
DATABASE = f"hub_bench_supervision_{os.getpid()}"
PROVINCE = make_uscc("1", "1", "230000", "00000020")
BANK = make_uscc("9", "1", "230100", "B0000001")
QUERY = """query($u: [String!]!) { supervisionBatch(usccs: $u, domain: "market_regulation") {
  uscc category grade basis measures { samplingRatioMax restrictions incentives } } }"""


def _public(uscc: str, serial: int, today: dt.date) -> RecordInput:
    grade = "ABCDE"[serial % 5]
    fields = {
        "XDR_MC": f"基准测试企业{serial}",
        "XDR_LB": "法人及非法人组织",
        "XDR_SHXYM": uscc,
        "PJBH": f"B-{serial}",
        "PJMX": "heilongjiang",
        "PJDJ": grade,
        "PJND": str(today.year - 1),
        "PJRQ": (today - dt.timedelta(days=10)).isoformat(),
        "YXQZ": dt.date(today.year + 1, 12, 31).isoformat(),
        "PJJG": "省信用平台",
        "PJJGDM": PROVINCE,
        "LYDW": "省信用平台",
        "LYDWDM": PROVINCE,
    }
    return RecordInput("public_evaluation", f"B-{serial}", fields)


async def run(codes: int = 1000, requests: int = 200) -> dict[str, Any]:
    settings = support.bench_settings()
    url = await support.fresh_database(settings, DATABASE)
    engine = make_engine(url, pool_size=4)
    sessions = make_sessionmaker(engine)
    today = dt.date.today()
    usccs = [make_uscc("9", "1", "230102", f"T{i:07d}") for i in range(codes)]
    async with engine.begin() as conn:
        session = AsyncSession(bind=conn)
        await auth.register_organisation(session, PROVINCE, "省信用平台", Role.PROVINCE)
        await auth.register_organisation(session, BANK, "基准测试银行", Role.BANK)
        token = (await auth.issue_token(session, BANK, "bench", 1, by="bench")).secret
        province = Caller(Role.PROVINCE, PROVINCE, "省信用平台")
        items = [_public(u, i, today) for i, u in enumerate(usccs)]
        for start in range(0, len(items), 1000):
            await push_records(
                session,
                province,
                items[start : start + 1000],
                idempotency_key=f"bench-{start}",
                keys=StaticKeyProvider(settings.master_key),
                max_records=1000,
                today=today,
            )
        await session.flush()
    app = create_app(settings, sessions=sessions)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:

        async def ask(batch: list[str]) -> dict[str, Any]:
            response = await client.post(
                "/graphql", json={"query": QUERY, "variables": {"u": batch}}, headers=headers
            )
            body: dict[str, Any] = response.json()
            assert "errors" not in body, body
            return body

        statements = {}
        for size in (10, codes):
            async with count_statements(engine) as seen:
                answer = await ask(usccs[:size])
            statements[size] = len(seen)
            assert len(answer["data"]["supervisionBatch"]) == size
        started = time.perf_counter()
        for _ in range(requests):
            await ask(usccs)
        seconds = time.perf_counter() - started
    await engine.dispose()
    await support.drop_database(settings, DATABASE)
    return {
        "codes": codes,
        "requests": requests,
        "requests_per_second": requests / seconds,
        "answers_per_second": requests * codes / seconds,
        "statements": statements,
    }


def report(r: dict[str, Any]) -> list[str]:
    small, large = sorted(r["statements"])
    return [
        f"supervisionBatch, {r['codes']:,} codes per request, {r['requests']} sequential requests in-process",
        f"  {r['requests_per_second']:.1f} req/s = {r['answers_per_second']:,.0f} answers/s; "
        f"statements: {r['statements'][small]} for {small} codes, {r['statements'][large]} for {large:,}",
    ]


async def main() -> dict[str, Any]:
    result = await run()
    print("\n".join(report(result)), flush=True)
    return result
