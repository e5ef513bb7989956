"""archive, records, tokens, outbox

Revision ID: 0001
Revises:
Create Date: 2026-11-25 08:25:13.124590
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Trigram search on entity names; the extension ships with PostgreSQL's contrib.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "bulk_receipts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_code", sa.String(length=18), nullable=False),
        sa.Column("record_type", sa.String(length=40), nullable=False),
        sa.Column("file_format", sa.String(length=10), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("late", sa.Integer(), nullable=False),
        sa.Column("finished", sa.Boolean(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("body_hash", sa.LargeBinary(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulk_receipts")),
        sa.UniqueConstraint(
            "organisation_code", "idempotency_key", name=op.f("uq_bulk_receipts_organisation_code")
        ),
    )
    op.create_index(
        op.f("ix_bulk_receipts_organisation_code"), "bulk_receipts", ["organisation_code"], unique=False
    )
    op.create_table(
        "catalog_documents",
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("code", sa.String(length=80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("loaded_by", sa.String(length=200), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("kind", "code", "version", name=op.f("pk_catalog_documents")),
    )
    op.create_table(
        "entities",
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("district", sa.String(length=6), nullable=False),
        sa.Column(
            "first_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("uscc", name=op.f("pk_entities")),
    )
    op.create_index("ix_entities_district_kind", "entities", ["district", "kind"], unique=False)
    op.create_index(
        "ix_entities_name_trgm",
        "entities",
        ["name"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )
    op.create_table(
        "idempotent_pushes",
        sa.Column("organisation_code", sa.String(length=18), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("body_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("answer", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("organisation_code", "key", name=op.f("pk_idempotent_pushes")),
    )
    op.create_table(
        "organisations",
        sa.Column("code", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("authority_domain", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "role IN ('credit_office', 'department', 'province', 'bank', 'association', 'entity', 'public')",
            name=op.f("ck_organisations_role_known"),
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_organisations")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("topic", sa.String(length=60), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index(
        "ix_outbox_unsent", "outbox", ["id"], unique=False, postgresql_where=sa.text("sent_at IS NULL")
    )
    op.create_table(
        "records",
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("source_dept", sa.String(length=18), nullable=False),
        sa.Column("source_record_id", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("record_type", sa.String(length=40), nullable=False),
        sa.Column("type_version", sa.Integer(), nullable=False),
        sa.Column("content", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("content_hash", sa.LargeBinary(length=16), nullable=False),
        sa.Column("decision_date", sa.Date(), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=True),
        sa.Column("publicity_rule", sa.String(length=40), nullable=True),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("repair_from", sa.Date(), nullable=True),
        sa.Column("publish_until", sa.Date(), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=True),
        sa.Column("changed_fields", postgresql.ARRAY(sa.String(length=40)), nullable=True),
        sa.Column("pushed_by", sa.String(length=18), nullable=False),
        sa.Column(
            "pushed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column("receipt_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint(
            "uscc", "source_dept", "source_record_id", "version", name=op.f("pk_records")
        ),
    )
    op.create_index(
        "ix_records_entity_read",
        "records",
        ["uscc", "decision_date", "source_dept"],
        unique=False,
        postgresql_where=sa.text("current"),
    )
    op.create_index(
        "ix_records_identity",
        "records",
        ["source_dept", "source_record_id"],
        unique=False,
        postgresql_where=sa.text("current"),
    )
    op.create_index(
        "uq_records_current",
        "records",
        ["uscc", "source_dept", "source_record_id"],
        unique=True,
        postgresql_where=sa.text("current"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("organisation_code", sa.String(length=18), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_code"],
            ["organisations.code"],
            name=op.f("fk_api_tokens_organisation_code_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_api_tokens_secret_hash")),
    )
    op.create_index(
        op.f("ix_api_tokens_organisation_code"), "api_tokens", ["organisation_code"], unique=False
    )
    op.create_table(
        "bulk_rejections",
        sa.Column("receipt_id", sa.Uuid(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("source_record_id", sa.String(length=100), nullable=True),
        sa.Column("errors", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["receipt_id"],
            ["bulk_receipts.id"],
            name=op.f("fk_bulk_rejections_receipt_id_bulk_receipts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("receipt_id", "line_no", name=op.f("pk_bulk_rejections")),
    )


def downgrade() -> None:
    op.drop_table("bulk_rejections")
    op.drop_index(op.f("ix_api_tokens_organisation_code"), table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_index("uq_records_current", table_name="records", postgresql_where=sa.text("current"))
    op.drop_index("ix_records_identity", table_name="records", postgresql_where=sa.text("current"))
    op.drop_index("ix_records_entity_read", table_name="records", postgresql_where=sa.text("current"))
    op.drop_table("records")
    op.drop_index("ix_outbox_unsent", table_name="outbox", postgresql_where=sa.text("sent_at IS NULL"))
    op.drop_table("outbox")
    op.drop_table("organisations")
    op.drop_table("idempotent_pushes")
    op.drop_index(
        "ix_entities_name_trgm",
        table_name="entities",
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )
    op.drop_index("ix_entities_district_kind", table_name="entities")
    op.drop_table("entities")
    op.drop_table("catalog_documents")
    op.drop_index(op.f("ix_bulk_receipts_organisation_code"), table_name="bulk_receipts")
    op.drop_table("bulk_receipts")
