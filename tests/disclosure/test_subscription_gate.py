"""classificationChanged leaves through the gate too: with a policy that withholds everything, a
subscriber replaying committed changes receives none of them; with the role policy, it does."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from hub.auth import service as auth
from hub.auth.caller import Caller, Role
from hub.crypto import StaticKeyProvider
from hub.db import make_sessionmaker
from hub.disclosure.policy import ROLE_POLICY, DisclosurePolicy, WithholdAll
from hub.entities.codes import make_uscc
from hub.grading.admin import assign_domain
from hub.records.ingestion.service import RecordInput, push_records
from hub.settings import Settings
from schema.build import build_schema
from schema.context import HubContext
from tests.conftest import Actor, company_code
from tests.grading.evaluations import evaluation

DOMAIN = "food_production"
SUBSCRIBE = """subscription { classificationChanged(domains: ["food_production"], afterId: 0) {
  id uscc domain newCategory } }"""


async def _committed_change(engine: AsyncEngine, settings: Settings) -> str:
    """A department of the domain pushes an industry evaluation: one committed classification change."""
    code = make_uscc("1", "1", "230100", "G0000777")
    uscc = company_code(9777)
    today = dt.date.today()
    async with engine.begin() as connection:
        session = AsyncSession(bind=connection)
        await auth.register_organisation(session, code, "守门订阅测试局", Role.DEPARTMENT)
        await assign_domain(session, DOMAIN, code, by="tests")
        record = evaluation(
            "industry_evaluation",
            Actor(code, Role.DEPARTMENT, ""),
            uscc,
            "C",
            scheme="samr_risk",
            evaluated=(today - dt.timedelta(days=3)).isoformat(),
            valid_until=(today + dt.timedelta(days=300)).isoformat(),
            domain=DOMAIN,
        )
        answer = await push_records(
            session,
            Caller(Role.DEPARTMENT, code),
            [RecordInput(record["recordType"], record["sourceRecordId"], record["fields"])],
            idempotency_key="gate-subscription",
            keys=StaticKeyProvider(settings.master_key),
            max_records=10,
            today=today,
        )
        assert [o.outcome.value for o in answer.outcomes] == ["created"], answer
        await session.flush()
    return uscc


async def _first_change(engine: AsyncEngine, url: URL, policy: DisclosurePolicy) -> Any:
    sessions = make_sessionmaker(engine)
    context = HubContext(
        caller=Caller(Role.CREDIT_OFFICE, make_uscc("1", "1", "230100", "G0000778")),
        session=sessions(),
        settings=Settings(),
        keys=StaticKeyProvider(Settings().master_key),
        request_id="test",
        sessions=sessions,
        listen_url=url,
        disclosure_policy=policy,
    )
    stream = await build_schema(Settings()).subscribe(SUBSCRIBE, context_value=context)
    try:
        return await asyncio.wait_for(anext(stream), timeout=3)  # type: ignore[arg-type]
    finally:
        await stream.aclose()  # type: ignore[union-attr]
        await context.session.close()


async def test_a_subscriber_hears_only_what_the_gate_lets_out(
    live_engine: AsyncEngine, live_url: URL, settings: Settings
) -> None:
    uscc = await _committed_change(live_engine, settings)
    heard = await _first_change(live_engine, live_url, ROLE_POLICY)
    assert heard.errors is None and heard.data["classificationChanged"]["uscc"] == uscc, heard
    with pytest.raises(TimeoutError):
        await _first_change(live_engine, live_url, WithholdAll())
