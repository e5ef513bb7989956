"""States × ways out (issue 9): each way a record leaves the hub shows or withholds it as its state
requires. The table is written by hand from hub/disclosure/record_states.py's rules (NDRC Order 36:
repair stops publication, sharing and use; shielding and expiry stop publication only); the states
are set as the hub stores them, so every way out is read through the real HTTP app."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from hub.errors import Conflict
from hub.records.states import service as states
from hub.records.states.service import State
from tests.conftest import gql
from tests.grading.evaluations import DOMAIN
from tests.objections.support import archive, push_penalty, push_serious_evaluation

TODAY = dt.date.today()
S, W = "shown", "withheld"
WAYS = ("public", "bank", "association", "department", "province", "entity", "credit_office")
# state: (public, bank, association, department, province, own entity, credit office), evaluation input
MATRIX: dict[str, tuple[tuple[str, ...], bool]] = {
    "published": ((S, S, S, S, S, S, S), True),
    "disputed": ((S, S, S, S, S, S, S), True),
    "corrected": ((S, S, S, S, S, S, S), True),
    "upheld": ((S, S, S, S, S, S, S), True),
    "both_recorded": ((S, S, S, S, S, S, S), True),
    "shielded": ((W, W, W, S, S, S, S), True),
    "expired": ((W, W, W, S, S, S, S), True),
    "repaired": ((W, W, W, W, W, S, S), False),
    "revoked": ((W, W, W, W, W, S, S), False),
}


def test_the_matrix_covers_every_state() -> None:
    assert set(MATRIX) == {s.value for s in State}


async def _put(connection, uscc: str, dept: str, record_id: str, state: str) -> None:
    """Put the record in `state` as the hub keeps it: a stored state, a firm's shield, or a past end."""
    if state == "shielded":
        await connection.execute(
            text(
                "INSERT INTO entity_shields (uscc, reason, shield_from, shield_until, shielded_by)"
                " VALUES (:u, '破产重整', :f, :t, :d)"
            ),
            {"u": uscc, "f": TODAY - dt.timedelta(days=1), "t": TODAY + dt.timedelta(days=30), "d": dept},
        )
    elif state == "expired":
        await connection.execute(
            text("UPDATE records SET publish_until = :d WHERE uscc = :u AND source_record_id = :r"),
            {"d": TODAY - dt.timedelta(days=1), "u": uscc, "r": record_id},
        )
    elif state != "published":
        await connection.execute(
            text(
                "INSERT INTO record_states (uscc, source_dept, source_record_id, state, cause, changed_by)"
                " VALUES (:u, :d, :r, :s, 'objection:1', :d)"
            ),
            {"u": uscc, "d": dept, "r": record_id, "s": state},
        )


@pytest.mark.parametrize("state", list(MATRIX))
async def test_each_way_out_honours_the_state(client, actors, connection, state):
    entity, dept = actors["entity"], actors["department"]
    await push_penalty(client, dept, entity.code, "罚-1")
    await _put(connection, entity.code, dept.code, "罚-1", state)
    expected, _ = MATRIX[state]
    for way, want in zip(WAYS, expected, strict=True):
        actor = None if way == "public" else actors[way]
        listed = await archive(client, actor, entity.code)
        seen = "罚-1" in listed
        assert seen == (want == S), (state, way, listed)
        if seen:
            assert listed["罚-1"]["state"] == state.upper()
            assert listed["罚-1"]["disputed"] == (state == "disputed")
        # The count agrees with the listing.
        total = await gql(
            client,
            "query($u: String!) { entity(uscc: $u) { records { totalCount } } }",
            {"u": entity.code},
            actor,
        )
        assert total["data"]["entity"]["records"]["totalCount"] == int(seen), (state, way)


@pytest.mark.parametrize("state", [s for s in MATRIX if s not in ("shielded", "expired")])
async def test_evaluation_inputs_honour_the_state(client, actors, connection, state):
    """An industry evaluation D (samr_risk: serious) decides the category unless repaired or revoked."""
    entity, dept = actors["entity"], actors["department"]
    await push_serious_evaluation(client, actors, "评-1")
    await _put(connection, entity.code, dept.code, "评-1", state)
    query = "query($u: String!, $d: String!) { supervision(uscc: $u, domain: $d) { category basisDisputed } }"
    found = (await gql(client, query, {"u": entity.code, "d": DOMAIN}, dept))["data"]["supervision"]
    counted = MATRIX[state][1]
    assert found == {
        "category": "SERIOUS" if counted else "TRUSTWORTHY",
        "basisDisputed": state == "disputed",
    }


# Change events: every stored move is announced (record.state_changed), but repair, which announces
# its own withdrawal (record.repaired, hub.repairs).
ANNOUNCED = {
    ("published", "disputed"): True,
    ("disputed", "corrected"): True,
    ("disputed", "upheld"): True,
    ("disputed", "both_recorded"): True,
    ("disputed", "revoked"): True,
    ("published", "revoked"): True,
}


@pytest.mark.parametrize(("start", "to"), list(ANNOUNCED))
async def test_each_move_travels_upstream_as_its_event(
    client, actors, connection, session: AsyncSession, start, to
):
    entity, dept = actors["entity"], actors["department"]
    await push_penalty(client, dept, entity.code, "罚-1")
    await _put(connection, entity.code, dept.code, "罚-1", start)
    mark = int(await connection.scalar(text("SELECT coalesce(max(id), 0) FROM outbox")) or 0)
    record = await states.lock(session, entity.code, dept.code, "罚-1")
    await states.move(session, record, State(to), cause="objection:7", by=dept.code)
    await session.flush()
    rows = (
        await connection.execute(
            text("SELECT event_type, uscc, payload FROM outbox WHERE id > :m"), {"m": mark}
        )
    ).all()
    assert [(r[0], r[1], r[2]["previous_state"], r[2]["state"]) for r in rows] == [
        ("record.state_changed", entity.code, start, to)
    ]


# Moves the machine refuses, by hand from the diagram in hub/records/states/service.py.
REFUSED = [
    ("published", "corrected"),
    ("published", "upheld"),
    ("published", "both_recorded"),
    ("disputed", "disputed"),
    ("disputed", "repaired"),
    ("repaired", "disputed"),
    ("repaired", "revoked"),
    ("revoked", "disputed"),
    ("revoked", "repaired"),
]


@pytest.mark.parametrize(("start", "to"), REFUSED)
async def test_the_machine_refuses_other_moves(client, actors, connection, session: AsyncSession, start, to):
    entity, dept = actors["entity"], actors["department"]
    await push_penalty(client, dept, entity.code, "罚-1")
    await _put(connection, entity.code, dept.code, "罚-1", start)
    record = await states.lock(session, entity.code, dept.code, "罚-1")
    with pytest.raises(Conflict) as refused:
        await states.move(session, record, State(to), cause="objection:7", by=dept.code)
    assert refused.value.code == "RECORD_STATE"
