"""bulk receipts: warned rows (a stored row that came with warnings, e.g. NAME_DIFFERS)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 12:30:00

A push never renames an entity; a bulk row whose XDR_MC differs from the registered name is stored
as pushed and listed here with its warning, as a single push answers it. Receipts written before
this migration count 0 warned rows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("bulk_receipts", sa.Column("warned", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "bulk_warnings",
        sa.Column("receipt_id", sa.Uuid(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("source_record_id", sa.String(length=100), nullable=True),
        sa.Column("warnings", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["receipt_id"],
            ["bulk_receipts.id"],
            name=op.f("fk_bulk_warnings_receipt_id_bulk_receipts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("receipt_id", "line_no", name=op.f("pk_bulk_warnings")),
    )


def downgrade() -> None:
    op.drop_table("bulk_warnings")
    op.drop_column("bulk_receipts", "warned")
