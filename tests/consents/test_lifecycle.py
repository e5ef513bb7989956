"""The life cycle of an authorisation (授权), through the real HTTP app with real tokens: a bank or
association asks, the entity approves or rejects, pauses, resumes, revokes; a grant past its
validity is expired. Each step is one typed change event in the same transaction; every refusal has
its code and writes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from hub.auth import service as auth
from hub.auth.caller import Role
from tests.conftest import Actor, company_code, gql
from tests.consents.support import (
    APPROVE,
    LOAN_SCOPE,
    PAUSE,
    REJECT,
    RESUME,
    REVOKE,
    active_grant,
    ask,
    decide,
    expire,
    outbox,
    registered,
)
from tests.records.builders import count

LIST = """query($s: [AuthorisationState!], $f: Int, $a: String) { authorisations(states: $s, first: $f, after: $a) {
  items { id grantor grantee state } endCursor } }"""
ONE = """query($i: ID!) { authorisation(id: $i) { __typename ... on Authorisation { id state }
  ... on Problem { code } } }"""


@pytest.fixture
async def entity_on_file(client, actors) -> str:
    await registered(client, actors, actors["entity"].code, "consents")
    return actors["entity"].code


async def test_asked_approved_paused_resumed_revoked_each_with_its_event(
    client, actors, connection, entity_on_file
):
    bank, entity = actors["bank"], actors["entity"]
    asked = await ask(client, bank, entity_on_file, days=90, rd=5, rt=40)
    assert asked["__typename"] == "Authorisation", asked
    assert (asked["state"], asked["grantor"], asked["grantee"], asked["granteeRole"]) == (
        "REQUESTED",
        entity.code,
        bank.code,
        "bank",
    )
    assert (asked["validityDays"], asked["readsPerDay"], asked["readsTotal"], asked["readsUsed"]) == (
        90,
        5,
        40,
        0,
    )
    assert asked["scope"] == [
        {"item": "records.administrative_penalty", "tier": "MASKED"},
        {"item": "supervision", "tier": "FULL"},
    ]
    assert (asked["signed"], asked["validFrom"], asked["purposeVersion"]) == (None, None, 1)
    grant = asked["id"]

    approved = await decide(client, entity, APPROVE, grant)
    assert approved["state"] == "ACTIVE" and approved["signed"].count(".") == 2, approved
    assert approved["validFrom"] is not None and approved["validUntil"] > approved["validFrom"]
    paused = await decide(client, entity, PAUSE, grant)
    assert paused["state"] == "PAUSED"
    resumed = await decide(client, entity, RESUME, grant)
    assert resumed["state"] == "ACTIVE"
    revoked = await decide(client, entity, REVOKE, grant, r="不再与该银行合作")
    assert (revoked["state"], revoked["reason"]) == ("REVOKED", "不再与该银行合作")
    assert revoked["endedAt"] is not None

    key = entity.code
    assert await outbox(connection, grant) == [
        ("authorisation.requested", key),
        ("authorisation.approved", key),
        ("authorisation.paused", key),
        ("authorisation.resumed", key),
        ("authorisation.revoked", key),
    ]


async def test_the_entity_rejects_with_a_reason(client, actors, connection, entity_on_file):
    asked = await ask(
        client,
        actors["association"],
        entity_on_file,
        purpose="association_rating",
        scope=[{"item": "classification", "tier": "FULL"}],
    )
    assert asked["__typename"] == "Authorisation", asked
    rejected = await decide(client, actors["entity"], REJECT, asked["id"], r="用途不明确")
    assert (rejected["state"], rejected["reason"], rejected["signed"]) == ("REJECTED", "用途不明确", None)
    assert await outbox(connection, asked["id"]) == [
        ("authorisation.requested", entity_on_file),
        ("authorisation.rejected", entity_on_file),
    ]


# (from state, operation, expected code): a step the state does not allow is refused.
WRONG_STATE = [
    ("requested", PAUSE, "AUTHORISATION_STATE"),
    ("requested", RESUME, "AUTHORISATION_STATE"),
    ("active", APPROVE, "AUTHORISATION_STATE"),
    ("active", REJECT, "AUTHORISATION_STATE"),
    ("active", RESUME, "AUTHORISATION_STATE"),
    ("paused", PAUSE, "AUTHORISATION_STATE"),
    ("paused", APPROVE, "AUTHORISATION_STATE"),
    ("revoked", RESUME, "AUTHORISATION_STATE"),
    ("revoked", REVOKE, "AUTHORISATION_STATE"),
    ("revoked", APPROVE, "AUTHORISATION_STATE"),
    ("rejected", APPROVE, "AUTHORISATION_STATE"),
    ("rejected", REVOKE, "AUTHORISATION_STATE"),
    ("expired", RESUME, "AUTHORISATION_EXPIRED"),
    ("expired", PAUSE, "AUTHORISATION_EXPIRED"),
    ("expired", REVOKE, "AUTHORISATION_EXPIRED"),
]


async def _in_state(client, actors, connection, state: str) -> str:
    entity = actors["entity"]
    asked = await ask(client, actors["bank"], entity.code)
    grant = asked["id"]
    if state in ("active", "paused", "revoked", "expired"):
        await decide(client, entity, APPROVE, grant)
    if state == "paused":
        await decide(client, entity, PAUSE, grant)
    if state == "revoked":
        await decide(client, entity, REVOKE, grant)
    if state == "rejected":
        await decide(client, entity, REJECT, grant)
    if state == "expired":
        await expire(connection, grant)
    return grant


@pytest.mark.parametrize(
    ("state", "operation", "code"),
    WRONG_STATE,
    ids=[f"{state}-{operation.split('{')[1].split('(')[0].strip()}" for state, operation, _ in WRONG_STATE],
)
async def test_a_step_the_state_does_not_allow_is_refused_and_writes_nothing(
    client, actors, connection, entity_on_file, state, operation, code
):
    grant = await _in_state(client, actors, connection, state)
    events = await outbox(connection, grant)
    before = await connection.scalar(
        text("SELECT row_to_json(a)::text FROM authorisations a WHERE id = :i"), {"i": grant}
    )
    refused = await decide(client, actors["entity"], operation, grant)
    assert (refused["__typename"], refused["code"]) == ("ConflictProblem", code), refused
    after = await connection.scalar(
        text("SELECT row_to_json(a)::text FROM authorisations a WHERE id = :i"), {"i": grant}
    )
    assert after == before
    assert await outbox(connection, grant) == events


async def test_another_entitys_grant_is_refused_to_every_step(
    client, actors, connection, sessions, entity_on_file
):
    asked = await ask(client, actors["bank"], entity_on_file)
    # Another entity, with a token of its own.
    other = company_code(7702)
    async with sessions() as session:
        await auth.register_organisation(session, other, "另一家企业", Role.ENTITY, None)
        issued = await auth.issue_token(session, other, "other", 1, by="tests")
        await session.commit()
    stranger = Actor(other, Role.ENTITY, issued.secret)
    for operation in (APPROVE, REJECT, PAUSE, RESUME, REVOKE):
        refused = await decide(client, stranger, operation, asked["id"])
        assert (refused["__typename"], refused["code"]) == ("NotPermitted", "NOT_YOUR_AUTHORISATION"), refused
    # The requester may not decide either: it is not even admitted.
    answer = await gql(client, APPROVE, {"i": asked["id"]}, actors["bank"])
    assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await outbox(connection, asked["id"]) == [("authorisation.requested", entity_on_file)]


async def test_an_unknown_or_malformed_id_is_refused(client, actors, entity_on_file):
    unknown = await decide(client, actors["entity"], APPROVE, "6f1c2a9e-0b7d-4c1e-9a55-3f0e8d2b7c41")
    assert (unknown["__typename"], unknown["code"]) == ("NotFoundProblem", "UNKNOWN_AUTHORISATION")
    bad = await decide(client, actors["entity"], APPROVE, "not-a-uuid")
    assert (bad["__typename"], bad["code"], bad["path"]) == ("InvalidInput", "BAD_ID", "id")


# (purpose, scope, days, caps, expected code, path): beyond the purpose's caps (hub/catalog/purposes.yaml:
# loan_assessment 365 days, 10 a day, 100 in all, supervision full, penalties masked, no honours).
BEYOND_CAPS = [
    ("loan_assessment", LOAN_SCOPE, 366, {}, "CAP_VALIDITY", "validityDays"),
    ("loan_assessment", LOAN_SCOPE, 0, {}, "CAP_VALIDITY", "validityDays"),
    ("loan_assessment", LOAN_SCOPE, 30, {"rd": 11}, "CAP_READS_PER_DAY", "readsPerDay"),
    ("loan_assessment", LOAN_SCOPE, 30, {"rt": 101}, "CAP_READS_TOTAL", "readsTotal"),
    ("loan_assessment", LOAN_SCOPE, 30, {"rd": 6, "rt": 5}, "CAP_READS_PER_DAY", "readsPerDay"),
    ("loan_assessment", [{"item": "records.honour", "tier": "MASKED"}], 30, {}, "CAP_ITEM", "scope.0.item"),
    (
        "loan_assessment",
        [{"item": "supervision", "tier": "FULL"}, {"item": "records.administrative_penalty", "tier": "FULL"}],
        30,
        {},
        "CAP_TIER",
        "scope.1.tier",
    ),
    ("loan_assessment", [{"item": "anything", "tier": "FULL"}], 30, {}, "CAP_ITEM", "scope.0.item"),
    ("loan_assessment", [], 30, {}, "SCOPE_EMPTY", "scope"),
    (
        "loan_assessment",
        [{"item": "supervision", "tier": "FULL"}, {"item": "supervision", "tier": "MASKED"}],
        30,
        {},
        "DUPLICATE",
        "scope.1.item",
    ),
    (
        "association_rating",
        [{"item": "supervision", "tier": "FULL"}],
        30,
        {},
        "PURPOSE_NOT_FOR_ROLE",
        "purpose",
    ),
    ("no_such_purpose", LOAN_SCOPE, 30, {}, "UNKNOWN_PURPOSE", "purpose"),
]


@pytest.mark.parametrize(
    ("purpose", "scope", "days", "caps", "code", "path"),
    BEYOND_CAPS,
    ids=[f"{c[4]}-{i}" for i, c in enumerate(BEYOND_CAPS)],
)
async def test_a_request_beyond_its_purposes_caps_is_refused_with_the_cap_and_writes_nothing(
    client, actors, connection, entity_on_file, purpose, scope, days, caps, code, path
):
    before = (await count(connection, "authorisations"), await count(connection, "outbox"))
    refused = await ask(
        client, actors["bank"], entity_on_file, purpose=purpose, scope=scope, days=days, **caps
    )
    assert (refused.get("code"), refused.get("path")) == (code, path), refused
    assert (await count(connection, "authorisations"), await count(connection, "outbox")) == before


async def test_a_request_for_an_unknown_entity_is_refused(client, actors, connection):
    refused = await ask(client, actors["bank"], company_code(7703))
    assert (refused["code"], refused["path"]) == ("UNKNOWN_ENTITY", "uscc")
    assert await count(connection, "authorisations") == 0


async def test_lists_given_asked_and_all(client, actors, entity_on_file):
    bank, association, entity = actors["bank"], actors["association"], actors["entity"]
    by_bank = await ask(client, bank, entity_on_file)
    by_association = await ask(
        client,
        association,
        entity_on_file,
        purpose="bidding_qualification",
        scope=[{"item": "supervision", "tier": "FULL"}],
    )
    await decide(client, entity, APPROVE, by_bank["id"])

    async def listed(actor, **variables):
        answer = await gql(client, LIST, variables, actor)
        assert "errors" not in answer, answer
        return [(a["id"], a["state"]) for a in answer["data"]["authorisations"]["items"]]

    newest_first = [(by_association["id"], "REQUESTED"), (by_bank["id"], "ACTIVE")]
    assert await listed(entity) == newest_first
    assert await listed(actors["credit_office"]) == newest_first
    assert await listed(bank) == [(by_bank["id"], "ACTIVE")]
    assert await listed(association) == [(by_association["id"], "REQUESTED")]
    assert await listed(entity, s=["ACTIVE"]) == [(by_bank["id"], "ACTIVE")]
    first = await gql(client, LIST, {"f": 1}, entity)
    page = first["data"]["authorisations"]
    assert [a["id"] for a in page["items"]] == [by_association["id"]] and page["endCursor"]
    second = await gql(client, LIST, {"f": 1, "a": page["endCursor"]}, entity)
    assert [a["id"] for a in second["data"]["authorisations"]["items"]] == [by_bank["id"]]
    # One grant: its entity, its requester and the credit office; nobody else.
    for actor in (entity, bank, actors["credit_office"]):
        found = await gql(client, ONE, {"i": by_bank["id"]}, actor)
        assert found["data"]["authorisation"] == {
            "__typename": "Authorisation",
            "id": by_bank["id"],
            "state": "ACTIVE",
        }
    refused = await gql(client, ONE, {"i": by_bank["id"]}, association)
    assert refused["data"]["authorisation"] == {
        "__typename": "NotPermitted",
        "code": "NOT_YOUR_AUTHORISATION",
    }


async def test_an_expired_grant_shows_expired(client, actors, connection, entity_on_file):
    grant = await active_grant(client, actors)
    await expire(connection, grant["id"])
    found = await gql(client, ONE, {"i": grant["id"]}, actors["entity"])
    assert found["data"]["authorisation"]["state"] == "EXPIRED"


async def test_the_daily_sweep_records_grants_past_their_validity_as_expired(
    client, actors, connection, session, entity_on_file
):
    from hub.consents.service import expire_due

    ended, running = await active_grant(client, actors), await active_grant(client, actors)
    paused = await active_grant(client, actors)
    await decide(client, actors["entity"], PAUSE, paused["id"])
    await expire(connection, ended["id"])
    await expire(connection, paused["id"])
    now = dt.datetime.now(dt.UTC)
    assert await expire_due(session, now) == 2
    assert await expire_due(session, now) == 0  # recorded once
    states = dict((await connection.execute(text("SELECT id::text, state FROM authorisations"))).all())
    assert (states[ended["id"]], states[paused["id"]], states[running["id"]]) == (
        "expired",
        "expired",
        "active",
    )
    assert (await outbox(connection, ended["id"]))[-1] == ("authorisation.expired", entity_on_file)
    assert [e for e, _ in await outbox(connection, running["id"])] == [
        "authorisation.requested",
        "authorisation.approved",
    ]
