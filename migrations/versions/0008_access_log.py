"""access log: entries (who read what, administrative changes) and the Merkle tree over them

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 15:30:00

The server role appends entries and, as the sequencer, leaves, nodes, batches and checkpoints: only
INSERT and SELECT, so nothing it wrote can be changed or removed by it. Retention purges run as the
owner (`credit-hub audit purge`), which the server may read about but not write.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from hub.migrate import grant_server

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CURRENT_XID = "(pg_current_xact_id()::text)::bigint"


def upgrade() -> None:
    op.create_table(
        "access_log_entries",
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("caller_role", sa.String(length=20), nullable=False),
        sa.Column("caller_organisation", sa.String(length=18), nullable=True),
        sa.Column("token_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "fields", postgresql.ARRAY(sa.String(length=120)), server_default=sa.text("'{}'"), nullable=False
        ),
        sa.Column("tier", sa.String(length=16), nullable=True),
        sa.Column("purpose", sa.String(length=60), nullable=True),
        sa.Column("authorisation", sa.String(length=64), nullable=True),
        sa.Column("legal_basis", sa.String(length=200), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("response_sha256", sa.LargeBinary(), nullable=True),
        sa.Column("hidden_until", sa.Date(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("txid", sa.BigInteger(), server_default=sa.text(_CURRENT_XID), nullable=False),
        sa.PrimaryKeyConstraint("uscc", "id", name=op.f("pk_access_log_entries")),
    )
    op.create_index("ix_access_log_entries_id", "access_log_entries", ["id"], unique=False)
    op.create_index("ix_access_log_entries_txid", "access_log_entries", ["txid"], unique=False)
    op.create_table(
        "access_log_leaves",
        sa.Column("leaf_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(), nullable=False),
        sa.Column(
            "integrated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("leaf_index", name=op.f("pk_access_log_leaves")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_access_log_leaves_entry_id")),
    )
    op.create_table(
        "access_log_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_access_log_nodes")),
    )
    op.create_table(
        "access_log_batches",
        sa.Column("first_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("horizon", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("first_index", name=op.f("pk_access_log_batches")),
    )
    op.create_table(
        "access_log_checkpoints",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", name=op.f("pk_access_log_checkpoints")),
    )
    op.create_table(
        "access_log_purges",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("before_index", sa.BigInteger(), nullable=False),
        sa.Column("cutoff", sa.DateTime(timezone=True), nullable=False),
        sa.Column("purged", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_log_purges")),
    )
    for table in (
        "access_log_entries",
        "access_log_leaves",
        "access_log_nodes",
        "access_log_batches",
        "access_log_checkpoints",
    ):
        grant_server(table, "SELECT", "INSERT")
    grant_server("access_log_purges", "SELECT")


def downgrade() -> None:
    op.drop_table("access_log_purges")
    op.drop_table("access_log_checkpoints")
    op.drop_table("access_log_batches")
    op.drop_table("access_log_nodes")
    op.drop_table("access_log_leaves")
    op.drop_index("ix_access_log_entries_txid", table_name="access_log_entries")
    op.drop_index("ix_access_log_entries_id", table_name="access_log_entries")
    op.drop_table("access_log_entries")
