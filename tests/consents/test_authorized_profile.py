"""authorizedProfile: an entity's ratings, classification and archive read under its authorisation.

The matrix below is the disclosure idea extended with the grant's states: for {no authorisation,
active, expired, revoked, paused, out of scope, over cap} × {bank, association}, what comes back —
the data within the scope, or the refusal's code — and whether the read was counted. Then: the
gate is told the tier; uses are counted atomically under concurrent reads; a revocation holds from
the very next request in another hub process.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.auth.caller import Caller, Role
from hub.consents import service
from hub.db import make_engine
from hub.disclosure.gate import Disclosure
from hub.disclosure.policy import ROLE_POLICY, Item, Ruling, Subject
from hub.errors import Conflict
from hub.web.app import create_app
from tests.conftest import company_code, gql
from tests.consents.support import (
    APPROVE,
    DOMAIN,
    PAUSE,
    PROFILE,
    REVOKE,
    SUPERVISION_ONLY,
    active_grant,
    ask,
    decide,
    expire,
    outbox,
    registered,
)
from tests.live import live_token

# The purpose each requester reads under: both cover supervision (full) and penalties (masked).
PURPOSE = {"bank": "loan_assessment", "association": "bidding_qualification"}
SCOPE = [
    {"item": "supervision", "tier": "FULL"},
    {"item": "records.administrative_penalty", "tier": "MASKED"},
]


@dataclass
class Case:
    setup: str  # how the grant is brought to its state
    code: str | None  # the refusal's code, None when the read is answered
    counted: int  # reads of the grant after the matrix's read


# State → what comes back, by hand: the read under an active grant shows the supervision result
# and the penalty (granted), never the licence (not granted); every other state is refused.
MATRIX: dict[str, Case] = {
    "no authorisation": Case("none", "UNKNOWN_AUTHORISATION", 0),
    "another's authorisation": Case("another requester", "NOT_YOUR_AUTHORISATION", 0),
    "another entity's authorisation": Case("another entity", "AUTHORISATION_OTHER_ENTITY", 0),
    "requested, not approved": Case("requested", "AUTHORISATION_NOT_APPROVED", 0),
    "active": Case("active", None, 1),
    "expired": Case("expired", "AUTHORISATION_EXPIRED", 0),
    "revoked": Case("revoked", "AUTHORISATION_REVOKED", 0),
    "paused": Case("paused", "AUTHORISATION_PAUSED", 0),
    "out of scope": Case("supervision only", "OUT_OF_SCOPE", 0),
    "over the total cap": Case("one read in all, used", "READS_TOTAL_REACHED", 1),
    "over the daily cap": Case("one read a day, used", "READS_PER_DAY_REACHED", 1),
}
REQUESTERS = ("bank", "association")
CELLS = [(state, requester) for state in MATRIX for requester in REQUESTERS]


async def _grant(client, actors, connection, requester: str, setup: str) -> str:
    """A grant of the entity actor to `requester`, in the state `setup` names (its id)."""
    if setup == "none":
        return str(uuid.uuid4())
    entity, asker = actors["entity"], actors[requester]
    purpose = PURPOSE[requester]
    if setup == "another requester":
        other = "association" if requester == "bank" else "bank"
        asked = await ask(client, actors[other], entity.code, purpose=PURPOSE[other], scope=SCOPE)
        await decide(client, entity, APPROVE, asked["id"])
        return str(asked["id"])
    if setup == "another entity":
        # A grant of the right requester, but by another entity (asked and approved in the database).
        other = company_code(7801)
        await registered(client, actors, other, "other-entity")
        asked = await ask(client, asker, other, purpose=purpose, scope=SCOPE)
        await connection.execute(
            text(
                "UPDATE authorisations SET state = 'active', valid_from = now(),"
                " valid_until = now() + interval '30 days' WHERE id = :i"
            ),
            {"i": asked["id"]},
        )
        return str(asked["id"])
    caps = {"one read in all, used": {"rt": 1, "rd": 1}, "one read a day, used": {"rd": 1, "rt": 5}}.get(
        setup, {}
    )
    scope = [SCOPE[0]] if setup == "supervision only" else SCOPE
    asked = await ask(client, asker, entity.code, purpose=purpose, scope=scope, **caps)
    assert asked["__typename"] == "Authorisation", asked
    grant = str(asked["id"])
    if setup == "requested":
        return grant
    await decide(client, entity, APPROVE, grant)
    if setup == "expired":
        await expire(connection, grant)
    elif setup == "revoked":
        await decide(client, entity, REVOKE, grant)
    elif setup == "paused":
        await decide(client, entity, PAUSE, grant)
    elif setup in caps_used():
        first = await gql(client, PROFILE, {"u": entity.code, "a": grant, "d": DOMAIN}, asker)
        assert first["data"]["authorizedProfile"]["__typename"] == "AuthorizedProfile", first
    return grant


def caps_used() -> tuple[str, ...]:
    return ("one read in all, used", "one read a day, used")


async def _reads(connection, grant: str) -> int:
    value = await connection.scalar(text("SELECT reads_used FROM authorisations WHERE id = :i"), {"i": grant})
    return int(value or 0)


@pytest.mark.parametrize(("state", "requester"), CELLS, ids=[f"{s}-{r}" for s, r in CELLS])
async def test_what_comes_back_in_each_state(client, actors, connection, state, requester):
    case = MATRIX[state]
    entity = actors["entity"]
    await registered(client, actors, entity.code, "matrix")
    grant = await _grant(client, actors, connection, requester, case.setup)
    answer = await gql(client, PROFILE, {"u": entity.code, "a": grant, "d": DOMAIN}, actors[requester])
    assert "errors" not in answer, answer
    profile = answer["data"]["authorizedProfile"]
    if case.code is None:
        assert profile["__typename"] == "AuthorizedProfile", profile
        assert (profile["uscc"], profile["authorisation"], profile["readsUsed"]) == (entity.code, grant, 1)
        assert profile["supervision"] == {"uscc": entity.code, "category": "TRUSTWORTHY"}
        records = profile["records"]
        assert [e["node"]["recordType"] for e in records["edges"]] == ["administrative_penalty"]
        assert records["totalCount"] == 1
    else:
        assert profile["code"] == case.code, profile
        assert "AuthorizedProfile" != profile["__typename"]
    if case.setup != "none":
        assert await _reads(connection, grant) == case.counted


async def test_an_expired_grant_is_recorded_expired_by_the_read_that_finds_it(client, actors, connection):
    entity = actors["entity"]
    await registered(client, actors, entity.code, "expiry")
    grant = await active_grant(client, actors)
    await expire(connection, grant["id"])
    for _ in range(2):  # the second read finds it recorded: one event only
        answer = await gql(client, SUPERVISION_ONLY, {"u": entity.code, "a": grant["id"]}, actors["bank"])
        assert answer["data"]["authorizedProfile"]["code"] == "AUTHORISATION_EXPIRED"
    state = await connection.scalar(
        text("SELECT state FROM authorisations WHERE id = :i"), {"i": grant["id"]}
    )
    assert state == "expired"
    assert [e for e, _ in await outbox(connection, grant["id"])][-1:] == ["authorisation.expired"]
    assert [e for e, _ in await outbox(connection, grant["id"])].count("authorisation.expired") == 1


async def test_a_records_type_outside_the_scope_is_refused_before_it_is_counted(client, actors, connection):
    entity = actors["entity"]
    await registered(client, actors, entity.code, "scope")
    grant = await active_grant(client, actors)
    query = """query($u: String!, $a: ID!) { authorizedProfile(uscc: $u, authorisation: $a) { __typename
      ... on AuthorizedProfile { records(recordTypes: ["administrative_licence"]) { totalCount } }
      ... on Problem { code } } }"""
    answer = await gql(client, query, {"u": entity.code, "a": grant["id"]}, actors["bank"])
    assert answer["data"]["authorizedProfile"] == {"__typename": "NotPermitted", "code": "OUT_OF_SCOPE"}
    assert await _reads(connection, grant["id"]) == 0


async def test_a_malformed_code_or_id_is_refused(client, actors):
    answer = await gql(client, SUPERVISION_ONLY, {"u": actors["entity"].code, "a": "x"}, actors["bank"])
    assert answer["data"]["authorizedProfile"]["code"] == "BAD_ID"
    answer = await gql(client, SUPERVISION_ONLY, {"u": "91230102", "a": str(uuid.uuid4())}, actors["bank"])
    assert answer["data"]["authorizedProfile"]["code"] == "USCC_LENGTH"


@dataclass
class TierSpy:
    """The role policy, remembering the tier each ruling was asked with (Subject.tier)."""

    seen: set[tuple[str, str | None, str | None]] = field(default_factory=set)

    def rule(self, caller: Caller, item: Item, name: str, subject: Subject) -> Ruling:
        self.seen.add((item.value, subject.uscc, subject.tier))
        return ROLE_POLICY.rule(caller, item, name, subject)


@pytest.mark.parametrize(
    ("scope", "query", "tier"),
    [
        (SCOPE, PROFILE, "masked"),  # penalties are granted masked: the read is masked
        ([SCOPE[0]], SUPERVISION_ONLY, "full"),  # supervision alone, granted full
    ],
    ids=["masked", "full"],
)
async def test_the_gate_is_told_the_tier_of_what_is_read(
    settings, sessions, client, actors, scope, query, tier
):
    entity = actors["entity"]
    await registered(client, actors, entity.code, "tier")
    grant = await active_grant(client, actors, scope=scope)
    spy = TierSpy()
    app = create_app(settings, sessions=sessions, disclosure_policy=spy)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test") as spied:
        answer = await gql(spied, query, {"u": entity.code, "a": grant["id"], "d": DOMAIN}, actors["bank"])
    assert answer["data"]["authorizedProfile"]["__typename"] == "AuthorizedProfile", answer
    assert ("supervision", entity.code, tier) in spy.seen
    assert {t for i, u, t in spy.seen if u == entity.code} == {tier}


# --- committed, on connections of their own ----------------------------------------------------


@pytest.fixture
async def live_sessions(live_url: URL) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(live_url, pool_size=12)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


async def _live_grant(
    sessions: async_sessionmaker[AsyncSession], keys: Any, serial: int, per_day: int, total: int
) -> tuple[str, str, Caller, Caller]:
    """A committed active grant of a new entity to a new bank: (uscc, grant id, bank, entity)."""
    uscc = company_code(serial)
    bank = Caller(role=Role.BANK, organisation_code=company_code(serial + 1, "230100"))
    entity = Caller(role=Role.ENTITY, organisation_code=uscc)
    async with sessions() as session:
        await session.execute(
            text(
                "INSERT INTO entities (uscc, name, kind, district) VALUES (:u, '并发测试有限公司', 'enterprise',"
                " '230102') ON CONFLICT (uscc) DO NOTHING"
            ),
            {"u": uscc},
        )
        asked = await service.request(
            session,
            bank,
            service.GrantRequest(
                uscc=uscc,
                purpose="loan_assessment",
                scope=[service.ScopeItem("supervision", "full")],
                validity_days=30,
                reads_per_day=per_day,
                reads_total=total,
            ),
            dt.datetime.now(dt.UTC),
        )
        now = dt.datetime.now(dt.UTC)
        await service.approve(session, entity, keys, str(asked.id), now)
        await session.commit()
    return uscc, str(asked.id), bank, entity


async def _one_read(sessions: async_sessionmaker[AsyncSession], bank: Caller, uscc: str, grant: str) -> str:
    async with sessions() as session:
        try:
            await service.use(
                session, bank, uscc, grant, ["supervision"], dt.datetime.now(dt.UTC), Disclosure(bank)
            )
        except Conflict as refusal:
            await session.commit()
            return refusal.code
        await asyncio.sleep(0.01)  # the read itself, holding the grant's lock
        await session.commit()
        return "read"


async def test_concurrent_reads_are_counted_exactly_up_to_the_cap(live_sessions, keys):
    uscc, grant, bank, _ = await _live_grant(live_sessions, keys, 7901, per_day=7, total=9)
    outcomes = await asyncio.gather(*(_one_read(live_sessions, bank, uscc, grant) for _ in range(20)))
    assert outcomes.count("read") == 7
    assert outcomes.count("READS_PER_DAY_REACHED") == 13
    async with live_sessions() as session:
        used = await session.scalar(text("SELECT reads_used FROM authorisations WHERE id = :i"), {"i": grant})
        day = await session.scalar(
            text("SELECT sum(reads) FROM authorisation_uses WHERE authorisation_id = :i"), {"i": grant}
        )
    assert (used, day) == (7, 7)
    outcomes = await asyncio.gather(*(_one_read(live_sessions, bank, uscc, grant) for _ in range(5)))
    assert outcomes == ["READS_PER_DAY_REACHED"] * 5


async def test_concurrent_reads_stop_at_the_total_cap(live_sessions, keys):
    uscc, grant, bank, _ = await _live_grant(live_sessions, keys, 7903, per_day=4, total=4)
    outcomes = await asyncio.gather(*(_one_read(live_sessions, bank, uscc, grant) for _ in range(12)))
    assert (outcomes.count("read"), outcomes.count("READS_TOTAL_REACHED")) == (4, 8)


async def test_a_revocation_holds_from_the_next_request_in_another_hub_process(
    live_sessions, live_engine, keys, hub_server
):
    """The grant is read through a real `credit-hub serve` process; the entity revokes it in this one;
    the server's very next read is refused (the server keeps nothing of the grant between requests)."""
    uscc, grant, _, _ = await _live_grant(live_sessions, keys, 7905, per_day=10, total=10)
    bank_code = company_code(7906, "230100")
    token = await live_token(live_engine, bank_code, "跨进程测试银行", Role.BANK)
    async with live_sessions() as session:  # the grant belongs to this bank
        await session.execute(
            text("UPDATE authorisations SET grantee = :b WHERE id = :i"), {"b": bank_code, "i": grant}
        )
        await session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    body = {"query": SUPERVISION_ONLY, "variables": {"u": uscc, "a": grant}}
    async with httpx.AsyncClient(timeout=30) as http:
        first = (await http.post(hub_server, json=body, headers=headers)).json()
        assert first["data"]["authorizedProfile"]["__typename"] == "AuthorizedProfile", first
        async with live_sessions() as session:
            await service.step(
                session,
                Caller(role=Role.ENTITY, organisation_code=uscc),
                "pause",
                grant,
                dt.datetime.now(dt.UTC),
            )
            await session.commit()
        paused = (await http.post(hub_server, json=body, headers=headers)).json()
        assert paused["data"]["authorizedProfile"]["code"] == "AUTHORISATION_PAUSED", paused
        async with live_sessions() as session:
            entity = Caller(role=Role.ENTITY, organisation_code=uscc)
            await service.step(session, entity, "resume", grant, dt.datetime.now(dt.UTC))
            await session.commit()
        resumed = (await http.post(hub_server, json=body, headers=headers)).json()
        assert resumed["data"]["authorizedProfile"]["__typename"] == "AuthorizedProfile", resumed
        async with live_sessions() as session:
            await service.step(session, entity, "revoke", grant, dt.datetime.now(dt.UTC))
            await session.commit()
        revoked = (await http.post(hub_server, json=body, headers=headers)).json()
        assert revoked["data"]["authorizedProfile"]["code"] == "AUTHORISATION_REVOKED", revoked


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (
            """query($u: String!, $a: ID!, $t: [String!]) { authorizedProfile(uscc: $u, authorisation: $a) {
              __typename ... on AuthorizedProfile { records(recordTypes: $t) { totalCount } } ... on Problem { code } } }""",
            {"t": ["administrative_licence"]},
        ),
        (
            """query($u: String!, $a: ID!) { authorizedProfile(uscc: $u, authorisation: $a) { __typename ...Read
              ... on Problem { code } } }
            fragment Read on AuthorizedProfile { classificationHistory { domain } }""",
            {},
        ),
    ],
    ids=["records type in a variable", "an item in a named fragment"],
)
async def test_an_item_not_granted_is_found_in_variables_and_fragments(
    client, actors, connection, query, variables
):
    entity = actors["entity"]
    await registered(client, actors, entity.code, "scope-syntax")
    grant = await active_grant(client, actors)
    answer = await gql(client, query, {"u": entity.code, "a": grant["id"], **variables}, actors["bank"])
    assert answer["data"]["authorizedProfile"] == {"__typename": "NotPermitted", "code": "OUT_OF_SCOPE"}, (
        answer
    )
    assert await _reads(connection, grant["id"]) == 0


async def test_every_read_and_every_refusal_is_an_entry_of_the_access_log(client, actors, connection):
    """Each counted read is an entry (the grant, its purpose, what was asked); each refused one too,
    with its code as the legal basis; in the read's transaction, and named in `extensions.access`."""
    entity, bank = actors["entity"], actors["bank"]
    await registered(client, actors, entity.code, "logged")
    grant = await active_grant(client, actors, rt=1, rd=1)
    answers = [
        await gql(client, SUPERVISION_ONLY, {"u": entity.code, "a": grant["id"]}, bank) for _ in range(2)
    ]
    await decide(client, entity, REVOKE, grant["id"])
    answers.append(await gql(client, SUPERVISION_ONLY, {"u": entity.code, "a": grant["id"]}, bank))
    rows = (
        await connection.execute(
            text(
                "SELECT id, caller_organisation, authorisation, purpose, legal_basis, fields FROM access_log_entries"
                " WHERE uscc = :u AND kind = 'read' ORDER BY id"
            ),
            {"u": entity.code},
        )
    ).all()
    assert [(r[1], r[2], r[4], list(r[5])) for r in rows] == [
        (bank.code, grant["id"], "the entity's authorisation (授权)", ["profile.supervision"]),
        (bank.code, grant["id"], "refused: READS_TOTAL_REACHED", ["refused.supervision"]),
        (bank.code, grant["id"], "refused: AUTHORISATION_REVOKED", ["refused.supervision"]),
    ]
    assert rows[0][3] == "loan_assessment"
    assert [a["extensions"]["access"] for a in answers] == [
        [{"entry": str(r[0]), "uscc": entity.code}] for r in rows
    ]
