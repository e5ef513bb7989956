"""Benchmark: the access log. Three figures, each against a baseline of the same run and database.

1. Append, sustained: WRITERS concurrent writers in PROCESSES processes (one connection each, as hub
   requests of several hub processes) append one entry per transaction for SECONDS, through
   `hub.audit.record.record_read` in a unit of work, while a sequencer (here, in the benchmark's own
   process) integrates and signs checkpoints as the hub's processes do. Baseline: the same
   rows by the same writers as a plain INSERT into a table of the same shape (no hub code). The
   figure counts only entries the sequencer has integrated by the end (it must keep up).
2. The design not taken, for the comment in hub/audit/service.py: a locked counter row (UPDATE …
   RETURNING) taken by each writer in its own transaction to number its entry, same writers.
3. `audit verify` over N entries (BENCH_AUDIT_ENTRIES, default 1,000,000): the entries are made by
   one INSERT … SELECT generate_series, their leaves, subtree nodes and checkpoints by the hub's own
   Merkle code and COPY (as the sequencer would have stored them), then `service.verify` is timed.
   Baseline: reading the same leaves and entries once (the same join, no hashing).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from hub.audit import merkle, note
from hub.audit import record as log
from hub.audit import service as audit
from hub.audit.entry import entry_bytes
from hub.crypto import StaticKeyProvider
from hub.db import asyncpg_dsn, make_engine, make_sessionmaker, unit_of_work
from hub.settings import Settings
from tests.bench import support

DATABASE = "hub_bench_access_log"
WRITERS = int(os.environ.get("BENCH_AUDIT_WRITERS", 8))
PROCESSES = int(os.environ.get("BENCH_AUDIT_PROCESSES", 2))
SECONDS = float(os.environ.get("BENCH_AUDIT_SECONDS", 10))
WHO = log.Who("bank", "91230100B00000014T", 1)
FIELDS = ["record.administrative_penalty.BZ", "record.administrative_penalty.FRDB"]

_BASELINE_TABLE = """CREATE TABLE IF NOT EXISTS bench_plain_log (LIKE access_log_entries INCLUDING DEFAULTS
    INCLUDING IDENTITY INCLUDING INDEXES)"""
_PLAIN_INSERT = """INSERT INTO bench_plain_log (uscc, kind, action, caller_role, caller_organisation, token_id,
    fields, tier, request_id, response_sha256) VALUES ($1, 'read', 'read', 'bank', $2, 1, $3, 'role', $4, $5)"""


def _settings() -> Settings:
    return support.bench_settings().model_copy(
        update={"access_log_checkpoint_entries": 1000, "access_log_checkpoint_seconds": 1.0}
    )


async def _for(seconds: float, work: Any, writers: int = WRITERS) -> int:
    """Run `work(writer, i)` in `writers` loops until `seconds` pass; how many ran."""
    done = [0] * writers
    stop = time.perf_counter() + seconds

    async def loop(writer: int) -> None:
        i = 0
        while time.perf_counter() < stop:
            await work(writer, i)
            i += 1
        done[writer] = i

    await asyncio.gather(*(loop(w) for w in range(writers)))
    return sum(done)


async def writers(url: str, process: int) -> int:
    """One writer process: WRITERS // PROCESSES writers appending one entry per transaction."""
    engine = make_engine(make_url(url), pool_size=WRITERS)
    sessions = make_sessionmaker(engine)

    async def write(writer: int, i: int) -> None:
        read = log.Read(support.company((process * 100 + writer) * 100_000 + i), FIELDS, tier="role")
        async with unit_of_work(sessions) as session:
            await log.record_read(session, WHO, read, request_id=f"w{writer}-{i}", response_sha256=bytes(32))

    done = await _for(SECONDS, write, WRITERS // PROCESSES)
    await engine.dispose()
    return done


async def append(url: Any, settings: Settings) -> dict[str, Any]:
    keys = StaticKeyProvider(settings.master_key)
    engine = make_engine(url, pool_size=WRITERS + 2)
    sessions = make_sessionmaker(engine)
    running = True

    async def sequencer() -> None:
        while running:
            async with unit_of_work(sessions) as session:
                done = await audit.integrate(session, settings, keys)
            if done.added == 0:
                await asyncio.sleep(0.1)

    task = asyncio.create_task(sequencer())
    started = time.perf_counter()
    # The writers run in PROCESSES processes of their own, as several hub processes would.
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.bench.access_log",
            "--writers",
            url.render_as_string(hide_password=False),
            str(p),
            stdout=asyncio.subprocess.PIPE,
        )
        for p in range(PROCESSES)
    ]
    outputs = [await w.communicate() for w in workers]
    elapsed = time.perf_counter() - started
    appended = sum(int(out.decode().split()[-1]) for out, _ in outputs)
    async with unit_of_work(sessions) as session:  # how far the sequencer had come when the writers stopped
        integrated_at_end = int(
            await session.scalar(text("SELECT coalesce(max(leaf_index) + 1, 0) FROM access_log_leaves")) or 0
        )
    running = False
    await task
    async with unit_of_work(sessions) as session:  # whatever the last runs left
        while (await audit.integrate(session, settings, keys)).added:
            pass
        report = await audit.verify(session, settings, keys)
    await engine.dispose()
    assert report.ok, report.problems

    owner = await asyncpg.connect(asyncpg_dsn(support.owner_of(url)))
    await owner.execute(_BASELINE_TABLE)
    pool = await asyncpg.create_pool(asyncpg_dsn(support.owner_of(url)), min_size=WRITERS, max_size=WRITERS)

    async def plain(writer: int, i: int) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                _PLAIN_INSERT,
                support.company(writer * 10_000_000 + i),
                WHO.organisation,
                FIELDS,
                f"w{writer}-{i}",
                bytes(32),
            )

    started = time.perf_counter()
    baseline = await _for(SECONDS, plain)
    baseline_elapsed = time.perf_counter() - started

    # The locked counter: each writer numbers its own entry under a row lock held until its commit.
    await owner.execute("CREATE TABLE IF NOT EXISTS bench_counter (n bigint NOT NULL)")
    await owner.execute("TRUNCATE bench_counter; INSERT INTO bench_counter VALUES (0)")
    await owner.execute(
        "CREATE TABLE IF NOT EXISTS bench_counted (leaf_index bigint PRIMARY KEY, leaf_hash bytea)"
    )

    async def counted(writer: int, i: int) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                _PLAIN_INSERT,
                support.company(writer * 10_000_000 + i),
                WHO.organisation,
                FIELDS,
                f"c{writer}-{i}",
                bytes(32),
            )
            index = await conn.fetchval("UPDATE bench_counter SET n = n + 1 RETURNING n - 1")
            await conn.execute(
                "INSERT INTO bench_counted VALUES ($1, $2)", index, merkle.leaf_hash(b"%d" % index)
            )

    started = time.perf_counter()
    locked = await _for(SECONDS, counted)
    locked_elapsed = time.perf_counter() - started
    await pool.close()
    await owner.close()
    # The writers ran SECONDS each, all at once (their processes' start-up is not counted).
    rate = appended / SECONDS
    return {
        "writers": WRITERS,
        "seconds": SECONDS,
        "appended": appended,
        "integrated_by_end": integrated_at_end,
        "processes": PROCESSES,
        "wall_seconds": elapsed,
        "entries_per_s": rate,
        "baseline_entries_per_s": baseline / baseline_elapsed,
        "ratio": rate / (baseline / baseline_elapsed),
        "locked_counter_entries_per_s": locked / locked_elapsed,
        "locked_counter_ratio": (locked / locked_elapsed) / (baseline / baseline_elapsed),
    }


_MAKE_ENTRIES = """INSERT INTO access_log_entries (uscc, kind, action, caller_role, caller_organisation, token_id,
    fields, tier, purpose, request_id, response_sha256, at)
    SELECT lpad(g::text, 18, '9'), 'read', 'read', 'bank', '91230100B00000014T', 1,
           ARRAY['record.administrative_penalty.BZ'], 'full', 'loan', 'r' || g, sha256(g::text::bytea),
           now() - make_interval(secs => $1 - g)
    FROM generate_series(1, $1) AS g"""


async def verify(url: Any, settings: Settings, entries: int) -> dict[str, Any]:
    keys = StaticKeyProvider(settings.master_key)
    key = audit.log_key(keys)
    owner = await asyncpg.connect(asyncpg_dsn(support.owner_of(url)))
    for table in ("checkpoints", "batches", "nodes", "leaves", "entries"):
        await owner.execute(f"TRUNCATE access_log_{table}")
    started = time.perf_counter()
    await owner.execute(_MAKE_ENTRIES, entries)
    frontier = merkle.Frontier()
    leaves: list[tuple[int, int, bytes]] = []
    nodes: list[tuple[int, int, bytes]] = []
    checkpoints: list[tuple[int, bytes, str]] = []
    async with owner.transaction():
        cursor = owner.cursor(
            "SELECT id, uscc, kind, action, caller_role, caller_organisation, token_id, fields, tier, purpose, "
            "authorisation, legal_basis, subject, request_id, response_sha256, hidden_until, at "
            "FROM access_log_entries ORDER BY id",
            prefetch=20_000,
        )
        async for row in cursor:
            h = merkle.leaf_hash(entry_bytes(row))
            leaves.append((frontier.size, row["id"], h))
            nodes.extend((level, i, nh) for (level, i), nh in frontier.append(h))
            if frontier.size % 1000 == 0 or frontier.size == entries:
                text = note.Checkpoint(settings.access_log_origin, frontier.size, frontier.root()).text()
                signed = note.sign(text, settings.access_log_origin, key)
                checkpoints.append((frontier.size, frontier.root(), signed))
    await owner.copy_records_to_table(
        "access_log_leaves", records=leaves, columns=["leaf_index", "entry_id", "leaf_hash"]
    )
    await owner.copy_records_to_table("access_log_nodes", records=nodes, columns=["level", "idx", "hash"])
    await owner.copy_records_to_table(
        "access_log_checkpoints", records=checkpoints, columns=["tree_size", "root_hash", "note"]
    )
    await owner.execute(
        "INSERT INTO access_log_batches (first_index, size, horizon) VALUES (0, $1, 0)", entries
    )
    await owner.execute("VACUUM ANALYZE access_log_entries")
    await owner.execute("VACUUM ANALYZE access_log_leaves")
    await owner.execute("VACUUM ANALYZE access_log_nodes")
    built = time.perf_counter() - started

    started = time.perf_counter()
    read = 0
    async with owner.transaction():
        async for _ in owner.cursor(
            "SELECT l.leaf_index, l.leaf_hash, e.* FROM access_log_leaves l "
            "LEFT JOIN access_log_entries e ON e.id = l.entry_id ORDER BY l.leaf_index",
            prefetch=20_000,
        ):
            read += 1
    baseline = time.perf_counter() - started
    await owner.close()

    engine = make_engine(url, pool_size=1)
    async with unit_of_work(make_sessionmaker(engine)) as session:
        started = time.perf_counter()
        report = await audit.verify(session, settings, keys)
        seconds = time.perf_counter() - started
    await engine.dispose()
    assert report.ok and report.size == entries == read, report.problems
    return {
        "entries": entries,
        "checkpoints": report.checkpoints,
        "build_seconds": built,
        "verify_seconds": seconds,
        "baseline_read_seconds": baseline,
        "ratio": seconds / baseline,
    }


def report(result: dict[str, Any]) -> list[str]:
    a, v = result["append"], result["verify"]
    return [
        f"access log append, {a['writers']} writers for {a['seconds']:.0f} s each, sequencer running:",
        f"  baseline plain INSERT        {a['baseline_entries_per_s']:>10,.0f} entries/s",
        f"  hub, {a['processes']} processes           {a['entries_per_s']:>10,.0f} entries/s   ratio {a['ratio']:.2f} "
        f"(target >= 2,000 entries/s; appended {a['appended']:,}, integrated when they stopped "
        f"{a['integrated_by_end']:,})",
        f"  locked counter (not taken)   {a['locked_counter_entries_per_s']:>10,.0f} entries/s   "
        f"ratio {a['locked_counter_ratio']:.2f}",
        f"audit verify over {v['entries']:,} entries and {v['checkpoints']:,} checkpoints: "
        f"{v['verify_seconds']:.1f} s (target < 30 s); reading them once {v['baseline_read_seconds']:.1f} s, "
        f"ratio {v['ratio']:.1f}; built in {v['build_seconds']:.0f} s",
    ]


async def run() -> dict[str, Any]:
    settings = _settings()
    url = await support.fresh_database(settings, DATABASE)
    try:
        appended = await append(url, settings)
        checked = await verify(url, settings, int(os.environ.get("BENCH_AUDIT_ENTRIES", 1_000_000)))
    finally:
        await support.drop_database(settings, DATABASE)
    return {"append": appended, "verify": checked}


async def main() -> dict[str, Any]:
    result = await run()
    print("\n".join(report(result)), flush=True)
    return result


if __name__ == "__main__":
    if sys.argv[1:2] == ["--writers"]:
        print(asyncio.run(writers(sys.argv[2], int(sys.argv[3]))))
    else:
        asyncio.run(main())
