"""SQL of the access log: appending entries, the sequencer's batches, nodes and checkpoints, reads."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ARRAY, LargeBinary, Row, String, bindparam, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import (
    AccessLogBatch,
    AccessLogCheckpoint,
    AccessLogEntry,
    AccessLogLeaf,
    AccessLogNode,
    AccessLogPurge,
)

# One key for the sequencer's transaction-scoped advisory lock, hub-wide ("access-log" in ASCII).
SEQUENCER_LOCK = 0x6163636573736C67

_ENTRY_COLUMNS = (
    "id, uscc, kind, action, caller_role, caller_organisation, token_id, fields, tier, purpose, "
    "authorisation, legal_basis, subject, request_id, response_sha256, hidden_until, at"
)


_COLUMNS = (
    "uscc",
    "kind",
    "action",
    "caller_role",
    "caller_organisation",
    "token_id",
    "fields",
    "tier",
    "purpose",
    "authorisation",
    "legal_basis",
    "subject",
    "request_id",
    "response_sha256",
    "hidden_until",
)
# Plain text, built once: on the path of every logged read (a generated INSERT costs more to build
# than to run). Columns not given are NULL.
_ADD_ONE = text(
    f"INSERT INTO access_log_entries ({', '.join(_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in _COLUMNS)}) RETURNING id"
).bindparams(bindparam("fields", type_=ARRAY(String)), bindparam("response_sha256", type_=LargeBinary))


async def add_entries(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Append entries; their ids in the order given."""
    if not rows:
        return []
    if len(rows) == 1:
        found = await session.execute(_ADD_ONE, {c: rows[0].get(c) for c in _COLUMNS})
        return [int(found.scalar_one())]
    found = await session.execute(
        insert(AccessLogEntry).returning(AccessLogEntry.id, sort_by_parameter_order=True), list(rows)
    )
    return list(found.scalars().all())


# --- the sequencer ------------------------------------------------------------------------------


async def try_lock(session: AsyncSession) -> bool:
    """The sequencer's lock, held until the transaction ends; False when another process holds it."""
    return bool(await session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": SEQUENCER_LOCK}))


async def last_batch(session: AsyncSession) -> tuple[int, int]:
    """The tree's size and the horizon of its last batch ((0, 0) when empty)."""
    row = (
        await session.execute(
            select(AccessLogBatch.first_index + AccessLogBatch.size, AccessLogBatch.horizon)
            .order_by(AccessLogBatch.first_index.desc())
            .limit(1)
        )
    ).first()
    return (int(row[0]), int(row[1])) if row else (0, 0)


# The entries not yet integrated, in one statement with the snapshot's xmin: every transaction below
# it has ended, so every entry they wrote is visible to this statement or never will be.
_PENDING = text(
    f"SELECT {_ENTRY_COLUMNS}, (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint AS xmin "
    "FROM access_log_entries e WHERE e.txid >= :horizon "
    "AND NOT EXISTS (SELECT 1 FROM access_log_leaves l WHERE l.entry_id = e.id) "
    "ORDER BY e.id LIMIT :limit"
)
_XMIN = text("SELECT (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint")


async def pending(session: AsyncSession, horizon: int, limit: int) -> tuple[list[Row[Any]], int]:
    rows = list((await session.execute(_PENDING, {"horizon": horizon, "limit": limit})).all())
    xmin = int(rows[0].xmin) if rows else int(await session.scalar(_XMIN) or 0)
    return rows, xmin


async def hashes(session: AsyncSession, nodes: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """The stored hashes of these nodes (level 0: leaves)."""
    wanted = set(nodes)
    leaves = [i for level, i in wanted if level == 0]
    inner = [(level, i) for level, i in wanted if level > 0]
    found: dict[tuple[int, int], bytes] = {}
    if leaves:
        rows = await session.execute(
            select(AccessLogLeaf.leaf_index, AccessLogLeaf.leaf_hash).where(
                AccessLogLeaf.leaf_index.in_(leaves)
            )
        )
        found.update({(0, int(i)): bytes(h) for i, h in rows})
    if inner:
        inner_rows = await session.execute(
            text(
                "SELECT n.level, n.idx, n.hash FROM access_log_nodes n "
                "JOIN unnest(CAST(:levels AS smallint[]), CAST(:idxs AS bigint[])) AS w(level, idx) "
                "ON n.level = w.level AND n.idx = w.idx"
            ),
            {"levels": [level for level, _ in inner], "idxs": [i for _, i in inner]},
        )
        found.update({(int(level), int(i)): bytes(h) for level, i, h in inner_rows})
    return found


async def add_batch(
    session: AsyncSession,
    first_index: int,
    leaves: Sequence[tuple[int, bytes]],
    nodes: Sequence[tuple[int, int, bytes]],
    horizon: int,
) -> None:
    """Leaves (entry id, leaf hash) from first_index on, the nodes they complete, and the batch row."""
    if leaves:
        await session.execute(
            insert(AccessLogLeaf),
            [
                {"leaf_index": first_index + n, "entry_id": entry_id, "leaf_hash": h}
                for n, (entry_id, h) in enumerate(leaves)
            ],
        )
    if nodes:
        await session.execute(
            insert(AccessLogNode), [{"level": level, "idx": i, "hash": h} for level, i, h in nodes]
        )
    await session.execute(
        insert(AccessLogBatch).values(first_index=first_index, size=len(leaves), horizon=horizon)
    )


async def last_checkpoint(session: AsyncSession) -> AccessLogCheckpoint | None:
    return await session.scalar(
        select(AccessLogCheckpoint).order_by(AccessLogCheckpoint.tree_size.desc()).limit(1)
    )


async def add_checkpoint(session: AsyncSession, size: int, root: bytes, note: str) -> None:
    await session.execute(insert(AccessLogCheckpoint).values(tree_size=size, root_hash=root, note=note))


async def now(session: AsyncSession) -> dt.datetime:
    return (await session.scalar(select(func.clock_timestamp()))) or dt.datetime.now(dt.UTC)


# --- reads --------------------------------------------------------------------------------------


async def entry(session: AsyncSession, entry_id: int) -> AccessLogEntry | None:
    return await session.scalar(select(AccessLogEntry).where(AccessLogEntry.id == entry_id))


async def leaf_of(session: AsyncSession, entry_id: int) -> int | None:
    found = await session.scalar(select(AccessLogLeaf.leaf_index).where(AccessLogLeaf.entry_id == entry_id))
    return int(found) if found is not None else None


async def reads_of(
    session: AsyncSession, uscc: str, *, before: int | None, visible_on: dt.date | None, limit: int
) -> list[AccessLogEntry]:
    """The entity's read entries, newest first; `visible_on`: only those not hidden on that day."""
    query = select(AccessLogEntry).where(AccessLogEntry.uscc == uscc, AccessLogEntry.kind == "read")
    if before is not None:
        query = query.where(AccessLogEntry.id < before)
    if visible_on is not None:
        query = query.where(
            (AccessLogEntry.hidden_until.is_(None)) | (AccessLogEntry.hidden_until <= visible_on)
        )
    return list((await session.scalars(query.order_by(AccessLogEntry.id.desc()).limit(limit))).all())


# --- verification (page by page: the whole log does not fit in memory at once) --------------------

_LEAVES_PAGE = (
    "SELECT l.leaf_index, l.entry_id, l.leaf_hash, e.id, e.uscc, e.kind, e.action, e.caller_role, "
    "e.caller_organisation, e.token_id, e.fields, e.tier, e.purpose, e.authorisation, e.legal_basis, "
    "e.subject, e.request_id, e.response_sha256, e.hidden_until, e.at "
    "FROM access_log_leaves l LEFT JOIN access_log_entries e ON e.id = l.entry_id "
    "WHERE l.leaf_index >= $1 ORDER BY l.leaf_index LIMIT $2"
)


async def leaves_page(session: AsyncSession, start: int, limit: int) -> list[Any]:
    """Leaves from `start` on, in order, with their entry's columns (None where the entry is gone), as
    the driver's records (by name: row["id"]): verification reads every leaf, and the ORM's rows cost
    more than the hashing."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    return list(await driver.fetch(_LEAVES_PAGE, start, limit))


# Node (l, i) ends at leaf (i + 1)·2^l - 1; in [lo, hi) for ceil((lo + 1) / 2^l) - 1 <= i <= hi / 2^l - 1.
_NODES_ENDING = text(
    "SELECT n.level, n.idx, n.hash FROM access_log_nodes n "
    "JOIN generate_series(1, CAST(:levels AS int)) AS g(level) ON n.level = g.level "
    "AND n.idx >= ((CAST(:lo AS bigint) + (1::bigint << g.level)) >> g.level) - 1 "
    "AND n.idx <= (CAST(:hi AS bigint) >> g.level) - 1"
)


async def nodes_ending(session: AsyncSession, lo: int, hi: int) -> dict[tuple[int, int], bytes]:
    """The stored nodes whose last leaf index is in [lo, hi)."""
    levels = max(hi.bit_length(), 1)
    rows = await session.execute(_NODES_ENDING, {"lo": lo, "hi": hi, "levels": levels})
    return {(int(level), int(i)): bytes(h) for level, i, h in rows}


async def checkpoints(session: AsyncSession) -> list[AccessLogCheckpoint]:
    return list(
        (await session.scalars(select(AccessLogCheckpoint).order_by(AccessLogCheckpoint.tree_size))).all()
    )


async def purge_horizon(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.coalesce(func.max(AccessLogPurge.before_index), 0))) or 0)


async def unintegrated_before(session: AsyncSession, horizon: int) -> list[int]:
    """Entries written below the last batch's horizon that have no leaf (a sequencer must have seen them)."""
    rows = await session.scalars(
        text(
            "SELECT e.id FROM access_log_entries e WHERE e.txid < :horizon "
            "AND NOT EXISTS (SELECT 1 FROM access_log_leaves l WHERE l.entry_id = e.id) ORDER BY e.id LIMIT 100"
        ),
        {"horizon": horizon},
    )
    return [int(i) for i in rows]


# --- retention (as the owner role) ---------------------------------------------------------------


async def purge_before(session: AsyncSession, cutoff: dt.datetime) -> tuple[int, int]:
    """Delete the details of integrated entries up to the first leaf whose entry is younger than
    `cutoff`; record the purge. Returns (before_index, entries deleted)."""
    first_young = await session.scalar(
        text(
            "SELECT min(l.leaf_index) FROM access_log_leaves l JOIN access_log_entries e ON e.id = l.entry_id "
            "WHERE e.at >= :cutoff"
        ),
        {"cutoff": cutoff},
    )
    size = await session.scalar(select(func.count()).select_from(AccessLogLeaf))
    before = int(first_young if first_young is not None else size or 0)
    previous = await purge_horizon(session)
    if before <= previous:
        return previous, 0
    deleted = await session.execute(
        text(
            "DELETE FROM access_log_entries e USING access_log_leaves l "
            "WHERE l.entry_id = e.id AND l.leaf_index < :before"
        ),
        {"before": before},
    )
    count = int(getattr(deleted, "rowcount", 0) or 0)
    await session.execute(insert(AccessLogPurge).values(before_index=before, cutoff=cutoff, purged=count))
    return before, count
