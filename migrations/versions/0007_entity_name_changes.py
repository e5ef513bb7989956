"""entity name corrections: the credit office corrects a registered name, with who, why and from what

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 13:00:00

A push never renames an entity (issue 8); `correctEntityName` is the one way a registered name
changes, and each correction is kept here (and announced as entity.renamed in the outbox). The
server appends corrections and may now UPDATE `entities` (the name, by a correction only).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hub.migrate import grant_server

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "entity_name_changes",
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("previous_name", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("changed_by", sa.String(length=18), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("uscc", "id", name=op.f("pk_entity_name_changes")),
    )
    grant_server("entity_name_changes", "SELECT", "INSERT")
    grant_server("entities", "SELECT", "INSERT", "UPDATE")


def downgrade() -> None:
    grant_server("entities", "SELECT", "INSERT")
    op.drop_table("entity_name_changes")
