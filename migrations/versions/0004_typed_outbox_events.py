"""outbox: typed events (event type, payload version), the writer's transaction id, the relay's indexes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 09:00:00

`topic` becomes `event_type` with a `payload_version` (hub.sync.events). Existing rows keep their
payloads, which are version 1 of their new types: a single record's event of an evaluation type
becomes evaluation.stored; `records.bulk` becomes evaluations.graded for a grading run (its payload
counts withdrawn results), evaluations.loaded for a file of evaluations, else records.loaded.
`xact_id` is the writing transaction (pg_current_xact_id()), for the relay's horizon cursor; rows
written before it carry this migration's. Indexes: one entity's events by USCC, and the records of
a bulk load by receipt id. Downgrade maps the types back to the old topics (evaluation.withdrawn,
which had none, keeps its name).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As hub.records.ingestion.evaluations.EVALUATION_TYPES, written out so that a later change there
# cannot change what this migration did.
EVALUATION_TYPES = "('public_evaluation', 'industry_evaluation', 'market_evaluation')"


def upgrade() -> None:
    op.add_column("outbox", sa.Column("event_type", sa.String(length=60), nullable=True))
    op.add_column("outbox", sa.Column("payload_version", sa.SmallInteger(), nullable=True))
    op.execute(
        f"""
        UPDATE outbox SET payload_version = 1, event_type = CASE
            WHEN topic IN ('record.created', 'record.updated')
                 AND payload ->> 'record_type' IN {EVALUATION_TYPES} THEN 'evaluation.stored'
            WHEN topic = 'records.bulk' AND payload ? 'withdrawn' THEN 'evaluations.graded'
            WHEN topic = 'records.bulk' AND payload ->> 'record_type' IN {EVALUATION_TYPES}
                 THEN 'evaluations.loaded'
            WHEN topic = 'records.bulk' THEN 'records.loaded'
            ELSE topic END
        """
    )
    op.alter_column("outbox", "event_type", nullable=False)
    op.alter_column("outbox", "payload_version", nullable=False)
    op.drop_column("outbox", "topic")
    op.add_column(
        "outbox",
        sa.Column(
            "xact_id",
            sa.BigInteger(),
            server_default=sa.text("(pg_current_xact_id()::text::bigint)"),
            nullable=False,
        ),
    )
    op.create_index(
        "ix_outbox_uscc", "outbox", ["uscc", "id"], unique=False, postgresql_where=sa.text("uscc IS NOT NULL")
    )
    op.create_index(
        "ix_records_receipt",
        "records",
        ["receipt_id"],
        unique=False,
        postgresql_where=sa.text("receipt_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_records_receipt", table_name="records", postgresql_where=sa.text("receipt_id IS NOT NULL")
    )
    op.drop_index("ix_outbox_uscc", table_name="outbox", postgresql_where=sa.text("uscc IS NOT NULL"))
    op.drop_column("outbox", "xact_id")
    op.add_column("outbox", sa.Column("topic", sa.String(length=60), nullable=True))
    op.execute(
        """
        UPDATE outbox SET topic = CASE
            WHEN event_type = 'evaluation.stored' AND (payload ->> 'version')::int = 1 THEN 'record.created'
            WHEN event_type = 'evaluation.stored' THEN 'record.updated'
            WHEN event_type IN ('records.loaded', 'evaluations.loaded', 'evaluations.graded') THEN 'records.bulk'
            ELSE event_type END
        """
    )
    op.alter_column("outbox", "topic", nullable=False)
    op.drop_column("outbox", "payload_version")
    op.drop_column("outbox", "event_type")
