"""Personal fields of records are stored sealed, opened for the callers the gate lets see them, and a
sealed value moved to another row or field does not open."""

from __future__ import annotations

import base64
import csv
import dataclasses
import hashlib
import hmac
import io
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from hub.catalog.record_types import load_bundled
from hub.crypto import KeyUnavailable, SealBroken, StaticKeyProvider
from hub.records.ingestion import repository as repo
from hub.records.sealing.fields import Sealer, opened_content
from hub.settings import Settings
from hub.web.app import create_app
from tests.conftest import Actor, company_code, gql
from tests.records.builders import PERSON_ID, person_record, push_ok, records_of, valid_record
from tests.records.test_bulk_smoke import csv_file, upload

REPRESENTATIVE_ID = "11010519491231002X"  # GB 11643's own example
# The catalogue's personal fields of these records (FRDB, FR_ZJHM; a natural person's XDR_MC, XDR_ZJHM).
COMPANY_PERSONAL = {"FRDB", "FR_ZJHM"}
PERSON_PERSONAL = {"XDR_MC", "XDR_ZJHM"}


def company_penalty(dept: str, uscc: str, record_id: str = "罚-S1", **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"FRDB": "张三", "FR_ZJLX": "身份证", "FR_ZJHM": REPRESENTATIVE_ID, **overrides}
    return valid_record("administrative_penalty", dept, uscc, record_id=record_id, **fields)


async def stored(connection: AsyncConnection, record_id: str) -> list[Any]:
    rows = await connection.execute(
        text(
            "SELECT uscc, source_dept, source_record_id, version, content, content_hash, sealed, tags, "
            "key_version, wrapped_key, changed_fields, id_index, content::text || coalesce(sealed::text, '') AS raw "
            "FROM records WHERE source_record_id = :id ORDER BY version"
        ),
        {"id": record_id},
    )
    return list(rows)


async def test_personal_fields_are_stored_sealed_and_read_back_in_full(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection, keys: StaticKeyProvider
) -> None:
    dept = actors["department"]
    company = company_code(71)
    person = person_record("administrative_penalty", dept.code, record_id="罚-P1")
    await push_ok(client, dept, [company_penalty(dept.code, company), person])

    (firm,) = await stored(connection, "罚-S1")
    assert set(firm.sealed) == COMPANY_PERSONAL == set(firm.tags)
    assert not COMPANY_PERSONAL & set(firm.content)
    assert firm.key_version == 1 and firm.wrapped_key is not None
    assert "张三" not in firm.raw and REPRESENTATIVE_ID not in firm.raw
    assert firm.content["XDR_MC"] == "哈尔滨示例科技有限公司"  # a company's name is public: not sealed
    (natural,) = await stored(connection, "罚-P1")
    assert set(natural.sealed) == PERSON_PERSONAL
    assert "王小明" not in natural.raw and PERSON_ID not in natural.raw
    # One data key for the push: both rows carry the same wrapped key.
    assert bytes(natural.wrapped_key) == bytes(firm.wrapped_key)

    shown = (await records_of(client, actors["credit_office"], company))["罚-S1"]["fields"]
    assert (shown["FRDB"], shown["FR_ZJHM"], shown["FR_ZJLX"]) == ("张三", REPRESENTATIVE_ID, "身份证")
    opened = opened_content(keys, natural)
    assert (opened["XDR_MC"], opened["XDR_ZJHM"]) == ("王小明", PERSON_ID)
    # The gate still decides: a bank gets neither.
    bank = (await records_of(client, actors["bank"], company))["罚-S1"]
    assert "FRDB" not in bank["fields"] and REPRESENTATIVE_ID not in json.dumps(bank, ensure_ascii=False)


async def test_a_sealed_value_moved_to_another_row_or_field_does_not_open(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection, keys: StaticKeyProvider
) -> None:
    dept = actors["department"]
    await push_ok(
        client,
        dept,
        [
            company_penalty(dept.code, company_code(72), "罚-A"),
            company_penalty(dept.code, company_code(73), "罚-B"),
        ],
    )
    (a,) = await stored(connection, "罚-A")
    (b,) = await stored(connection, "罚-B")
    assert opened_content(keys, b)["FR_ZJHM"] == REPRESENTATIVE_ID

    async def tampered(sql: str) -> Any:
        await connection.execute(text(sql))
        (row,) = await stored(connection, "罚-B")
        return row

    # A's ciphertext (same value, same data key) copied onto B.
    moved = await tampered(
        f"UPDATE records SET sealed = jsonb_set(sealed, '{{FR_ZJHM}}', '{json.dumps(a.sealed['FR_ZJHM'])}') "
        "WHERE source_record_id = '罚-B'"
    )
    with pytest.raises(SealBroken):
        opened_content(keys, moved)
    # B's own FR_ZJHM ciphertext moved into its FRDB.
    swapped = await tampered(
        f"UPDATE records SET sealed = jsonb_build_object('FRDB', '{b.sealed['FR_ZJHM']}', "
        f"'FR_ZJHM', '{b.sealed['FR_ZJHM']}') WHERE source_record_id = '罚-B'"
    )
    with pytest.raises(SealBroken):
        opened_content(keys, swapped)
    # Its key version relabelled (another version's key is not there, or does not open it).
    relabelled = await tampered(
        f"UPDATE records SET sealed = '{json.dumps(b.sealed)}', key_version = 2 WHERE source_record_id = '罚-B'"
    )
    with pytest.raises(KeyUnavailable):
        opened_content(keys, relabelled)
    with pytest.raises(SealBroken):
        opened_content(StaticKeyProvider(keys._master, current_version=2), relabelled)


async def test_the_fields_a_version_changed_count_personal_ones_by_their_tags(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> None:
    dept, company = actors["department"], company_code(74)
    await push_ok(client, dept, [company_penalty(dept.code, company)], key="v1")
    await push_ok(client, dept, [company_penalty(dept.code, company, FRDB="李四")], key="v2")
    await push_ok(client, dept, [company_penalty(dept.code, company, FRDB="李四", BZ="已缴纳")], key="v3")
    again = await push_ok(
        client, dept, [company_penalty(dept.code, company, FRDB="李四", BZ="已缴纳")], key="v4"
    )
    assert again["results"][0]["outcome"] == "UNCHANGED"
    versions = await stored(connection, "罚-S1")
    assert [(v.version, v.changed_fields) for v in versions] == [(1, None), (2, ["FRDB"]), (3, ["BZ"])]
    # The same value under another record has another tag: tags do not show equal values across records.
    await push_ok(client, dept, [company_penalty(dept.code, company_code(75), "罚-S2")], key="other")
    (other,) = await stored(connection, "罚-S2")
    assert other.tags["FR_ZJHM"] != versions[0].tags["FR_ZJHM"]
    assert versions[0].tags["FR_ZJHM"] == versions[2].tags["FR_ZJHM"]  # unchanged across versions


def bulk_file(dept: str, representative: str, fine: str = "1.5") -> bytes:
    """test_bulk_smoke's three penalties (罚0…罚2), with a legal representative and the fine given."""
    header, *rows = csv.reader(io.StringIO(csv_file(dept, 3).decode()))
    at = header.index("NR_FK")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*header, "FRDB", "FR_ZJLX", "FR_ZJHM"])
    for row in rows:
        writer.writerow([*row[:at], fine, *row[at + 1 :], representative, "身份证", REPRESENTATIVE_ID])
    return out.getvalue().encode()


async def upload_csv(client: httpx.AsyncClient, actor: Actor, data: bytes, key: str) -> dict[str, Any]:
    answer = await upload(client, actor, data, key)
    receipt: dict[str, Any] = answer["data"]["pushRecordsFile"]
    assert receipt["__typename"] == "BulkReceipt", answer
    return receipt


async def test_a_bulk_load_seals_too_with_a_data_key_per_batch(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection, keys: StaticKeyProvider
) -> None:
    dept = actors["department"]
    first = await upload_csv(client, dept, bulk_file(dept.code, "赵六"), "b1")
    assert first["created"] == 3, first
    second = await upload_csv(client, dept, bulk_file(dept.code, "钱七"), "b2")
    third = await upload_csv(client, dept, bulk_file(dept.code, "钱七", fine="2"), "b3")
    assert (second["updated"], third["updated"]) == (3, 3)
    rows = [row for i in range(3) for row in await stored(connection, f"罚{i}")]
    assert all(
        set(r.sealed) == COMPANY_PERSONAL and "赵六" not in r.raw and "钱七" not in r.raw for r in rows
    )
    assert len({bytes(r.wrapped_key) for r in rows if r.version == 1}) == 1
    assert [r.changed_fields for r in rows if r.source_record_id == "罚0"] == [None, ["FRDB"], ["NR_FK"]]
    assert opened_content(keys, rows[2])["FRDB"] == "钱七"


async def test_rows_written_before_encryption_are_read_as_they_are(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> None:
    """key_version 0 (migration 0012): personal fields still in `content`, until a rotation seals them."""
    dept, company = actors["department"], company_code(76)
    await push_ok(client, dept, [company_penalty(dept.code, company)])
    (row,) = await stored(connection, "罚-S1")
    await connection.execute(
        text(
            "UPDATE records SET content = content || CAST(:plain AS jsonb), sealed = NULL, tags = NULL, "
            "key_version = 0, wrapped_key = NULL WHERE source_record_id = '罚-S1'"
        ),
        {"plain": json.dumps({"FRDB": "张三", "FR_ZJHM": REPRESENTATIVE_ID})},
    )
    shown = (await records_of(client, actors["credit_office"], company))["罚-S1"]["fields"]
    assert (shown["FRDB"], shown["FR_ZJHM"]) == ("张三", REPRESENTATIVE_ID)
    assert repo is not None and row.key_version == 1


# --- the exact-match look-up by ID number, through the blind index ---------------------------------

BY_ID = """
query($id: String!) { recordsByIdNumber(idNumber: $id) { uscc sourceRecordId fields } }
"""


async def test_records_are_found_by_id_number_through_the_blind_index(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection, keys: StaticKeyProvider
) -> None:
    code = actors["department"].code
    naming = [
        company_penalty(code, company_code(77), "罚-L1"),  # as the legal representative
        company_penalty(code, company_code(78), "罚-L2", FR_ZJHM=PERSON_ID),  # another number
        person_record("administrative_penalty", code, record_id="罚-L3", id_number=REPRESENTATIVE_ID),
    ]
    await push_ok(client, actors["department"], naming)
    (row,) = await stored(connection, "罚-L1")
    # The stored index is the number's keyed HMAC-SHA256, cut to 16 bits, computed here by hand.
    own_key = keys.key("blind-index:id-number")
    digest = hmac.new(own_key, REPRESENTATIVE_ID.encode(), hashlib.sha256).digest()
    assert row.id_index == [int.from_bytes(digest[:4], "big") >> 16]

    found = await gql(client, BY_ID, {"id": f" {REPRESENTATIVE_ID.lower()} "}, actors["credit_office"])
    assert "errors" not in found, found
    assert sorted(r["sourceRecordId"] for r in found["data"]["recordsByIdNumber"]) == ["罚-L1", "罚-L3"]
    assert {
        r["fields"].get("FR_ZJHM") or r["fields"].get("XDR_ZJHM") for r in found["data"]["recordsByIdNumber"]
    } == {REPRESENTATIVE_ID}


async def test_a_record_sharing_the_index_but_not_the_number_is_not_returned(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> None:
    """A truncated index is shared by many numbers (that is the point): the look-up compares the numbers."""
    dept = actors["department"]
    await push_ok(client, dept, [company_penalty(dept.code, company_code(79), "罚-L4", FR_ZJHM=PERSON_ID)])
    (row,) = await stored(connection, "罚-L4")
    # Give it the index of another number: it becomes a candidate for that number, and is dropped.
    await connection.execute(
        text("UPDATE records SET id_index = :index WHERE source_record_id = '罚-L4'"),
        {
            "index": [
                *(await stored(connection, "罚-L4"))[0].id_index,
                *await _index_of(client, actors, connection),
            ]
        },
    )
    found = await gql(client, BY_ID, {"id": REPRESENTATIVE_ID}, actors["credit_office"])
    assert [r["sourceRecordId"] for r in found["data"]["recordsByIdNumber"]] == ["罚-L5"]
    assert row.id_index is not None


async def _index_of(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> list[int]:
    dept = actors["department"]
    await push_ok(client, dept, [company_penalty(dept.code, company_code(81), "罚-L5")], key="l5")
    (row,) = await stored(connection, "罚-L5")
    return list(row.id_index)


# A control character is refused by every String argument's bound, before the look-up runs.
@pytest.mark.parametrize(
    ("number", "code", "path"),
    [
        ("  ", "REQUIRED", "idNumber"),
        ("1" * 31, "TOO_LONG", "idNumber"),
        ("1101\x0705", "CONTROL_CHARACTER", "variables.id"),
    ],
)
async def test_a_malformed_id_number_is_refused_with_the_reason(
    client: httpx.AsyncClient, actors: dict[str, Actor], number: str, code: str, path: str
) -> None:
    found = await gql(client, BY_ID, {"id": number}, actors["credit_office"])
    assert found["data"] is None
    assert found["errors"][0]["extensions"] == {"code": code, "path": path}


async def test_sm4_gcm_is_a_configuration_choice_and_rows_of_either_cipher_read_back(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    actors: dict[str, Actor],
    connection: AsyncConnection,
) -> None:
    """HUB_DATA_CIPHER=sm4-gcm: new rows are sealed with SM4-GCM (cipher id 2 in each value, a 16-byte
    data key); rows sealed with AES-256-GCM before still open, each value naming its cipher."""
    dept, office = actors["department"], actors["credit_office"]
    await push_ok(client, dept, [company_penalty(dept.code, company_code(82), "罚-AES")], key="aes")
    sm4 = create_app(settings.model_copy(update={"data_cipher": "sm4-gcm"}), sessions=sessions)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sm4), base_url="http://hub.test"
    ) as national:
        await push_ok(national, dept, [company_penalty(dept.code, company_code(83), "罚-SM4")], key="sm4")
        (aes,), (sm,) = await stored(connection, "罚-AES"), await stored(connection, "罚-SM4")
        assert base64.b64decode(aes.sealed["FRDB"])[0] == 1 and bytes(aes.wrapped_key)[0] == 1
        assert base64.b64decode(sm.sealed["FRDB"])[0] == 2 and bytes(sm.wrapped_key)[0] == 2
        for reader in (client, national):
            for company, record_id in ((company_code(82), "罚-AES"), (company_code(83), "罚-SM4")):
                shown = (await records_of(reader, office, company))[record_id]["fields"]
                assert (shown["FRDB"], shown["FR_ZJHM"]) == ("张三", REPRESENTATIVE_ID)


def test_a_row_written_before_is_sealed_by_the_catalogue_in_force_too(keys: StaticKeyProvider) -> None:
    """A penalty validated when FRDB was `restricted` (before issue 9): the rotation that seals it uses
    the version in force as well, so the legal representative's name is not left plain."""
    newest = load_bundled()["administrative_penalty"]
    before = dataclasses.replace(
        newest,
        fields=tuple(
            dataclasses.replace(f, sensitivity="restricted") if f.name == "FRDB" else f for f in newest.fields
        ),
    )
    values = {"XDR_LB": "法人及非法人组织", "FRDB": "张三", "FR_ZJLX": "身份证", "FR_ZJHM": REPRESENTATIVE_ID}
    row = ("91230102MA1B2C3D4E", "11230100000000020X", "罚-1")
    assert set(Sealer(keys).seal(before, *row, values).sealed or {}) == {"FR_ZJHM"}
    sealed = Sealer(keys).seal(before, *row, values, newest=newest)
    assert set(sealed.sealed or {}) == {"FRDB", "FR_ZJHM"} and "张三" not in sealed.content_json.decode()


async def test_sealed_fields_are_opened_only_for_callers_who_may_see_them(
    client: httpx.AsyncClient, actors: dict[str, Actor], connection: AsyncConnection
) -> None:
    """A caller from whom every sealed field is withheld gets the record without them being opened:
    with the row's wrapped data key spoiled, the bank's read still answers, the credit office's does not."""
    dept = actors["department"]
    company = company_code(72)
    await push_ok(client, dept, [company_penalty(dept.code, company, record_id="罚-S9")])
    await connection.execute(
        text("UPDATE records SET wrapped_key = :k WHERE source_record_id = '罚-S9'"), {"k": bytes(60)}
    )
    bank = (await records_of(client, actors["bank"], company))["罚-S9"]
    assert "FRDB" not in bank["fields"] and bank["fields"]["WSH"]
    # Opening fails for the caller who sees the sealed fields: GraphQL reports the error.
    with pytest.raises(AssertionError, match="errors"):
        await records_of(client, actors["credit_office"], company)
