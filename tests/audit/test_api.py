"""The access log through the real HTTP app: reads of non-public data are logged (one entry per
entity, named in `extensions.access`), public data is not; the entry is written in the request's
transaction, so no answer leaves when it cannot be committed (tests/audit/test_cli_and_concurrency.py,
on a database of its own: a trigger there needs no lock the test's own transaction holds); the entity lists who read it; a bank gets a
receipt it verifies offline against the response it received."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.audit import service as audit
from hub.audit.verifier import verify_receipt
from hub.crypto import StaticKeyProvider
from hub.settings import Settings
from tests.conftest import Actor, company_code
from tests.records.builders import ENTITY, push_ok, valid_record

RESTRICTED = "record.administrative_penalty."  # the penalty's non-public fields (catalogue: restricted)


@pytest.fixture
async def archive(client: httpx.AsyncClient, actors: dict[str, Actor]) -> str:
    uscc = company_code(1)  # the `entity` actor's own USCC
    dept = actors["department"]
    await push_ok(
        client,
        dept,
        [valid_record("administrative_penalty", dept.code, uscc, record_id="P1", BZ="内部备注")],
        "p",
    )
    return uscc


async def _read(client: httpx.AsyncClient, actor: Actor | None, uscc: str) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        json={"query": ENTITY, "variables": {"uscc": uscc}},
        headers=actor.headers if actor else {},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _entries(connection: AsyncConnection) -> list[Any]:
    return list((await connection.execute(text("SELECT * FROM access_log_entries ORDER BY id"))).all())


@pytest.mark.parametrize("reader", ["credit_office", "entity", "province"])
async def test_a_read_of_non_public_fields_is_logged_with_a_hash_of_the_answer(
    client: httpx.AsyncClient,
    actors: dict[str, Actor],
    connection: AsyncConnection,
    archive: str,
    reader: str,
) -> None:
    before = len(await _entries(connection))
    body = await _read(client, actors[reader], archive)
    assert "errors" not in body, body
    [named] = body["extensions"]["access"]
    entries = await _entries(connection)
    assert len(entries) == before + 1
    entry = entries[-1]
    assert named == {"entry": str(entry.id), "uscc": archive}
    assert (entry.uscc, entry.kind, entry.caller_role, entry.caller_organisation, entry.tier) == (
        archive,
        "read",
        actors[reader].role.value,
        actors[reader].code,
        "role",
    )
    assert entry.fields and all(f.startswith(RESTRICTED) for f in entry.fields)
    # The hash of what the reader received (its `data`, as canonical JSON), never the data itself.
    assert (
        bytes(entry.response_sha256)
        == hashlib.sha256(orjson.dumps(body["data"], option=orjson.OPT_SORT_KEYS)).digest()
    )
    assert "P1" not in str(tuple(entry))


@pytest.mark.parametrize("reader", [None, "bank", "department2"])
async def test_public_data_is_not_logged(
    client: httpx.AsyncClient,
    actors: dict[str, Actor],
    connection: AsyncConnection,
    archive: str,
    reader: str | None,
) -> None:
    """The public, a bank without an authorisation and another department see public fields only."""
    before = await _entries(connection)
    body = await _read(client, actors[reader] if reader else None, archive)
    assert "errors" not in body and "access" not in body.get("extensions", {}), body
    assert await _entries(connection) == before


RECEIPT = """query($e: ID!) { accessReceipt(entry: $e) { leafIndex treeSize responseSha256 inclusionProof
  checkpoint receipt } }"""
KEY = "{ accessLogKey { origin noteVerifierKey jwks } }"


async def test_the_reader_gets_a_receipt_it_verifies_offline(
    client: httpx.AsyncClient,
    actors: dict[str, Actor],
    sessions: Any,
    archive: str,
    settings: Settings,
) -> None:
    office = actors["credit_office"]
    body = await _read(client, office, archive)
    [named] = body["extensions"]["access"]
    pending = await client.post(
        "/graphql", json={"query": RECEIPT, "variables": {"e": named["entry"]}}, headers=office.headers
    )
    assert pending.json()["data"] == {"accessReceipt": None}  # not integrated yet
    async with sessions() as session:  # the sequencer's run (each hub process runs it by itself)
        await audit.integrate(
            session,
            settings.model_copy(update={"access_log_checkpoint_entries": 1}),
            StaticKeyProvider(settings.master_key),
        )
        await session.commit()
    found = (
        await client.post(
            "/graphql", json={"query": RECEIPT, "variables": {"e": named["entry"]}}, headers=office.headers
        )
    ).json()
    receipt = found["data"]["accessReceipt"]
    key = (await client.post("/graphql", json={"query": KEY})).json()["data"]["accessLogKey"]
    # Offline: only the receipt's bytes and the published key.
    entry = verify_receipt(receipt["receipt"], key["noteVerifierKey"], key["origin"])
    received = hashlib.sha256(orjson.dumps(body["data"], option=orjson.OPT_SORT_KEYS)).hexdigest()
    assert entry["responseSha256"] == receipt["responseSha256"] == received
    assert entry["uscc"] == archive and entry["organisation"] == office.code
    assert len(receipt["inclusionProof"]) <= max(1, (receipt["treeSize"] - 1).bit_length())
    assert key["jwks"]["keys"][0]["crv"] == "Ed25519"


LOG = """query($u: String, $first: Int! = 1000, $after: String) { accessLog(uscc: $u, first: $first, after: $after) {
  edges { cursor node { id readerRole readerOrganisation purpose legalBasis fields tier hiddenUntil } }
  pageInfo { hasNextPage endCursor } } }"""


async def _log(client: httpx.AsyncClient, actor: Actor, **variables: Any) -> dict[str, Any]:
    response = await client.post(
        "/graphql", json={"query": LOG, "variables": variables}, headers=actor.headers
    )
    body: dict[str, Any] = response.json()
    return body


async def test_the_entity_lists_who_read_it_without_reads_hidden_until_later(
    client: httpx.AsyncClient, actors: dict[str, Actor], sessions: Any
) -> None:
    me = actors["entity"]
    bank = audit.Who("bank", actors["bank"].code)
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    async with sessions() as session:
        shown = await audit.record_read(
            session,
            bank,
            audit.Read(me.code, ["record.x.amount"], tier="full", purpose="loan", legal_basis="授权"),
        )
        hidden = await audit.record_read(
            session,
            bank,
            audit.Read(me.code, ["record.x.amount"], legal_basis="公安机关依法查询", hidden_until=tomorrow),
        )
        await audit.record_read(session, bank, audit.Read(company_code(9), ["record.x.amount"]))
        await session.commit()
    own = await _log(client, me)
    nodes = [e["node"] for e in own["data"]["accessLog"]["edges"]]
    assert [n["id"] for n in nodes] == [str(shown)]
    assert nodes[0] == {
        "id": str(shown),
        "readerRole": "bank",
        "readerOrganisation": bank.organisation,
        "purpose": "loan",
        "legalBasis": "授权",
        "fields": ["record.x.amount"],
        "tier": "full",
        "hiddenUntil": None,
    }
    office = await _log(client, actors["credit_office"], u=me.code)
    assert [e["node"]["id"] for e in office["data"]["accessLog"]["edges"]] == [str(hidden), str(shown)]
    assert office["data"]["accessLog"]["edges"][0]["node"]["hiddenUntil"] == tomorrow.isoformat()


async def test_the_list_pages_newest_first(
    client: httpx.AsyncClient, actors: dict[str, Actor], sessions: Any
) -> None:
    me = actors["entity"]
    async with sessions() as session:
        ids = [
            await audit.record_read(
                session, audit.Who("bank", actors["bank"].code), audit.Read(me.code, [f"record.x.f{i}"])
            )
            for i in range(5)
        ]
        await session.commit()
    first = (await _log(client, me, first=2))["data"]["accessLog"]
    assert [e["node"]["id"] for e in first["edges"]] == [str(ids[4]), str(ids[3])]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = (await _log(client, me, first=10, after=first["pageInfo"]["endCursor"]))["data"]["accessLog"]
    assert [e["node"]["id"] for e in rest["edges"]] == [str(i) for i in reversed(ids[:3])]
    assert rest["pageInfo"] == {"hasNextPage": False, "endCursor": rest["edges"][-1]["cursor"]}


@pytest.mark.parametrize(
    ("variables", "code", "path"),
    [
        ({"first": 0}, "PAGE_SIZE", "first"),
        ({"first": 10_001}, "PAGE_SIZE", "first"),
        ({"after": "not a cursor"}, "BAD_CURSOR", "after"),
        ({"u": "91230102MA1B2C3D0Z"}, "USCC_CHARACTER", "uscc"),
    ],
)
async def test_bad_list_arguments_are_refused_and_write_nothing(
    client: httpx.AsyncClient,
    actors: dict[str, Actor],
    connection: AsyncConnection,
    variables: dict[str, Any],
    code: str,
    path: str,
) -> None:
    before = await _entries(connection)
    body = await _log(client, actors["credit_office"], **{"u": company_code(1), **variables})
    [error] = body["errors"]
    assert (error["extensions"]["code"], error["extensions"].get("path")) == (code, path), error
    assert await _entries(connection) == before


@pytest.mark.parametrize("entry", ["x", "-1", "99999999999999999999", "123456789"])
async def test_an_unknown_or_malformed_receipt_id_is_not_found(
    client: httpx.AsyncClient, actors: dict[str, Actor], entry: str
) -> None:
    body = (
        await client.post(
            "/graphql", json={"query": RECEIPT, "variables": {"e": entry}}, headers=actors["bank"].headers
        )
    ).json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["ACCESS_ENTRY_NOT_FOUND"]
