"""the server role: least privilege for `credit-hub serve` and the data commands

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 12:30:00

Migrations run as the owner of the hub's schema; the server connects as another role (HUB_SERVER_ROLE,
default credit_hub_server) that owns nothing and may not change the schema, so that it is not a
superuser and PostgreSQL's reserved connections stay free for the operators. This revision creates
the role (NOLOGIN) when it is missing, which needs CREATEROLE; otherwise the operator creates it first
(README, "Database roles"). It gives the role CONNECT and TEMPORARY (the bulk loads stage rows in
temporary tables) on the database, USAGE on the schema, and on each table what the code does with
it: append-only tables (the outbox, catalogue versions, a plan's frozen lists and publication,
classification changes, rejected and warned rows, idempotent answers, organisations) get SELECT and INSERT
only. On PostgreSQL 14, whose public schema lets everyone CREATE, that right is revoked from PUBLIC
when the migrating role owns the schema (PostgreSQL 15's default); the downgrade leaves it so.
Later revisions call hub.migrate.grant_server for the tables they create.
"""

from collections.abc import Sequence

from alembic import op

from hub.migrate import grant_server, server_role

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

READ, APPEND, WRITE = ("SELECT",), ("SELECT", "INSERT"), ("SELECT", "INSERT", "UPDATE")

# What the server does with each table at this revision, written out so that a later change cannot
# change what this migration did.
TABLES: dict[str, tuple[str, ...]] = {
    "alembic_version": (),
    "api_tokens": WRITE,  # revocation sets revoked_at
    "bulk_receipts": (*WRITE, "DELETE"),  # a failed load's receipt is discarded
    "bulk_rejections": APPEND,
    "bulk_warnings": APPEND,
    "catalog_documents": APPEND,  # a change is a new version
    "classification_changes": APPEND,
    "classifications": WRITE,
    "domain_members": APPEND,
    "entities": APPEND,  # registered once; a push never renames
    "idempotent_pushes": APPEND,
    "indicator_values": WRITE,
    "inspection_plans": WRITE,  # committed, then drawn
    "inspector_conflicts": WRITE,
    "inspectors": WRITE,
    "organisations": APPEND,
    "outbox": APPEND,
    "plan_assignments": APPEND,
    "plan_candidate_lists": APPEND,  # the frozen list its published hash covers
    "plan_conflicts": APPEND,
    "plan_inspectors": APPEND,
    "plan_publications": APPEND,  # kept as first served
    "records": WRITE,  # a new version retires the current one
}


def upgrade() -> None:
    role = server_role()  # a plain lower-case identifier: nothing to quote
    op.execute(
        f"""
        DO $$ BEGIN
          IF current_user = '{role}' THEN
            RAISE EXCEPTION 'migrations run as the schema''s owner, not as the server role {role}';
          END IF;
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
            IF NOT (SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user) THEN
              RAISE EXCEPTION 'the server role {role} does not exist and % may not create it', current_user
                USING HINT = 'CREATE ROLE {role} LOGIN PASSWORD ''...'' first (README, "Database roles")';
            END IF;
            CREATE ROLE {role} NOLOGIN;
          END IF;
          EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO {role}', current_database());
          EXECUTE format('GRANT USAGE ON SCHEMA %I TO {role}', current_schema());
          IF pg_has_role(current_user, (SELECT nspowner FROM pg_namespace WHERE nspname = current_schema()), 'USAGE')
          THEN
            EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM PUBLIC', current_schema());
          END IF;
        END $$
        """
    )
    for table, privileges in TABLES.items():
        grant_server(table, *privileges)


def downgrade() -> None:
    role = server_role()
    for table in TABLES:
        grant_server(table)
    op.execute(
        f"""
        DO $$ BEGIN
          EXECUTE format('REVOKE ALL ON SCHEMA %I FROM {role}', current_schema());
          EXECUTE format('REVOKE ALL ON DATABASE %I FROM {role}', current_database());
        END $$
        """
    )
