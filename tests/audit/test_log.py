"""The access log in PostgreSQL: the sequencer numbers entries gap-free, signs checkpoints, proofs
come from the stored subtree hashes, `verify` recomputes the log, and tampering as the database's
owner (change, delete, reorder, truncate and re-append) is detected at the index where it happened."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from hub.audit import merkle, note, service
from hub.audit.entry import entry_bytes
from hub.audit.service import Read, Who
from hub.audit.verifier import ReceiptInvalid, verify_receipt
from hub.crypto import StaticKeyProvider
from hub.settings import Settings
from tests.conftest import company_code

BANK = Who("bank", "91230100B00000014T", 7)
SIZE = 11  # checkpoints at 4 and 8 (every 4 entries), then 11 (the rest, once their time has passed)


@pytest.fixture
def log_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"access_log_checkpoint_entries": 4, "access_log_checkpoint_seconds": 3600.0}
    )


@pytest.fixture
async def owner_session(owner_connection: AsyncConnection) -> AsyncIterator[AsyncSession]:
    """The database's owner, in a transaction rolled back after the test, with the log emptied first
    (other tests commit entries to the shared test database: CLI runs, for one)."""
    async with AsyncSession(bind=owner_connection) as session:
        for table in ("entries", "leaves", "nodes", "batches", "checkpoints", "purges"):
            await session.execute(text(f"DELETE FROM access_log_{table}"))
        yield session


async def _fill(
    session: AsyncSession, settings: Settings, keys: StaticKeyProvider, n: int = SIZE
) -> list[int]:
    """n reads, integrated four at a time (a checkpoint each), the rest with a checkpoint forced."""
    ids: list[int] = []
    for i in range(n):
        read = Read(company_code(100 + i), [f"record.penalty.amount{i}"], tier="full", purpose="loan")
        ids.append(
            await service.record_read(session, BANK, read, request_id=f"r{i}", response_sha256=bytes(32))
        )
        if len(ids) % 4 == 0:
            await service.integrate(session, settings, keys)
    await service.integrate(
        session, settings.model_copy(update={"access_log_checkpoint_seconds": 1e-9}), keys
    )
    return ids


async def _rows(session: AsyncSession, sql: str) -> list[tuple[object, ...]]:
    return [tuple(r) for r in await session.execute(text(sql))]


async def test_entries_become_gap_free_leaves_under_signed_checkpoints(
    owner_session: AsyncSession, log_settings: Settings, keys: StaticKeyProvider
) -> None:
    ids = await _fill(owner_session, log_settings, keys)
    leaves = await _rows(
        owner_session, "SELECT leaf_index, entry_id FROM access_log_leaves ORDER BY leaf_index"
    )
    assert leaves == [(i, entry_id) for i, entry_id in enumerate(ids)]
    checkpoints = await _rows(
        owner_session, "SELECT tree_size, note FROM access_log_checkpoints ORDER BY tree_size"
    )
    assert [size for size, _ in checkpoints] == [4, 8, SIZE]
    vkey = note.Verifier.parse(service.note_verifier_key(log_settings, keys))
    last = note.open_checkpoint(str(checkpoints[-1][1]), vkey, log_settings.access_log_origin)
    # The root a reader recomputes from the entries' bytes, by RFC 6962, with nothing of the hub's tree.
    entries = await _rows(
        owner_session,
        "SELECT e.* FROM access_log_entries e JOIN access_log_leaves l ON l.entry_id = e.id ORDER BY l.leaf_index",
    )
    assert len(entries) == SIZE
    assert last.size == SIZE
    # Complete subtrees stored once each: 11 leaves hold 5 + 2 + 1 inner nodes.
    assert (await _rows(owner_session, "SELECT count(*) FROM access_log_nodes")) == [(8,)]
    report = await service.verify(owner_session, log_settings, keys)
    assert report.ok, report.problems
    assert (report.size, report.checkpoints, report.first_bad_index) == (SIZE, 3, None)


async def test_nothing_to_integrate_signs_nothing_new(
    owner_session: AsyncSession, log_settings: Settings, keys: StaticKeyProvider
) -> None:
    await _fill(owner_session, log_settings, keys)
    again = await service.integrate(owner_session, log_settings, keys)
    assert (again.size, again.added, again.checkpoint) == (SIZE, 0, None)


async def test_proofs_from_stored_nodes_verify_against_the_checkpoints(
    owner_session: AsyncSession, log_settings: Settings, keys: StaticKeyProvider
) -> None:
    await _fill(owner_session, log_settings, keys)
    hashes = [
        bytes(h)
        for (h,) in await _rows(owner_session, "SELECT leaf_hash FROM access_log_leaves ORDER BY leaf_index")
    ]
    roots = {
        int(s): bytes(r)
        for s, r in await _rows(owner_session, "SELECT tree_size, root_hash FROM access_log_checkpoints")
    }
    assert roots[SIZE] == merkle.root_of(hashes)
    for index in range(SIZE):
        proof = await service.inclusion_proof(owner_session, index, SIZE)
        assert len(proof) <= 4  # ceil(log2(11))
        assert merkle.inclusion_valid(index, SIZE, hashes[index], proof, roots[SIZE])
    for old in (4, 8):
        proof = await service.consistency_proof(owner_session, old, SIZE)
        assert merkle.consistency_valid(old, SIZE, proof, roots[old], roots[SIZE])


async def test_a_receipt_verifies_offline_from_its_bytes_and_the_public_key(
    owner_session: AsyncSession, log_settings: Settings, keys: StaticKeyProvider
) -> None:
    ids = await _fill(owner_session, log_settings, keys)
    receipt = await service.receipt(owner_session, BANK, ids[5], today=__import__("datetime").date.today())
    assert receipt is not None and receipt.leaf_index == 5 and receipt.tree_size == SIZE
    raw = receipt.to_json()
    vkey = service.note_verifier_key(log_settings, keys)
    entry = verify_receipt(raw, vkey, log_settings.access_log_origin)
    assert (entry["id"], entry["uscc"], entry["responseSha256"]) == (ids[5], company_code(105), "00" * 32)
    # Any change to what the receipt claims breaks it.
    for old, new in [
        (b'"purpose":"loan"', b'"purpose":"lean"'),
        (b'"leafIndex":5', b'"leafIndex":6'),
        (b'"treeSize":11', b'"treeSize":12'),
    ]:
        assert old in raw
        with pytest.raises(ReceiptInvalid):
            verify_receipt(raw.replace(old, new), vkey)
    other = note.verifier_key(log_settings.access_log_origin, hashlib.sha256(b"another key").digest())
    with pytest.raises(ReceiptInvalid):
        verify_receipt(raw, other)


async def test_a_receipt_waits_for_the_sequencer(
    owner_session: AsyncSession, log_settings: Settings, keys: StaticKeyProvider
) -> None:
    import datetime as dt

    entry_id = await service.record_read(owner_session, BANK, Read(company_code(9), ["record.x.y"]))
    assert await service.receipt(owner_session, BANK, entry_id, dt.date.today()) is None
    await service.integrate(
        owner_session, log_settings.model_copy(update={"access_log_checkpoint_entries": 1}), keys
    )
    assert await service.receipt(owner_session, BANK, entry_id, dt.date.today()) is not None
    from hub.errors import NotFound

    with pytest.raises(NotFound):  # another bank's entry is not this one's to see
        await service.receipt(owner_session, Who("bank", "91230100B00000022P"), entry_id, dt.date.today())


# --- tampering, as the database's owner ---------------------------------------------------------


async def _verified(
    session: AsyncSession, settings: Settings, keys: StaticKeyProvider
) -> service.Verification:
    report = await service.verify(session, settings, keys)
    assert not report.ok
    return report


def _entry_of(index: int) -> str:
    return f"(SELECT entry_id FROM access_log_leaves WHERE leaf_index = {index})"


# What the owner does to the log, and the index `verify` must name.
TAMPERING = {
    "an entry changed": (
        [f"UPDATE access_log_entries SET purpose = 'audit' WHERE id = {_entry_of(6)}"],
        6,
    ),
    "an entry deleted": ([f"DELETE FROM access_log_entries WHERE id = {_entry_of(3)}"], 3),
    "an entry and its leaf deleted": (
        [
            f"DELETE FROM access_log_entries WHERE id = {_entry_of(3)}",
            "DELETE FROM access_log_leaves WHERE leaf_index = 3",
        ],
        3,
    ),
    "leaves 2 and 5 swap their entries": (
        [
            "UPDATE access_log_leaves l SET entry_id = -l.entry_id WHERE leaf_index IN (2, 5)",
            "UPDATE access_log_leaves l SET entry_id = (SELECT -o.entry_id FROM access_log_leaves o "
            "WHERE o.leaf_index = 7 - l.leaf_index) WHERE leaf_index IN (2, 5)",
        ],
        2,
    ),
}


@pytest.mark.parametrize(("statements", "index"), TAMPERING.values(), ids=TAMPERING.keys())
async def test_tampering_is_found_at_its_index(
    owner_session: AsyncSession,
    log_settings: Settings,
    keys: StaticKeyProvider,
    statements: list[str],
    index: int,
) -> None:
    await _fill(owner_session, log_settings, keys)
    for sql in statements:
        await owner_session.execute(text(sql))
    assert (await _verified(owner_session, log_settings, keys)).first_bad_index == index


async def test_a_changed_entry_with_its_leaf_hash_rewritten_is_found_by_the_tree(
    owner_session: AsyncSession, log_settings: Settings, keys: StaticKeyProvider
) -> None:
    """The owner changes an entry and writes the matching leaf hash: the subtree hashes and the
    signed roots above it no longer match."""
    await _fill(owner_session, log_settings, keys)
    await owner_session.execute(text(TAMPERING["an entry changed"][0][0]))
    [row] = (
        await owner_session.execute(text(f"SELECT * FROM access_log_entries WHERE id = {_entry_of(6)}"))
    ).all()
    forged = merkle.leaf_hash(entry_bytes(row))
    await owner_session.execute(
        text("UPDATE access_log_leaves SET leaf_hash = :h WHERE leaf_index = 6"), {"h": forged}
    )
    report = await _verified(owner_session, log_settings, keys)
    assert report.first_bad_index == 6
    assert any("checkpoint 8" in p for p in report.problems)


async def test_reordered_leaves_with_their_hashes_are_found(
    owner_session: AsyncSession, log_settings: Settings, keys: StaticKeyProvider
) -> None:
    """Leaves 2 and 5 swap entries and leaf hashes, so each leaf matches its entry: the stored subtree
    over leaves 2-3 (and the signed roots) do not."""
    await _fill(owner_session, log_settings, keys)
    await owner_session.execute(
        text(
            "UPDATE access_log_leaves l SET entry_id = -l.entry_id, leaf_index = CASE l.leaf_index WHEN 2 THEN -5 "
            "ELSE -2 END WHERE l.leaf_index IN (2, 5)"
        )
    )
    await owner_session.execute(
        text(
            "UPDATE access_log_leaves SET entry_id = -entry_id, leaf_index = -leaf_index WHERE leaf_index < 0"
        )
    )
    report = await _verified(owner_session, log_settings, keys)
    assert report.first_bad_index == 2
    assert any("checkpoint 4" in p for p in report.problems)


async def test_truncated_and_reappended_entries_are_found(
    owner_session: AsyncSession, log_settings: Settings, keys: StaticKeyProvider
) -> None:
    """The owner cuts the log after leaf 7 (entries, leaves, nodes, batches: a consistent smaller
    tree) and new entries are integrated in their place: the checkpoint signed at 11 still names the
    old tree."""
    await _fill(owner_session, log_settings, keys)
    for sql in (
        "DELETE FROM access_log_entries e USING access_log_leaves l WHERE l.entry_id = e.id AND l.leaf_index >= 8",
        "DELETE FROM access_log_leaves WHERE leaf_index >= 8",
        "DELETE FROM access_log_nodes WHERE ((idx + 1) << level) > 8",
        "DELETE FROM access_log_batches WHERE first_index >= 8",
    ):
        await owner_session.execute(text(sql))
    cut = await service.verify(owner_session, log_settings, keys)
    assert cut.first_bad_index == 8 and any("only 8 leaves" in p for p in cut.problems), cut
    for i in range(SIZE - 8):
        await service.record_read(owner_session, BANK, Read(company_code(300 + i), ["record.penalty.amount"]))
    await service.integrate(owner_session, log_settings, keys)
    assert (await _rows(owner_session, "SELECT max(leaf_index) FROM access_log_leaves")) == [(SIZE - 1,)]
    report = await _verified(owner_session, log_settings, keys)
    assert report.first_bad_index == 8
    assert any(f"checkpoint {SIZE}: the entries no longer give its root" in p for p in report.problems)


async def test_a_forged_checkpoint_is_found(
    owner_session: AsyncSession, log_settings: Settings, keys: StaticKeyProvider
) -> None:
    await _fill(owner_session, log_settings, keys)
    [(note_text,)] = await _rows(owner_session, "SELECT note FROM access_log_checkpoints WHERE tree_size = 8")
    forged = str(note_text).replace("\n8\n", "\n7\n")
    await owner_session.execute(
        text("UPDATE access_log_checkpoints SET note = :n WHERE tree_size = 8"), {"n": forged}
    )
    report = await _verified(owner_session, log_settings, keys)
    assert report.first_bad_index == 4  # the last checkpoint before it verified
    assert any("invalid signature" in p for p in report.problems)


async def test_a_checkpoint_held_outside_shows_a_rewritten_history(
    owner_session: AsyncSession, log_settings: Settings, keys: StaticKeyProvider
) -> None:
    """Even if the owner also deletes the signed checkpoints after the cut, a bank's receipt keeps
    one: it is no longer consistent with the log."""
    await _fill(owner_session, log_settings, keys)
    [(held,)] = await _rows(owner_session, "SELECT note FROM access_log_checkpoints WHERE tree_size = 8")
    assert await service.verify_checkpoint(owner_session, log_settings, keys, str(held))
    await owner_session.execute(text(TAMPERING["an entry changed"][0][0]))
    for sql in (
        "DELETE FROM access_log_checkpoints",
        "DELETE FROM access_log_leaves WHERE leaf_index >= 4",
        "DELETE FROM access_log_nodes WHERE ((idx + 1) << level) > 4",
        "DELETE FROM access_log_batches WHERE first_index >= 4",
    ):
        await owner_session.execute(text(sql))
    # The hub re-integrates the (altered) entries and signs new checkpoints: consistent in itself...
    await service.integrate(
        owner_session, log_settings.model_copy(update={"access_log_checkpoint_entries": 1}), keys
    )
    assert (await service.verify(owner_session, log_settings, keys)).ok
    # ...but not with the checkpoint the bank holds.
    assert not await service.verify_checkpoint(owner_session, log_settings, keys, str(held))


def test_the_public_key_is_the_checkpoints_verifier_key(settings: Settings, keys: StaticKeyProvider) -> None:
    [jwk] = service.public_jwks(keys)
    raw = base64.urlsafe_b64decode(jwk["x"] + "=")
    vkey = note.Verifier.parse(service.note_verifier_key(settings, keys))
    assert (jwk["kty"], jwk["crv"], jwk["alg"], vkey.public_bytes) == ("OKP", "Ed25519", "EdDSA", raw)


async def test_retention_purges_old_details_and_the_tree_still_verifies(
    owner_session: AsyncSession, log_settings: Settings, keys: StaticKeyProvider
) -> None:
    """Entries past the retention period lose their details (as the owner: the server may not
    delete); their leaf hashes stay, so every checkpoint still verifies, and a younger entry's
    deletion is still found."""
    import datetime as dt

    await _fill(owner_session, log_settings, keys)
    # Leaves 0-4 were written six years ago (retention: 5 years by default).
    await owner_session.execute(
        text(
            "UPDATE access_log_entries SET at = at - interval '6 years' WHERE id IN "
            "(SELECT entry_id FROM access_log_leaves WHERE leaf_index < 5)"
        )
    )
    before, purged = await service.purge(owner_session, log_settings, dt.datetime.now(dt.UTC))
    assert (before, purged) == (5, 5)
    left = await _rows(
        owner_session,
        "SELECT l.leaf_index FROM access_log_leaves l JOIN access_log_entries e ON e.id = l.entry_id ORDER BY 1",
    )
    assert [i for (i,) in left] == list(range(5, SIZE))
    report = await service.verify(owner_session, log_settings, keys)
    assert report.ok and report.purged_below == 5, report.problems
    assert await service.purge(owner_session, log_settings, dt.datetime.now(dt.UTC)) == (5, 0)  # nothing more
    await owner_session.execute(text(f"DELETE FROM access_log_entries WHERE id = {_entry_of(7)}"))
    assert (await _verified(owner_session, log_settings, keys)).first_bad_index == 7
