"""Authorisations and authorised reads leave through the disclosure gate: the same hub with a policy
that withholds everything (hub.disclosure.policy.WithholdAll) answers every consent operation, and
the entity's code appears in none of the answers (tests/disclosure/test_withhold_all.py lists them)."""

from __future__ import annotations

import httpx
import orjson
import pytest

from hub.disclosure.policy import WithholdAll
from hub.web.app import create_app
from tests.conftest import gql
from tests.consents.support import (
    APPROVE,
    DOMAIN,
    LOAN_SCOPE,
    PROFILE,
    REQUEST,
    active_grant,
    ask,
    registered,
)
from tests.records.builders import count

LIST = "{ authorisations { items { id grantor } endCursor } }"
ONE = "query($i: ID!) { authorisation(id: $i) { __typename ... on Authorisation { grantor } ... on Problem { code } } }"


@pytest.fixture
async def withheld(settings, sessions):
    app = create_app(settings, sessions=sessions, disclosure_policy=WithholdAll())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub.test"
    ) as client:
        yield client


async def test_no_consent_answer_carries_the_entitys_code(client, withheld, actors, connection):
    entity = actors["entity"]
    await registered(client, actors, entity.code, "withheld")
    grant = await active_grant(client, actors)
    asked = await ask(client, actors["bank"], entity.code)
    answers = [
        await gql(withheld, PROFILE, {"u": entity.code, "a": grant["id"], "d": DOMAIN}, actors["bank"]),
        await gql(withheld, LIST, {}, entity),
        await gql(withheld, LIST, {}, actors["credit_office"]),
        await gql(withheld, ONE, {"i": grant["id"]}, actors["bank"]),
        await gql(withheld, APPROVE, {"i": asked["id"]}, entity),
    ]
    before = await count(connection, "authorisations")
    variables = {"u": entity.code, "p": "loan_assessment", "s": LOAN_SCOPE, "d": 30}
    answers.append(await gql(withheld, REQUEST, variables, actors["bank"]))
    assert await count(connection, "authorisations") == before  # refused, not written
    for answer in answers:
        assert entity.code not in orjson.dumps(answer).decode(), answer
    profile = answers[0]["data"]["authorizedProfile"]
    assert (profile["uscc"], profile["supervision"], profile["records"]["edges"]) == (None, None, [])
    assert answers[1]["data"]["authorisations"]["items"] == []
    assert answers[3]["data"]["authorisation"] == {"__typename": "NotPermitted", "code": "WITHHELD"}
    assert answers[4]["data"]["approveAuthorisation"]["code"] == "WITHHELD"
    assert answers[5]["data"]["requestAuthorisation"]["code"] == "WITHHELD"
