"""What the tests of authorisations share: the operations, and a grant brought to a given state."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.conftest import Actor, gql
from tests.records.builders import push_ok, valid_record

FIELDS = """id grantor grantee granteeRole purpose purposeVersion scope { item tier } state validityDays
  readsPerDay readsTotal readsUsed reason requestedAt decidedAt validFrom validUntil endedAt signed keyId"""
REQUEST = f"""
mutation($u: String!, $p: String!, $s: [ScopeItemInput!]!, $d: Int!, $rd: Int, $rt: Int) {{
  requestAuthorisation(uscc: $u, purpose: $p, scope: $s, validityDays: $d, readsPerDay: $rd, readsTotal: $rt) {{
    __typename ... on Authorisation {{ {FIELDS} }} ... on Problem {{ code message path }}
  }}
}}"""


def step(name: str, reason: bool = False) -> str:
    """A decision of the entity: approve, reject, pause, resume or revoke."""
    argument, variable = (", reason: $r", ", $r: String") if reason else ("", "")
    return f"""mutation($i: ID!{variable}) {{ {name}Authorisation(id: $i{argument}) {{
      __typename ... on Authorisation {{ {FIELDS} }} ... on Problem {{ code message path }} }} }}"""


APPROVE, REJECT, PAUSE, RESUME = step("approve"), step("reject", True), step("pause"), step("resume")
REVOKE = step("revoke", True)
PROFILE = """
query($u: String!, $a: ID!, $d: String!) {
  authorizedProfile(uscc: $u, authorisation: $a) {
    __typename
    ... on AuthorizedProfile { uscc authorisation purpose readsUsed readsToday scope { item tier }
      supervision(domain: $d) { uscc category }
      records(first: 50) { totalCount edges { node { recordType sourceRecordId } } } }
    ... on Problem { code message path }
  }
}"""
SUPERVISION_ONLY = """
query($u: String!, $a: ID!) {
  authorizedProfile(uscc: $u, authorisation: $a) {
    __typename
    ... on AuthorizedProfile { uscc readsUsed readsToday supervision(domain: "market_regulation") { category } }
    ... on Problem { code message path }
  }
}"""
DOMAIN = "market_regulation"
LOAN_SCOPE = [
    {"item": "supervision", "tier": "FULL"},
    {"item": "records.administrative_penalty", "tier": "MASKED"},
]


async def registered(client: httpx.AsyncClient, actors: dict[str, Actor], uscc: str, key: str) -> None:
    """The entity in the registry, with one penalty and one licence on file (the department's)."""
    dept = actors["department"]
    records = [
        valid_record("administrative_penalty", dept.code, uscc, record_id=f"{key}-penalty"),
        valid_record("administrative_licence", dept.code, uscc, record_id=f"{key}-licence"),
    ]
    await push_ok(client, dept, records, key=key)


async def ask(
    client: httpx.AsyncClient,
    requester: Actor,
    uscc: str,
    purpose: str = "loan_assessment",
    scope: list[dict[str, str]] | None = None,
    days: int = 30,
    **caps: int,
) -> dict[str, Any]:
    variables: dict[str, Any] = {
        "u": uscc,
        "p": purpose,
        "s": LOAN_SCOPE if scope is None else scope,
        "d": days,
        **caps,
    }
    answer = await gql(client, REQUEST, variables, requester)
    assert "errors" not in answer, answer
    result: dict[str, Any] = answer["data"]["requestAuthorisation"]
    return result


async def decide(
    client: httpx.AsyncClient, entity: Actor, operation: str, grant_id: str, **extra: Any
) -> dict[str, Any]:
    answer = await gql(client, operation, {"i": grant_id, **extra}, entity)
    assert "errors" not in answer, answer
    [result] = answer["data"].values()
    assert isinstance(result, dict)
    return result


async def active_grant(
    client: httpx.AsyncClient, actors: dict[str, Actor], requester: str = "bank", **kwargs: Any
) -> dict[str, Any]:
    """A grant of the entity actor to `requester`, approved."""
    asked = await ask(client, actors[requester], actors["entity"].code, **kwargs)
    assert asked["__typename"] == "Authorisation", asked
    approved = await decide(client, actors["entity"], APPROVE, asked["id"])
    assert approved["state"] == "ACTIVE", approved
    return approved


async def expire(connection: AsyncConnection, grant_id: str) -> None:
    """Let the grant's validity end (as the passing of time would)."""
    await connection.execute(
        text("UPDATE authorisations SET valid_until = now() - interval '1 second' WHERE id = :i"),
        {"i": grant_id},
    )


async def outbox(connection: AsyncConnection, grant_id: str) -> list[tuple[str, str | None]]:
    rows = await connection.execute(
        text("SELECT event_type, uscc FROM outbox WHERE payload->>'authorisation_id' = :i ORDER BY id"),
        {"i": grant_id},
    )
    return [(r[0], r[1]) for r in rows]
