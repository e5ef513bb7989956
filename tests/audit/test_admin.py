"""Administrative changes are logged like reads, in the same unit of work: policy amendments
(catalogue, schemes, domain assignment, measures), tokens issued and revoked, organisations."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.conftest import Actor, gov_code, gql
from tests.inspections import support as inspections
from tests.test_permissions_own import AMEND, MEASURES

REGISTER = """mutation($c: String!) { registerOrganisation(code: $c, name: "市税务局", role: DEPARTMENT) {
  __typename } }"""
ISSUE = """mutation($c: String!) { issueToken(organisationCode: $c, label: "t", days: 5) {
  __typename ... on IssuedToken { id } } }"""
REVOKE = "mutation($t: Int!) { revokeToken(tokenId: $t) { __typename } }"
DOMAIN = "drug_manufacturing"


async def _admin_entries(connection: AsyncConnection) -> list[tuple[Any, ...]]:
    rows = await connection.execute(
        text(
            "SELECT action, subject, caller_role, caller_organisation FROM access_log_entries "
            "WHERE kind = 'admin' ORDER BY id"
        )
    )
    return [tuple(r) for r in rows]


async def test_each_administrative_change_is_an_entry(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> None:
    office, dept = actors["credit_office"], actors["department"]
    before = await _admin_entries(connection)
    code = gov_code(77)
    assert (await gql(client, REGISTER, {"c": code}, office))["data"]["registerOrganisation"][
        "__typename"
    ] == "Organisation"
    token = (await gql(client, ISSUE, {"c": code}, office))["data"]["issueToken"]["id"]
    assert (await gql(client, REVOKE, {"t": token}, office))["data"]["revokeToken"][
        "__typename"
    ] == "RevokedToken"
    assigned = await gql(client, inspections.ASSIGN_DOMAIN, {"domain": DOMAIN, "dept": dept.code}, office)
    assert assigned["data"]["assignDomain"]["__typename"] == "Domain", assigned
    amended = await gql(client, AMEND, {"d": DOMAIN, "m": MEASURES}, dept)
    assert amended["data"]["amendMeasures"]["__typename"] == "Domain", amended
    added = (await _admin_entries(connection))[len(before) :]
    by_office = ("credit_office", office.code)
    assert [(a, *who) for a, _, *who in added] == [
        ("organisation.registered", *by_office),
        ("token.issued", *by_office),
        ("token.revoked", *by_office),
        ("policy.domain_department", *by_office),
        ("policy.supervision_domain", "department", dept.code),
    ]
    assert added[0][1] == f"{code} as department"
    assert added[2][1] == f"token {token} of {code}"
    assert added[3][1].startswith(f"{DOMAIN} v")


async def test_a_refused_change_logs_nothing(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> None:
    before = await _admin_entries(connection)
    refused = await gql(client, REVOKE, {"t": 999_999_999}, actors["credit_office"])
    assert refused["data"]["revokeToken"]["__typename"] != "RevokedToken", refused
    assert await _admin_entries(connection) == before


async def test_each_step_of_a_grant_is_an_entry(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> None:
    """Grants are administrative changes too: who asked, approved, paused, resumed and revoked which."""
    from tests.consents import support as consents

    entity, bank = actors["entity"], actors["bank"]
    await consents.registered(client, actors, entity.code, "audited")
    before = await _admin_entries(connection)
    grant = await consents.active_grant(client, actors)
    for step in (consents.PAUSE, consents.RESUME, consents.REVOKE):
        await consents.decide(client, entity, step, grant["id"])
    added = (await _admin_entries(connection))[len(before) :]
    subject = f"authorisation {grant['id']}"
    assert added == [
        ("authorisation.requested", subject, "bank", bank.code),
        ("authorisation.approved", subject, "entity", entity.code),
        ("authorisation.paused", subject, "entity", entity.code),
        ("authorisation.resumed", subject, "entity", entity.code),
        ("authorisation.revoked", subject, "entity", entity.code),
    ]
