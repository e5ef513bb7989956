"""House rule 9, read from the migrated schema (the test database is built by `alembic upgrade head`).

Every table that holds an entity's data carries the USCC in its primary or a unique key, and no
foreign key joins one entity's rows to another's: such tables can be distributed by USCC (Citus),
the rest kept whole on every node (reference tables). What Citus asks on top, checked too: every
unique index of an entity table includes the USCC, and no platform table points into an entity table
(a reference table cannot reference a distributed one).

Every table is in one of the two lists below, kept by hand: a new table in neither fails the test.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# Entity tables, each with its USCC column.
ENTITY_TABLES = {
    "entities": "uscc",  # the registry: one row per market entity
    "entity_name_changes": "uscc",  # corrections of a registered name
    "records": "uscc",  # credit records and their versions
    "classifications": "uscc",  # an entity's category per supervision domain
    "classification_changes": "uscc",  # the history of those categories
    "domain_members": "uscc",  # which domains an entity is supervised in
    "indicator_values": "uscc",  # an entity's industry indicators per domain and period
    "inspector_conflicts": "uscc",  # conflicts of interest (回避) declared for an entity
    "plan_assignments": "uscc",  # an entity drawn by a plan, with its two inspectors
    "plan_conflicts": "uscc",  # a declared conflict as frozen with a plan
    "authorisations": "uscc",  # the entity's grants to banks and associations (授权)
    "authorisation_uses": "uscc",  # reads of a grant per day
    "record_states": "uscc",  # a record's state: disputed, repaired, revoked… (issue 9)
    "record_state_changes": "uscc",  # the history of those states
    "entity_shields": "uscc",  # a firm's temporary shield (暂时屏蔽)
    "objections": "uscc",  # an entity's objections (异议)
    "repair_applications": "uscc",  # an entity's credit repair applications (信用修复)
    "access_log_entries": "uscc",  # who read an entity's data ("" for a change about no entity)
}
# Platform tables: not one entity's data. Each with why.
PLATFORM_TABLES = {
    "alembic_version": "the migrations' own bookkeeping",
    "organisations": "the calling organisations (departments, banks, …), not market entities",
    "api_tokens": "an organisation's bearer tokens",
    "catalog_documents": "policy documents and their versions (rule 8)",
    "idempotent_pushes": "a pusher's first answer per idempotency key: one request, many entities",
    "bulk_receipts": "one pushed file: one request, many entities",
    "bulk_rejections": "a pushed file's rejected lines, by receipt; often no valid USCC to key by",
    "bulk_warnings": "a pushed file's warned lines, by receipt, beside its rejected ones",
    "outbox": "the relay's queue, read in id order across entities (the USCC orders, it does not key)",
    "inspectors": "a department's inspectors",
    "inspection_plans": "a department's double-random plan",
    "plan_candidate_lists": "a plan's frozen candidate list: one document over every candidate",
    "plan_inspectors": "a plan's frozen inspector pool",
    "plan_publications": "a drawn plan's public document: one document over every entity drawn",
    "access_log_leaves": "the access log's Merkle tree: one tree over every entry, in leaf order",
    "access_log_nodes": "the tree's complete-subtree hashes",
    "access_log_batches": "the sequencer's runs over the whole log",
    "access_log_checkpoints": "signed tree heads of the whole log",
    "access_log_purges": "retention purges of the whole log",
}

TABLES = """
SELECT c.relname FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition
"""
# Unique indexes (primary keys and unique constraints have one each), with their columns.
UNIQUE_INDEXES = """
SELECT t.relname, i.relname, x.indisprimary, x.indpred IS NOT NULL,
       ARRAY(SELECT a.attname FROM unnest(x.indkey) AS k(attnum)
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum)
FROM pg_index x
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = current_schema() AND x.indisunique
"""
# Foreign keys as (referencing column, referenced column) pairs.
FOREIGN_KEYS = """
SELECT f.conname, src.relname, dst.relname,
       ARRAY(SELECT a.attname || '=' || b.attname
             FROM unnest(f.conkey, f.confkey) AS k(src_col, dst_col)
             JOIN pg_attribute a ON a.attrelid = f.conrelid AND a.attnum = k.src_col
             JOIN pg_attribute b ON b.attrelid = f.confrelid AND b.attnum = k.dst_col)
FROM pg_constraint f
JOIN pg_class src ON src.oid = f.conrelid
JOIN pg_class dst ON dst.oid = f.confrelid
JOIN pg_namespace n ON n.oid = src.relnamespace
WHERE n.nspname = current_schema() AND f.contype = 'f'
"""


async def rule9_violations(connection: AsyncConnection) -> list[str]:
    found: list[str] = []
    tables = set((await connection.execute(text(TABLES))).scalars())
    for table in sorted(tables - ENTITY_TABLES.keys() - PLATFORM_TABLES.keys()):
        found.append(f"{table}: in neither list (entity data, or platform data and why?)")
    for table in sorted((ENTITY_TABLES.keys() | PLATFORM_TABLES.keys()) - tables):
        found.append(f"{table}: listed but not in the schema")

    keyed: set[str] = set()
    for table, index, primary, partial, columns in (await connection.execute(text(UNIQUE_INDEXES))).all():
        uscc = ENTITY_TABLES.get(table)
        if uscc is None:
            continue
        if uscc not in columns:
            found.append(f"{table}: unique index {index} {columns} lacks {uscc}")
        elif primary or not partial:
            keyed.add(table)
    for table in sorted(ENTITY_TABLES.keys() & tables - keyed):
        found.append(f"{table}: {ENTITY_TABLES[table]} is in no primary or unique key")

    for name, source, target, pairs in (await connection.execute(text(FOREIGN_KEYS))).all():
        if source in ENTITY_TABLES and target in ENTITY_TABLES:
            if f"{ENTITY_TABLES[source]}={ENTITY_TABLES[target]}" not in pairs:
                found.append(f"{source}: foreign key {name} {pairs} joins one entity's rows to another's")
        elif target in ENTITY_TABLES:
            found.append(f"{source}: foreign key {name} points from platform data into entity data")
    return found


async def test_every_table_is_listed_and_entity_tables_are_distributable_by_uscc(connection):
    assert await rule9_violations(connection) == []


async def test_the_check_catches_each_way_of_breaking_the_rule(owner_connection):
    """Planted by the owner in a transaction rolled back: each breach is reported, and nothing else."""
    connection = owner_connection
    for statement in (
        "CREATE TABLE rule9_probe (id int PRIMARY KEY, uscc varchar(18))",
        "ALTER TABLE domain_members DROP CONSTRAINT pk_domain_members",
        "ALTER TABLE domain_members ADD PRIMARY KEY (domain, added_at)",
        "CREATE UNIQUE INDEX rule9_by_source ON classifications (domain, source_dept, source_record_id)",
        # The inspector's department joined to the entity registry: one entity's row to another's.
        "ALTER TABLE inspector_conflicts ADD CONSTRAINT rule9_cross"
        " FOREIGN KEY (department_code) REFERENCES entities (uscc) NOT VALID",
        # Through the USCC on both sides: allowed (the rows of one entity stay on one node).
        "ALTER TABLE classifications ADD CONSTRAINT rule9_same"
        " FOREIGN KEY (uscc) REFERENCES entities (uscc) NOT VALID",
        "ALTER TABLE outbox ADD CONSTRAINT rule9_platform FOREIGN KEY (uscc) REFERENCES entities (uscc) NOT VALID",
    ):
        await connection.execute(text(statement))
    assert sorted(await rule9_violations(connection)) == sorted(
        [
            "rule9_probe: in neither list (entity data, or platform data and why?)",
            "domain_members: unique index domain_members_pkey ['domain', 'added_at'] lacks uscc",
            "domain_members: uscc is in no primary or unique key",
            "classifications: unique index rule9_by_source ['domain', 'source_dept', 'source_record_id'] "
            "lacks uscc",
            "inspector_conflicts: foreign key rule9_cross ['department_code=uscc'] joins one entity's rows "
            "to another's",
            "outbox: foreign key rule9_platform points from platform data into entity data",
        ]
    )
