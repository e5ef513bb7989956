"""Key rotation: every sealed row moved onto the current wrapping key, online.

`rotate` works in batches of short transactions (one unit of work each): a batch locks the rows it
takes (FOR UPDATE SKIP LOCKED, in keyset order on the key version index), opens them under their old
data key, seals them again under a fresh data key of the current version and commits. Readers are
never blocked (they read the committed row, old or new, and both versions' keys are in the key file);
writers lock their own rows, which a batch skips and a later one takes. A rotation killed at any point
leaves each row on one version or the other, so running it again resumes it. It ends when a count
finds no row on an older version (rows a push wrote under the old version while the sweep ran
included).

Rows written before encryption at rest (key_version 0) are sealed by the same sweep: their personal
fields (the catalogue's, by the record type version they were validated against) leave `content`, and
their content digest becomes the keyed one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.audit import record as audit
from hub.catalog.policy import current_policy, record_type_versions
from hub.db import unit_of_work
from hub.ports import KeyProvider
from hub.records.sealing import repository as repo
from hub.records.sealing.fields import BLIND_INDEX_BITS, PLAIN_VERSION, SealedRow, Sealer, opened_content

# A pass that finds rows behind but moves none (all locked by writers) waits this long before the next.
RETRY_SECONDS = 0.2


@dataclass(frozen=True, slots=True)
class KeyStatus:
    current_version: int
    # Rows by key version: None has no personal field, 0 was written before encryption at rest.
    by_version: dict[int | None, int]

    @property
    def behind(self) -> int:
        return sum(n for v, n in self.by_version.items() if v is not None and v < self.current_version)


async def key_status(session: AsyncSession, keys: KeyProvider) -> KeyStatus:
    return KeyStatus(keys.current_version, await repo.counts_by_version(session))


async def rotate_batch(
    session: AsyncSession, keys: KeyProvider, limit: int, index_bits: int = BLIND_INDEX_BITS
) -> int:
    """Move up to `limit` rows onto the current key version; the number moved."""
    current = keys.current_version
    rows = await repo.rows_behind(session, current, limit)
    if not rows:
        return 0
    sealer = Sealer(keys, rows_per_key=max(limit, 1), index_bits=index_bits)
    plain = [r for r in rows if r.key_version == PLAIN_VERSION]
    definitions = await record_type_versions(session, {(r.record_type, r.type_version) for r in plain})
    newest = (await current_policy(session)).record_types if plain else {}
    moved = []
    for row in rows:
        values = opened_content(keys, row)
        if row.key_version == PLAIN_VERSION:
            definition = definitions.get((row.record_type, row.type_version))
            stored = sealer.seal(
                definition,
                row.uscc,
                row.source_dept,
                row.source_record_id,
                values,
                newest=newest.get(row.record_type),
            )
        else:
            stored = sealer.seal_fields(
                row.uscc,
                row.source_dept,
                row.source_record_id,
                bytes(row.content_hash),
                values,
                tuple(row.sealed),
                row.tags,
            )
        moved.append(_move(row, stored))
    await repo.move_rows(session, moved)
    return len(moved)


def _move(row: Any, stored: SealedRow) -> dict[str, Any]:
    return {
        "uscc": row.uscc,
        "source_dept": row.source_dept,
        "source_record_id": row.source_record_id,
        "version": row.version,
        "old_version": row.key_version,
        "content": stored.content_json.decode(),
        "content_hash": stored.content_hash,
        "sealed": orjson.dumps(stored.sealed).decode() if stored.sealed else None,
        "tags": orjson.dumps(stored.tags).decode() if stored.tags else None,
        "key_version": stored.key_version,
        "wrapped_key": stored.wrapped_key,
        # A row sealed before keeps its index (its key is never rotated); one written plain gets it now.
        "id_index": "{" + ",".join(map(str, stored.id_index)) + "}" if stored.id_index else None,
    }


async def rotate(
    sessions: async_sessionmaker[AsyncSession],
    keys: KeyProvider,
    batch_rows: int,
    progress: Callable[[int], None] | None = None,
    index_bits: int = BLIND_INDEX_BITS,
) -> int:
    """Move every row onto the current key version, a batch per transaction; the rows moved."""
    total = 0
    while True:
        async with unit_of_work(sessions) as session:
            moved = await rotate_batch(session, keys, batch_rows, index_bits)
        total += moved
        if progress is not None and moved:
            progress(total)
        if moved:
            continue
        async with unit_of_work(sessions) as session:
            if await repo.count_behind(session, keys.current_version) == 0:
                # An administrative change of the access log: no row is left on an older key.
                await audit.record_admin_change(
                    session,
                    audit.Who("operator", None),
                    "keys.rotated",
                    subject=f"every sealed row on wrapping key version {keys.current_version} ({total} moved)",
                )
                return total
        await asyncio.sleep(RETRY_SECONDS)  # the rows left are a writer's: it commits soon
