"""`authorizedProfile` against the same read without the grant: requests/s, and the grant's signature check.

One bank reads one entity's supervision result and its penalties, sequentially, through the real app
(in-process): under its authorisation (`authorizedProfile`: the grant read and locked, its caps
checked, the use counted, the gate told the tier, the access-log entry written in the read's
transaction), and as the same fields without it (`supervision` + `entity.records`, the role's own
view, which shows no non-public data and so writes no entry). The two are measured in alternating
blocks in the same run; the figure is their ratio (issue 9: at least 0.7). The signature check is `hub.consents.artefact.verify` of the grant's JWS,
per call, against the raw Ed25519 verification of the same bytes as its baseline.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import time
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth import service as auth
from hub.auth.caller import Caller, Role
from hub.consents import artefact, purposes, service
from hub.crypto import StaticKeyProvider, signature_valid
from hub.db import make_engine, make_sessionmaker
from hub.entities.codes import make_uscc
from hub.records.ingestion.service import RecordInput, push_records
from hub.web.app import create_app
from tests.bench import support

DATABASE = f"hub_bench_authorized_{os.getpid()}"
BANK = make_uscc("9", "1", "230100", "B0000001")
ENTITY = make_uscc("9", "1", "230102", "E0000001")
FIELDS = "uscc category grade basis"
GRANTED = f"""query($u: String!, $a: ID!) {{ authorizedProfile(uscc: $u, authorisation: $a) {{ __typename
  ... on AuthorizedProfile {{ supervision(domain: "market_regulation") {{ {FIELDS} }}
    records(first: 20, recordTypes: ["administrative_penalty"]) {{ totalCount edges {{ node {{ recordType fields }} }} }} }}
  ... on Problem {{ code }} }} }}"""
UNGRANTED = f"""query($u: String!) {{ supervision(uscc: $u, domain: "market_regulation") {{ {FIELDS} }}
  entity(uscc: $u) {{ records(first: 20, filter: {{ recordTypes: ["administrative_penalty"] }}) {{
    totalCount edges {{ node {{ recordType fields }} }} }} }} }}"""
# A purpose of the credit office's for the benchmark: the shipped ones allow 10 reads a day.
BENCH_PURPOSE = {
    "code": "bench_loan_assessment",
    "name_zh": "基准测试用途",
    "name": "Benchmark",
    "basis": "tests/bench",
    "requester_roles": ["bank"],
    "max_validity_days": 30,
    "reads_per_day": 1_000_000,
    "reads_total": 1_000_000,
    "items": {"supervision": "full", "records.administrative_penalty": "masked"},
}


def _penalty(dept: str, serial: int, today: dt.date) -> RecordInput:
    fields = {
        "XDR_MC": "基准授权测试有限公司",
        "XDR_LB": "法人及非法人组织",
        "XDR_SHXYM": ENTITY,
        "WSH": f"哈市监罚〔2026〕{serial}号",
        "WFXW": "未按规定公示年度报告",
        "SY": "经查，当事人未按规定公示年度报告。",
        "YJ": "《企业信息公示暂行条例》第八条",
        "CFLB": ["罚款"],
        "NR": "罚款人民币五千元",
        "NR_FK": "0.5",
        "JDRQ": (today - dt.timedelta(days=10 + serial)).isoformat(),
        "CFJG": support.DEPT_NAME,
        "CFJGDM": dept,
        "SJLY": support.DEPT_NAME,
        "SJLYDM": dept,
    }
    return RecordInput("administrative_penalty", f"AP-{serial}", fields)


async def _set_up(settings: Any, sessions: Any, engine: Any) -> tuple[str, str]:
    """The bank's token and an approved grant of the entity (its id), committed."""
    keys = StaticKeyProvider(settings.master_key)
    today = dt.date.today()
    now = dt.datetime.now(dt.UTC)
    async with engine.begin() as conn:
        session = AsyncSession(bind=conn)
        await auth.register_organisation(
            session, support.DEPT_CODE, support.DEPT_NAME, Role.DEPARTMENT, "market_regulation"
        )
        await auth.register_organisation(session, BANK, "基准测试银行", Role.BANK)
        token = (await auth.issue_token(session, BANK, "bench", 1, by="bench")).secret
        department = Caller(Role.DEPARTMENT, support.DEPT_CODE, support.DEPT_NAME)
        await push_records(
            session,
            department,
            [_penalty(support.DEPT_CODE, i, today) for i in range(5)],
            idempotency_key="bench-authorized",
            keys=keys,
            max_records=1000,
            today=today,
        )
        await purposes.save_purpose(session, BENCH_PURPOSE, by="bench")
        bank = Caller(Role.BANK, BANK, "基准测试银行")
        scope = [
            service.ScopeItem("supervision", "full"),
            service.ScopeItem("records.administrative_penalty", "masked"),
        ]
        grant = await service.request(
            session, bank, service.GrantRequest(ENTITY, BENCH_PURPOSE["code"], scope, 30), now
        )
        await service.approve(session, Caller(Role.ENTITY, ENTITY), keys, str(grant.id), now)
        await session.flush()
    return token, str(grant.id)


def _signature_check(keys: StaticKeyProvider, jws: str, rounds: int) -> dict[str, float]:
    published = artefact.published_keys(keys)
    [public] = published.values()
    header, payload, signature = jws.split(".")
    signing_input = f"{header}.{payload}".encode("ascii")
    raw_signature = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    started = time.perf_counter()
    for _ in range(rounds):
        artefact.verify(jws, published)
    checked = (time.perf_counter() - started) / rounds
    started = time.perf_counter()
    for _ in range(rounds):
        signature_valid(public, raw_signature, signing_input)
    raw = (time.perf_counter() - started) / rounds
    return {"check_ms": checked * 1000, "raw_verify_ms": raw * 1000, "ratio_to_raw": checked / raw}


async def run(requests: int = 400, block: int = 50, rounds: int = 2000) -> dict[str, Any]:
    settings = support.bench_settings()
    url = await support.fresh_database(settings, DATABASE)
    engine = make_engine(url, pool_size=4)
    sessions = make_sessionmaker(engine)
    try:
        token, grant = await _set_up(settings, sessions, engine)
        app = create_app(settings, sessions=sessions)
        headers = {"Authorization": f"Bearer {token}"}
        granted_variables = {"u": ENTITY, "a": grant}
        seconds = {"granted": 0.0, "ungranted": 0.0}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench"
        ) as client:

            async def ask(query: str, variables: dict[str, Any]) -> dict[str, Any]:
                response = await client.post(
                    "/graphql", json={"query": query, "variables": variables}, headers=headers
                )
                body: dict[str, Any] = response.json()
                assert "errors" not in body, body
                return body

            first = await ask(GRANTED, granted_variables)
            profile = first["data"]["authorizedProfile"]
            assert profile["__typename"] == "AuthorizedProfile", profile
            assert profile["records"]["totalCount"] == 5, profile
            plain = await ask(UNGRANTED, {"u": ENTITY})
            assert plain["data"]["supervision"]["uscc"] == ENTITY, plain
            for _ in range(0, requests, block):  # alternating blocks: both see the same machine
                for name, query, variables in (
                    ("granted", GRANTED, granted_variables),
                    ("ungranted", UNGRANTED, {"u": ENTITY}),
                ):
                    started = time.perf_counter()
                    for _ in range(block):
                        await ask(query, variables)
                    seconds[name] += time.perf_counter() - started
        async with sessions() as session:
            row = await service.visible(session, Caller(Role.CREDIT_OFFICE), grant)
            jws = str(row.jws)
        signature = _signature_check(StaticKeyProvider(settings.master_key), jws, rounds)
    finally:
        await engine.dispose()
        await support.drop_database(settings, DATABASE)
    done = (requests // block) * block
    granted, ungranted = done / seconds["granted"], done / seconds["ungranted"]
    return {
        "requests": done,
        "granted_per_second": granted,
        "ungranted_per_second": ungranted,
        "ratio": granted / ungranted,
        "signature": signature,
    }


def report(r: dict[str, Any]) -> list[str]:
    s = r["signature"]
    return [
        f"authorizedProfile vs the same read without the grant, {r['requests']} sequential requests each, in-process",
        f"  {r['granted_per_second']:.0f} req/s vs {r['ungranted_per_second']:.0f} req/s = {r['ratio']:.2f}x "
        "(grant check, count, tier and the access-log entry)",
        f"  grant signature check {s['check_ms'] * 1000:.0f} µs (target < 200 µs); raw Ed25519 verify "
        f"{s['raw_verify_ms'] * 1000:.0f} µs; {s['ratio_to_raw']:.2f}x",
    ]


async def main() -> dict[str, Any]:
    result = await run()
    print("\n".join(report(result)), flush=True)
    return result
