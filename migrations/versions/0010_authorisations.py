"""authorisations (授权): an entity's grant to a bank or association, its life cycle and its uses

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-01 15:20:00

A requester asks (requested); the entity approves (active, with its signed artefact) or rejects;
then paused, resumed, revoked, expired. Each use is counted per day and in all. Both tables are
the entity's data, keyed by its USCC first (house rule 9). The server updates a grant (its state,
its count of reads) and upserts a day's count; it never deletes either.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from hub.migrate import grant_server

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES = "'requested', 'rejected', 'active', 'paused', 'revoked', 'expired'"


def upgrade() -> None:
    op.create_table(
        "authorisations",
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("grantee", sa.String(length=18), nullable=False),
        sa.Column("grantee_role", sa.String(length=20), nullable=False),
        sa.Column("purpose", sa.String(length=80), nullable=False),
        sa.Column("purpose_version", sa.Integer(), nullable=False),
        sa.Column("scope", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("validity_days", sa.SmallInteger(), nullable=False),
        sa.Column("reads_per_day", sa.Integer(), nullable=False),
        sa.Column("reads_total", sa.Integer(), nullable=False),
        sa.Column("reads_used", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("reads_day", sa.Date(), nullable=True),
        sa.Column("reads_that_day", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column(
            "requested_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("jws", sa.Text(), nullable=True),
        sa.Column("key_id", sa.String(length=64), nullable=True),
        sa.CheckConstraint(f"state IN ({STATES})", name=op.f("ck_authorisations_state")),
        sa.CheckConstraint(
            "reads_used >= 0 AND reads_used <= reads_total", name=op.f("ck_authorisations_reads_used")
        ),
        sa.PrimaryKeyConstraint("uscc", "id", name=op.f("pk_authorisations")),
    )
    op.create_index("ix_authorisations_grantee", "authorisations", ["grantee", "requested_at"])
    op.create_index("ix_authorisations_requested_at", "authorisations", ["requested_at"])
    op.create_index("ix_authorisations_id", "authorisations", ["id"])
    op.create_table(
        "authorisation_uses",
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("authorisation_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("reads", sa.Integer(), nullable=False),
        sa.CheckConstraint("reads >= 1", name=op.f("ck_authorisation_uses_reads")),
        sa.PrimaryKeyConstraint("uscc", "authorisation_id", "day", name=op.f("pk_authorisation_uses")),
    )
    grant_server("authorisations", "SELECT", "INSERT", "UPDATE")
    grant_server("authorisation_uses", "SELECT", "INSERT", "UPDATE")


def downgrade() -> None:
    op.drop_table("authorisation_uses")
    op.drop_index("ix_authorisations_id", table_name="authorisations")
    op.drop_index("ix_authorisations_requested_at", table_name="authorisations")
    op.drop_index("ix_authorisations_grantee", table_name="authorisations")
    op.drop_table("authorisations")
