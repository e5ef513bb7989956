"""Benchmark: what the record states (issue 9) cost an archive page read, as a ratio.

The archive's page statement (hub.records.archive.repository) now joins `record_states`, computes a
record's state (shields, expiry) and leaves out the states withheld from the caller. The baseline is
the same statement as it was before issue 9 (kept here), run in the same process against the same
data: entities with 3 penalties each, 10% of their records in a stored state and 1% of the entities
shielded. Both are run as the public sees an archive (records under publicity) and timed over the
same look-ups, alternating, so that the ratio is of the SQL alone.

`.venv/bin/python -m tests.bench.record_states` (about half a minute).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import JSONB

from hub.db import make_engine
from hub.records.archive import repository as reads
from tests.bench import support
from tests.bench.entity_lookup import load_entities

DATABASE = "hub_bench_states"
# The page statement before issue 9, for the baseline.
_BEFORE = text(
    """
    SELECT * FROM (
        SELECT r.uscc, r.source_dept, r.source_record_id, r.version, r.current, r.record_type, r.type_version,
               r.content, r.decision_date, r.severity, r.publicity_rule, r.published, r.repair_from,
               r.publish_until, r.late, r.changed_fields, r.pushed_by, r.pushed_at,
               row_number() OVER (PARTITION BY r.uscc ORDER BY r.decision_date DESC, r.source_dept,
                                  r.source_record_id) AS rank
        FROM records r
        WHERE r.current AND r.uscc = ANY(CAST(:usccs AS text[]))
          AND (CAST(:public_on AS date) IS NULL
               OR (r.published AND (r.publish_until IS NULL OR r.publish_until >= CAST(:public_on AS date))))
    ) page
    WHERE rank <= :limit
    ORDER BY uscc, rank
    """
).columns(content=JSONB)
# As a department reads an archive: every current record, none repaired or revoked.
WITHHELD = ("repaired", "revoked")


async def run(entities: int = 5_000, per_entity: int = 3, lookups: int = 2_000) -> dict[str, Any]:
    settings = support.bench_settings()
    url = await support.fresh_database(settings, DATABASE)
    dept = await support.department(url)
    await load_entities(url, settings, entities, per_entity, dept.token)
    today = dt.date.today()
    owner = make_engine(support.owner_of(url), pool_size=1)  # set-up and ANALYZE as the tables' owner
    async with owner.begin() as conn:
        await conn.execute(
            text(
                """
                INSERT INTO record_states (uscc, source_dept, source_record_id, state, cause, changed_by)
                SELECT uscc, source_dept, source_record_id,
                       (ARRAY['disputed', 'upheld', 'repaired', 'revoked'])[1 + (hashtext(source_record_id) & 3)],
                       'objection:1', source_dept
                FROM records WHERE current AND hashtext(source_record_id) % 10 = 0
                """
            )
        )
        await conn.execute(
            text(
                """
                INSERT INTO entity_shields (uscc, reason, shield_from, shield_until, shielded_by)
                SELECT DISTINCT uscc, 'bench', CAST(:today AS date), CAST(:until AS date), source_dept FROM records
                WHERE hashtext(uscc) % 100 = 0
                """
            ),
            {"today": today, "until": today + dt.timedelta(days=30)},
        )
        await conn.execute(text("ANALYZE"))
    await owner.dispose()
    engine = make_engine(url, pool_size=2)
    usccs = [support.company(i) for i in range(entities)]
    if os.environ.get("BENCH_EXPLAIN"):
        async with engine.connect() as conn:
            params = reads._params([usccs[0]], today=today, withheld=WITHHELD)
            params.update(after_date=None, after_dept=None, after_id=None, limit=20)
            plan = await conn.execute(text("EXPLAIN ANALYZE " + str(reads._PAGE)), params)
            print("\n".join(r[0] for r in plan))
    timings = {"before": 0.0, "states": 0.0}
    async with engine.connect() as conn:
        for i in range(lookups):
            uscc = usccs[i % entities]
            started = time.perf_counter()
            await conn.execute(_BEFORE, {"usccs": [uscc], "public_on": None, "limit": 20})
            timings["before"] += time.perf_counter() - started
            started = time.perf_counter()
            await reads.page_of_records(
                conn,  # type: ignore[arg-type]  # a connection executes the statement as a session would
                [uscc],
                record_types=None,
                sources=None,
                decided_from=None,
                decided_to=None,
                public_on=None,
                after=None,
                limit=20,
                today=today,
                withheld=WITHHELD,
            )
            timings["states"] += time.perf_counter() - started
    await engine.dispose()
    return {
        "entities": entities,
        "records": entities * per_entity,
        "lookups": lookups,
        "before_ms": timings["before"] / lookups * 1000,
        "states_ms": timings["states"] / lookups * 1000,
        "ratio": timings["states"] / timings["before"],
    }


def report(r: dict[str, Any]) -> list[str]:
    return [
        f"archive page with record states: {r['states_ms']:.3f} ms per look-up vs {r['before_ms']:.3f} ms "
        f"before issue 9 ({r['ratio']:.2f}x; {r['records']:,} records, {r['lookups']:,} look-ups)"
    ]


if __name__ == "__main__":
    print("\n".join(report(asyncio.run(run()))))
